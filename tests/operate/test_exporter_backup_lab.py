"""The exporter's backup series on a lab of its own (two sites, their ZVMs deployed): `vmrepl
exporter` started as an operator starts it, on an inventory of the lab's sites whose source
vCenter is reached through a TCP forwarder of the test's (so that the test can cut the
monitoring's path to it, and only that), and whose target sets its own
backup_last_backup_attribute. The sites are made so with the lab's knobs (vmrepl.lab.backup)
through pyVmomi against vcsim: a source VM whose last backup is 30 h old, another's 2 h, the
datastore of their disks left with 8% free; a target VM with a last backup under the target's
attribute name. The series the exporter serves are compared with what the test reads itself
with pyVmomi; the vCenter calls of a scrape are counted. The path to the source vCenter cut:
vmrepl_vcenter_up 0 and its backup series gone, its ZVM's series and the target's staying;
healed, they come back."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families
from pyVmomi import vim

from ansible_collections.vmrepl.core.plugins.module_utils.backup import parse_last_backup
from tests.deploy.conftest import Lab, start_lab
from tests.sizing.helpers import calls
from vmrepl.lab import backup as knobs
from vmrepl.lab import manager
from vmrepl.operate.exporter import VCENTER_CALLS

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[2]
OLD, FRESH = "DC0_C0_RP0_VM0", "DC0_C0_RP0_VM1"
ATTRIBUTE = "NB_LAST_BACKUP"  # the backup role's default (the source's)
TARGET_ATTRIBUTE = "Last Backup"  # the target's inventory sets its own
TARGET_VM = "DC0_C0_RP0_VM0"

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@dataclass
class Exporter:
    url: str
    log: Path

    def scrape(self) -> Samples:
        with urllib.request.urlopen(self.url + "/metrics", timeout=30) as response:
            text = response.read().decode()
        return {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
        }


def wait_for(what: str, check: Callable[[], Any], timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.3)


def of(samples: Samples, name: str, **labels: str) -> dict[tuple[tuple[str, str], ...], float]:
    """The samples of ``name`` whose labels include ``labels``."""
    return {
        key: v for (n, key), v in samples.items() if n == name and set(labels.items()) <= set(key)
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    directory = tmp_path_factory.mktemp("exporter-backup-lab")
    started = start_lab(directory, deployed=True, count_calls=True)
    try:
        with started.vcenter("source") as vc:
            now = datetime.now(UTC)
            knobs.set_last_backup(vc, OLD, knobs.netbackup_value(now - timedelta(hours=30)))
            knobs.set_last_backup(vc, FRESH, (now - timedelta(hours=2)).isoformat())
            [ds] = {ds for vm in pyvmomi_vms(vc) if vm.name == FRESH for ds in vm.datastore}
            knobs.fill_datastore(vc, ds.name, 8, FRESH)
        with started.vcenter("target") as vc:
            knobs.set_last_backup(
                vc, TARGET_VM, datetime.now(UTC).isoformat(), attribute=TARGET_ATTRIBUTE
            )
        yield started
    finally:
        manager.down(directory)


class Forwarder:
    """127.0.0.1:port -> the upstream, byte for byte, until :meth:`cut` (every connection
    reset, new ones closed at once) and after :meth:`heal`."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.is_cut = False
        self.open: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.is_cut:
                client.close()
                continue
            server = socket.create_connection(self.upstream)
            with self.lock:
                self.open += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        self.is_cut = True
        with self.lock:
            for end in self.open:
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
            self.open.clear()

    def heal(self) -> None:
        self.is_cut = False

    def close(self) -> None:
        self.cut()
        self.listener.close()


@pytest.fixture(scope="module")
def forwarder(lab: Lab) -> Iterator[Forwarder]:
    vc = lab.site("source")["vcenter"]
    forward = Forwarder((vc["host"], int(vc["port"])))
    yield forward
    forward.close()


