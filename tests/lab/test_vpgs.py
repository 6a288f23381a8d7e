"""VPGs: settings objects, validation, initial sync → MeetingSLA, checkpoints, history, both
sites, edits, pause/resume, deletion; the protected VMs' statistics."""

from __future__ import annotations

import uuid

import pytest

from tests.lab.conftest import Lab
from tests.lab.helpers import (
    COMPLETED,
    create_vpg,
    enc,
    recovery_targets,
    vpg_settings,
    wait_for,
    wait_status,
)

pytestmark = pytest.mark.lab
INITIALIZING, MEETING_SLA = 0, 1


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def test_vpg_initializes_then_meets_its_sla(vras: Lab) -> None:
    a, b = vras.a, vras.b
    vm = a.vcsim.make_vm(_name("web"))
    name = _name("vpg")
    sid = vpg_settings(a.zvm, b.zvm, name, [vm])
    settings = a.zvm.get(f"/v1/vpgSettings/{sid}")
    assert settings["VpgSettingsIdentifier"] == sid and settings["VpgIdentifier"] is None
    assert [v["VmIdentifier"] for v in settings["Vms"]] == [vm]
    assert settings["Vms"][0]["Volumes"][0]["VolumeIdentifier"].startswith("scsi:")
    task_id = a.zvm.post(f"/v1/vpgSettings/{sid}/commit")
    assert a.zvm.get(f"/v1/vpgSettings/{sid}", expect=404)  # deleted on commit
    [created] = [v for v in a.zvm.get("/v1/vpgs") if v["VpgName"] == name]
    assert created["Status"] == INITIALIZING and created["SubStatus"] == 1  # InitialSync
    assert a.zvm.wait_task(task_id)["Status"]["State"] == COMPLETED
    vpg_id = created["VpgIdentifier"]

    vpg = wait_status(a.zvm, vpg_id, MEETING_SLA)
    assert vpg["StatusDescription"] == "MeetingSLA"
    assert 1 <= vpg["ActualRPO"] <= 10
    assert vpg["ConfiguredRpoSeconds"] == 300
    assert vpg["Priority"] == 2 and vpg["VmsCount"] == 1
    assert vpg["ProtectedSite"]["identifier"] == a.zvm.site
    assert vpg["RecoverySite"]["identifier"] == b.zvm.site
    assert (vpg["ProtectedSiteName"], vpg["RecoverySiteName"]) == ("site-a", "site-b")
    # the peer lists the same VPG
    at_b = wait_for(lambda: b.zvm.get(f"/v1/vpgs?name={name}"))
    assert at_b[0]["VpgIdentifier"] == vpg_id and at_b[0]["Status"] == MEETING_SLA

    # journal history fills up to the configured hours; checkpoints advance
    history = vpg["HistoryStatusApi"]
    assert history["ConfiguredHistoryInMinutes"] == 60
    full = wait_for(lambda: a.zvm.vpg(vpg_id)["HistoryStatusApi"]["ActualHistoryInMinutes"] == 60)
    assert full
    first = a.zvm.get(f"/v1/vpgs/{vpg_id}/checkpoints")
    assert first and all(c["CheckpointIdentifier"] for c in first)
    latest = first[-1]["TimeStamp"]
    wait_for(lambda: a.zvm.get(f"/v1/vpgs/{vpg_id}/checkpoints")[-1]["TimeStamp"] > latest)
    stats = a.zvm.get(f"/v1/vpgs/{vpg_id}/checkpoints/stats")
    assert stats["Earliest"]["TimeStamp"] <= stats["Latest"]["TimeStamp"]
    assert stats["Latest"]["TimeStamp"] > latest
    a.zvm.run("POST", f"/v1/vpgs/{vpg_id}/checkpoints", {"CheckpointName": "before-patch"})
    tags = [c for c in a.zvm.get(f"/v1/vpgs/{vpg_id}/checkpoints") if c["Tag"] == "before-patch"]
    assert len(tags) == 1

    # the VM is protected now: no longer listed as protectable, listed in /v1/vms
    assert vm not in {v["VmIdentifier"] for v in a.zvm.inventory("vms")}
    [protected] = [v for v in a.zvm.get("/v1/vms") if v["VmIdentifier"] == vm]
    assert protected["VpgName"] == name and protected["ActualRPO"] >= 1
    assert protected["OutgoingBandWidthInMbps"] > 0
    counters = {s["VmIdentifier"]: s for s in a.zvm.get("/v1/statistics/vms")}[vm]
    wait_for(
        lambda: (
            {s["VmIdentifier"]: s for s in a.zvm.get("/v1/statistics/vms")}[vm]["WriteCounterInMBs"]
            > counters["WriteCounterInMBs"]
        )
    )
    a.zvm.run("DELETE", f"/v1/vpgs/{vpg_id}", {"KeepRecoveryVolumes": False, "Force": False})
    assert a.zvm.get(f"/v1/vpgs/{vpg_id}", expect=404)
    wait_for(lambda: all(v["VpgIdentifier"] != vpg_id for v in b.zvm.get("/v1/vpgs")))
    assert vm in {v["VmIdentifier"] for v in a.zvm.inventory("vms")}


