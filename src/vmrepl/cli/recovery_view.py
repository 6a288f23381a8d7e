"""The recovery commands' result: the report the recovery role writes (result, reason, files,
checkpoints), in the JSON document and after the summary; its verdict decides a refusal."""

from __future__ import annotations

from typing import Any

REPORT_TASK = "Write the report (JSON, JUnit XML, HTML)"


def extract(events: list[dict[str, Any]]) -> dict[str, Any]:
    """``{"recovery": {...}}`` from the report task's result, and the run's verdict when the
    report says the request was refused (nothing was done)."""
    for event in events:
        data = event.get("event_data") or {}
        if event.get("event") != "runner_on_ok" or data.get("task") != REPORT_TASK:
            continue
        res = data.get("res") or {}
        report = res.get("report") or {}
        recovery = {
            "result": res.get("result"),
            "reason": res.get("reason"),
            "run_id": res.get("run_id"),
            "files": res.get("paths") or {},
            "checkpoints": res.get("checkpoints") or {},
            "vpgs": report.get("vpgs", []),
        }
        doc: dict[str, Any] = {"recovery": recovery}
        if res.get("result") == "refused":
            doc["verdict"] = ("refused", f"Refused: {res.get('reason', '')}".strip())
        return doc
    return {"recovery": None}


def render(console: Any, doc: dict[str, Any]) -> None:
    recovery = doc.get("recovery")
    if not recovery:
        return
    console.print(f"[bold]{doc['command']}[/]: {recovery['result']} - {recovery['reason']}")
    for row in recovery["vpgs"]:
        if isinstance(row, dict):
            fields = ", ".join(
                f"{k} {row[k]}" for k in ("status", "site", "rto_seconds") if row.get(k)
            )
            console.print(f"  VPG {row.get('vpg')}: {fields}")
    for kind, path in sorted(recovery["files"].items()):
        console.print(f"  report ({kind}): {path}")
