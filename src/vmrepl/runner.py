"""Run the collection's playbooks through ansible-runner's Python API (never a subprocess of
ansible-playbook): what the ``vmrepl`` command, the tests and the benchmarks share.

A run goes navigator's way: the playbook by its full name (``vmrepl.core.deploy_remote``), from a
temporary private data dir, so that nothing is written into the checkout (no ``env/`` options,
no ``artifacts/``: they go to ``artifact_dir``), and the package needs no checkout: the
collection and ``project/ansible.cfg`` come from :mod:`vmrepl.paths`."""

from __future__ import annotations

import json
import os
import re
import shlex
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vmrepl import paths

#: Names of environment variables whose values are secrets (redacted from the artifacts).
SECRET_NAME = re.compile(
    r"pass(word|wd|phrase)?|secret|token|credential|private_?key|api_?key", re.IGNORECASE
)
#: The variable a vault password may come in (it reaches ansible-playbook through its prompt).
VAULT_PASSWORD_ENV = "VMREPL_VAULT_PASSWORD"  # noqa: S105 - a variable name


@dataclass
class RunResult:
    status: str  # successful | failed | timeout | canceled
    rc: int
    stats: dict[str, dict[str, int]]
    artifact_dir: Path
    events: list[dict[str, Any]] = field(default_factory=list)
    run_dir: Path | None = None  # this run's folder in artifact_dir (job_events, stdout, ...)

    def count(self, kind: str) -> int:
        """Sum of one stats kind (ok, changed, failures, dark, skipped) over all hosts."""
        return sum(self.stats.get(kind, {}).values())

    def results(self, task_prefix: str = "") -> list[dict[str, Any]]:
        """The event data of task results whose task name starts with ``task_prefix``."""
        wanted = ("runner_on_ok", "runner_on_failed", "runner_on_skipped")
        return [
            e["event_data"]
            for e in self.events
            if e.get("event") in wanted
            and str(e.get("event_data", {}).get("task", "")).startswith(task_prefix)
        ]


def run_playbook(
    playbook: str,
    *,
    inventory: str | None = None,
    extravars: Mapping[str, Any] | None = None,
    envvars: Mapping[str, str] | None = None,
    check: bool = False,
    diff: bool = False,
    limit: str | None = None,
    artifact_dir: Path | None = None,
    vault_password_file: str | None = None,
    vault_password: str | None = None,
    event_handler: Callable[[dict[str, Any]], bool] | None = None,
    cancel_callback: Callable[[], bool] | None = None,
    quiet: bool = True,
    rotate_artifacts: int = 0,
) -> RunResult:
    """Run ``playbook`` of the collection, by its full name (``vmrepl.core.deploy_remote``) or
    the name of the runner project's entry point (``deploy_remote.yml``: the same playbook).

    ``vault_password`` is answered to ansible-playbook's prompt (never written to a file);
    secret values of the environment are redacted from the artifacts' ``command`` file.
    ``rotate_artifacts``: keep that many runs in ``artifact_dir`` (0: all)."""
    import ansible_runner

    cmdline = []
    if check:
        cmdline.append("--check")
    if diff:
        cmdline.append("--diff")
    if vault_password_file:
        cmdline += ["--vault-password-file", vault_password_file]
    passwords: dict[str, str] = {}
    if vault_password is not None:
        cmdline.append("--ask-vault-password")
        passwords[r"Vault password[^:\n]*:\s*$"] = vault_password
    artifacts = artifact_dir or Path(tempfile.mkdtemp(prefix="vmrepl-artifacts-"))
    # Extra vars go in a private file, not on the command line: ansible-runner records its
    # command line in the artifacts, and a process list shows it to every user.
    private = tempfile.TemporaryDirectory(prefix="vmrepl-run-")
    if extravars:
        vars_file = Path(private.name) / "extravars.json"
        vars_file.touch(mode=0o600)
        vars_file.write_text(json.dumps(dict(extravars)))
        cmdline += ["--extra-vars", f"@{vars_file}"]
    events: list[dict[str, Any]] = []

    def on_event(event: dict[str, Any]) -> bool:
        events.append(event)
        return event_handler(event) if event_handler else True

    env = {
        **ansible_env(),
        # ansible-playbook of the same environment as this Python, whatever PATH says.
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        **(envvars or {}),
    }
    for name in ("VMREPL_LAB_DIR", "VMREPL_REPORT_DIR"):
        if name in os.environ and name not in env:
            env[name] = os.environ[name]
    if VAULT_PASSWORD_ENV in os.environ:
        env[VAULT_PASSWORD_ENV] = ""  # the prompt carries it; the playbook has no use for it
    with private:
        runner = ansible_runner.run(
            # A private data dir of this run only (its env/ and inventory/ are empty): the
            # checkout's env/ is for `ansible-runner run .`, and nothing is written there.
            private_data_dir=private.name,
            # The working directory of ansible-playbook, as it was (relative paths of an
            # inventory): the collection's folder, the checkout's root in a checkout.
            project_dir=str(paths.project_dir()),
            playbook=paths.playbook_name(playbook),
            inventory=inventory,
            envvars=env,
            cmdline=shlex.join(cmdline) or None,
            limit=limit,
            artifact_dir=str(artifacts),
            quiet=quiet,
            event_handler=on_event,
            cancel_callback=cancel_callback,
            rotate_artifacts=rotate_artifacts,
            suppress_env_files=True,
            passwords=passwords or None,
            # How often the cancel callback is asked while the playbook prints nothing.
            settings={"pexpect_timeout": 0.5},
        )
    redact_command_file(Path(runner.config.artifact_dir))
    return RunResult(
        status=str(runner.status),
        rc=int(runner.rc or 0),
        stats=dict(runner.stats or {}),
        artifact_dir=artifacts,
        events=events,
        run_dir=Path(runner.config.artifact_dir),
    )


def ansible_env() -> dict[str, str]:
    """What a run needs to find the collection and its configuration: ``project/ansible.cfg``
    of a checkout (collections path, roles, the lab's inventory plugin, the default inventory);
    without one (an installed collection), the collection's path on ANSIBLE_COLLECTIONS_PATH.
    The checkout's callback that masks secrets in the artifacts' ``command`` file as the
    playbook starts (``env/callback_plugins``) is loaded too; :func:`redact_command_file` masks
    it again after the run in any case."""
    env: dict[str, str] = {}
    config = paths.ansible_cfg()
    if config is not None:
        env["ANSIBLE_CONFIG"] = str(config)
    else:
        base = str(paths.project_dir().parents[2])  # <base>/ansible_collections/vmrepl/core
        known = os.environ.get("ANSIBLE_COLLECTIONS_PATH", "")
        env["ANSIBLE_COLLECTIONS_PATH"] = os.pathsep.join(p for p in (base, known) if p)
    callbacks = paths.project_dir() / "env" / "callback_plugins"
    if callbacks.is_dir():
        known = os.environ.get("ANSIBLE_CALLBACK_PLUGINS", "")
        env["ANSIBLE_CALLBACK_PLUGINS"] = os.pathsep.join(p for p in (str(callbacks), known) if p)
    return env


def redact_command_file(artifact_dir: Path) -> None:
    """ansible-runner records the whole environment of the run in ``<artifacts>/command``:
    replace the values of secret-looking variables (``ZVM_PASSWORD``, ...) with ``********``."""
    path = artifact_dir / "command"
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError):
        return
    env = doc.get("env") or {}
    for name, value in env.items():
        if value and SECRET_NAME.search(name):
            env[name] = "********"
    path.write_text(json.dumps(doc))
