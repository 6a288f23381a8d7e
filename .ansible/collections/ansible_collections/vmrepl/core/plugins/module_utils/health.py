# Copyright: vmrepl contributors
# Apache License 2.0
"""The replication health of one site, from what its ZVM reports (site, peers, VRAs, VPGs,
alerts): one pure function that ``zvm_info`` returns (``gather: [health]``), the health
playbook asserts and sets as the job's stats, and ``vmrepl health`` renders.

A site is healthy when it is paired (remote edition), every VPG meets its SLA and no error
alert is on."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible_collections.vmrepl.core.plugins.module_utils.clients.zvm import (
    PairingStatus,
    VpgStatus,
    VraStatus,
    code_name,
    json_field,
)

#: The parts of a site that the health is computed from (what zvm_info gathers for it).
PARTS = ("site", "peers", "vras", "vpgs", "alerts")


def _vpg(vpg: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "name": json_field(vpg, "VpgName"),
        "status": json_field(vpg, "StatusDescription") or json_field(vpg, "Status"),
        "meeting_sla": json_field(vpg, "Status") == VpgStatus.MeetingSLA,
        "actual_rpo_seconds": json_field(vpg, "ActualRPO"),
        "configured_rpo_seconds": json_field(vpg, "ConfiguredRpoSeconds"),
        "history_minutes": json_field(vpg, "HistoryStatusApi", "ActualHistoryInMinutes"),
        "configured_history_minutes": json_field(
            vpg, "HistoryStatusApi", "ConfiguredHistoryInMinutes"
        ),
        "vms": json_field(vpg, "VmsCount"),
        "last_test": json_field(vpg, "LastTest"),
    }


def site_health(
    site: Mapping[str, Any] | None,
    peers: list[Mapping[str, Any]],
    vras: list[Mapping[str, Any]],
    vpgs: list[Mapping[str, Any]],
    alerts: list[Mapping[str, Any]],
    paired: bool = True,
) -> dict[str, Any]:
    """``{healthy, problems, zvm, version, peers, vras_installed, vras, vpgs, alerts}`` of a
    site. ``paired``: the site must be paired with its peer (remote edition)."""
    statuses = [code_name(PairingStatus, json_field(p, "PairingStatus")) for p in peers]
    on = [a for a in alerts if not json_field(a, "IsDismissed")]
    rows = [_vpg(v) for v in vpgs]
    problems = []
    if paired and [json_field(p, "PairingStatus") for p in peers] != [PairingStatus.Paired]:
        problems.append(f"not paired with one peer site (pairing: {', '.join(statuses) or 'none'})")
    failing = [str(r["name"]) for r in rows if not r["meeting_sla"]]
    if failing:
        problems.append(f"VPGs not meeting their SLA: {', '.join(failing)}")
    errors = [str(json_field(a, "Description")) for a in on if json_field(a, "Level") == "Error"]
    if errors:
        problems.append(f"error alerts: {'; '.join(errors)}")
    return {
        "healthy": not problems,
        "problems": problems,
        "zvm": json_field(site or {}, "SiteName"),
        "version": json_field(site or {}, "Version"),
        "peers": [
            {"site": json_field(p, "PeerSiteName"), "status": statuses[i]}
            for i, p in enumerate(peers)
        ],
        "vras_installed": sum(1 for v in vras if json_field(v, "Status") == VraStatus.Installed),
        "vras": len(vras),
        "vpgs": rows,
        "alerts": [
            {
                "level": json_field(a, "Level"),
                "help": json_field(a, "HelpIdentifier"),
                "description": json_field(a, "Description"),
            }
            for a in on
        ],
    }
