"""Injected faults: 503 answers, a cut link to the peer, test VMs that do not boot, slow
tasks, and the admin endpoint's own validation."""

from __future__ import annotations

import uuid

import pytest

from tests.lab.conftest import Lab, Site
from tests.lab.helpers import COMPLETED, IN_PROGRESS, create_vpg, wait_for, wait_status

pytestmark = pytest.mark.lab
MEETING_SLA, NOT_MEETING_SLA, RECOVERED = 1, 2, 8


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def test_unavailable_calls(site_a: Site) -> None:
    zvm = site_a.zvm
    zvm.faults(unavailable_calls=2)
    for _ in range(2):
        response = zvm.raw("GET", "/v1/localsite")
        assert response.status_code == 503
        assert response.json()["Message"]
        assert response.headers["Retry-After"]
    assert zvm.get("/v1/localsite")["SiteName"] == "site-a"


def test_cut_link_breaks_the_sla_and_raises_an_alert(vras: Lab) -> None:
    a, b = vras.a, vras.b
    vm_name = _name("cut")
    vm = a.vcsim.make_vm(vm_name)
    vpg_id = create_vpg(a.zvm, b.zvm, _name("cut"), [vm])
    wait_status(a.zvm, vpg_id, MEETING_SLA)
    a.zvm.faults(peer_link="cut")

    vpg = wait_status(a.zvm, vpg_id, NOT_MEETING_SLA)
    assert vpg["SubStatus"] == 24  # DisconnectedFromPeer
    assert vpg["AlertStatus"] == 2
    alerts = a.zvm.get("/v1/alerts?level=Error")
    assert any(al["HelpIdentifier"] == "ZVM0003" for al in alerts)
    [vpg_alert] = [
        al
        for al in alerts
        if al["HelpIdentifier"] == "VPG0010"
        and al["AffectedVpgs"]
        and al["AffectedVpgs"][0]["identifier"] == vpg_id
    ]
    assert vpg_alert["Level"] == "Error" and vpg_alert["TurnedOn"]
    assert a.zvm.get(f"/v1/alerts/{vpg_alert['Link']['identifier']}") == vpg_alert
    wait_status(b.zvm, vpg_id, NOT_MEETING_SLA)  # the peer notices too
    assert any(al["HelpIdentifier"] == "VPG0010" for al in b.zvm.get("/v1/alerts"))

    # a move or a test needs both sites; a failover from the recovery site does not
    assert "connection to site" in a.zvm.error("POST", f"/v1/vpgs/{vpg_id}/Move", {})
    assert "connection to site" in b.zvm.error("POST", f"/v1/vpgs/{vpg_id}/FailoverTest", {})
    b.zvm.run("POST", f"/v1/vpgs/{vpg_id}/Failover", {"CommitPolicy": 1, "ShutdownPolicy": 0})
    assert b.vcsim.power_named(vm_name) == "poweredOn"
    assert b.zvm.vpg(vpg_id)["Status"] == RECOVERED
    assert a.vcsim.power(vm) == "poweredOn"  # the protected site was cut off

    a.zvm.faults(peer_link="up")
    wait_for(lambda: a.zvm.vpg(vpg_id)["Status"] == RECOVERED)  # the sites caught up
    wait_for(lambda: not any(al["HelpIdentifier"] == "ZVM0003" for al in a.zvm.get("/v1/alerts")))


def test_test_vm_that_fails_to_boot(vras: Lab) -> None:
    a, b = vras.a, vras.b
    good, bad = _name("good"), _name("bad")
    vms = [a.vcsim.make_vm(good), a.vcsim.make_vm(bad)]
    vpg_id = create_vpg(a.zvm, b.zvm, _name("boot"), vms)
    wait_status(a.zvm, vpg_id, MEETING_SLA)
    a.zvm.faults(fail_boot_vms=[bad])  # set where the operation runs (or at the recovery site)
    task = a.zvm.run("POST", f"/v1/vpgs/{vpg_id}/FailoverTest", {})
    assert bad in task["CompleteReason"]
    assert b.vcsim.power_named(f"{good} - testing recovery") == "poweredOn"
    assert b.vcsim.power_named(f"{bad} - testing recovery") == "poweredOff"
    a.zvm.run("POST", f"/v1/vpgs/{vpg_id}/FailoverTestStop", {"FailoverTestSuccess": False})
    assert b.vcsim.vm_named(f"{bad} - testing recovery") is None


def test_slow_tasks(vras: Lab) -> None:
    a, b = vras.a, vras.b
    vpg_id = create_vpg(a.zvm, b.zvm, _name("slow"), [a.vcsim.make_vm(_name("slow"))])
    wait_status(a.zvm, vpg_id, MEETING_SLA)
    knobs = a.zvm.faults(task_seconds={"checkpoint": 1.5})
    assert knobs["task_seconds"]["checkpoint"] == 1.5
    task_id = a.zvm.post(f"/v1/vpgs/{vpg_id}/checkpoints", {"CheckpointName": "slow"})
    task = a.zvm.get(f"/v1/tasks/{task_id}")
    assert task["Status"]["State"] == IN_PROGRESS and task["Status"]["Progress"] < 100
    assert a.zvm.wait_task(task_id)["Status"]["State"] == COMPLETED


def test_admin_endpoint_rejects_unknown_faults(site_a: Site) -> None:
    session = site_a.zvm.new_session()
    response = session.post(site_a.zvm.url + "/lab/faults", json={"explode": True})
    assert response.status_code == 400 and "explode" in response.json()["Message"]
    response = session.post(site_a.zvm.url + "/lab/faults", json={"task_seconds": {"nope": 1}})
    assert response.status_code == 400
    state = session.get(site_a.zvm.url + "/lab/state").json()
    assert state["site"]["identifier"] == site_a.zvm.site
    assert all(p["key"] == "***" for p in state["peers"])
