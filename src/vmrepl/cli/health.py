"""``vmrepl health``: renders the health of every site as the health playbook reported it
(``set_stats`` ``vmrepl.health``: per site what ``zvm_info`` computed with
``module_utils/health.py``). It computes nothing itself."""

from __future__ import annotations

from typing import Any

from vmrepl.results import RunSummary


def extract(summary: RunSummary) -> dict[str, Any]:
    """``{"health": {site: {healthy, problems, zvm, peers, vras, vpgs, alerts, ...}}}``."""
    health = summary.reported.get("health")
    return {"health": dict(health) if isinstance(health, dict) else {}}


def render(console: Any, doc: dict[str, Any]) -> None:
    from rich.table import Table

    sites = doc.get("health") or {}
    if not sites:
        return
    table = Table(title="Health", title_justify="left")
    for column in ("site", "ZVM", "pairing", "VRAs", "VPG", "status", "RPO s", "history"):
        table.add_column(column)
    table.add_column("alerts", justify="right")
    for name, site in sorted(sites.items()):
        pairing = ", ".join(f"{p['site']} {p['status']}" for p in site.get("peers", [])) or "-"
        first = True
        for vpg in site.get("vpgs") or [None]:
            cells = ["", "", "", "", "-", "", "", "", ""]
            if first:
                cells[:4] = [
                    name,
                    f"{site.get('zvm') or ''} {site.get('version') or ''}".strip(),
                    pairing,
                    f"{site.get('vras_installed', 0)}/{site.get('vras', 0)}",
                ]
                cells[8] = str(len(site.get("alerts", [])))
            if vpg:
                status = str(vpg["status"])
                cells[4] = str(vpg["name"])
                cells[5] = status if vpg["meeting_sla"] else f"[red]{status}[/]"
                cells[6] = f"{vpg['actual_rpo_seconds']} / {vpg['configured_rpo_seconds']}"
                hist, conf = vpg["history_minutes"], vpg["configured_history_minutes"]
                cells[7] = f"{_hours(hist)} / {_hours(conf)}"
            table.add_row(*cells)
            first = False
    console.print(table)
    for name, site in sorted(sites.items()):
        for problem in site.get("problems", []):
            console.print(f"[red]unhealthy[/] {name}: {problem}")
        for alert in site.get("alerts", []):
            console.print(f"alert {name}: {alert['level']} {alert['help']}: {alert['description']}")


def _hours(minutes: Any) -> str:
    return f"{minutes / 60:.1f} h" if isinstance(minutes, int | float) else "-"
