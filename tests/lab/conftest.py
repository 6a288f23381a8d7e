"""The lab for the simulator's tests: two sites, each a vcsim and a ZVM simulator started as
the lab starts them (``python -m vmrepl.lab.zvm``), with one CA for all; every process started
here is stopped by pid. Tasks take 0.25 s. Each ZVM is installed (its appliance VM deployed and
booted, 0.3 s) and licensed before the tests use it, as ``vmrepl lab up --deployed`` does."""

from __future__ import annotations

import secrets
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.lab.helpers import Vcsim, Zvm
from vmrepl.lab import process
from vmrepl.lab.appliance import VCenterAccess, install_zvm, remove_appliance
from vmrepl.lab.certs import ServerCertificate, ensure_lab_certificates
from vmrepl.lab.vcsim import VcsimTopology, start_vcsim
from vmrepl.lab.zvm import SimulatorConfig, VCenterConfig, ZvmSimulator

VCENTER_USER = "administrator@vsphere.local"
ZVM_USER = "admin"
TASK_SECONDS = 0.25
BOOT_SECONDS = 0.3
#: the in-process third site listens on its own loopback address (its appliance VM, in site
#: B's vcsim, carries that address)
SITE_C_ADDRESS = "127.0.0.2"
#: hosts per site: H0 and H1 carry the session's VRAs and VPGs, H2 is the VRA tests' own
HOSTS = 3


@dataclass
class Site:
    name: str
    vcsim: Vcsim
    zvm: Zvm
    zvm_pid: int
    vcenter_password: str
    zvm_password: str
    license_key: str
    pairing_port: int

    @property
    def vcenter(self) -> VCenterAccess:
        parts = urlsplit(self.vcsim.url)
        return VCenterAccess(
            parts.hostname or "",
            parts.port or 443,
            VCENTER_USER,
            self.vcenter_password,
            self.vcsim.ca_file,
        )


@dataclass
class Lab:
    a: Site
    b: Site
    certs: ServerCertificate
    logs: Path


def _start_site(name: str, certs: ServerCertificate, logs: Path, pids: list[int]) -> Site:
    vc_password = secrets.token_urlsafe(12)
    zvm_password = secrets.token_urlsafe(12)
    vc = start_vcsim(
        VcsimTopology(hosts=HOSTS, vms=2),
        certs,
        VCENTER_USER,
        vc_password,
        logs / f"{name}-vcsim.log",
    )
    pids.append(vc.pid)
    argv = [
        sys.executable,
        "-m",
        "vmrepl.lab.zvm",
        "--site-name",
        name,
        "--listen",
        "127.0.0.1:0",
        "--tls-cert",
        str(certs.cert_file),
        "--tls-key",
        str(certs.key_file),
        "--ca-file",
        str(certs.ca_file),
        "--vcenter-url",
        str(vc.ready["url"]),
        "--vcenter-user",
        VCENTER_USER,
        "--vcenter-ca-file",
        str(certs.ca_file),
        "--username",
        ZVM_USER,
        "--task-seconds",
        str(TASK_SECONDS),
        "--boot-seconds",
        str(BOOT_SECONDS),
        "--checkpoint-seconds",
        "0.2",
        "--history-time-scale",
        "3600",
        "--heartbeat-seconds",
        "0.2",
        "--log-level",
        "DEBUG",
    ]
    license_key = "LAB-" + secrets.token_hex(8).upper()
    # the process knows a fallback password; the appliance's deployment sets the real one
    zvm = process.start(
        argv,
        logs / f"{name}-zvm.log",
        env={
            "VMREPL_ZVM_PASSWORD": secrets.token_urlsafe(12),
            "VMREPL_VCENTER_PASSWORD": vc_password,
            "VMREPL_ZVM_LICENSE_KEY": license_key,
        },
    )
    pids.append(zvm.pid)
    ready = zvm.ready
    assert ready["pid"] == zvm.pid
    url = str(ready["url"])
    vc_parts = urlsplit(str(vc.ready["url"]))
    vcenter = VCenterAccess(
        vc_parts.hostname or "", vc_parts.port or 443, VCENTER_USER, vc_password, certs.ca_file
    )
    install_zvm(vcenter, name, url, certs.ca_file, ZVM_USER, zvm_password, license_key)
    return Site(
        name=name,
        vcsim=Vcsim(str(vc.ready["url"]), VCENTER_USER, vc_password, certs.ca_file, vc.pid),
        zvm=Zvm(
            url,
            certs.ca_file,
            ZVM_USER,
            zvm_password,
            str(ready["site_identifier"]),
            int(ready["pairing_port"]),
        ),
        zvm_pid=zvm.pid,
        vcenter_password=vc_password,
        zvm_password=zvm_password,
        license_key=license_key,
        pairing_port=int(ready["pairing_port"]),
    )


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    root = tmp_path_factory.mktemp("zvm-lab")
    certs = ensure_lab_certificates(
        root / "certs", hosts=("127.0.0.1", SITE_C_ADDRESS, "localhost")
    )
    logs = root / "logs"
    pids: list[int] = []
    try:
        with ThreadPoolExecutor(2) as pool:
            a, b = pool.map(lambda n: _start_site(n, certs, logs, pids), ["site-a", "site-b"])
        yield Lab(a, b, certs, logs)
        for site in (a, b):
            site.vcsim.close()
    finally:
        for pid in reversed(pids):
            process.stop(pid)


