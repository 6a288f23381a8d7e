"""Options shared by the commands that run a playbook. Only click is imported here: ``vmrepl
--help`` must stay fast."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

#: Variable names that look like secrets: refused on the command line (use the environment,
#: a vault file or a prompt).
SECRET_KEY = re.compile(
    r"pass(word|wd|phrase)?|secret|token|credential|private_?key|api_?key|vault",
    re.IGNORECASE,
)

#: A URL with credentials in it: ``scheme://user:password@host``.
URL_CREDENTIALS = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/@\s:]*:[^/@\s]+@")


def secrets_in(value: Any, path: str = "") -> list[str]:
    """Where a (YAML) value holds a secret: a key that looks like one, or a URL with a
    password (``https://user:pw@host``); the paths, never the values."""
    found: list[str] = []
    if isinstance(value, str):
        if URL_CREDENTIALS.search(value):
            found.append(path or "the value")
    elif isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if SECRET_KEY.search(str(key)) and item not in (None, ""):
                found.append(where)
            else:
                found += secrets_in(item, where)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += secrets_in(item, f"{path}[{index}]")
    return found


def mask_url_credentials(text: str) -> str:
    """``scheme://user:pw@host`` → ``scheme://user:********@host``."""
    return re.sub(r"([A-Za-z][A-Za-z0-9+.-]*://[^/@\s:]*:)[^/@\s]+@", r"\1********@", text)


@dataclass
class RunOptions:
    inventory: str | None = None
    limit: str | None = None
    extra_vars: dict[str, Any] = field(default_factory=dict)
    check: bool = False
    diff: bool = False
    vault_password_file: str | None = None
    ask_vault_password: bool = False
    output: str = "text"
    quiet: bool = False
    artifact_dir: str | None = None
    report_dir: str | None = None
    junit: str | None = None


def parse_extra_var(text: str) -> tuple[str, Any]:
    """``key=value`` → (key, value); the value is read as YAML (numbers, lists, booleans)."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if text.startswith("@") or not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
        raise click.BadParameter(
            f"{text!r}: give key=value (a variable name, '=', a value); files of variables "
            "belong in the inventory.",
            param_hint="'-e' / '--extra-var'",
        )
    if SECRET_KEY.search(key):
        raise click.BadParameter(
            f"{key!r} looks like a secret, and a command line is visible to every user of the "
            "machine and kept in shell histories. Put it in the inventory's vault file "
            "(--vault-password-file / --ask-vault-password), or in the environment "
            "(VMWARE_PASSWORD, ZVM_PASSWORD, ...).",
            param_hint="'-e' / '--extra-var'",
        )
    import yaml

    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    found = secrets_in(value, key) or (secrets_in(raw, key) if value != raw else [])
    if found:
        raise click.BadParameter(
            f"{key!r} holds a secret ({', '.join(found)}: a password in a URL, or a secret-"
            "looking key), and a command line is visible to every user of the machine and kept "
            "in shell histories. Give the URL without the password, and the password in the "
            "inventory's vault or the environment.",
            param_hint="'-e' / '--extra-var'",
        )
    return key, value


def _extra_vars(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> Any:
    return dict(parse_extra_var(v) for v in values)


#: The inventory and vault options: the playbook commands and the direct reads
#: (``vmrepl.cli.direct``) take them alike.
INVENTORY = click.option(
    "--inventory",
    "-i",
    envvar="VMREPL_INVENTORY",
    metavar="PATH",
    help="Inventory of the sites [env VMREPL_INVENTORY; default: the embedded lab].",
)
LIMIT = click.option("--limit", "-l", metavar="PATTERN", help="These sites only.")
VAULT_PASSWORD_FILE = click.option(
    "--vault-password-file",
    envvar="VMREPL_VAULT_PASSWORD_FILE",
    type=click.Path(exists=True, dir_okay=False),
    help="File (or script) with the vault password [env VMREPL_VAULT_PASSWORD_FILE]. "
    "The password itself may come in env VMREPL_VAULT_PASSWORD.",
)
ASK_VAULT_PASSWORD = click.option(
    "--ask-vault-password",
    "-J",
    is_flag=True,
    help="Prompt for the vault password (needs a terminal).",
)
OUTPUT = click.option(
    "--output",
    "-o",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: one machine-readable result document on stdout (progress goes to stderr).",
)


def run_options(func: F) -> F:
    """The options of every command that runs a playbook, collected into ``run: RunOptions``."""
    options = [
        INVENTORY,
        LIMIT,
        click.option(
            "--extra-var",
            "-e",
            "extra_vars",
            multiple=True,
            metavar="KEY=VALUE",
            callback=_extra_vars,
            help="Set a (non-secret) variable; the value is YAML. Repeatable.",
        ),
        click.option("--check", is_flag=True, help="Show what would change; change nothing."),
        click.option("--diff", is_flag=True, help="Show the differences of each change."),
        VAULT_PASSWORD_FILE,
        ASK_VAULT_PASSWORD,
        OUTPUT,
        click.option(
            "--quiet", "-q", is_flag=True, help="No progress; only the summary (or JSON)."
        ),
        click.option(
            "--artifact-dir",
            envvar="VMREPL_ARTIFACT_DIR",
            metavar="DIR",
            help="Where ansible-runner keeps each run's events [env VMREPL_ARTIFACT_DIR; "
            "default ~/.local/state/vmrepl/artifacts].",
        ),
        click.option(
            "--report-dir",
            envvar="VMREPL_REPORT_DIR",
            metavar="DIR",
            help="Where the playbooks write reports [env VMREPL_REPORT_DIR].",
        ),
        click.option("--junit", metavar="FILE", help="Also write a JUnit XML report of the run."),
    ]

    @functools.wraps(func)  # keeps the options already declared on func
    def collect(**kwargs: Any) -> Any:
        run = RunOptions(**{name: kwargs.pop(name) for name in RunOptions.__dataclass_fields__})
        return func(run=run, **kwargs)

    wrapped: Any = collect
    for option in reversed(options):
        wrapped = option(wrapped)
    return wrapped
