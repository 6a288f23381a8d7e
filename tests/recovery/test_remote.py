"""Testing and recovery on a deployed site pair, through ansible-runner: check mode, refusals
(wrong edition, no request reference, no confirmation, peer site cut), a test VM that does not
boot, then the full cycle - failover test, move with reverse protection, failback - which
leaves the VMs where they began, and a second failback that changes nothing. Every run leaves a
report and one audit line."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from pyVmomi import vim

from ansible_collections.vmrepl.core.plugins.module_utils.clients.zvm import json_field
from tests.deploy.conftest import Lab, failure_messages
from tests.recovery.conftest import (
    LAB_VMS,
    VPG,
    audit_lines,
    customer_vms,
    dump_dom,
    lab_request,
    last_report,
    module_tasks,
    reports,
    run,
    vpg,
    wait_meeting_sla,
)

pytestmark = pytest.mark.lab

CONNECTING = {"vmrepl.core.vpg_recovery", "vmrepl.core.bubble_network"}
TEST_VMS = {f"{name} - testing recovery" for name in LAB_VMS}


def test_check_mode_plans_the_test_and_changes_nothing(pair: Lab) -> None:
    before = {site: customer_vms(pair, site) for site in ("source", "target")}
    networks_before = network_names(pair, "target")
    result = run(pair, "failover_test.yml", check=True, recovery_request_ref="CHG-CHECK")
    assert result.status == "successful", failure_messages(result)
    assert {site: customer_vms(pair, site) for site in ("source", "target")} == before
    assert network_names(pair, "target") == networks_before  # no bubble yet
    report = last_report(pair.directory, "failover_test")
    assert report["result"] == "checked" and report["check_mode"] is True
    [row] = report["vpgs"]
    assert (row["status"], row["site"]) == ("planned", "target")
    assert "would test 2 VM(s) at target" in row["message"]
    assert sorted(row["recovery_hosts"]) == ["DC0_C0_H0", "DC0_C0_H1"]
    [line] = [a for a in audit_lines(pair.directory) if a["request_ref"] == "CHG-CHECK"]
    assert line["check_mode"] is True and line["result"].startswith("checked")


@pytest.mark.parametrize(
    ("playbook", "extravars", "expected"),
    [
        (
            "local_recovery.yml",
            {"recovery_request_ref": "CHG-EDITION", "recovery_confirm": True},
            "not applicable to the remote edition",
        ),
        ("failover_test.yml", {"recovery_request_ref": ""}, "request reference"),
        ("failover.yml", {"recovery_request_ref": "CHG-NOCONFIRM"}, "confirm it explicitly"),
    ],
    ids=["wrong-edition", "no-request-ref", "no-confirmation"],
)
def test_requests_that_cannot_be_carried_out_are_refused_before_any_call(
    pair: Lab, playbook: str, extravars: dict, expected: str
) -> None:
    for site in ("source", "target"):
        lab_request(pair, site, "DELETE", "/lab/contract")
    lines_before = len(audit_lines(pair.directory))
    result = run(pair, playbook, **extravars)
    assert result.status == "failed"
    messages = " ".join(failure_messages(result))
    assert expected in messages, messages
    assert "Nothing was done" in messages
    assert not module_tasks(result) & CONNECTING, module_tasks(result)
    for site in ("source", "target"):  # not one ZVM API call
        assert lab_request(pair, site, "GET", "/lab/contract")["requests_checked"] == []
    lines = audit_lines(pair.directory)
    assert len(lines) == lines_before + 1
    assert lines[-1]["result"].startswith("refused: ") and expected in lines[-1]["result"]
    assert lines[-1]["request_ref"] == extravars["recovery_request_ref"]
    assert lines[-1]["vpgs"] == [VPG]
    assert json_field(vpg(pair), "ProtectedSiteName") == "source"


def test_a_test_vm_that_does_not_boot_fails_the_test_and_the_report_says_why(pair: Lab) -> None:
    pair.admin("target", "/lab/faults", {"fail_boot_vms": ["DC0_C0_RP0_VM0"]})
    try:
        result = run(
            pair, "failover_test.yml", recovery_request_ref="CHG-NOBOOT", recovery_boot_timeout=2
        )
    finally:
        pair.admin("target", "/lab/faults", {"fail_boot_vms": []})
    assert result.status == "failed"
    why = "DC0_C0_RP0_VM0 - testing recovery: not powered on (poweredOff)"
    assert why in " ".join(failure_messages(result))
    report = last_report(pair.directory, "failover_test")
    assert report["result"] == "failed" and why in report["reason"]
    [row] = report["vpgs"]
    assert (row["status"], row["commit"]) == ("failed", "test stopped")
    assert row["rto_seconds"] is None  # the VMs were never all up
    checks = {vm["name"]: vm["ok"] for vm in row["vms"]}
    assert checks == {
        "DC0_C0_RP0_VM0 - testing recovery": False,
        "DC0_C0_RP0_VM1 - testing recovery": True,
    }
    # the test was stopped as failed, with the reason, and its VMs are gone
    with pair.zvm("target") as zvm:
        zvm_report = zvm.recovery_reports("FailoverTest")[-1]
    assert json_field(zvm_report, "General", "Status") == "Failed"
    assert "CHG-NOBOOT" in json_field(zvm_report, "General", "Notes")
    assert why in json_field(zvm_report, "General", "Notes")
    assert not TEST_VMS & {name for name, _ in customer_vms(pair, "target")}
    junit = ET.parse(Path(report["_path"]).with_suffix(".xml")).getroot()
    assert int(junit.get("failures", "0")) >= 1
    assert audit_lines(pair.directory)[-1]["result"].startswith("failed: ")


def test_a_failover_is_refused_while_the_peer_site_is_cut_off(pair: Lab) -> None:
    for site in ("source", "target"):
        pair.admin(site, "/lab/faults", {"peer_link": "cut"})
    try:
        result = run(pair, "failover.yml", recovery_request_ref="CHG-CUT", recovery_confirm=True)
    finally:
        for site in ("source", "target"):
            pair.admin(site, "/lab/faults", {"peer_link": "up"})
    assert result.status == "failed"
    messages = " ".join(failure_messages(result))
    assert "the peer site cannot be reached" in messages, messages
    assert "DisconnectedFromPeer" in messages and "recovery_force=true" in messages
    assert "vmrepl.core.vpg_recovery" in module_tasks(result)  # it looked, then refused
    report = last_report(pair.directory, "failover")
    assert report["result"] == "refused"
    assert audit_lines(pair.directory)[-1]["result"].startswith("refused: ")
    current = wait_meeting_sla(pair)
    assert (json_field(current, "ProtectedSiteName"), json_field(current, "Status")) == (
        "source",
        1,
    )
    assert [p for p in customer_vms(pair, "source") if p[1] == "poweredOn"] == [
        (name, "poweredOn") for name in LAB_VMS
    ]


def test_a_peer_cut_during_a_failover_test_leaves_nothing_and_the_next_test_passes(
    pair: Lab,
) -> None:
    """The link goes down while the test runs (its test VMs exist): the run fails, every
    settings object it opened is closed, and once the link is back a failover test passes."""
    for site in ("source", "target"):
        # A test that lasts: the link is cut while its VMs exist, whatever the machine's speed.
        pair.admin(
            site, "/lab/faults", {"task_seconds": {"failover_test": 2, "failover_test_stop": 8}}
        )
    cut = threading.Event()
    stop = threading.Event()

    def cut_when_the_test_vms_run() -> None:
        deadline = time.monotonic() + 300
        while not stop.is_set() and time.monotonic() < deadline:
            if {name for name, _ in customer_vms(pair, "target")} & TEST_VMS:
                for site in ("source", "target"):
                    pair.admin(site, "/lab/faults", {"peer_link": "cut"})
                cut.set()
                return
            time.sleep(0.3)

    watcher = threading.Thread(target=cut_when_the_test_vms_run, daemon=True)
    watcher.start()
    try:
        failed = run(pair, "failover_test.yml", recovery_request_ref="CHG-PEERCUT")
    finally:
        stop.set()
        watcher.join(timeout=10)
        for site in ("source", "target"):
            pair.admin(site, "/lab/faults", {"peer_link": "up", "task_seconds": 0.3})
    assert cut.is_set(), ("the test VMs never appeared", failure_messages(failed))
    assert failed.status == "failed"
    for site in ("source", "target"):
        assert pair.admin(site, "/lab/state")["settings"] == [], site

    wait_meeting_sla(pair)
    passed = run(pair, "failover_test.yml", recovery_request_ref="CHG-AFTERCUT")
    assert passed.status == "successful", failure_messages(passed)
    assert last_report(pair.directory, "failover_test")["result"] == "succeeded"
    for site in ("source", "target"):
        assert pair.admin(site, "/lab/state")["settings"] == [], site


# -- the full cycle: failover test, move, failback ---------------------------------------------
@pytest.fixture(scope="module")
def cycle(pair: Lab) -> Path:
    """Where the full cycle's reports and audit lines go (apart from the other tests')."""
    folder = pair.directory / "cycle"
    folder.mkdir()
    return folder


def test_cycle_1_failover_test_in_the_bubble_network(pair: Lab, cycle: Path) -> None:
    result = run(pair, "failover_test.yml", cycle, recovery_request_ref="CHG-1001")
    assert result.status == "successful", failure_messages(result)
    report = last_report(cycle, "failover_test")
    [row] = report["vpgs"]
    assert row["status"] == "succeeded", row["message"]
    assert row["checkpoint"]["chosen_by"] == "latest" and row["checkpoint"]["identifier"]
    assert isinstance(row["rpo_seconds"], int) and isinstance(row["rto_seconds"], float)
    assert {vm["name"]: (vm["power_state"], vm["networks"]) for vm in row["vms"]} == {
        name: ("poweredOn", ["vmrepl-bubble"]) for name in TEST_VMS
    }
    # the bubble: a port group on a vSwitch without uplinks on the recovery hosts
    switches = host_switches(pair, "target")
    assert switches == {host: [] for host in ("DC0_C0_H0", "DC0_C0_H1")}
    assert "vmrepl-bubble" in network_names(pair, "target")
    # the test is over: no test VM left, the VPG's own test network is back
    assert not TEST_VMS & {name for name, _ in customer_vms(pair, "target")}
    assert vpg_test_network(pair) == "DC0_DVPG0"
    with pair.zvm("target") as zvm:
        zvm_report = zvm.recovery_reports("FailoverTest")[-1]
    assert json_field(zvm_report, "General", "Status") == "Passed"
    assert json_field(zvm_report, "General", "Notes").startswith("vmrepl CHG-1001: passed")


def test_cycle_2_move_with_reverse_protection(pair: Lab, cycle: Path) -> None:
    result = run(pair, "move.yml", cycle, recovery_request_ref="CHG-1002")
    assert result.status == "successful", failure_messages(result)
    [row] = last_report(cycle, "move")["vpgs"]
    assert (row["status"], row["commit"], row["reverse_protection"]) == (
        "succeeded",
        "committed",
        True,
    )
    assert row["checkpoint"]["tag"] == "vmrepl move CHG-1002" and row["checkpoint"]["identifier"]
    assert [vm["power_state"] for vm in row["vms"]] == ["poweredOn", "poweredOn"]
    moved = vpg(pair, "target")
    assert (json_field(moved, "ProtectedSiteName"), json_field(moved, "RecoverySiteName")) == (
        "target",
        "source",
    )
    assert customer_vms(pair, "source") == [(name, "poweredOff") for name in LAB_VMS]


def test_cycle_3_failback_brings_the_vms_home(pair: Lab, cycle: Path) -> None:
    result = run(pair, "failback.yml", cycle, recovery_request_ref="CHG-1003")
    assert result.status == "successful", failure_messages(result)
    [row] = last_report(cycle, "failback")["vpgs"]
    assert (row["status"], row["commit"]) == ("succeeded", "committed")
    home = wait_meeting_sla(pair)
    assert (json_field(home, "ProtectedSiteName"), json_field(home, "RecoverySiteName")) == (
        "source",
        "target",
    )
    # the VMs run where they began; the target keeps powered-off replicas besides its own VMs
    assert customer_vms(pair, "source") == [(name, "poweredOn") for name in LAB_VMS]
    assert sorted(p for p in customer_vms(pair, "target") if p[1] == "poweredOn") == [
        (name, "poweredOn")
        for name in LAB_VMS  # the target's own lab VMs, untouched
    ]


def test_cycle_left_three_reports_and_three_audit_lines(pair: Lab, cycle: Path) -> None:
    written = reports(cycle)
    assert [r["operation"] for r in written] == ["failover_test", "move", "failback"]
    for report in written:
        stem = Path(report["_path"]).with_suffix("")
        assert stem.with_suffix(".xml").exists() and stem.with_suffix(".html").exists()
        assert report["result"] == "succeeded" and report["vpgs"][0]["checklist"]
    lines = audit_lines(cycle)
    assert [(a["operation"], a["request_ref"], a["result"]) for a in lines] == [
        ("failover_test", "CHG-1001", "succeeded"),
        ("move", "CHG-1002", "succeeded"),
        ("failback", "CHG-1003", "succeeded"),
    ]
    for line, report in zip(lines, written, strict=True):
        assert line["vpgs"] == [VPG] and line["user"]
        assert line["report"] == report["_path"]
        assert line["checkpoint"][VPG] == {
            k: v for k, v in report["vpgs"][0]["checkpoint"].items() if k != "chosen_by" and v
        }
    for site in ("source", "target"):  # every request fitted the ZVM's API contract
        assert lab_request(pair, site, "GET", "/lab/contract")["violations"] == []


def test_cycle_report_page_renders_in_a_browser(cycle: Path) -> None:
    move = last_report(cycle, "move")
    dom = dump_dom(Path(move["_path"]).with_suffix(".html"))
    row = move["vpgs"][0]
    assert f"VPG {VPG}" in dom and "CHG-1002" in dom
    assert f"{row['rpo_seconds']} s" in dom and f"{row['rto_seconds']} s" in dom
    assert "Hand-off checklist (customer)" in dom
    assert "Complete database and application recovery on DC0_C0_RP0_VM0" in dom


def test_a_second_failback_changes_nothing(pair: Lab) -> None:
    before = {site: customer_vms(pair, site) for site in ("source", "target")}
    result = run(pair, "failback.yml", recovery_request_ref="CHG-1004")
    assert result.status == "successful", failure_messages(result)
    assert result.count("changed") == 0, result.stats
    assert {site: customer_vms(pair, site) for site in ("source", "target")} == before
    [row] = last_report(pair.directory, "failback")["vpgs"]
    assert (row["status"], row["changed"]) == ("unchanged", False)
    assert "protected in the original direction already" in row["message"]
    assert audit_lines(pair.directory)[-1]["result"] == "succeeded (nothing to do)"


def test_a_failover_rehearsal_is_rolled_back(pair: Lab) -> None:
    before = {site: customer_vms(pair, site) for site in ("source", "target")}
    result = run(
        pair,
        "failover.yml",
        recovery_request_ref="INC-2001",
        recovery_confirm=True,
        recovery_commit_policy="rollback",
    )
    assert result.status == "successful", failure_messages(result)
    [row] = last_report(pair.directory, "failover")["vpgs"]
    assert (row["status"], row["commit"]) == ("succeeded", "rolled back")
    assert [vm["power_state"] for vm in row["vms"]] == ["poweredOn", "poweredOn"]
    # as before: the VMs run at the source, protected to the target
    current = wait_meeting_sla(pair)
    assert (json_field(current, "ProtectedSiteName"), json_field(current, "Status")) == (
        "source",
        1,
    )
    assert {site: customer_vms(pair, site) for site in ("source", "target")} == before
    with pair.zvm("target") as zvm:
        assert json_field(zvm.recovery_reports("Failover")[-1], "General", "Status") == "RolledBack"


def test_a_confirmed_failover_then_a_failback(pair: Lab) -> None:
    result = run(pair, "failover.yml", recovery_request_ref="INC-2002", recovery_confirm=True)
    assert result.status == "successful", failure_messages(result)
    [row] = last_report(pair.directory, "failover")["vpgs"]
    assert (row["status"], row["commit"], row["checkpoint"]["chosen_by"]) == (
        "succeeded",
        "committed",
        "latest",
    )
    failed_over = vpg(pair, "target")
    assert json_field(failed_over, "ProtectedSiteName") == "target"
    assert customer_vms(pair, "source") == [(name, "poweredOff") for name in LAB_VMS]
    # the same failover again: the VMs run at the target already
    again = run(pair, "failover.yml", recovery_request_ref="INC-2003", recovery_confirm=True)
    assert again.status == "successful", failure_messages(again)
    assert last_report(pair.directory, "failover")["vpgs"][0]["status"] == "unchanged"
    back = run(pair, "failback.yml", recovery_request_ref="INC-2004")
    assert back.status == "successful", failure_messages(back)
    assert json_field(wait_meeting_sla(pair), "ProtectedSiteName") == "source"
    assert customer_vms(pair, "source") == [(name, "poweredOn") for name in LAB_VMS]


def test_every_run_wrote_one_audit_line(pair: Lab, cycle: Path) -> None:
    refs = [a["request_ref"] for a in audit_lines(pair.directory) + audit_lines(cycle)]
    assert sorted(refs) == sorted(
        [
            "CHG-CHECK",
            "CHG-EDITION",
            "",
            "CHG-NOCONFIRM",
            "CHG-NOBOOT",
            "CHG-CUT",
            "CHG-PEERCUT",
            "CHG-AFTERCUT",
            "CHG-1001",
            "CHG-1002",
            "CHG-1003",
            "CHG-1004",
            "INC-2001",
            "INC-2002",
            "INC-2003",
            "INC-2004",
        ]
    )
    assert len(refs) == len(pair.runs) - 1  # every run but the deployment


# -- helpers --------------------------------------------------------------------------------
def network_names(lab: Lab, site: str) -> set[str]:
    with lab.vcenter(site) as vc:
        return {n["name"] for n in vc.retrieve(vim.Network, ["name"])}


def host_switches(lab: Lab, site: str) -> dict[str, list[str]]:
    """Host → uplinks of its vmrepl-bubble vSwitch (hosts that have one)."""
    with lab.vcenter(site) as vc:
        hosts = vc.retrieve(vim.HostSystem, ["name"])
        infos = vc.host_networking([h.ref for h in hosts])
        names = {h.moid: h["name"] for h in hosts}
        return {
            names[moid]: [str(p) for p in switch.pnic or []]
            for moid, info in infos.items()
            for switch in info.vswitch or []
            if switch.name == "vmrepl-bubble"
        }


def vpg_test_network(lab: Lab) -> str:
    with lab.zvm("source") as zvm:
        current = vpg(lab)
        settings_id = zvm.vpg_settings_create(json_field(current, "VpgIdentifier"))
        try:
            settings = zvm.vpg_settings_get(settings_id)
        finally:
            zvm.vpg_settings_delete(settings_id)
        site = json_field(current, "RecoverySite", "identifier")
        names = {
            json_field(n, "NetworkIdentifier"): json_field(n, "VirtualizationNetworkName")
            for n in zvm.site_objects(site, "networks")
        }
    default = json_field(
        settings, "Networks", "FailoverTest", "Hypervisor", "DefaultNetworkIdentifier"
    )
    nics = {
        json_field(nic, "FailoverTest", "Hypervisor", "NetworkIdentifier")
        for vm in json_field(settings, "Vms")
        for nic in json_field(vm, "Nics")
    }
    assert nics == {default}
    return str(names[default])
