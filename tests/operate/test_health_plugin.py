"""`vmrepl health` as a Monitoring Plugin, without a lab: range expressions, perfdata, the
states the evaluation gives, the exit codes and the first line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ansible_collections.vmrepl.core.plugins.module_utils.health import (
    Perf,
    Range,
    Thresholds,
    perf_line,
    site_health,
)
from vmrepl.cli import health as plugin

# value → alerts? for each range (Monitoring Plugins guidelines, "range expressions")
RANGES = [
    ("10", [(-1, True), (0, False), (10, False), (10.5, True)]),
    ("10:", [(9.9, True), (10, False), (1e6, False)]),
    ("~:10", [(-1e6, False), (10, False), (11, True)]),
    ("10:20", [(9, True), (15, False), (21, True)]),
    ("@10:20", [(9, False), (10, True), (20, True), (21, False)]),
    ("0:", [(-0.1, True), (0, False)]),
]


@pytest.mark.parametrize(("text", "cases"), RANGES)
def test_range_expressions(text: str, cases: list[tuple[float, bool]]) -> None:
    parsed = Range.parse(text)
    assert str(parsed) == text
    for value, alerts in cases:
        assert parsed.alerts(value) is alerts, (text, value)


@pytest.mark.parametrize("bad", ["", "@", "abc", "20:10", "1e3", "10::"])
def test_bad_range_expressions_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="range"):
        Range.parse(bad)


def test_a_ratio_range_scales_to_a_value_range() -> None:
    assert str(Range.parse("2").scaled(300)) == "600"
    assert str(Range.parse("0.5:").scaled(3600)) == "1800:"
    assert str(Range.parse("@1:2").scaled(10)) == "@10:20"


def test_perfdata_format() -> None:
    item = Perf("src it's vpg rpo", 12.0, "s", Range.parse("300"), Range.parse("600"), 0)
    assert str(item) == "'src it''s vpg rpo'=12s;300;600;0"
    assert str(Perf("x", 0.0000001, "%")) == "'x'=0%"  # no scientific notation
    assert str(Perf("x", 1234567.891, "", None, None, 0, 100)) == "'x'=1234567.891;;;0;100"
    assert perf_line([item.as_dict(), Perf("y", 1).as_dict()]) == (
        "'src it''s vpg rpo'=12s;300;600;0 'y'=1"
    )


def test_thresholds_name_the_bad_option() -> None:
    with pytest.raises(ValueError, match="--rpo-warning"):
        Thresholds.of({"rpo_warning": "soon"})
    assert Thresholds.of({"rpo_warning": None}) == Thresholds()
    assert Thresholds.of(plugin.DEFAULTS).as_dict() == plugin.DEFAULTS


SITE = {"SiteName": "zvm-a", "Version": "10.0"}
PAIRED = [{"PeerSiteName": "zvm-b", "PairingStatus": 0}]
VRAS = [{"Status": 0}, {"Status": 0}]


def vpg(**kw: Any) -> dict[str, Any]:
    return {
        "VpgName": "v1",
        "Status": 1,
        "StatusDescription": "MeetingSLA",
        "ActualRPO": 10,
        "ConfiguredRpoSeconds": 300,
        "HistoryStatusApi": {"ActualHistoryInMinutes": 60, "ConfiguredHistoryInMinutes": 120},
        **kw,
    }


def vm(used: float, hard: float = 1000) -> dict[str, Any]:
    return {
        "VpgName": "v1",
        "JournalUsedStorageMb": used,
        "JournalHardLimit": {"LimitType": 1, "LimitValue": hard},
    }


NOW = datetime(2026, 1, 1, tzinfo=UTC)


def licence(days: float | None, used: int = 2, most: int = 10) -> dict[str, Any]:
    expiry = None if days is None else (NOW + timedelta(days=days)).isoformat()
    return {"Details": {"ExpiryTime": expiry, "MaxVms": most}, "Usage": {"TotalVmsCount": used}}


def health(**kw: Any) -> dict[str, Any]:
    parts: dict[str, Any] = {
        "site": SITE, "peers": PAIRED, "vras": VRAS, "vpgs": [vpg()], "alerts": [],
        "vms": [vm(10)], "license": licence(None),
    }  # fmt: skip
    thresholds = kw.pop("thresholds", None)
    parts.update(kw)
    return site_health(**parts, thresholds=thresholds, now=NOW, name="a")


def test_a_healthy_site_is_ok_with_perfdata_for_rpo_history_journal_licence() -> None:
    result = health(license=licence(90))
    assert (result["state"], result["problems"], result["warnings"]) == ("OK", [], [])
    labels = {p["label"]: p for p in result["perfdata"]}
    assert labels["a v1 rpo"] | {} == {
        "label": "a v1 rpo", "value": 10.0, "uom": "s", "warn": "300", "crit": "600",
        "min": 0, "max": None,
    }  # fmt: skip
    assert labels["a v1 history"]["value"] == 3600 and labels["a v1 history"]["uom"] == "s"
    assert labels["a v1 journal"]["value"] == 1.0 and labels["a v1 journal"]["uom"] == "%"
    assert labels["a licence"]["warn"] == "2592000:" and labels["a licence"]["crit"] == "604800:"
    assert labels["a licence vms"]["max"] == 10


@pytest.mark.parametrize(
    ("parts", "state", "text"),
    [
        ({"vms": [vm(800)]}, "WARNING", "VPG v1 journal 80% of its hard limit"),
        ({"vms": [vm(950)]}, "CRITICAL", "VPG v1 journal 95% of its hard limit"),
        ({"vpgs": [vpg(ActualRPO=400)]}, "WARNING", "VPG v1 RPO 400 s (target 300 s)"),
        ({"vpgs": [vpg(ActualRPO=700)]}, "CRITICAL", "VPG v1 RPO 700 s (target 300 s)"),
        ({"license": licence(20)}, "WARNING", "licence expires in 20 days"),
        ({"license": licence(3)}, "CRITICAL", "licence expires in 3 days"),
        ({"license": licence(None, used=11)}, "CRITICAL", "11 protected VMs over the licence's 10"),
        ({"vras": [{"Status": 0}, {"Status": 3}]}, "WARNING", "1 of 2 VRAs not installed"),
        ({"peers": []}, "CRITICAL", "not paired with one peer site (pairing: none)"),
        ({"vpgs": [vpg(Status=2, StatusDescription="NotMeetingSLA")]}, "CRITICAL",
         "VPGs not meeting their SLA: v1"),
        ({"alerts": [{"Level": "Warning", "Description": "slow", "HelpIdentifier": "X"}]},
         "WARNING", "warning alerts: slow"),
        ({"thresholds": Thresholds.of({"history_warning": "0.9:"})}, "WARNING",
         "VPG v1 journal history 1.0 h of 2.0 h"),
    ],
)  # fmt: skip
def test_states(parts: dict[str, Any], state: str, text: str) -> None:
    result = health(**parts)
    assert result["state"] == state
    listed = result["problems"] if state == "CRITICAL" else result["warnings"]
    assert any(text in line for line in listed), listed
    assert result["healthy"] is (state != "CRITICAL")


def doc(**health_by_site: Any) -> dict[str, Any]:
    return plugin.judge({"health": {}}, health_by_site)


def test_exit_codes_and_the_first_line() -> None:
    ok = doc(a=health(), b=health())
    assert (ok["status"], ok["exit_code"]) == ("OK", 0)
    first = plugin.render(ok).splitlines()[0]
    assert first.startswith("VMREPL OK - 2 sites healthy, 2 VPGs in SLA | 'a v1 rpo'=10s;300;600;0")
    warn = doc(a=health(vms=[vm(800)]), b=health())
    assert (warn["status"], warn["exit_code"]) == ("WARNING", 1)
    unknown = doc(a=health(vms=[vm(800)]), b=ConnectionError("refused"))
    assert (unknown["status"], unknown["exit_code"]) == ("UNKNOWN", 3)
    assert "b: cannot read the ZVM: refused" in unknown["reason"]
    critical = doc(a=health(peers=[]), b=ConnectionError("refused"))
    assert (critical["status"], critical["exit_code"]) == ("CRITICAL", 2)
    assert len(plugin.render(critical).splitlines()[0].split(" | ")) == 2
    assert "\n" not in critical["reason"]


def test_a_bad_threshold_exits_unknown_before_reading_anything() -> None:
    import subprocess

    from tests.cli.conftest import VMREPL

    # A process of its own: the check sets up Ansible's collection loader for itself.
    done = subprocess.run(
        [VMREPL, "health", "--licence-critical", "7:1", "-i", "/nonexistent"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 3, done.stdout + done.stderr
    assert done.stdout.startswith("VMREPL UNKNOWN - --licence-critical:")


def test_the_timeout_names_the_stage_each_unfinished_read_reached() -> None:
    import threading

    from vmrepl.operate.sites import Deadline, run_within

    release = threading.Event()

    def slow(stage: Any) -> None:
        stage("reading vpgs")
        release.wait(5)

    def quick(stage: Any) -> str:
        stage("reading site")
        return "done"

    with pytest.raises(Deadline) as raised:
        run_within(0.2, {"source": slow, "target": quick})
    release.set()
    assert raised.value.stages == {"source": "reading vpgs"}
    assert "timed out after 0.2 s (source: reading vpgs)" in str(raised.value)
    failed = run_within(5, {"a": lambda stage: 1 / 0, "b": quick})
    assert isinstance(failed["a"], ZeroDivisionError) and failed["b"] == "done"
