"""A bare site, as we find it: the ZVM answers only once its appliance VM has booted, with the
password the deployment gave it; it starts unlicensed. One vcsim and an in-process simulator of
this module's own."""

from __future__ import annotations

import secrets
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest

from tests.lab.helpers import FAILED, Zvm, wait_for
from vmrepl.lab import process
from vmrepl.lab.appliance import (
    VCenterAccess,
    apply_license,
    deploy_appliance,
    remove_appliance,
    set_appliance_power,
)
from vmrepl.lab.certs import ServerCertificate, ensure_lab_certificates
from vmrepl.lab.vcsim import VcsimTopology, start_vcsim
from vmrepl.lab.zvm import SimulatorConfig, VCenterConfig, ZvmSimulator

pytestmark = pytest.mark.lab
USER = "administrator@vsphere.local"
BOOT = 0.6


@dataclass
class Bare:
    sim: ZvmSimulator
    vcenter: VCenterAccess
    certs: ServerCertificate
    admin_password: str


@pytest.fixture(scope="module")
def bare(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bare]:
    root = tmp_path_factory.mktemp("bare")
    certs = ensure_lab_certificates(root / "certs")
    password = secrets.token_urlsafe(12)
    vc = start_vcsim(VcsimTopology(hosts=1, vms=1), certs, USER, password, root / "vcsim.log")
    try:
        parts = urlsplit(str(vc.ready["url"]))
        config = SimulatorConfig(
            site_name="bare",
            vcenter=VCenterConfig(str(vc.ready["url"]), USER, password, certs.ca_file),
            username="admin",
            password="configured-password",
            tls_cert=certs.cert_file,
            tls_key=certs.key_file,
            ca_file=certs.ca_file,
            task_seconds=0.2,
            boot_seconds=BOOT,
            appliance_poll_seconds=0.1,
        )
        with ZvmSimulator(config).start() as sim:
            yield Bare(
                sim,
                VCenterAccess(
                    parts.hostname or "", parts.port or 443, USER, password, certs.ca_file
                ),
                certs,
                "Zvma-" + secrets.token_urlsafe(10),
            )
    finally:
        process.stop(vc.pid)


def refused(url: str) -> bool:
    """The port refuses connections (an answer, not a silence: a port that hangs raises a
    timeout instead, which fails the test)."""
    parts = urlsplit(url)
    try:
        socket.create_connection((parts.hostname or "", parts.port or 443), timeout=5).close()
    except (ConnectionRefusedError, ConnectionResetError):  # reset: caught while closing
        return True
    return False


def login(bare: Bare) -> Zvm:
    sim = bare.sim
    zvm = Zvm(sim.url, bare.certs.ca_file, "admin", bare.admin_password, sim.site_identifier)
    zvm.pairing_port = sim.pairing_port
    return zvm


def test_the_site_is_bare_then_the_appliance_boots_and_stops(bare: Bare) -> None:
    sim = bare.sim
    pairing = f"https://127.0.0.1:{sim.pairing_port}"
    assert sim.pairing_port != urlsplit(sim.url).port
    # dormant: both ports known and refusing
    assert refused(sim.url) and refused(pairing)
    deploy_appliance(bare.vcenter, "bare", bare.admin_password, power_on=False)
    time.sleep(BOOT + 0.3)
    assert refused(sim.url), "a powered-off appliance does not answer"

    set_appliance_power(bare.vcenter, "bare", on=True)
    powered = time.monotonic()
    wait_for(lambda: not refused(sim.url), timeout=10, interval=0.05)
    assert time.monotonic() - powered >= BOOT - 0.05, "it answers only after the boot delay"
    assert not refused(pairing)
    zvm = login(bare)  # with the password the deployment gave the appliance
    assert zvm.get("/v1/localsite")["SiteName"] == "bare"
    response = zvm.new_session().post(
        zvm.url + "/auth/realms/zerto/protocol/openid-connect/token",
        data={
            "grant_type": "password",
            "client_id": "zerto-client",
            "username": "admin",
            "password": "configured-password",
        },
    )
    assert response.status_code == 401

    # a kept-alive connection is dropped when the appliance stops
    set_appliance_power(bare.vcenter, "bare", on=False)
    wait_for(lambda: refused(sim.url) and refused(pairing), timeout=10, interval=0.05)
    with pytest.raises(Exception):  # noqa: B017 - any connection error
        zvm.session.get(zvm.url + "/v1/localsite", timeout=5)

    # the next boot answers with the state it had (the same tokens, the same site)
    set_appliance_power(bare.vcenter, "bare", on=True)
    wait_for(lambda: not refused(sim.url), timeout=10, interval=0.05)
    assert zvm.get("/v1/localsite")["SiteIdentifier"] == sim.site_identifier


