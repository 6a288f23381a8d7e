"""Run one playbook for a ``vmrepl`` command: secrets, paths, live progress, Ctrl-C, then the
summary (a table, or one JSON document), the JUnit report and the exit code."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn

import click

from vmrepl import __version__
from vmrepl.cli.options import RunOptions, mask_url_credentials
from vmrepl.progress import LiveProgress, LogProgress, Progress, QuietProgress
from vmrepl.results import EXIT_CODES, RunSummary, junit_xml, message_of, summarise
from vmrepl.runner import VAULT_PASSWORD_ENV

#: Extra content of a command's document and summary: events → (key, value, render).
Extension = Callable[[list[dict[str, Any]]], dict[str, Any]]
Renderer = Callable[[Any, dict[str, Any]], None]


def default_artifact_dir() -> Path:
    """``$VMREPL_ARTIFACT_DIR``, else ``$XDG_STATE_HOME/vmrepl/artifacts`` (outside the repo)."""
    explicit = os.environ.get("VMREPL_ARTIFACT_DIR")
    if explicit:
        return Path(explicit).expanduser()
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "vmrepl" / "artifacts"


def console(stderr: bool = False) -> Any:
    """A rich console; off a terminal (CI logs) wide enough for the tables, without colour."""
    from rich.console import Console

    probe = Console(stderr=stderr)
    width = None if probe.is_terminal or os.environ.get("COLUMNS") else 160
    return Console(stderr=stderr, highlight=False, width=width)


def refuse(message: str) -> NoReturn:
    """Bad input, before anything ran: exit 2 with the message."""
    click.echo(f"vmrepl: {message}", err=True)
    sys.exit(EXIT_CODES["refused"])


def _absolute(path: str | None, what: str, must_exist: bool = True) -> str | None:
    """The runs' working directory is the project: make the user's paths absolute."""
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
) -> NoReturn:
    """Run ``playbook`` for ``vmrepl <command>`` and exit with the verdict's code."""
    from vmrepl.runner import REPO_ROOT, run_playbook

    if not (REPO_ROOT / playbook).is_file():
        refuse(f"{playbook} is not in this checkout ({REPO_ROOT}); `vmrepl {command}` needs it.")
    inventory = _absolute(run.inventory, "Inventory")
    vault_file = _absolute(run.vault_password_file, "Vault password file")
    vault_password = _vault_password(run)
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

    out = console(stderr=run.output == "json")
    title = f"vmrepl {command}" + (" --check" if run.check else "")
    progress: Progress
    if run.quiet:
        progress = QuietProgress()
    elif out.is_terminal:
        progress = LiveProgress(out, title)
    else:
        progress = LogProgress(sys.stderr if run.output == "json" else sys.stdout)
    started_at = datetime.now(UTC)
    started = time.monotonic()

    def on_event(event: dict[str, Any]) -> bool:
        progress.event(event)
        return True

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
    summary = summarise(result.events, result.status, result.stats)
    if interrupt.requested:  # even when the run finished as the signal came
        summary.status, summary.reason = "interrupted", summary.reason or "Interrupted."
    extra = extension(result.events) if extension else {}
    # the extension may carry the playbook's own report of a refusal
    summary.status, summary.reason = final_verdict(
        summary, result.events, extra.pop("verdict", None)
    )
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
        "artifact_dir": str(result.run_dir or result.artifact_dir),
        "junit": junit,
    }
    if junit:
        Path(junit).parent.mkdir(parents=True, exist_ok=True)
        Path(junit).write_bytes(junit_xml(summary, f"vmrepl.{command}"))
    if run.output == "json":
        click.echo(json.dumps(doc, indent=2, default=str))
    else:
        print_summary(out, summary, doc, messages=renderer is None)
        if renderer:
            renderer(out, doc)
        print_verdict(out, doc)
    sys.exit(summary.exit_code)


#: A module's typed error that means a site (its ZVM or vCenter) could not be reached.
UNREACHABLE_ERRORS = frozenset({"ConnectionFailed"})


