"""`vmrepl diagnose` without a lab: the knowledge file, correlation of alerts with the alerts
and events before them (a VPG out of SLA since the peer link went down; a VRA down after its
host entered maintenance), incidents, severity and --explain."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest

from tests.cli.conftest import VMREPL
from vmrepl.operate import diagnose as dx

#: The alert rules of monitoring/alerts.yml, whose runbook is `vmrepl diagnose --explain NAME`.
ALERT_RULES = [
    "VmreplZvmDown", "VmreplVpgRpoBreach", "VmreplVpgNotMeetingSla", "VmreplJournalHistoryShort",
    "VmreplVraNotInstalled", "VmreplVraOutdated", "VmreplPeerNotPaired", "VmreplLicenceExpiring",
    "VmreplFailoverTestOverdue", "VmreplVcenterDown", "VmreplBackupRpoBreach",
    "VmreplDatastoreFreeLow", "VmreplDatastoreFreeCritical",
]  # fmt: skip


def test_the_knowledge_has_every_alert_rule_and_a_complete_entry_each() -> None:
    entries = dx.knowledge()["entries"]
    for name in ALERT_RULES:
        assert name in entries, name
    for name, item in entries.items():
        assert item["title"] and item["meaning"] and item["causes"] and item["remedy"], name
        assert int(item["severity"]) in dx.knowledge()["severities"], name
        for cause in item.get("caused_by", []):
            assert cause.startswith("event:") or cause in entries, (name, cause)
    assert set(dx.knowledge()["severities"]) == {1, 2, 3, 4}


def link(kind: str, ident: str) -> dict[str, Any]:
    return {"identifier": ident, "href": f"https://zvm/v1/{kind}/{ident}", "type": kind}


def alert(help_id: str, at: str, text: str, vpgs: list[str] = (), level: str = "Error") -> Any:  # type: ignore[assignment]
    return {
        "HelpIdentifier": help_id, "TurnedOn": at, "Description": text, "Level": level,
        "AffectedVpgs": [link("vpgs", v) for v in vpgs], "IsDismissed": False,
    }  # fmt: skip


def site(alerts: list[Any], events: list[Any] = (), tasks: list[Any] = (), status: int = 2) -> Any:  # type: ignore[assignment]
    return {
        "now": "2026-01-01T10:30:00Z",
        "site": {"SiteName": "a"},
        "peers": [{"PeerSiteName": "b", "PairingStatus": 0}],
        "vras": [{"VraName": "Z-VRA-h1", "HostDisplayName": "h1", "Status": 0}],
        "vpgs": [{"VpgIdentifier": "g1", "VpgName": "erp", "Status": status,
                  "StatusDescription": "NotMeetingSLA"}],
        "alerts": alerts,
        "events": list(events),
        "tasks": list(tasks),
    }  # fmt: skip


def test_a_vpg_out_of_sla_is_put_down_to_the_peer_link_that_went_down_before() -> None:
    reads = {
        "source": site([
            alert("ZVM0003", "2026-01-01T10:00:00Z", "No connection to site b."),
            alert("VPG0010", "2026-01-01T10:00:05Z", "VPG erp is not meeting its SLA", ["g1"]),
        ]),
        "target": site([alert("ZVM0003", "2026-01-01T10:00:01Z", "No connection to site a.")]),
    }  # fmt: skip
    doc = dx.diagnose(reads)
    [incident] = doc["incidents"]
    assert incident["id"] == "ZVM0003" and incident["sites"] == ["source", "target"]
    assert incident["since"] == "2026-01-01T10:00:00.000000Z" and incident["for_seconds"] == 1800
    # the source's alert, and the target's VPG status (the target has no alert of it)
    assert [(c["id"], c["vpgs"], c["site"]) for c in incident["consequences"]] == [
        ("VPG0010", ["erp"], "source"), ("VmreplVpgNotMeetingSla", ["erp"], "target"),
    ]  # fmt: skip
    assert doc["severity"] == 1  # the only VPG of the pair is out of its SLA
    text = dx.render(doc)
    assert "[1] ZVM0003 No connection to a paired site at source, target since" in text
    assert "Consequence: VPG erp is not meeting its SLA (VPG0010 at source" in text
    assert "Next step: Check the link and the firewall" in text


def test_a_vpg_alert_before_the_link_alert_is_not_caused_by_it() -> None:
    reads = {"source": site([
        alert("VPG0010", "2026-01-01T09:00:00Z", "VPG erp is not meeting its SLA", ["g1"]),
        alert("ZVM0003", "2026-01-01T10:00:00Z", "No connection to site b."),
    ])}  # fmt: skip
    ids = sorted(i["id"] for i in dx.diagnose(reads)["incidents"])
    assert ids == ["VPG0010", "ZVM0003"]


def test_a_vra_down_after_its_host_entered_maintenance() -> None:
    events = [
        {"EventType": 40, "OccurredOn": "2026-01-01T09:59:00Z",
         "Description": "Host h1 entered maintenance mode.", "EventCategory": "Events"},
        {"EventType": 40, "OccurredOn": "2026-01-01T08:00:00Z",
         "Description": "Host h2 entered maintenance mode.", "EventCategory": "Events"},
    ]  # fmt: skip
    reads = {"source": site([
        alert("LAB-VRA-MAINTENANCE", "2026-01-01T10:00:00Z",
              "The VRA on host h1 is down: the host is in maintenance mode.", ["g1"]),
        alert("VPG0010", "2026-01-01T10:00:10Z", "VPG erp is not meeting its SLA", ["g1"]),
    ], events)}  # fmt: skip
    reads["source"]["vras"][0]["Status"] = 9
    reads["source"]["vras"][0]["HostDisplayName"] = "h1"
    doc = dx.diagnose(reads)
    incident = next(i for i in doc["incidents"] if i["id"] == "LAB-VRA-MAINTENANCE")
    assert incident["probable_cause"][0].startswith("Host h1 entered maintenance mode.")
    assert [c["id"] for c in incident["consequences"]] == ["VPG0010"]


def test_failed_tasks_unpaired_sites_and_unreadable_zvms_are_findings() -> None:
    task = {"Type": "InstallVra", "Status": {"State": 4}, "Started": "2026-01-01T10:10:00Z",
            "CompleteReason": "host unreachable", "RelatedEntities": {"Vpgs": []}}  # fmt: skip
    reads = {"source": site([], tasks=[task], status=1), "target": {"error": "refused"}}
    reads["source"]["peers"] = []
    doc = dx.diagnose(reads)
    ids = {i["id"] for i in doc["incidents"]}
    assert ids == {"VmreplTaskFailed", "VmreplPeerNotPaired", "VmreplZvmDown"}
    assert doc["severity"] == 1 and not doc["healthy"]


def test_a_healthy_pair_has_no_incident_and_lists_what_was_resolved() -> None:
    off = {"EventCategory": "Alerts", "OccurredOn": "2026-01-01T10:05:00Z",
           "Description": "Error alert ZVM0003 turned off: No connection to site b."}  # fmt: skip
    doc = dx.diagnose({"source": site([], events=[off], status=1)})
    assert doc["healthy"] and doc["incidents"] == [] and doc["severity"] is None
    assert doc["resolved"][0]["event"].startswith("Error alert ZVM0003 turned off")
    assert "nothing is wrong now" in dx.render(doc)


def test_an_alert_without_an_entry_still_shows_what_the_zvm_says() -> None:
    doc = dx.diagnose({"source": site([alert("XYZ0042", "2026-01-01T10:00:00Z", "odd")], status=1)})
    [incident] = doc["incidents"]
    assert not incident["known"] and incident["what"] == ["odd"]


@pytest.mark.parametrize("name", ["VmreplVpgNotMeetingSla", "vpg0010"])
def test_explain_prints_an_entry(name: str) -> None:
    done = subprocess.run(
        [VMREPL, "diagnose", "--explain", name], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "Probable causes:" in done.stdout and "Suggested vendor severity 2" in done.stdout


def test_explain_of_an_unknown_id_is_refused_with_the_known_ones() -> None:
    done = subprocess.run(
        [VMREPL, "diagnose", "--explain", "NOPE1"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 2 and "VmreplZvmDown" in done.stderr
