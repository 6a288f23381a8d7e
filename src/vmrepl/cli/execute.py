"""Run one playbook for a ``vmrepl`` command: paths, secrets (the vault password), live
progress, Ctrl-C, the run; then its summary and verdict (``vmrepl.results``, from the events
and what the playbook reported through ``set_stats``) as one JSON document or through
``vmrepl.cli.render``, the JUnit report and the exit code."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn

import click

from vmrepl import __version__
from vmrepl.cli.options import RunOptions, mask_url_credentials
from vmrepl.cli.render import console, print_summary, print_verdict
from vmrepl.progress import LiveProgress, LogProgress, Progress, QuietProgress
from vmrepl.results import EXIT_CODES, RunSummary, final_verdict, junit_xml, summarise
from vmrepl.runner import VAULT_PASSWORD_ENV

#: Extra content of a command's document, from the run's summary (what the playbook reported).
Extension = Callable[[RunSummary], dict[str, Any]]
Renderer = Callable[[Any, dict[str, Any]], None]
#: A command's own ending (instead of the table or JSON and the verdict's code): prints what
#: it prints and returns the exit code (a monitoring plugin's, for example).
Finisher = Callable[[dict[str, Any], RunSummary], int]


def default_artifact_dir() -> Path:
    """``$VMREPL_ARTIFACT_DIR``, else ``$XDG_STATE_HOME/vmrepl/artifacts`` (outside the repo)."""
    explicit = os.environ.get("VMREPL_ARTIFACT_DIR")
    if explicit:
        return Path(explicit).expanduser()
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "vmrepl" / "artifacts"


def refuse(message: str) -> NoReturn:
    """Bad input, before anything ran: exit 2 with the message."""
    click.echo(f"vmrepl: {message}", err=True)
    sys.exit(EXIT_CODES["refused"])


def _absolute(path: str | None, what: str, must_exist: bool = True) -> str | None:
    """The runs' working directory is the collection's folder: make the user's paths absolute."""
    if not path:
        return None
    resolved = Path(path).expanduser().resolve()
    if must_exist and not resolved.exists():
        refuse(f"{what} {path} does not exist.")
    return str(resolved)


def _vault_password(run: RunOptions) -> str | None:
    if run.vault_password_file:
        return None
    if os.environ.get(VAULT_PASSWORD_ENV):
        return os.environ[VAULT_PASSWORD_ENV]
    if run.ask_vault_password:
        if not (sys.stdin.isatty() and sys.stderr.isatty()):
            refuse(
                "--ask-vault-password needs a terminal; unattended runs give "
                "--vault-password-file or the environment variable VMREPL_VAULT_PASSWORD."
            )
        password: str = click.prompt("Vault password", hide_input=True, err=True)
        return password
    return None


#: How a vault-encrypted file or value starts.
VAULT_HEADER = b"$ANSIBLE_VAULT;"
#: Ansible's own ways to give vault secrets, which vmrepl passes on.
ANSIBLE_VAULT_ENV = ("ANSIBLE_VAULT_PASSWORD_FILE", "ANSIBLE_VAULT_IDENTITY_LIST")


def vaulted_file(inventory: str | None) -> Path | None:
    """The first file of the inventory (a folder, or a file and the ``host_vars`` and
    ``group_vars`` beside it) that holds vault-encrypted data, or None."""
    if not inventory:
        return None
    root = Path(inventory)
    if root.is_dir():
        candidates = sorted(root.rglob("*"))
    else:
        beside = [root.parent / "host_vars", root.parent / "group_vars"]
        candidates = [root, *(p for folder in beside for p in sorted(folder.rglob("*")))]
    for path in candidates:
        try:
            small = path.is_file() and path.stat().st_size < 4 << 20
            if small and VAULT_HEADER in path.read_bytes():
                return path
        except OSError:
            continue
    return None


def vault_refusal(inventory: str | None, run: RunOptions, password: str | None) -> str:
    """Why the run is refused before it starts: an inventory with vaulted values and no vault
    secret (else ``""``)."""
    given = run.vault_password_file or password or any(os.environ.get(n) for n in ANSIBLE_VAULT_ENV)
    vaulted = None if given else vaulted_file(inventory)
    if not vaulted:
        return ""
    return (
        f"{vaulted} holds vault-encrypted values: give the vault password "
        "(--vault-password-file, the environment variable VMREPL_VAULT_PASSWORD or "
        "--ask-vault-password). Nothing ran."
    )


class Interrupt:
    """Ctrl-C (SIGINT) or SIGTERM asks ansible-runner to cancel the run: its cancel callback
    answers True, and it stops ansible-playbook. A second Ctrl-C is not needed, and not lost:
    it is answered by the same cancel."""

    def __init__(self, progress: Progress) -> None:
        self.requested = False
        self.progress = progress
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        if not self.requested:
            self.progress.note(f"{signal.Signals(signum).name}: cancelling the run ...")
        self.requested = True

    def __enter__(self) -> Interrupt:
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *_exc: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    def __call__(self) -> bool:
        return self.requested


