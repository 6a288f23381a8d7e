"""How a ``vmrepl`` command shows a run: the console, the summary table (counts per site, what
failed, changed and was skipped, and why) and the verdict line. It shows what the summary and
the JSON document hold; it decides nothing."""

from __future__ import annotations

import os
from typing import Any

from vmrepl.results import RunSummary

#: How the lines of what stopped the run start, by verdict.
LABELS = {"refused": "[yellow]REFUSED[/]", "incomplete": "[yellow]LEFT FOR LATER[/]"}
COLOURS = {"successful": "green", "refused": "yellow", "incomplete": "yellow"}


def console(stderr: bool = False) -> Any:
    """A rich console; off a terminal (CI logs) wide enough for the tables, without colour."""
    from rich.console import Console

    probe = Console(stderr=stderr)
    width = None if probe.is_terminal or os.environ.get("COLUMNS") else 160
    return Console(stderr=stderr, highlight=False, width=width)


def _stopped(summary: RunSummary) -> list[str]:
    """What stopped the run, a line each: the playbook's own reasons by site for a refusal or
    a run left incomplete, else the failed tasks."""
    reason = summary.reported.get("reason")
    if summary.status in ("refused", "incomplete") and isinstance(reason, dict) and reason:
        return [f"{site}: {text}" for site, text in reason.items() if text]
    return [f"{f.host}: {f.title}: {f.msg}" for f in summary.failures]


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
    label = LABELS.get(summary.status, "[red]FAILED[/]")
    for line in _stopped(summary):
        console.print(f"{label} {line}")
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
    colour = COLOURS.get(doc["status"], "red")
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
