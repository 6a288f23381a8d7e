"""Site health: one pure function from what zvm_info gathers, which zvm_info returns
(``gather: [health]``), health.yml asserts and ``vmrepl health`` renders."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.vmrepl.core.plugins.module_utils.health import site_health
from ansible_collections.vmrepl.core.plugins.modules import zvm_info

SITE = {"SiteName": "zvm-source", "Version": "10.0", "SiteIdentifier": "s-1"}
PAIRED = [{"PeerSiteName": "zvm-target", "PairingStatus": 0}]
VRAS = [{"Status": 0, "HostDisplayName": "h0"}, {"Status": 3, "HostDisplayName": "h1"}]
GOOD_VPG = {
    "VpgName": "100001-7-default",
    "Status": 1,
    "StatusDescription": "MeetingSla",
    "ActualRPO": 6,
    "ConfiguredRpoSeconds": 300,
    "HistoryStatusApi": {"ActualHistoryInMinutes": 120, "ConfiguredHistoryInMinutes": 1440},
    "VmsCount": 2,
}
BAD_VPG = {**GOOD_VPG, "VpgName": "slow", "Status": 2, "StatusDescription": "NotMeetingSla"}
ALERTS = [
    {"Level": "Error", "HelpIdentifier": "VRA0001", "Description": "link down"},
    {"Level": "Error", "Description": "old", "IsDismissed": True},
    {"Level": "Warning", "Description": "journal 80% full"},
]


def test_a_paired_site_whose_vpgs_meet_their_sla_is_healthy() -> None:
    health = site_health(SITE, PAIRED, VRAS, [GOOD_VPG], ALERTS[1:])
    assert health["healthy"] is True and health["problems"] == []
    assert (health["zvm"], health["version"]) == ("zvm-source", "10.0")
    assert health["peers"] == [{"site": "zvm-target", "status": "Paired"}]
    assert (health["vras_installed"], health["vras"]) == (1, 2)
    [vpg] = health["vpgs"]
    assert vpg["meeting_sla"] and vpg["history_minutes"] == 120 and vpg["vms"] == 2
    assert [a["description"] for a in health["alerts"]] == ["journal 80% full"]


def test_each_problem_is_named() -> None:
    health = site_health(SITE, [], VRAS, [GOOD_VPG, BAD_VPG], ALERTS)
    assert health["healthy"] is False
    assert health["problems"] == [
        "not paired with one peer site (pairing: none)",
        "VPGs not meeting their SLA: slow",
        "error alerts: link down",
    ]


def test_a_local_site_needs_no_peer_and_a_pairing_in_progress_is_not_paired() -> None:
    assert site_health(SITE, [], [], [], [], paired=False)["healthy"]
    pairing = site_health(SITE, [{"PeerSiteName": "b", "PairingStatus": 1}], [], [], [])
    assert pairing["problems"] == ["not paired with one peer site (pairing: Pairing)"]


VM = {
    "VpgName": "slow",
    "JournalUsedStorageMb": 800,
    "JournalHardLimit": {"LimitType": 1, "LimitValue": 1000},
}
LICENCE = {"Details": {"LicenseKey": "K-1", "MaxVms": 10}, "Usage": {"TotalVmsCount": 2}}


class FakeZvm:
    def local_site(self) -> dict[str, Any]:
        return dict(SITE)

    def peer_sites(self) -> list[dict[str, Any]]:
        return [dict(p) for p in PAIRED]

    def vras(self) -> list[dict[str, Any]]:
        return VRAS

    def vpgs(self) -> list[dict[str, Any]]:
        return [BAD_VPG]

    def alerts(self) -> list[dict[str, Any]]:
        return []

    def vms(self) -> list[dict[str, Any]]:
        return [VM]

    def license(self) -> dict[str, Any]:
        return dict(LICENCE)


def test_zvm_info_returns_the_health_it_gathers(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    @contextlib.contextmanager
    def fake_client(_module: Any) -> Iterator[FakeZvm]:
        yield FakeZvm()

    monkeypatch.setattr(zvm_info, "zvm_client", fake_client)
    args = {"zvm_url": "https://zvm.example", "zvm_username": "a", "zvm_password": "x"}
    with patch_module_args({**args, "gather": ["health"]}), pytest.raises(SystemExit):
        zvm_info.main()
    result = json.loads(capsys.readouterr().out)
    expected = site_health(SITE, PAIRED, VRAS, [BAD_VPG], [], vms=[VM], license=LICENCE)
    assert result["health"] == expected and not result["health"]["healthy"]
    assert result["health"]["state"] == "CRITICAL"
    assert "VPG slow journal 80% of its hard limit" in result["health"]["warnings"]
    assert result["peers"][0]["PairingStatusName"] == "Paired"  # the parts are returned too