def unreachable_first(events: Iterable[Mapping[str, Any]]) -> str | None:
    """Where the run's first failure was a site that could not be reached (a host Ansible
    could not reach, a module's ConnectionFailed, a port check that timed out), or None when
    the first failure was something else or nothing failed."""
    for event in events:
        kind = event.get("event")
        data = event.get("event_data") or {}
        if kind not in ("runner_on_unreachable", "runner_on_failed") or data.get("ignore_errors"):
            continue
        res = data.get("res") or {}
        action = str(data.get("task_action") or data.get("resolved_action") or "")
        unreachable = (
            kind == "runner_on_unreachable"
            or bool(res.get("unreachable"))
            or res.get("error") in UNREACHABLE_ERRORS
            or (action.endswith("wait_for") and "Timeout when waiting" in message_of(res))
        )
        if not unreachable:
            return None
        return f"{data.get('host', '')}: {data.get('task', '')}: {message_of(res)}".strip()
    return None


def final_verdict(
    summary: RunSummary,
    events: Iterable[Mapping[str, Any]],
    reported: tuple[str, str] | None = None,
) -> tuple[str, str]:
    """The run's verdict: the summary's, or the playbook's own report of a refusal
    (``reported``) when the run failed and changed nothing. A site that could not be reached
    is a failure (exit 1), not a refusal, unless the run had been refused before it."""
    status, reason = summary.status, summary.reason
    if reported and status == "failed" and summary.totals().changed == 0:
        status, reason = reported
    if status == "refused":
        where = unreachable_first(events)
        if where:
            return "failed", f"A site could not be reached. {where}"
    return status, reason


def print_summary(
    console: Any, summary: RunSummary, doc: dict[str, Any], messages: bool = True
) -> None:
    """The table of counts per site, then what failed, changed and was skipped, and why."""
    from rich.table import Table

    table = Table(title=f"{doc['command']}: {doc['playbook']}", title_justify="left")
    table.add_column("site")
    for name in ("ok", "changed", "failed", "skipped", "unreachable"):
        table.add_column(name, justify="right")
    for host, counts in sorted(summary.hosts.items()):
        table.add_row(
            host,
            str(counts.ok),
            str(counts.changed),
            str(counts.failed),
            str(counts.skipped),
            str(counts.unreachable),
        )
    console.print(table)
    label = {"refused": "[yellow]REFUSED[/]", "incomplete": "[yellow]LEFT FOR LATER[/]"}.get(
        summary.status, "[red]FAILED[/]"
    )
    for failure in summary.failures:
        console.print(f"{label} {failure.host}: {failure.title}: {failure.msg}")
    for change in doc["changes"]:
        console.print(f"[yellow]changed[/] {change['host']}: {change['task']}: {change['msg']}")
    for entry in summary.skipped_hypervisors:
        console.print(
            f"skipped hypervisor {entry['hypervisor']} ({entry['site']}): {entry['reason']}"
        )
    by_host: dict[str, list[str]] = {}
    for skip in summary.skipped:
        by_host.setdefault(skip.host, []).append(skip.title)
    for host, tasks in sorted(by_host.items()):
        console.print(
            f"skipped on {host} (condition not met): {len(tasks)} task(s): " + "; ".join(tasks)
        )
    for message in summary.messages if messages else []:
        lines = message["msg"] if isinstance(message["msg"], list) else [message["msg"]]
        console.print(f"[bold]{message['host']}[/]: " + "\n  ".join(str(m) for m in lines))
    for error in summary.errors if not summary.results else []:
        console.print(f"[red]error[/]: {error}")


def print_verdict(console: Any, doc: dict[str, Any]) -> None:
    colour = {"successful": "green", "refused": "yellow", "incomplete": "yellow"}.get(
        doc["status"], "red"
    )
    line = (
        f"[bold {colour}]{doc['status'].upper()}[/] (exit {doc['exit_code']}) in "
        f"{doc['duration_seconds']} s"
    )
    if doc["reason"]:
        line += f" - {doc['reason']}"
    console.print(line)
    console.print(
        f"Artifacts: {doc['artifact_dir']}" + (f"  JUnit: {doc['junit']}" if doc["junit"] else "")
    )
