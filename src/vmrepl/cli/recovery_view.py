"""The recovery commands' result as the recovery role reported it (``set_stats``
``vmrepl.recovery``: result, reason, run id, report files, checkpoints, VPGs), in the JSON
document and after the summary. The verdict comes from ``vmrepl.verdict``, not from here."""

from __future__ import annotations

from typing import Any

from vmrepl.results import RunSummary


def extract(summary: RunSummary) -> dict[str, Any]:
    """``{"recovery": {...}}``, or ``{"recovery": None}`` when the role wrote no report."""
    recovery = summary.reported.get("recovery")
    return {"recovery": dict(recovery) if isinstance(recovery, dict) and recovery else None}


def render(console: Any, doc: dict[str, Any]) -> None:
    recovery = doc.get("recovery")
    if not recovery:
        return
    console.print(f"[bold]{doc['command']}[/]: {recovery['result']} - {recovery['reason']}")
    for row in recovery.get("vpgs") or []:
        if isinstance(row, dict):
            fields = ", ".join(
                f"{k} {row[k]}" for k in ("status", "site", "rto_seconds") if row.get(k)
            )
            console.print(f"  VPG {row.get('vpg')}: {fields}")
    for kind, path in sorted((recovery.get("files") or {}).items()):
        console.print(f"  report ({kind}): {path}")
