"""VRAs: a real VM Z-VRA-<host> on the host in vcsim; validation; one per host; faults."""

from __future__ import annotations

from typing import Any

import pytest

from tests.lab.conftest import Site, host_ids, install_vra
from tests.lab.helpers import COMPLETED, FAILED, wait_for

pytestmark = pytest.mark.lab
HOST = "DC0_C0_H2"


def _vra_on(site: Site, host_id: str) -> dict[str, Any] | None:
    return next((v for v in site.zvm.get("/v1/vras") if v["HostIdentifier"] == host_id), None)


def _host(site: Site) -> str:
    return host_ids(site.zvm)[2]


def _remove_if_present(site: Site, host_id: str) -> None:
    vra = _vra_on(site, host_id)
    if vra is not None:
        site.zvm.run("DELETE", f"/v1/vras/{vra['VraIdentifier']}")


def test_install_creates_the_vra_vm_on_its_host_and_uninstall_removes_it(site_a: Site) -> None:
    zvm, host_id = site_a.zvm, _host(site_a)
    _remove_if_present(site_a, host_id)
    task_id = install_vra(
        zvm,
        host_id,
        MemoryInGb=4,
        NumOfCpus=2,
        GroupName="lab",
        VraNetworkDataApi={
            "VraIPConfigurationTypeApi": "Static",
            "VraIPAddress": "10.0.0.20",
            "SubnetMask": "255.255.255.0",
            "DefaultGateway": "10.0.0.1",
        },
    )
    installing = _vra_on(site_a, host_id)
    assert installing is not None and installing["Status"] == 3  # Installing
    task = zvm.wait_task(task_id)
    assert (task["Status"]["State"], task["Status"]["Progress"]) == (COMPLETED, 100)
    assert task["Type"] == "InstallVra"
    vra = _vra_on(site_a, host_id)
    assert vra is not None
    assert vra["Status"] == 0
    assert vra["VraName"] == f"Z-VRA-{HOST}"
    assert vra["HostDisplayName"] == HOST
    assert (vra["MemoryInGB"], vra["NumOfCpus"], vra["VraGroup"]) == (4, 2, "lab")
    assert vra["VraNetworkDataApi"]["VraIPAddress"] == "10.0.0.20"
    assert vra["VraNetworkDataApi"]["VraIPConfigurationTypeApi"] == "Static"
    assert zvm.get(f"/v1/vras/{vra['VraIdentifier']}") == vra
    vm = site_a.vcsim.vm_named(f"Z-VRA-{HOST}")
    assert vm is not None
    assert site_a.vcsim.host_names()[vm["runtime.host"]._moId] == HOST
    assert vm["runtime.powerState"] == "poweredOn"
    # the VRA VM is the appliance's own: not a protectable VM
    assert f"Z-VRA-{HOST}" not in {v["VmName"] for v in zvm.inventory("vms")}

    # edit: memory
    zvm.run("PUT", f"/v1/vras/{vra['VraIdentifier']}", {"MemoryInGb": 5})
    edited = _vra_on(site_a, host_id)
    assert edited is not None and edited["MemoryInGB"] == 5
    zvm.run("POST", f"/v1/vras/{vra['VraIdentifier']}/upgrade")

    zvm.run("DELETE", f"/v1/vras/{vra['VraIdentifier']}")
    assert _vra_on(site_a, host_id) is None
    assert site_a.vcsim.vm_named(f"Z-VRA-{HOST}") is None


def test_one_vra_per_host(site_a: Site) -> None:
    zvm, host_id = site_a.zvm, _host(site_a)
    if _vra_on(site_a, host_id) is None:
        zvm.wait_task(install_vra(zvm, host_id))
    host = zvm.get(f"/v1/virtualizationsites/{zvm.site}/hosts/{host_id}")
    message = zvm.error(
        "POST",
        "/v1/vras",
        {
            "HostIdentifier": host_id,
            "DatastoreIdentifier": host["AssociatedDatastores"][0]["DatastoreIdentifier"],
            "NetworkIdentifier": host["AssociatedNetworks"][0]["NetworkIdentifier"],
            "UsePublicKeyInsteadOfCredentials": True,
        },
    )
    assert "already installed" in message and HOST in message
    assert len([v for v in site_a.vcsim.vms() if v["name"] == f"Z-VRA-{HOST}"]) == 1
    _remove_if_present(site_a, host_id)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"MemoryInGb": 17}, "MemoryInGb"),
        ({"MemoryInGb": 0}, "MemoryInGb"),
        ({"NumOfCpus": 5}, "NumOfCpus"),
        ({"HostIdentifier": "x.host-999"}, "was not found"),
        ({"DatastoreIdentifier": "x.datastore-1"}, "Datastore"),
        ({"NetworkIdentifier": None}, "NetworkIdentifier is required"),
        ({"UsePublicKeyInsteadOfCredentials": False}, "HostRootPassword"),
        (
            {
                "VraNetworkDataApi": {
                    "VraIPConfigurationTypeApi": "Static",
                    "VraIPAddress": "10.0.0.2",
                }
            },
            "SubnetMask",
        ),
        (
            {
                "VraNetworkDataApi": {
                    "VraIPConfigurationTypeApi": "Static",
                    "VraIPAddress": "10.0.0.2",
                    "SubnetMask": "255.255.255.0",
                    "DefaultGateway": "10.9.9.1",
                }
            },
            "not in the VRA's subnet",
        ),
        ({"VraNetworkDataApi": {"VraIPConfigurationTypeApi": "Magic"}}, "Static or Dhcp"),
    ],
)
def test_install_requests_are_validated(
    site_a: Site, change: dict[str, Any], expected: str
) -> None:
    zvm, host_id = site_a.zvm, _host(site_a)
    host = zvm.get(f"/v1/virtualizationsites/{zvm.site}/hosts/{host_id}")
    body = {
        "HostIdentifier": host_id,
        "DatastoreIdentifier": host["AssociatedDatastores"][0]["DatastoreIdentifier"],
        "NetworkIdentifier": host["AssociatedNetworks"][0]["NetworkIdentifier"],
        "UsePublicKeyInsteadOfCredentials": True,
        **change,
    }
    assert expected in zvm.error("POST", "/v1/vras", body)


def test_injected_install_failure_names_the_host(site_a: Site) -> None:
    zvm, host_id = site_a.zvm, _host(site_a)
    _remove_if_present(site_a, host_id)
    zvm.faults(fail_vra_install=[HOST])
    task = zvm.wait_task(install_vra(zvm, host_id))
    assert task["Status"]["State"] == FAILED
    assert HOST in task["CompleteReason"]
    wait_for(lambda: _vra_on(site_a, host_id) is None)
    assert site_a.vcsim.vm_named(f"Z-VRA-{HOST}") is None


def test_vra_enumerations(site_a: Site) -> None:
    zvm = site_a.zvm
    statuses = zvm.get("/v1/vras/statuses")
    assert statuses[0] == "Installed" and statuses[3] == "Installing"
    assert sorted(zvm.get("/v1/vras/ipconfigurationtypes")) == ["Dhcp", "Static"]
    assert zvm.get("/v1/vras/123", expect=404)