def _commit_error(lab: Lab, sid: str) -> str:
    return lab.a.zvm.error("POST", f"/v1/vpgSettings/{sid}/commit")


def test_commit_validation(vras: Lab) -> None:
    a, b = vras.a, vras.b
    vm = a.vcsim.make_vm(_name("db"))
    sid = vpg_settings(a.zvm, b.zvm, _name("val"), [vm])
    path = f"/v1/vpgSettings/{sid}"
    basic = a.zvm.get(path + "/basic")

    assert "JournalHistoryInHours" in a.zvm.error(
        "PUT", path + "/basic", {**basic, "JournalHistoryInHours": 721}
    )
    assert "JournalHistoryInHours" in a.zvm.error(
        "PUT", path + "/basic", {**basic, "JournalHistoryInHours": 0}
    )
    a.zvm.put(path + "/basic", {**basic, "Name": ""})
    assert "name" in _commit_error(vras, sid)
    existing = create_vpg(a.zvm, b.zvm, _name("taken"), [a.vcsim.make_vm(_name("other"))])
    taken = a.zvm.vpg(existing)["VpgName"]
    a.zvm.put(path + "/basic", {**basic, "Name": taken.upper()})
    assert "already exists" in _commit_error(vras, sid)
    a.zvm.put(path + "/basic", basic)

    recovery = a.zvm.get(path + "/recovery")
    a.zvm.put(path + "/recovery", {**recovery, "DefaultHostIdentifier": "nope.host-1"})
    assert "was not found at the recovery site" in _commit_error(vras, sid)
    h2 = recovery_targets(a.zvm, b.zvm.site, host_index=2)["host"]
    a.zvm.put(path + "/recovery", {**recovery, "DefaultHostIdentifier": h2})
    assert "No VRA" in _commit_error(vras, sid)
    a.zvm.put(path + "/recovery", {**recovery, "DefaultDatastoreIdentifier": None})
    assert "Datastore" in _commit_error(vras, sid)
    a.zvm.put(path + "/recovery", recovery)

    networks = a.zvm.get(path + "/networks")
    a.zvm.put(path + "/networks", {"Failover": networks["Failover"]})
    assert "FailoverTest" in _commit_error(vras, sid)
    a.zvm.put(path + "/networks", networks)

    a.zvm.delete(f"{path}/vms/{enc(vm)}")
    assert a.zvm.get(path + "/vms") == []
    assert "was not found" in a.zvm.error("POST", path + "/vms", {"VmIdentifier": "x.vm-404"})
    a.zvm.post(path + "/vms", {"VmIdentifier": vm})
    assert "already in" in a.zvm.error("POST", path + "/vms", {"VmIdentifier": vm})
    # a VM on a host without a VRA cannot be protected
    lonely = a.vcsim.make_vm(_name("h2vm"), host_index=2)
    a.zvm.post(path + "/vms", {"VmIdentifier": lonely})
    assert "no VRA" in _commit_error(vras, sid)
    a.zvm.delete(f"{path}/vms/{enc(lonely)}")

    a.zvm.run("POST", path + "/commit")
    a.zvm.delete("/v1/vpgSettings/" + a.zvm.post("/v1/vpgSettings", {}))


def test_an_empty_vpg_is_committed_then_filled(vras: Lab) -> None:
    """As Zerto's SDK does: a VPG created without VMs, the VMs added by editing it."""
    a, b = vras.a, vras.b
    task = a.zvm.run(
        "POST", f"/v1/vpgSettings/{vpg_settings(a.zvm, b.zvm, _name('empty'), [])}/commit"
    )
    [entity] = task["RelatedEntities"]["Vpgs"]
    vpg_id = str(entity["identifier"])
    empty = a.zvm.vpg(vpg_id)
    assert empty["VmsCount"] == 0
    assert empty["SubStatusDescription"] == "EmptyProtectionGroup"
    vm = a.vcsim.make_vm(_name("fill"))
    sid = a.zvm.post("/v1/vpgSettings", {"VpgIdentifier": vpg_id})
    a.zvm.post(f"/v1/vpgSettings/{sid}/vms", {"VmIdentifier": vm})
    a.zvm.run("POST", f"/v1/vpgSettings/{sid}/commit")
    filled = wait_status(a.zvm, vpg_id, 1)
    assert filled["VmsCount"] == 1
    assert filled["SubStatusDescription"] != "EmptyProtectionGroup"


