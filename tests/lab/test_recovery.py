"""Recovery operations acting on both vcsims: failover test, failover (commit, rollback,
reverse protection), move and failback, and the recovery reports."""

from __future__ import annotations

import uuid

import pytest

from tests.lab.conftest import Lab
from tests.lab.helpers import create_vpg, wait_status

pytestmark = pytest.mark.lab
INITIALIZING, MEETING_SLA, FAILING_OVER, MOVING, RECOVERED = 0, 1, 5, 6, 8


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def _extra(vm: object) -> dict[str, str]:
    return {o.key: o.value for o in vm["config.extraConfig"] or []}  # type: ignore[index]


def _network_names(lab_site, vm) -> set[str]:
    names = {
        n.moid: n["name"]
        for n in lab_site.vcsim.client.retrieve(__import__("pyVmomi").vim.Network, ["name"])
    }
    return {names[ref._moId] for ref in vm["network"]}


def _reports(zvm, vpg_name: str, kind: str) -> list[dict]:
    return [
        r
        for r in zvm.get(f"/v1/reports/recovery?recoveryType={kind}")
        if r["General"]["VpgName"] == vpg_name
    ]


def test_no_failover_test_during_the_initial_sync(vras: Lab) -> None:
    # the initial sync is held open (60 s) so that the refusal does not race the sync
    a, b = vras.a, vras.b
    before = a.zvm.faults()["task_seconds"]
    a.zvm.faults(task_seconds={"initial_sync": 60})
    try:
        vm = a.vcsim.make_vm(_name("sync-src"))
        vpg_id = create_vpg(a.zvm, b.zvm, _name("sync"), [vm])
    finally:
        a.zvm.faults(task_seconds={"initial_sync": before.get("initial_sync", before["default"])})
    assert "initial sync" in a.zvm.error("POST", f"/v1/vpgs/{vpg_id}/FailoverTest", {})
    a.zvm.run("DELETE", f"/v1/vpgs/{vpg_id}", {})


def test_failover_test_creates_and_removes_test_vms(vras: Lab) -> None:
    a, b = vras.a, vras.b
    vm_name = _name("test-src")
    vm = a.vcsim.make_vm(vm_name)
    vpg_name = _name("fot")
    vpg_id = create_vpg(a.zvm, b.zvm, vpg_name, [vm])
    wait_status(a.zvm, vpg_id, MEETING_SLA)
    checkpoint = a.zvm.get(f"/v1/vpgs/{vpg_id}/checkpoints")[-1]["CheckpointIdentifier"]

    task = a.zvm.run(
        "POST", f"/v1/vpgs/{vpg_id}/FailoverTest", {"CheckpointIdentifier": checkpoint}
    )
    assert task["Type"] == "FailoverTest" and task["CompleteReason"] is None
    test_vm = b.vcsim.vm_named(f"{vm_name} - testing recovery")
    assert test_vm is not None
    assert test_vm["runtime.powerState"] == "poweredOn"
    assert b.vcsim.host_names()[test_vm["runtime.host"]._moId] == "DC0_C0_H0"
    assert _network_names(b, test_vm) == {"VM Network"}  # the FailoverTest network
    assert a.vcsim.power(vm) == "poweredOn"  # the source keeps running
    vpg = a.zvm.vpg(vpg_id)
    assert vpg["ActiveProcessesApi"]["RunningFailOverTestApi"]["Stage"] == "Running"
    assert vpg["Status"] == MEETING_SLA
    assert "already in a FailoverTest" in a.zvm.error("POST", f"/v1/vpgs/{vpg_id}/FailoverTest", {})

    a.zvm.run(
        "POST",
        f"/v1/vpgs/{vpg_id}/FailoverTestStop",
        {"FailoverTestSuccess": True, "FailoverTestSummary": "app answered"},
    )
    assert b.vcsim.vm_named(f"{vm_name} - testing recovery") is None
    vpg = a.zvm.vpg(vpg_id)
    assert vpg["ActiveProcessesApi"]["RunningFailOverTestApi"] is None
    assert vpg["LastTest"] is not None
    [report] = _reports(a.zvm, vpg_name, "FailoverTest")
    assert report["General"]["Status"] == "Passed"
    assert report["General"]["Notes"] == "app answered"
    assert report["RecoverySettings"]["Vms"][0]["HostName"] == "DC0_C0_H0"
    assert a.zvm.get(f"/v1/reports/recovery/{report['RecoveryOperationIdentifier']}") == report
    assert "no failover test" in a.zvm.error("POST", f"/v1/vpgs/{vpg_id}/FailoverTestStop", {})


