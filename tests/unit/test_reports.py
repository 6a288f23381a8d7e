"""The run's report (JSON, JUnit XML, self-contained HTML), the audit log, and the plan of the
isolated test network."""

from __future__ import annotations

import json
import os
import re
import stat
import threading
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest

from ansible_collections.vmrepl.core.plugins.module_utils import audit
from ansible_collections.vmrepl.core.plugins.module_utils.bubble_network import (
    HostNetworks,
    plan_hosts,
)
from ansible_collections.vmrepl.core.plugins.module_utils.clients.errors import ConfigurationError
from ansible_collections.vmrepl.core.plugins.module_utils.recovery import report as reports
from ansible_collections.vmrepl.core.plugins.module_utils.recovery.rules import check_vm


def vm(name: str, power: str = "poweredOn") -> dict[str, Any]:
    facts = {
        "name": f"{name} - testing recovery",
        "moid": "vm-9",
        "power_state": power,
        "host": "esx1",
        "tools_status": None,
        "networks": ["vmrepl-bubble"],
    }
    return {**check_vm(facts["name"], facts, ["vmrepl-bubble"]), "source": name}


def result(status: str = "succeeded", **extra: Any) -> dict[str, Any]:
    return {
        "vpg": "100001-7-default",
        "site": "target",
        "status": status,
        "message": f"VPG 100001-7-default: failover test {status}",
        "protected_site": "source",
        "recovery_site": "target",
        "checkpoint": {
            "identifier": "17",
            "time": "2024-05-14T09:00:30.000Z",
            "chosen_by": "latest",
        },
        "rpo_seconds": 4,
        "rto_seconds": 12.5,
        "started": "2024-05-14T09:00:31.000Z",
        "ended": "2024-05-14T09:01:00.000Z",
        "commit": "test stopped",
        "vms": [vm("app"), vm("db <primary>")],
        "steps": [
            {"step": "Start the failover test", "started": None, "seconds": 0.1, "result": "ok"}
        ],
        "notes": [],
        "errors": [],
        **extra,
    }


def build(results: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "run_id": "abc123",
        "operation": "failover_test",
        "edition": "remote",
        "request_ref": "CHG0012345",
        "vpgs": ["100001-7-default"],
        "results": results,
        "started": "2024-05-14T09:00:29Z",
        "ended": "2024-05-14T09:01:01.000Z",
        "user": "alice",
        "job_id": "4711",
        **extra,
    }
    return reports.build(**args)


def test_a_passed_run() -> None:
    report = build([result()])
    assert (report["result"], report["schema"]) == ("succeeded", "vmrepl.recovery-report/1")
    assert report["vpgs"][0]["checklist"][0]["owner"] == "customer"
    assert report["checklist"][0]["vpg"] == "100001-7-default"
    assert reports.audit_result(report["result"], report["reason"]) == "succeeded"


def test_a_failed_vpg_fails_the_run_and_says_why() -> None:
    failed = result("failed", vms=[vm("app", "poweredOff")], errors=["validation failed: app"])
    report = build([failed])
    assert report["result"] == "failed"
    assert "failover test failed" in report["reason"]
    assert reports.audit_result("failed", report["reason"]).startswith("failed: ")


def test_a_vpg_no_site_answered_for_is_reported_not_found() -> None:
    report = build([], vpgs=["ghost"])
    assert report["result"] == "failed"
    assert report["vpgs"][0]["status"] == "not_found"


def test_a_refused_run() -> None:
    report = build([], refused="A failover needs explicit confirmation.")
    assert report["result"] == "refused" and report["vpgs"] == []
    assert reports.audit_result("refused", report["reason"]) == (
        "refused: A failover needs explicit confirmation."
    )


def test_nothing_to_do_and_check_mode() -> None:
    unchanged = build([result("unchanged", vms=[], message="already home")])
    assert unchanged["result"] == "succeeded"
    assert reports.audit_result("succeeded", unchanged["reason"]) == "succeeded (nothing to do)"
    assert build([result("planned")], check_mode=True)["result"] == "checked"


def test_junit_counts_vms_and_failures() -> None:
    failed = result("failed", vms=[vm("app", "poweredOff"), vm("db")], errors=["app did not boot"])
    root = ET.fromstring(reports.render_junit(build([failed])))
    assert root.tag == "testsuites"
    [suite] = root.findall("testsuite")
    assert suite.get("tests") == "3"  # the operation and two VMs
    assert suite.get("failures") == "2"
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["request_ref"] == "CHG0012345" and props["rpo_seconds"] == "4"
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert cases["app - testing recovery"].find("failure") is not None
    assert cases["db - testing recovery"].find("failure") is None
    assert root.get("failures") == "2"


