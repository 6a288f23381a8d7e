"""The contract: drive every operation the simulator implements once, on both sites, and
check that no request or response body departed from the vendored OpenAPI schema."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.lab.conftest import Lab, install_vra
from tests.lab.helpers import Zvm, create_vpg, enc, vpg_settings, wait_for, wait_status

pytestmark = pytest.mark.lab
MEETING_SLA = 1


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def _clear(*zvms: Zvm) -> None:
    for zvm in zvms:
        assert zvm.new_session().delete(zvm.url + "/lab/contract").status_code == 200


def test_request_violations_are_recorded(site_a) -> None:
    zvm = site_a.zvm
    _clear(zvm)
    zvm.get("/v1/localsite")
    assert zvm.contract()["violations"] == []
    zvm.raw("POST", "/v1/vpgSettings", json={"Basic": {"Name": 7}, "Bogus": True})
    found = {(v["direction"], v["location"]) for v in zvm.contract()["violations"]}
    assert ("request", "$.Basic.Name") in found
    assert ("request", "$.Bogus") in found
    _clear(zvm)


def _drive_settings(a: Zvm, b: Zvm, vm: str) -> None:
    """Every vpgSettings operation, on a settings object that is then committed."""
    sid = vpg_settings(a, b, _name("contract"), [vm])
    path = f"/v1/vpgSettings/{sid}"
    a.get("/v1/vpgSettings")
    whole = a.get(path)
    a.put(path, whole)
    for section in (
        "basic",
        "journal",
        "scratch",
        "recovery",
        "networks",
        "bootgroup",
        "scripting",
    ):
        a.put(f"{path}/{section}", a.get(f"{path}/{section}"))
    a.post(f"{path}/ltr", {"Enabled": False})
    a.put(f"{path}/ltr", {"Enabled": False})
    a.get(f"{path}/ltr")
    a.delete(f"{path}/ltr")
    vm_path = f"{path}/vms/{enc(vm)}"
    a.get(f"{path}/vms")
    a.put(vm_path, a.get(vm_path))
    nic = a.get(f"{vm_path}/nics")[0]
    nic_path = f"{vm_path}/nics/{enc(nic['NicIdentifier'])}"
    a.put(nic_path, a.get(nic_path))
    volume = a.get(f"{vm_path}/volumes")[0]
    volume_path = f"{vm_path}/volumes/{enc(volume['VolumeIdentifier'])}"
    a.put(volume_path, a.get(volume_path))
    a.delete(nic_path)
    a.run("POST", f"{path}/commit")

    scratch = a.post("/v1/vpgSettings", {})
    for section in (
        "basic",
        "journal",
        "scratch",
        "recovery",
        "networks",
        "bootgroup",
        "scripting",
    ):
        a.delete(f"/v1/vpgSettings/{scratch}/{section}")
    a.post(f"/v1/vpgSettings/{scratch}/vms", {"VmIdentifier": vm})
    a.delete(f"/v1/vpgSettings/{scratch}/vms/{enc(vm)}")
    a.delete(f"/v1/vpgSettings/{scratch}")


def _drive_vpg(a: Zvm, b: Zvm, vpg: str) -> None:
    """Every VPG and recovery operation on one VPG (ending with its deletion)."""
    a.get("/v1/vpgs")
    a.get(f"/v1/vpgs/{vpg}")
    for name in (
        "statuses",
        "substatuses",
        "priorities",
        "entitytypes",
        "retentionpolicies",
        "failovercommitpolicies",
        "failovershutdownpolicies",
    ):
        a.get(f"/v1/vpgs/{name}")
    a.run("POST", f"/v1/vpgs/{vpg}/checkpoints", {"CheckpointName": "contract"})
    a.get(f"/v1/vpgs/{vpg}/checkpoints")
    a.get(f"/v1/vpgs/{vpg}/checkpoints/stats")
    a.run("POST", f"/v1/vpgs/{vpg}/pause")
    a.run("POST", f"/v1/vpgs/{vpg}/resume")
    a.run("POST", f"/v1/vpgs/{vpg}/forcesync")
    a.run("POST", f"/v1/vpgs/{vpg}/FailoverTest", {"VmIdentifiers": []})
    a.run(
        "POST",
        f"/v1/vpgs/{vpg}/FailoverTestStop",
        {"FailoverTestSuccess": True, "FailoverTestSummary": "ok"},
    )
    a.run("POST", f"/v1/vpgs/{vpg}/Failover", {"CommitPolicy": 2, "ShutdownPolicy": 1})
    a.run("POST", f"/v1/vpgs/{vpg}/FailoverRollback")
    a.run("POST", f"/v1/vpgs/{vpg}/Move", {"CommitPolicy": 2, "ReverseProtection": False})
    a.run("POST", f"/v1/vpgs/{vpg}/moveRollback")
    a.run("POST", f"/v1/vpgs/{vpg}/Failover", {"CommitPolicy": 2, "IsReverseProtection": True})
    a.run("POST", f"/v1/vpgs/{vpg}/FailoverCommit", {"IsReverseProtection": True})
    wait_status(b, vpg, MEETING_SLA)
    b.run("POST", f"/v1/vpgs/{vpg}/Move", {"CommitPolicy": 2, "ReverseProtection": True})
    b.run("POST", f"/v1/vpgs/{vpg}/MoveCommit", {"ReverseProtection": True, "KeepSourceVms": False})
    reports = a.get("/v1/reports/recovery") + b.get("/v1/reports/recovery")
    zvm = a if any(r in a.get("/v1/reports/recovery") for r in reports[:1]) else b
    zvm.get(f"/v1/reports/recovery/{reports[0]['RecoveryOperationIdentifier']}")
    a.get("/v1/reports/resources?pageNumber=1&pageSize=1000")
    wait_status(a, vpg, MEETING_SLA)
    a.run("DELETE", f"/v1/vpgs/{vpg}", {"KeepRecoveryVolumes": False, "Force": False})


def _drive_the_rest(lab: Lab, site_c: Zvm) -> None:
    a, b = lab.a.zvm, lab.b.zvm
    a.token()
    for path in (
        "/v1/localsite",
        "/v1/localsite/pairingstatuses",
        "/v1/localsite/settings/loginBanner",
        "/v1/license",
        "/v1/serverDateTime/serverDateTimeUtc",
        "/v1/serverDateTime/serverDateTimeLocal",
        "/v1/serverDateTime/dateTimeArgument?dateTime=2024-05-01T10:00:00Z",
        "/v1/peersites",
        "/v1/peersites/pairingstatuses",
        f"/v1/peersites/{b.site}",
        "/v1/virtualizationsites",
        f"/v1/virtualizationsites/{b.site}",
        "/v1/tasks",
        "/v1/tasks/types",
        "/v1/alerts/levels",
        "/v1/alerts/entities",
        "/v1/alerts/helpidentifiers",
        "/v1/events/categories",
        "/v1/events/entities",
        "/v1/vms",
        "/v1/statistics/vms",
        "/v1/datastores",
        "/v1/vras/statuses",
        "/v1/vras/ipconfigurationtypes",
    ):
        a.get(path)
    a.get(f"/v1/tasks/{enc(a.get('/v1/tasks')[0]['Link']['identifier'])}")
    a.put("/v1/localsite/settings/loginBanner", {"IsLoginBannerEnabled": False, "LoginBanner": ""})
    a.post("/v1/localsite/billing/sendUsage")
    a.delete("/v1/license")
    a.put("/v1/license", {"LicenseKey": lab.a.license_key})
    datastore = a.get("/v1/datastores")[0]["DatastoreIdentifier"]
    a.get(f"/v1/datastores/{enc(datastore)}")
    for site in (a.site, b.site):
        for kind in (
            "vms",
            "datastores",
            "folders",
            "datastoreclusters",
            "resourcepools",
            "networks",
            "hosts",
            "hostclusters",
            "repositories",
            "devices",
        ):
            a.get(f"/v1/virtualizationsites/{site}/{kind}")
    host = a.inventory("hosts")[0]["HostIdentifier"]
    a.get(f"/v1/virtualizationsites/{a.site}/hosts/{enc(host)}")

    # pairing and unpairing with site C
    token = site_c.post("/v1/peersites/generatetoken")["Token"]
    host_name, port = site_c.pairing_host_port
    a.run("POST", "/v1/peersites", {"HostName": host_name, "Port": port, "Token": token})
    a.run("DELETE", f"/v1/peersites/{site_c.site}", {"IsKeepTargetDisks": False})

    # a VRA on host H2: install, read, edit, upgrade, uninstall
    h2 = sorted(a.inventory("hosts"), key=lambda h: h["VirtualizationHostName"])[2]
    for vra in a.get("/v1/vras"):
        if vra["HostIdentifier"] == h2["HostIdentifier"]:
            a.run("DELETE", f"/v1/vras/{vra['VraIdentifier']}")
    assert a.wait_task(install_vra(a, h2["HostIdentifier"]))["Status"]["State"] == 6
    [vra] = [v for v in a.get("/v1/vras") if v["HostIdentifier"] == h2["HostIdentifier"]]
    a.get(f"/v1/vras/{vra['VraIdentifier']}")
    a.run("PUT", f"/v1/vras/{vra['VraIdentifier']}", {"MemoryInGb": 4, "NumOfCpus": 2})
    a.run("POST", f"/v1/vras/{vra['VraIdentifier']}/upgrade")
    # change recovery VRA (no VM recovers to H2: the ZVM's validation says so) and the events
    change = f"/v1/vras/{vra['VraIdentifier']}/changerecoveryvra"
    a.get(f"{change}/potentials")
    allocation = {
        "VmsAllocations": [{"VmIdentifier": "none", "HostIdentifier": h2["HostIdentifier"]}]
    }
    [result] = a.post(f"{change}/validate", allocation)["VmsValidationsResults"]
    assert result["Status"] != 0 and result["Reason"]
    a.post(f"{change}/execute", allocation, expect=400)
    a.get("/v1/events")
    a.run("DELETE", f"/v1/vras/{vra['VraIdentifier']}")


def test_every_implemented_operation_fits_the_schema(vras: Lab, site_c: Zvm) -> None:
    a, b = vras.a, vras.b
    _clear(a.zvm, b.zvm, site_c)
    _drive_the_rest(vras, site_c)
    vm = a.vcsim.make_vm(_name("contract"))
    _drive_settings(a.zvm, b.zvm, vm)
    [vpg] = [
        v for v in a.zvm.get("/v1/vpgs") if v["VmsCount"] and v["VpgName"].startswith("contract-")
    ]
    vpg_id = vpg["VpgIdentifier"]
    wait_status(a.zvm, vpg_id, MEETING_SLA)
    a.zvm.get(f"/v1/vms/{enc(vm)}")

    # alerts: a paused VPG raises one
    other = create_vpg(a.zvm, b.zvm, _name("alerting"), [a.vcsim.make_vm(_name("alerting"))])
    wait_status(a.zvm, other, MEETING_SLA)
    a.zvm.run("POST", f"/v1/vpgs/{other}/pause")
    alert = wait_for(lambda: [al for al in a.zvm.get("/v1/alerts") if al["AffectedVpgs"]])[0]
    alert_id = alert["Link"]["identifier"]
    a.zvm.get(f"/v1/alerts/{alert_id}")
    a.zvm.post(f"/v1/alerts/{alert_id}/dismiss")
    assert a.zvm.get(f"/v1/alerts/{alert_id}")["IsDismissed"] is True
    a.zvm.post(f"/v1/alerts/{alert_id}/undismiss")
    a.zvm.run("POST", f"/v1/vpgs/{other}/resume")
    # events: the alert turned on (and, once resumed, off), in a window and by alert
    since = alert["TurnedOn"]
    [event] = a.zvm.get(f"/v1/events?alertIdentifier={alert_id}&startDate={since}&category=Alerts")[
        :1
    ]
    a.zvm.get(f"/v1/events/{enc(event['Link']['identifier'])}")
    a.zvm.get(f"/v1/alerts?startDate={since}&endDate={since}")
    a.zvm.get(f"/v1/tasks?startedAfterDate={since}")

    _drive_vpg(a.zvm, b.zvm, vpg_id)

    reports: list[dict[str, Any]] = [a.zvm.contract(), b.zvm.contract(), site_c.contract()]
    violations = [v for r in reports for v in r["violations"]]
    assert violations == [], "\n".join(
        f"{v['direction']} {v['operation']} {v['status']} {v['location']}: {v['message']}"
        for v in violations
    )
    implemented = set(reports[0]["implemented"])
    checked = {op for r in reports for op in r["responses_checked"]}
    assert implemented - checked == set()
    assert len(implemented) > 120