def run_command(
    command: str,
    playbook: str,
    run: RunOptions,
    extravars: dict[str, Any] | None = None,
    extension: Extension | None = None,
    renderer: Renderer | None = None,
    finisher: Finisher | None = None,
    formats: dict[str, Callable[[dict[str, Any]], str]] | None = None,
) -> NoReturn:
    """Run ``playbook`` for ``vmrepl <command>`` and exit with the verdict's code.
    ``formats``: more ``--output`` formats than text and json, each rendering the document
    (printed on stdout, progress on stderr, as json)."""
    from vmrepl import paths
    from vmrepl.runner import run_playbook

    try:
        found = paths.playbook_file(playbook)
    except paths.ProjectNotFound as exc:
        refuse(str(exc))
    if not found.is_file():
        refuse(
            f"{paths.playbook_name(playbook)} is not in the collection vmrepl.core at"
            f" {found.parents[1]}; `vmrepl {command}` needs it (a newer collection?)."
        )
    inventory = _absolute(run.inventory, "Inventory")
    vault_file = _absolute(run.vault_password_file, "Vault password file")
    vault_password = _vault_password(run)
    refusal = vault_refusal(inventory, run, vault_password)
    # Old runs are rotated out of the default directory only: a directory the user names may
    # hold other things (ansible-runner removes whatever is oldest there).
    rotate = 0 if run.artifact_dir else 100
    artifacts = Path(run.artifact_dir).expanduser() if run.artifact_dir else default_artifact_dir()
    artifacts = artifacts.resolve()
    artifacts.mkdir(parents=True, exist_ok=True, mode=0o700)
    junit = _absolute(run.junit, "JUnit file", must_exist=False)
    envvars: dict[str, str] = {}
    if run.report_dir:
        envvars["VMREPL_REPORT_DIR"] = str(_absolute(run.report_dir, "", must_exist=False))
    variables = {**(extravars or {}), **run.extra_vars}

    out = console(stderr=run.output != "text")
    title = f"vmrepl {command}" + (" --check" if run.check else "")
    progress: Progress
    if run.quiet:
        progress = QuietProgress()
    elif out.is_terminal:
        progress = LiveProgress(out, title)
    else:
        progress = LogProgress(sys.stderr if run.output != "text" else sys.stdout)
    started_at = datetime.now(UTC)
    started = time.monotonic()

    def on_event(event: dict[str, Any]) -> bool:
        progress.event(event)
        return True

    events: list[dict[str, Any]] = []
    run_dir: Path = artifacts
    if refusal:
        summary = RunSummary(status="refused", hosts={}, results=[], reason=refusal)
    else:
        progress.start()
        try:
            with Interrupt(progress) as interrupt:
                result = run_playbook(
                    playbook,
                    inventory=inventory,
                    extravars=variables or None,
                    envvars=envvars,
                    check=run.check,
                    diff=run.diff,
                    limit=run.limit,
                    artifact_dir=artifacts,
                    vault_password_file=vault_file,
                    vault_password=vault_password,
                    event_handler=on_event,
                    cancel_callback=interrupt,
                    rotate_artifacts=rotate,
                )
        finally:
            progress.stop()
        events, run_dir = result.events, result.run_dir or result.artifact_dir
        summary = summarise(events, result.status, result.stats)
        if interrupt.requested:  # even when the run finished as the signal came
            summary.status, summary.reason = "interrupted", summary.reason or "Interrupted."
        summary.status, summary.reason = final_verdict(summary, events)
    extra = extension(summary) if extension else {}
    doc: dict[str, Any] = {
        "vmrepl": __version__,
        "command": command,
        "playbook": playbook,
        "inventory": inventory or "the embedded lab (inventories/lab)",
        "limit": run.limit,
        "check": run.check,
        "diff": run.diff,
        "extra_vars": json.loads(mask_url_credentials(json.dumps(variables, default=str))),
        "started_at": started_at.isoformat(timespec="seconds"),
        "duration_seconds": round(time.monotonic() - started, 1),
        **summary.as_dict(),
        **extra,
        "artifact_dir": str(run_dir),
        "junit": junit,
    }
    if junit:
        Path(junit).parent.mkdir(parents=True, exist_ok=True)
        Path(junit).write_bytes(junit_xml(summary, f"vmrepl.{command}"))
    if finisher is not None:
        sys.exit(finisher(doc, summary))
    if formats and run.output in formats and summary.exit_code == 0:
        click.echo(formats[run.output](doc), nl=False)
    elif run.output != "text":
        click.echo(json.dumps(doc, indent=2, default=str))
    else:
        print_summary(out, summary, doc, messages=renderer is None)
        if renderer:
            renderer(out, doc)
        print_verdict(out, doc)
    sys.exit(summary.exit_code)
