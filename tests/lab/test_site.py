"""The appliance as a whole: routing errors, site facts, datastores from vcsim, a restarted
simulator that finds its VRAs in vCenter, settings objects that expire, the lab's reset."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from pyVmomi import vim

from tests.lab.conftest import BOOT_SECONDS, Lab, Site, host_ids, install_vra
from tests.lab.helpers import Zvm, enc
from vmrepl.lab.appliance import apply_license
from vmrepl.lab.zvm import SimulatorConfig, VCenterConfig, ZvmSimulator
from vmrepl.lab.zvm.inventory import split_identifier

pytestmark = pytest.mark.lab


@pytest.fixture
def restarted_a(vras: Lab) -> Iterator[Zvm]:
    """Another simulator on site A's vcsim, as if site A's had restarted (a short settings TTL)."""
    a = vras.a
    config = SimulatorConfig(
        site_name="site-a",
        vcenter=VCenterConfig(
            a.vcsim.url, a.vcsim.username, a.vcenter_password, vras.certs.ca_file
        ),
        username="admin",
        password="restarted",
        tls_cert=vras.certs.cert_file,
        tls_key=vras.certs.key_file,
        ca_file=vras.certs.ca_file,
        task_seconds=0.25,
        settings_ttl_seconds=0.5,
        boot_seconds=BOOT_SECONDS,
    )
    with ZvmSimulator(config).start() as sim:
        # it boots from site A's running appliance VM, with that VM's admin password; its
        # records are new (nothing persists in-process), so it is licensed again
        assert sim.wait_answering(10)
        apply_license(sim.url, vras.certs.ca_file, "admin", a.zvm_password, config.license_key)
        yield Zvm(sim.url, vras.certs.ca_file, "admin", a.zvm_password, sim.site_identifier)


def test_routing_errors(site_a: Site) -> None:
    zvm = site_a.zvm
    response = zvm.raw("GET", "/v1/no/such/thing")
    assert response.status_code == 404 and response.json()["Message"]
    response = zvm.raw("PUT", "/v1/localsite", json={})
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET"
    for method, path in (("GET", "/v1/events/types"), ("GET", "/v1/vpgSettings/exportedSettings")):
        response = zvm.raw(method, path)  # in the schema, not simulated
        assert response.status_code == 501 and "not implemented" in response.json()["Message"]
    response = zvm.raw(
        "POST", "/v1/vras", data="{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400 and "JSON" in response.json()["Message"]


def test_site_facts(site_a: Site) -> None:
    zvm = site_a.zvm
    assert zvm.get("/v1/serverDateTime/serverDateTimeUtc").endswith("Z")
    license_ = zvm.get("/v1/license")
    assert license_["Details"]["LicenseKey"]
    assert zvm.get("/v1/virtualizationsites/" + zvm.site)["VirtualizationSiteName"] == "site-a"
    hosts = zvm.inventory("hosts")
    server_id = site_a.vcsim.server_id
    assert all(h["HostIdentifier"].startswith(server_id + ".host-") for h in hosts)
    banner = {"IsLoginBannerEnabled": True, "LoginBanner": "lab only"}
    zvm.put("/v1/localsite/settings/loginBanner", banner)
    assert zvm.get("/v1/localsite/settings/loginBanner") == banner
    assert zvm.get("/v1/localsite")["LoginBanner"] == "lab only"
    zvm.put(
        "/v1/localsite/settings/loginBanner", {"IsLoginBannerEnabled": False, "LoginBanner": ""}
    )


def moref_of(identifier: str) -> str:
    parts = split_identifier(identifier)
    assert parts is not None, identifier
    return parts[1]


def test_datastores_are_read_from_vcsim(site_a: Site) -> None:
    zvm = site_a.zvm
    real = {
        o.moid: o
        for o in site_a.vcsim.client.retrieve(
            vim.Datastore, ["summary.capacity", "summary.freeSpace"]
        )
    }
    listed = zvm.get("/v1/datastores")
    # vcsim's datastore morefs hold "/": the identifiers do not (they map back to the moref)
    assert all("/" not in d["DatastoreIdentifier"] for d in listed)
    morefs = {d["DatastoreIdentifier"]: moref_of(d["DatastoreIdentifier"]) for d in listed}
    assert set(morefs.values()) == set(real)
    for datastore in listed:
        usage = datastore["Stats"]["Usage"]["Datastore"]
        truth = real[morefs[datastore["DatastoreIdentifier"]]]
        assert usage["CapacityInBytes"] == truth["summary.capacity"]
        assert 0 < usage["FreeInBytes"] <= usage["CapacityInBytes"]
    one = listed[0]
    assert (
        zvm.get(f"/v1/datastores/{enc(one['DatastoreIdentifier'])}")["DatastoreName"]
        == one["DatastoreName"]
    )


def test_a_restarted_simulator_finds_its_vras_in_vcenter(vras: Lab, restarted_a: Zvm) -> None:
    assert restarted_a.site == vras.a.zvm.site  # the site identifier is stable too
    before = {v["HostIdentifier"]: v["VraIdentifier"] for v in vras.a.zvm.get("/v1/vras")}
    after = {v["HostIdentifier"]: v["VraIdentifier"] for v in restarted_a.get("/v1/vras")}
    assert after == before
    assert all(v["Status"] == 0 for v in restarted_a.get("/v1/vras"))
    h0 = host_ids(restarted_a)[0]
    with pytest.raises(AssertionError, match="already installed"):
        install_vra(restarted_a, h0)


def test_settings_objects_expire_when_unused(restarted_a: Zvm) -> None:
    sid = restarted_a.post("/v1/vpgSettings", {})
    assert restarted_a.get(f"/v1/vpgSettings/{sid}")["VpgSettingsIdentifier"] == sid
    time.sleep(0.8)
    assert "30 minutes" in restarted_a.error("GET", f"/v1/vpgSettings/{sid}", expect=404)


def test_reset(restarted_a: Zvm) -> None:
    restarted_a.faults(unavailable_calls=5)
    response = restarted_a.new_session().post(restarted_a.url + "/lab/reset")
    assert response.status_code == 200
    assert restarted_a.faults()["unavailable_calls"] == 0
    assert restarted_a.get("/v1/tasks") == []