def test_failover_with_reverse_protection_and_failback(vras: Lab) -> None:
    a, b = vras.a, vras.b
    vm_name = _name("app")
    vm = a.vcsim.make_vm(vm_name, host_index=1)
    vpg_name = _name("dr")
    vpg_id = create_vpg(a.zvm, b.zvm, vpg_name, [vm])
    wait_status(a.zvm, vpg_id, MEETING_SLA)

    a.zvm.run(
        "POST",
        f"/v1/vpgs/{vpg_id}/Failover",
        {"CommitPolicy": 2, "ShutdownPolicy": 1, "TimeToWaitBeforeShutdownInSec": 300},
    )
    vpg = a.zvm.vpg(vpg_id)
    assert (vpg["Status"], vpg["SubStatus"]) == (FAILING_OVER, 15)  # FailingOverBeforeCommit
    assert a.vcsim.power(vm) == "poweredOff"
    recovered = b.vcsim.vm_named(vm_name)
    assert recovered is not None and recovered["runtime.powerState"] == "poweredOn"
    assert b.vcsim.host_names()[recovered["runtime.host"]._moId] == "DC0_C0_H0"
    assert _network_names(b, recovered) == {"DC0_DVPG0"}  # the Failover network
    assert any(al["HelpIdentifier"] == "VPG0014" for al in a.zvm.get("/v1/alerts"))

    a.zvm.run("POST", f"/v1/vpgs/{vpg_id}/FailoverCommit", {"IsReverseProtection": True})
    vpg = a.zvm.vpg(vpg_id)
    assert vpg["ProtectedSite"]["identifier"] == b.zvm.site
    assert vpg["RecoverySite"]["identifier"] == a.zvm.site
    assert vpg["Status"] in (INITIALIZING, MEETING_SLA)
    reversed_at_b = wait_status(b.zvm, vpg_id, MEETING_SLA)
    assert reversed_at_b["ProtectedSiteName"] == "site-b"
    # the original is the replica now: kept powered off, no longer a protectable VM
    original = a.vcsim.vm(vm)
    assert original is not None and original["runtime.powerState"] == "poweredOff"
    assert _extra(original)["zerto.vmrepl.role"] == "replica"
    assert vm not in {v["VmIdentifier"] for v in a.zvm.inventory("vms")}
    recovered_id = f"{b.vcsim.server_id}.{recovered.moid}"
    assert recovered_id not in {v["VmIdentifier"] for v in b.zvm.inventory("vms")}
    [report] = _reports(a.zvm, vpg_name, "Failover")
    assert report["General"]["Status"] == "Committed"

    # failback: move the reverse-protected VPG home, from site B's ZVM
    b.zvm.run("POST", f"/v1/vpgs/{vpg_id}/Move", {"CommitPolicy": 1, "ReverseProtection": True})
    home = wait_status(b.zvm, vpg_id, MEETING_SLA)
    assert home["ProtectedSite"]["identifier"] == a.zvm.site
    assert a.vcsim.power(vm) == "poweredOn"  # the original VM itself runs again
    assert b.vcsim.power(recovered_id) == "poweredOff"
    assert len([v for v in a.vcsim.vms() if v["name"] == vm_name]) == 1
    assert _reports(b.zvm, vpg_name, "Move")[0]["General"]["Status"] == "Committed"


def test_move_without_reverse_protection_removes_the_source(vras: Lab) -> None:
    a, b = vras.a, vras.b
    vm_name = _name("mv")
    vm = a.vcsim.make_vm(vm_name)
    vpg_id = create_vpg(a.zvm, b.zvm, _name("move"), [vm])
    wait_status(a.zvm, vpg_id, MEETING_SLA)
    message = a.zvm.error(
        "POST", f"/v1/vpgs/{vpg_id}/Move", {"ReverseProtection": True, "KeepSourceVms": True}
    )
    assert "KeepSourceVms" in message
    a.zvm.run("POST", f"/v1/vpgs/{vpg_id}/Move", {"CommitPolicy": 2, "ForceShutdown": True})
    vpg = a.zvm.vpg(vpg_id)
    assert (vpg["Status"], vpg["SubStatus"]) == (MOVING, 19)  # MovingBeforeCommit
    assert a.vcsim.power(vm) == "poweredOff"
    a.zvm.run("POST", f"/v1/vpgs/{vpg_id}/MoveCommit", {"ReverseProtection": False})
    assert a.vcsim.vm(vm) is None
    assert b.vcsim.power_named(vm_name) == "poweredOn"
    assert a.zvm.vpg(vpg_id)["Status"] == RECOVERED
    assert "recovered without reverse protection" in a.zvm.error(
        "POST", f"/v1/vpgs/{vpg_id}/FailoverTest", {}
    )


def test_rollbacks_undo_the_recovery(vras: Lab) -> None:
    a, b = vras.a, vras.b
    vm_name = _name("rb")
    vm = a.vcsim.make_vm(vm_name)
    vpg_name = _name("rollback")
    vpg_id = create_vpg(a.zvm, b.zvm, vpg_name, [vm])
    wait_status(a.zvm, vpg_id, MEETING_SLA)
    a.zvm.run("POST", f"/v1/vpgs/{vpg_id}/Failover", {"CommitPolicy": 2, "ShutdownPolicy": 2})
    assert b.vcsim.vm_named(vm_name) is not None
    a.zvm.run("POST", f"/v1/vpgs/{vpg_id}/FailoverRollback")
    assert b.vcsim.vm_named(vm_name) is None
    assert a.vcsim.power(vm) == "poweredOn"
    assert a.zvm.vpg(vpg_id)["Status"] == MEETING_SLA
    assert _reports(a.zvm, vpg_name, "Failover")[0]["General"]["Status"] == "RolledBack"

    a.zvm.run("POST", f"/v1/vpgs/{vpg_id}/Move", {"CommitPolicy": 2})
    a.zvm.run("POST", f"/v1/vpgs/{vpg_id}/moveRollback")
    assert b.vcsim.vm_named(vm_name) is None
    assert a.vcsim.power(vm) == "poweredOn"
    assert "not in a Move" in a.zvm.error("POST", f"/v1/vpgs/{vpg_id}/MoveCommit", {})