def inventory(lab: Lab, forwarder: Forwarder, path: Path) -> Path:
    """The lab's two sites as an operator's inventory would have them; the source's vCenter
    through the forwarder."""
    hosts = {}
    for name in ("source", "target"):
        site = lab.site(name)
        vc, zvm = site["vcenter"], site["zvm"]
        hosts[name] = {
            "vmrepl_zvm_url": zvm["url"],
            "vmrepl_zvm_username": zvm["username"],
            "vmrepl_zvm_password": zvm["password"],
            "vmrepl_zvm_ca_file": zvm["ca_file"],
            "vmrepl_vcenter_hostname": vc["host"],
            "vmrepl_vcenter_port": forwarder.port if name == "source" else int(vc["port"]),
            "vmrepl_vcenter_username": vc["username"],
            "vmrepl_vcenter_password": vc["password"],
            "vmrepl_vcenter_ca_file": vc["ca_file"],
        }
    hosts["target"]["backup_last_backup_attribute"] = TARGET_ATTRIBUTE
    doc = {
        "all": {
            "children": {
                "vmrepl_sites": {
                    "hosts": hosts,
                    "vars": {"vmrepl_edition": "remote", "preflight_hosts_clusters": ["DC0_C0"]},
                }
            }
        }
    }
    path.write_text(yaml.safe_dump(doc))
    return path


@pytest.fixture(scope="module")
def exporter(
    lab: Lab, forwarder: Forwarder, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Exporter]:
    work = tmp_path_factory.mktemp("exporter")
    log = work / "exporter.log"
    hosts = inventory(lab, forwarder, work / "inventory.yml")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VMREPL_", "ANSIBLE_"))}
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "vmrepl.cli", "exporter"),
            *("-i", str(hosts), "--listen", "127.0.0.1:0"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),
        env=env | {"VMREPL_LAB_DIR": str(lab.directory)},
        cwd=ROOT,
    )
    try:
        found = wait_for(
            "the exporter to listen",
            lambda: (
                process.poll() is not None
                or re.search(r"serving (http://\S+)/metrics", log.read_text())
            ),
        )
        assert process.poll() is None, log.read_text()
        yield Exporter(found.group(1), log)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def pyvmomi_vms(vc: Any) -> list[Any]:
    view = vc.content.viewManager.CreateContainerView(
        vc.content.rootFolder, [vim.VirtualMachine], True
    )
    try:
        return list(view.view)
    finally:
        view.DestroyView()


def read_with_pyvmomi(lab: Lab, site: str, attribute: str = ATTRIBUTE) -> dict[str, Any]:
    """The VMs' last-backup attribute and their datastores' free share, read one object at a
    time with plain pyVmomi (this test is not about economy)."""
    with lab.vcenter(site) as vc:
        keys = [f.key for f in vc.content.customFieldsManager.field if f.name == attribute]
        key = keys[0] if keys else None
        vms, datastores = {}, {}
        for vm in pyvmomi_vms(vc):
            values = {v.key: v.value for v in vm.customValue}  # vcsim: the last one of a key
            vms[vm.name] = values.get(key) if key is not None else None
            for ds in vm.datastore:
                datastores[ds.name] = ds.summary.freeSpace / ds.summary.capacity
        return {"vms": vms, "datastores": datastores}