def test_a_vm_recovers_to_each_site_at_most_once(vras: Lab) -> None:
    a, b = vras.a, vras.b
    vm = a.vcsim.make_vm(_name("app"))
    create_vpg(a.zvm, b.zvm, _name("remote"), [vm])
    sid = vpg_settings(a.zvm, b.zvm, _name("again"), [vm])
    assert "already protected to site site-b" in _commit_error(vras, sid)
    a.zvm.delete(f"/v1/vpgSettings/{sid}")
    # local edition: protected and recovery site are both A
    local = create_vpg(a.zvm, a.zvm, _name("local"), [vm], host_index=1)
    vpg = wait_status(a.zvm, local, MEETING_SLA)
    assert vpg["ProtectedSite"]["identifier"] == vpg["RecoverySite"]["identifier"] == a.zvm.site
    assert vpg["VpgType"] == "Local"
    assert all(v["VpgIdentifier"] != local for v in b.zvm.get("/v1/vpgs"))


def test_settings_objects_whole_and_by_section(vras: Lab) -> None:
    a, b = vras.a, vras.b
    vm = a.vcsim.make_vm(_name("edit"))
    vpg_id = create_vpg(a.zvm, b.zvm, _name("edit"), [vm], journal_hours=2)
    wait_status(a.zvm, vpg_id, MEETING_SLA)
    sid = a.zvm.post("/v1/vpgSettings", {"VpgIdentifier": vpg_id})
    path = f"/v1/vpgSettings/{sid}"
    whole = a.zvm.get(path)
    assert whole["VpgIdentifier"] == vpg_id
    assert whole["Basic"]["JournalHistoryInHours"] == 2
    for section in (
        "basic",
        "journal",
        "scratch",
        "recovery",
        "networks",
        "bootgroup",
        "scripting",
    ):
        assert a.zvm.get(f"{path}/{section}") is not None, section
    entry = a.zvm.get(f"{path}/vms/{enc(vm)}")
    assert entry["VmIdentifier"] == vm
    nics = a.zvm.get(f"{path}/vms/{enc(vm)}/nics")
    assert nics[0]["NicIdentifier"] == "Network adapter 1"
    volumes = a.zvm.get(f"{path}/vms/{enc(vm)}/volumes")
    assert (
        a.zvm.get(f"{path}/vms/{enc(vm)}/volumes/{enc(volumes[0]['VolumeIdentifier'])}")
        == volumes[0]
    )
    # keys are bound case-insensitively
    whole["basic"] = whole.pop("Basic")
    whole["basic"]["journalhistoryinhours"] = whole["basic"].pop("JournalHistoryInHours") + 1
    a.zvm.put(path, whole)
    assert a.zvm.get(path + "/basic")["JournalHistoryInHours"] == 3
    a.zvm.run("POST", path + "/commit")
    edited = a.zvm.vpg(vpg_id)
    assert edited["HistoryStatusApi"]["ConfiguredHistoryInMinutes"] == 180
    assert a.zvm.get(f"/v1/vpgSettings/{sid}", expect=404)


def test_pause_resume_and_force_sync(vras: Lab) -> None:
    a, b = vras.a, vras.b
    vpg_id = create_vpg(a.zvm, b.zvm, _name("pause"), [a.vcsim.make_vm(_name("p"))])
    wait_status(a.zvm, vpg_id, MEETING_SLA)
    a.zvm.run("POST", f"/v1/vpgs/{vpg_id}/pause")
    assert a.zvm.vpg(vpg_id)["SubStatus"] == 25  # ReplicationPausedUserInitiated
    assert "already paused" in a.zvm.error("POST", f"/v1/vpgs/{vpg_id}/pause")
    wait_for(lambda: any(al["HelpIdentifier"] == "VPG0017" for al in a.zvm.get("/v1/alerts")))
    a.zvm.run("POST", f"/v1/vpgs/{vpg_id}/resume")
    assert a.zvm.vpg(vpg_id)["SubStatus"] != 25
    a.zvm.run("POST", f"/v1/vpgs/{vpg_id}/forcesync")
    assert wait_status(a.zvm, vpg_id, MEETING_SLA)


def test_vpg_enumerations(site_a) -> None:
    zvm = site_a.zvm
    statuses = zvm.get("/v1/vpgs/statuses")
    assert statuses[:2] == ["Initializing", "MeetingSLA"] and statuses[8] == "Recovered"
    substatuses = zvm.get("/v1/vpgs/substatuses")
    assert substatuses[15] == "FailingOverBeforeCommit" and substatuses[19] == "MovingBeforeCommit"
    assert zvm.get("/v1/vpgs/priorities") == ["Low", "Medium", "High"]
    assert zvm.get("/v1/vpgs/failovercommitpolicies") == ["Rollback", "Commit", "None"]
    assert zvm.get("/v1/vpgs/failovershutdownpolicies") == ["None", "Shutdown", "ForceShutdown"]
