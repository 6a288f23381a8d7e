"""``vmrepl health``: the health of every site from the health playbook's ZVM reads."""

from __future__ import annotations

from typing import Any

HEALTH_TASK = "Read the site's replication state"


def _vpg(vpg: dict[str, Any]) -> dict[str, Any]:
    history = vpg.get("HistoryStatusApi") or {}
    return {
        "name": vpg.get("VpgName"),
        "status": vpg.get("StatusDescription") or vpg.get("Status"),
        "meeting_sla": vpg.get("Status") == 1,
        "actual_rpo_seconds": vpg.get("ActualRPO"),
        "configured_rpo_seconds": vpg.get("ConfiguredRpoSeconds"),
        "history_minutes": history.get("ActualHistoryInMinutes"),
        "configured_history_minutes": history.get("ConfiguredHistoryInMinutes"),
        "vms": vpg.get("VmsCount"),
        "last_test": vpg.get("LastTest"),
    }


def extract(events: list[dict[str, Any]]) -> dict[str, Any]:
    """``{"health": {site: ...}}`` from the results of the health playbook's read."""
    sites: dict[str, Any] = {}
    for event in events:
        data = event.get("event_data") or {}
        if event.get("event") != "runner_on_ok" or data.get("task") != HEALTH_TASK:
            continue
        res = data.get("res") or {}
        site = res.get("site") or {}
        vras = res.get("vras") or []
        alerts = [a for a in res.get("alerts") or [] if not a.get("IsDismissed")]
        sites[str(data.get("host"))] = {
            "zvm": site.get("SiteName"),
            "version": site.get("Version"),
            "peers": [
                {"site": p.get("PeerSiteName"), "status": p.get("PairingStatusName")}
                for p in res.get("peers") or []
            ],
            "vras_installed": sum(1 for v in vras if v.get("Status") == 0),
            "vras": len(vras),
            "vpgs": [_vpg(v) for v in res.get("vpgs") or []],
            "alerts": [
                {
                    "level": a.get("Level"),
                    "help": a.get("HelpIdentifier"),
                    "description": a.get("Description"),
                }
                for a in alerts
            ],
        }
    return {"health": sites}


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
        pairing = ", ".join(f"{p['site']} {p['status']}" for p in site["peers"]) or "-"
        first = True
        for vpg in site["vpgs"] or [None]:
            cells = ["", "", "", "", "-", "", "", "", ""]
            if first:
                cells[:4] = [
                    name,
                    f"{site['zvm']} {site['version'] or ''}".strip(),
                    pairing,
                    f"{site['vras_installed']}/{site['vras']}",
                ]
                cells[8] = str(len(site["alerts"]))
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
        for alert in site["alerts"]:
            console.print(f"alert {name}: {alert['level']} {alert['help']}: {alert['description']}")


def _hours(minutes: Any) -> str:
    return f"{minutes / 60:.1f} h" if isinstance(minutes, int | float) else "-"