def test_the_backup_series_are_what_vcenter_holds(lab: Lab, exporter: Exporter) -> None:
    first = exporter.scrape()  # the first: the exporter's login
    calls(lab, "source")  # vcsim's counts settled (read from its trace, through a pipe)
    calls(lab, "source", reset=True)
    samples = exporter.scrape()
    per_scrape = calls(lab, "source")  # the exporter's, and the ZVM simulator's own reads
    own = read_with_pyvmomi(lab, "source")
    now = time.time()
    for site in ("source", "target"):
        assert value(samples, "vmrepl_vcenter_up", site=site) == 1
        assert value(samples, "vmrepl_zvm_up", site=site) == 1

    # Each VM of the customer's: its last backup as the attribute says; none for the others.
    known = of(samples, "vmrepl_vm_last_backup_known", site="source")
    customer = {dict(k)["vm"] for k in known}
    assert {OLD, FRESH} <= customer
    assert not any(n.startswith(("zvm-", "Z-VRA-")) for n in customer)
    for name in customer:
        raw = own["vms"][name]
        if raw is None:
            assert value(samples, "vmrepl_vm_last_backup_known", site="source", vm=name) == 0
            assert not of(samples, "vmrepl_vm_last_backup_timestamp_seconds", vm=name)
            continue
        stamp = value(samples, "vmrepl_vm_last_backup_timestamp_seconds", site="source", vm=name)
        assert stamp == parse_last_backup(raw).timestamp()
    old = value(samples, "vmrepl_vm_last_backup_timestamp_seconds", site="source", vm=OLD)
    fresh = value(samples, "vmrepl_vm_last_backup_timestamp_seconds", site="source", vm=FRESH)
    assert 29.9 * 3600 < now - old < 30.5 * 3600  # over the 24 h RPO
    assert 1.9 * 3600 < now - fresh < 2.5 * 3600
    # The target reads its own attribute name: its VM0 has a last backup under it, VM1 none.
    target = read_with_pyvmomi(lab, "target", TARGET_ATTRIBUTE)["vms"]
    stamp = value(samples, "vmrepl_vm_last_backup_timestamp_seconds", site="target", vm=TARGET_VM)
    assert stamp == parse_last_backup(target[TARGET_VM]).timestamp()
    assert value(samples, "vmrepl_vm_last_backup_known", site="target", vm=FRESH) == 0

    # The datastores: vCenter's free share (vcsim's follows the file system under it, which
    # other writers move: a tolerance), 8% for the one filled.
    served = {
        dict(k)["datastore"]: v
        for k, v in of(samples, "vmrepl_datastore_free_ratio", site="source").items()
    }
    assert served and set(served) <= set(own["datastores"])
    for name, ratio in served.items():
        assert abs(ratio - own["datastores"][name]) < 0.005, name
    assert min(served.values()) < 0.10
    # The ZVM was read: the replication's share counted (the lab's ZVM reports its datastores).
    after = of(samples, "vmrepl_datastore_free_after_replication_ratio", site="source")
    assert {dict(k)["datastore"] for k in after} == set(served)
    # No proxy in the lab yet: every host in service without one; the site CRITICAL.
    proxies = of(samples, "vmrepl_backup_proxy_up", site="source")
    assert proxies and set(proxies.values()) == {0.0}
    assert value(samples, "vmrepl_backup_readiness_status", site="source") == 2

    # A fixed number of vCenter calls per scrape, the session kept from the first scrape:
    # one container view read (create, read, destroy) and the custom field names; no login
    # (vcsim counts the ZVM simulator's reads of it too, which do not log in either).
    counted = "vmrepl_exporter_vcenter_requests_total"
    made = value(samples, counted, site="source") - value(first, counted, site="source")
    assert made == len(VCENTER_CALLS) == 4
    assert "Login" not in per_scrape, per_scrape
    assert per_scrape["Fetch"] == 1, per_scrape  # customFieldsManager.field


def test_a_vcenter_that_cannot_be_reached_takes_only_its_backup_series_away(
    lab: Lab, exporter: Exporter, forwarder: Forwarder
) -> None:
    backup = {
        "vmrepl_vm_last_backup_timestamp_seconds",
        "vmrepl_vm_last_backup_known",
        "vmrepl_datastore_free_ratio",
        "vmrepl_backup_proxy_up",
        "vmrepl_backup_readiness_status",
    }
    before = exporter.scrape()
    assert backup <= {n for (n, k) in before if ("site", "source") in k}
    forwarder.cut()
    try:
        samples = exporter.scrape()
    finally:
        forwarder.heal()
    assert value(samples, "vmrepl_vcenter_up", site="source") == 0
    assert not backup & {n for (n, k) in samples if ("site", "source") in k}
    assert value(samples, "vmrepl_exporter_vcenter_read_failures_total", site="source") >= 1
    # The source's ZVM series and the target's backup series are still served.
    assert value(samples, "vmrepl_zvm_up", site="source") == 1
    assert of(samples, "vmrepl_zvm_info", site="source")
    assert value(samples, "vmrepl_vcenter_up", site="target") == 1
    assert backup <= {n for (n, k) in samples if ("site", "target") in k}
    assert "could not be read" in exporter.log.read_text()
    # Back: a new session, the series again.
    again = wait_for(
        "the source's backup series back",
        lambda: (
            (s := exporter.scrape()) and value(s, "vmrepl_vcenter_up", site="source") == 1 and s
        ),
    )
    assert backup <= {n for (n, k) in again if ("site", "source") in k}