def test_junit_of_a_refused_run_is_one_error() -> None:
    root = ET.fromstring(reports.render_junit(build([], refused="no request reference")))
    assert (root.get("tests"), root.get("errors")) == ("1", "1")
    assert root.find("testsuite/testcase/error").get("message") == "no request reference"  # type: ignore[union-attr]


def test_html_is_self_contained_and_escaped() -> None:
    page = reports.render_html(build([result()]))
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page.lower()
    assert not re.search(r"""(src|href)\s*=|url\(|@import""", page, re.IGNORECASE)
    assert "db &lt;primary&gt; - testing recovery" in page  # escaped, not markup
    for text in ("100001-7-default", "CHG0012345", "4 s", "12.5 s", "Hand-off checklist"):
        assert text in page


def test_write_puts_three_files_with_one_stem(tmp_path: Path) -> None:
    report = build([result()])
    paths = reports.write(report, tmp_path / "reports")
    assert sorted(paths) == ["html", "json", "junit"]
    stems = {Path(p).stem for p in paths.values()}
    assert stems == {"failover_test-20240514T090029Z-abc123"}
    assert json.loads(Path(paths["json"]).read_text()) == report
    assert sorted(p.name for p in (tmp_path / "reports").iterdir()) == sorted(
        Path(p).name for p in paths.values()
    )  # no temporary files left


# -- audit log ----------------------------------------------------------------------------
def test_the_actor_is_the_os_user_and_the_awx_job() -> None:
    who = audit.actor(environ={"JOB_ID": "77"})
    assert who["user"] and who["job_id"] == "77"
    assert audit.actor("5", environ={"JOB_ID": "77"})["job_id"] == "5"
    assert audit.actor(environ={})["job_id"] is None


def test_audit_lines_are_appended_whole_by_concurrent_runs(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "audit.jsonl"

    def write(n: int) -> None:
        for i in range(20):
            entry = audit.record(
                operation="move",
                vpgs=["v" * 500],
                request_ref=f"CHG-{n}-{i}",
                result="succeeded",
                checkpoints={"v": {"identifier": "1"}},
                who={"user": "alice", "job_id": None},
            )
            audit.append(log, entry)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    entries = audit.read(log)
    assert len(entries) == 80
    assert {e["request_ref"] for e in entries} == {
        f"CHG-{n}-{i}" for n in range(4) for i in range(20)
    }
    assert set(entries[0]) >= {
        "time",
        "user",
        "operation",
        "vpgs",
        "request_ref",
        "checkpoint",
        "result",
    }
    assert stat.S_IMODE(os.stat(log).st_mode) == 0o640


# -- the isolated test network --------------------------------------------------------------
def test_the_bubble_is_planned_where_it_is_missing() -> None:
    networks = {
        "esx1": HostNetworks({"vSwitch0": ["vmnic0"]}, {"VM Network": "vSwitch0"}),
        "esx2": HostNetworks({"vSwitch0": ["vmnic0"], "bubble-sw": []}, {"bubble": "bubble-sw"}),
        "esx3": HostNetworks({"vSwitch0": ["vmnic0"], "bubble-sw": []}, {}),
    }
    plans = {
        p.host: (p.add_vswitch, p.add_portgroup)
        for p in plan_hosts(networks, "bubble", "bubble-sw", [])
    }
    assert plans == {"esx1": (True, True), "esx2": (False, False), "esx3": (False, True)}


def test_a_network_that_would_not_be_isolated_is_refused() -> None:
    with_uplink = {"esx1": HostNetworks({"vSwitch0": ["vmnic0"]}, {"bubble": "vSwitch0"})}
    with pytest.raises(ConfigurationError, match="uplinks vmnic0"):
        plan_hosts(with_uplink, "bubble", "bubble-sw", [])
    switch_with_uplink = {"esx1": HostNetworks({"bubble-sw": ["vmnic3"]}, {})}
    with pytest.raises(ConfigurationError, match="vSwitch bubble-sw"):
        plan_hosts(switch_with_uplink, "bubble", "bubble-sw", [])
    with pytest.raises(ConfigurationError, match="distributed port group"):
        plan_hosts({}, "DC0_DVPG0", "bubble-sw", ["DC0_DVPG0"])