@pytest.fixture(scope="session")
def site_a(lab: Lab) -> Site:
    return lab.a


@pytest.fixture(scope="session")
def site_b(lab: Lab) -> Site:
    return lab.b


@pytest.fixture(scope="session")
def paired(lab: Lab) -> Lab:
    """Site A paired with site B (A is the source of the pairing)."""
    a, b = lab.a.zvm, lab.b.zvm
    if not any(p["SiteIdentifier"] == b.site for p in a.get("/v1/peersites")):
        token = b.post("/v1/peersites/generatetoken")
        host, port = b.pairing_host_port
        a.run("POST", "/v1/peersites", {"HostName": host, "Port": port, "Token": token["Token"]})
    return lab


def host_ids(zvm: Zvm, site: str | None = None) -> list[str]:
    """Host identifiers of a site, by host name (H0, H1, H2)."""
    hosts = sorted(zvm.inventory("hosts", site), key=lambda h: h["VirtualizationHostName"])
    return [h["HostIdentifier"] for h in hosts]


def install_vra(zvm: Zvm, host_id: str, **extra: object) -> str:
    host = zvm.get(f"/v1/virtualizationsites/{zvm.site}/hosts/{host_id}")
    body = {
        "HostIdentifier": host_id,
        "DatastoreIdentifier": host["AssociatedDatastores"][0]["DatastoreIdentifier"],
        "NetworkIdentifier": host["AssociatedNetworks"][0]["NetworkIdentifier"],
        "UsePublicKeyInsteadOfCredentials": True,
        "MemoryInGb": 3,
        "NumOfCpus": 1,
        **extra,
    }
    return str(zvm.post("/v1/vras", body))


@pytest.fixture(scope="session")
def vras(paired: Lab) -> Lab:
    """VRAs on hosts H0 and H1 of both sites."""
    tasks = []
    for site in (paired.a, paired.b):
        existing = {v["HostIdentifier"] for v in site.zvm.get("/v1/vras")}
        for host_id in host_ids(site.zvm)[:2]:
            if host_id not in existing:
                tasks.append((site.zvm, install_vra(site.zvm, host_id)))
    for zvm, task in tasks:
        assert zvm.wait_task(task)["Status"]["State"] == 6
    return paired


@pytest.fixture(scope="session")
def site_c(paired: Lab) -> Iterator[Zvm]:
    """A third, unpaired simulator (in-process, on site B's vcsim)."""
    b = paired.b
    config = SimulatorConfig(
        site_name="site-c",
        vcenter=VCenterConfig(
            b.vcsim.url, b.vcsim.username, b.vcenter_password, paired.certs.ca_file
        ),
        username="admin",
        password=secrets.token_urlsafe(12),
        listen_host=SITE_C_ADDRESS,
        tls_cert=paired.certs.cert_file,
        tls_key=paired.certs.key_file,
        ca_file=paired.certs.ca_file,
        task_seconds=0.25,
        heartbeat_seconds=0.2,
        boot_seconds=BOOT_SECONDS,
    )
    with ZvmSimulator(config).start() as sim:
        install_zvm(
            b.vcenter,
            "site-c",
            sim.url,
            paired.certs.ca_file,
            "admin",
            "site-c-password",
            config.license_key,
            ip_address=SITE_C_ADDRESS,
        )
        yield Zvm(
            sim.url,
            paired.certs.ca_file,
            "admin",
            "site-c-password",
            sim.site_identifier,
            sim.pairing_port,
        )
        remove_appliance(b.vcenter, "site-c")


@pytest.fixture(autouse=True)
def _clear_faults(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "lab" in request.fixturenames:
        lab: Lab = request.getfixturevalue("lab")
        for site in (lab.a, lab.b):
            site.zvm.faults(clear=True)