def test_an_unlicensed_zvm_refuses_vras_vpgs_and_pairing(bare: Bare) -> None:
    deploy_appliance(bare.vcenter, "bare", bare.admin_password)
    assert bare.sim.wait_answering(10)
    zvm = login(bare)
    zvm.delete("/v1/license")
    assert zvm.get("/v1/license")["Details"] is None
    host = zvm.inventory("hosts")[0]
    vra = {
        "HostIdentifier": host["HostIdentifier"],
        "DatastoreIdentifier": host["AssociatedDatastores"][0]["DatastoreIdentifier"],
        "NetworkIdentifier": host["AssociatedNetworks"][0]["NetworkIdentifier"],
        "UsePublicKeyInsteadOfCredentials": True,
    }
    for method, path, body in (
        ("POST", "/v1/vras", vra),
        ("POST", "/v1/vpgSettings", {}),
        ("POST", "/v1/peersites", {"HostName": "127.0.0.1", "Port": 9071, "Token": "t"}),
    ):
        message = zvm.error(method, path, body)
        assert "valid license is not provided" in message, (path, message)
    # reads work unlicensed
    assert zvm.get("/v1/vras") == []
    assert zvm.get("/v1/vpgs") == []

    assert "not valid" in zvm.error("PUT", "/v1/license", {"LicenseKey": "LAB-WRONG"})
    assert zvm.get("/v1/license")["Details"] is None
    apply_license(
        zvm.url, bare.certs.ca_file, "admin", bare.admin_password, bare.sim.config.license_key
    )
    details = zvm.get("/v1/license")["Details"]
    assert details["LicenseKey"] == bare.sim.config.license_key
    sid = zvm.post("/v1/vpgSettings", {})
    zvm.delete(f"/v1/vpgSettings/{sid}")


def test_pairing_a_dormant_peer_fails_as_unreachable(bare: Bare) -> None:
    deploy_appliance(bare.vcenter, "bare", bare.admin_password)
    assert bare.sim.wait_answering(10)
    zvm = login(bare)
    apply_license(
        zvm.url, bare.certs.ca_file, "admin", bare.admin_password, bare.sim.config.license_key
    )
    with socket.socket() as reserved:  # a bound port that does not listen, like a dormant ZVM
        reserved.bind(("127.0.0.1", 0))
        port = reserved.getsockname()[1]
        task = zvm.wait_task(
            zvm.post("/v1/peersites", {"HostName": "127.0.0.1", "Port": port, "Token": "t"})
        )
    assert task["Status"]["State"] == FAILED
    assert task["CompleteReason"] == f"The peer site could not be reached at 127.0.0.1:{port}."


def test_root_vm_folder_is_named_slash_and_identifiers_are_url_safe(bare: Bare) -> None:
    deploy_appliance(bare.vcenter, "bare", bare.admin_password)
    assert bare.sim.wait_answering(10)
    zvm = login(bare)
    folders = zvm.inventory("folders")
    assert "/" in {f["FolderName"] for f in folders}
    assert "vm" not in {f["FolderName"] for f in folders}
    for kind, key in (
        ("datastores", "DatastoreIdentifier"),
        ("hosts", "HostIdentifier"),
        ("networks", "NetworkIdentifier"),
        ("folders", "FolderIdentifier"),
        ("vms", "VmIdentifier"),
    ):
        for item in zvm.inventory(kind):
            assert "/" not in item[key], (kind, item[key])
    datastore = zvm.inventory("datastores")[0]["DatastoreIdentifier"]
    assert zvm.get(f"/v1/datastores/{datastore}")["DatastoreIdentifier"] == datastore


def test_removed_appliance_stops_the_zvm(bare: Bare) -> None:
    deploy_appliance(bare.vcenter, "bare", bare.admin_password)
    assert bare.sim.wait_answering(10)
    remove_appliance(bare.vcenter, "bare")
    wait_for(lambda: refused(bare.sim.url), timeout=10, interval=0.05)
    assert not bare.sim.answering
