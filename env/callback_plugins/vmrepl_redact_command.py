# Copyright: vmrepl contributors
# Apache License 2.0
"""Keep secrets out of ansible-runner's ``artifacts/<id>/command``.

ansible-runner records the whole environment of a run (``ZVM_PASSWORD``, ``VMWARE_PASSWORD``,
...) and its command line (``--cmdline '-e zvm_password=...'``) in that file before it starts
ansible-playbook, and has no setting to leave them out (only container isolation does). The
project's ``env/envvars`` puts this directory on ``ANSIBLE_CALLBACK_PLUGINS``, so every
``ansible-runner run .`` of the project loads this callback; when the playbook starts it
rewrites the file of its own run (``AWX_ISOLATED_DATA_DIR``, which ansible-runner sets to the
run's artifact folder) with secret-looking values replaced by ``********``: environment
variables whose name looks like a secret, ``-e``/``--extra-vars`` ``key=value`` words whose key
does, JSON/YAML ``-e`` values holding such keys, and the password of any URL
(``https://user:pw@host``). It prints nothing and changes nothing else."""

from __future__ import annotations

import json
import os
import re

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r"""
name: vmrepl_redact_command
type: aggregate
short_description: Redacts secrets from ansible-runner's artifacts/<id>/command
description:
  - Rewrites the command file of the run (AWX_ISOLATED_DATA_DIR) with secret values masked.
requirements:
  - the run is started by ansible-runner (AWX_ISOLATED_DATA_DIR is set)
"""

MASK = "********"
SECRET_NAME = re.compile(
    r"pass(word|wd|phrase)?|secret|token|credential|private_?key|api_?key|vault"
    r"|(?<![a-z])pw(?![a-z])",
    re.IGNORECASE,
)
URL_PASSWORD = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://[^/@\s:]*:)[^/@\s]+@")
#: key=value, key: value, "key": "value" inside an -e word whose key looks like a secret.
INLINE = re.compile(
    r"""(?P<key>["']?[A-Za-z_][A-Za-z0-9_]*["']?)(?P<sep>\s*[=:]\s*)"""
    r"""(?P<value>"(?:[^"\\]|\\.)*"|'[^']*'|[^\s,}\]]+)"""
)


def redact_text(text: str) -> str:
    """``text`` with URL passwords and the values of secret-looking keys masked."""
    text = URL_PASSWORD.sub(r"\1" + MASK + "@", text)

    def mask(match: re.Match[str]) -> str:
        if not SECRET_NAME.search(match.group("key")):
            return match.group(0)
        value = match.group("value")
        quote = value[0] if value[:1] in "\"'" else ""
        return f"{match.group('key')}{match.group('sep')}{quote}{MASK}{quote}"

    return INLINE.sub(mask, text)


def redact(doc: dict) -> dict:
    """The command document (``{"command": [...], "cwd": ..., "env": {...}}``) redacted."""
    env = doc.get("env")
    if isinstance(env, dict):
        for name, value in env.items():
            if value and SECRET_NAME.search(str(name)):
                env[name] = MASK
            elif isinstance(value, str):
                env[name] = URL_PASSWORD.sub(r"\1" + MASK + "@", value)
    command = doc.get("command")
    if isinstance(command, list):
        doc["command"] = [redact_text(w) if isinstance(w, str) else w for w in command]
    return doc


def redact_file(path: str) -> bool:
    try:
        with open(path, encoding="utf-8") as handle:
            doc = json.load(handle)
    except (OSError, ValueError):
        return False
    before = json.dumps(doc, sort_keys=True)
    doc = redact(doc)
    if json.dumps(doc, sort_keys=True) == before:
        return True
    tmp = path + ".tmp"
    with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as handle:
        json.dump(doc, handle, ensure_ascii=False)
    os.replace(tmp, path)
    return True


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "vmrepl_redact_command"
    CALLBACK_NEEDS_ENABLED = False

    def __init__(self) -> None:
        super().__init__()
        artifacts = os.environ.get("AWX_ISOLATED_DATA_DIR")
        if artifacts:  # as early as the callback loads, before any task runs
            redact_file(os.path.join(artifacts, "command"))

    def v2_playbook_on_start(self, playbook: object) -> None:
        artifacts = os.environ.get("AWX_ISOLATED_DATA_DIR")
        if artifacts:
            redact_file(os.path.join(artifacts, "command"))
