"""The exporter's backup series against recorded vCenter data (a fake session and read: unit
tests; tests/operate/test_exporter_backup_lab.py reads a real vcsim)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pyVmomi import vim

from ansible_collections.vmrepl.core.plugins.module_utils import backup as bk
from ansible_collections.vmrepl.core.plugins.module_utils.clients.errors import (
    ConfigurationError,
    ConnectionFailed,
)
from tests.backup.test_rules import GB, NOW, nb
from tests.backup.test_rules import site as backup_site
from tests.operate.test_collector import PASSWORD, FakeZvm, names, scrape, value
from vmrepl.operate.exporter import SPECS, SiteReader
from vmrepl.operate.sites import Site

BACKUP_SERIES = {
    "vmrepl_vm_last_backup_timestamp_seconds",
    "vmrepl_vm_last_backup_known",
    "vmrepl_datastore_free_ratio",
    "vmrepl_datastore_free_after_replication_ratio",
    "vmrepl_backup_proxy_up",
    "vmrepl_backup_readiness_status",
}
ZVM_DATASTORES = [
    {
        "DatastoreName": "ds1",
        "Stats": {
            "Usage": {
                "Zerto": {
                    "Journal": {"UsedInBytes": 1 * GB, "ProvisionedInBytes": 4 * GB},
                    "Scratch": {"UsedInBytes": 0, "ProvisionedInBytes": 1 * GB},
                }
            }
        },
    }
]


class Zvm(FakeZvm):
    def __init__(self) -> None:
        super().__init__()
        self.answers["datastores"] = ZVM_DATASTORES

    def datastores(self) -> Any:
        return self._call("datastores")


class FakeVcenter:
    """A session: counts the reads made through it (as VSphereClient.calls)."""

    def __init__(self) -> None:
        self.calls = 0
        self.closed = False

    def close(self) -> None:
        self.closed = True


class Vcenter:
    """The vCenter side: sessions it opened, what a read returns, and faults on demand."""

    def __init__(self, data: bk.SiteData) -> None:
        self.data = data
        self.sessions: list[FakeVcenter] = []
        self.down = False
        self.expire = False

    def connect(self) -> FakeVcenter:
        if self.down:
            raise ConnectionFailed("Cannot reach vCenter vc.example:443: refused.")
        self.sessions.append(FakeVcenter())
        return self.sessions[-1]

    def read(self, session: FakeVcenter) -> bk.SiteData:
        assert not session.closed
        if self.down:
            raise ConnectionFailed("Cannot reach vCenter vc.example:443: refused.")
        if self.expire:
            self.expire = False
            raise vim.fault.NotAuthenticated()
        session.calls += 2
        return copy.deepcopy(self.data)


def site(**backup: Any) -> Site:
    zvm = {"url": "https://zvm.example", "username": "admin", "password": PASSWORD}
    return Site(
        "source",
        "remote",
        ["vmrepl_sites"],
        zvm=zvm,
        secrets=[PASSWORD],
        backup={"backup_hosts_clusters": ["C1"], **backup},
    )


def reader(vc: Vcenter, zvm: Zvm | None = None, **backup: Any) -> SiteReader:
    return SiteReader(
        site(**backup),
        client=zvm or Zvm(),  # type: ignore[arg-type]
        vcenter=vc.connect,
        read_vcenter=vc.read,  # type: ignore[arg-type]
        now=lambda: NOW,
    )


def test_the_backup_series_are_the_reports_figures() -> None:
    data = backup_site(free_gb=8)
    data.vms[3]["custom_attributes"] = {}  # db1: never backed up
    vc = Vcenter(data)
    samples = scrape(reader(vc))
    assert value(samples, "vmrepl_vcenter_up", site="source") == 1
    assert value(samples, "vmrepl_zvm_up", site="source") == 1
    last = value(samples, "vmrepl_vm_last_backup_timestamp_seconds", site="source", vm="app1")
    assert last == bk.parse_last_backup(nb(2)).timestamp()
    assert value(samples, "vmrepl_vm_last_backup_known", site="source", vm="app1") == 1
    # Missing: no timestamp series (a 0 would read as 1970), and known 0.
    assert value(samples, "vmrepl_vm_last_backup_known", site="source", vm="db1") == 0
    assert (
        "vmrepl_vm_last_backup_timestamp_seconds",
        (("site", "source"), ("vm", "db1")),
    ) not in samples
    # Proxies and VRAs are not the customer's VMs.
    vms = {dict(k[1])["vm"] for k in samples if k[0] == "vmrepl_vm_last_backup_known"}
    assert vms == {"app1", "db1"}
    assert value(samples, "vmrepl_datastore_free_ratio", site="source", datastore="ds1") == 0.08
    # ds1: 8 GB free less the 4 GB provisioned and not written (3 journal, 1 scratch).
    assert (
        value(
            samples,
            "vmrepl_datastore_free_after_replication_ratio",
            site="source",
            datastore="ds1",
        )
        == 0.04
    )
    assert value(samples, "vmrepl_backup_proxy_up", site="source", host="h1") == 1
    assert ("vmrepl_backup_proxy_up", (("host", "h3"), ("site", "source"))) not in samples
    assert value(samples, "vmrepl_backup_readiness_status", site="source") == 2
    assert value(samples, "vmrepl_exporter_vcenter_requests_total", site="source") == 2


def test_without_the_zvm_the_free_space_is_served_without_replication() -> None:
    zvm = Zvm()
    zvm.down = True
    samples = scrape(reader(Vcenter(backup_site()), zvm))
    assert value(samples, "vmrepl_zvm_up", site="source") == 0
    assert value(samples, "vmrepl_vcenter_up", site="source") == 1
    assert value(samples, "vmrepl_datastore_free_ratio", site="source", datastore="ds1") == 0.5
    assert "vmrepl_datastore_free_after_replication_ratio" not in names(samples)
    assert "vmrepl_vpg_info" not in names(samples)


def test_backup_readiness_zvm_skip_reads_no_zvm_datastores() -> None:
    zvm = Zvm()
    scrape(reader(Vcenter(backup_site()), zvm, backup_readiness_zvm="skip"))
    assert "datastores" not in zvm.paths


def test_a_vcenter_down_removes_the_backup_series_only() -> None:
    vc = Vcenter(backup_site())
    one = reader(vc)
    assert names(scrape(one)) >= BACKUP_SERIES
    vc.down = True
    samples = scrape(one)
    assert value(samples, "vmrepl_vcenter_up", site="source") == 0
    assert not BACKUP_SERIES & names(samples)
    assert value(samples, "vmrepl_zvm_up", site="source") == 1
    assert "vmrepl_vpg_info" in names(samples)
    assert value(samples, "vmrepl_exporter_vcenter_read_failures_total", site="source") == 1
    vc.down = False
    assert names(scrape(one)) >= BACKUP_SERIES


def test_the_session_is_kept_and_replaced_once_when_it_expires() -> None:
    vc = Vcenter(backup_site())
    one = reader(vc)
    scrape(one)
    scrape(one)
    assert len(vc.sessions) == 1
    vc.expire = True
    samples = scrape(one)
    assert value(samples, "vmrepl_vcenter_up", site="source") == 1
    assert len(vc.sessions) == 2 and vc.sessions[0].closed
    # The closed session's calls still count.
    assert value(samples, "vmrepl_exporter_vcenter_requests_total", site="source") == 6


def test_a_new_session_that_fails_is_not_retried() -> None:
    vc = Vcenter(backup_site())
    vc.expire = True
    samples = scrape(reader(vc))
    assert value(samples, "vmrepl_vcenter_up", site="source") == 0
    assert len(vc.sessions) == 1


def test_a_kept_session_that_cannot_reach_the_vcenter_is_not_retried() -> None:
    vc = Vcenter(backup_site())
    one = reader(vc)
    scrape(one)
    vc.down = True
    samples = scrape(one)
    assert value(samples, "vmrepl_vcenter_up", site="source") == 0
    assert len(vc.sessions) == 1 and vc.sessions[0].closed


def test_the_attribute_name_is_the_inventorys() -> None:
    data = backup_site()
    for vm in data.vms:
        if "NB_LAST_BACKUP" in vm["custom_attributes"]:
            vm["custom_attributes"] = {"Last Backup": "2026-12-01T20:00:00Z"}
    samples = scrape(reader(Vcenter(data), backup_last_backup_attribute="Last Backup"))
    assert value(samples, "vmrepl_vm_last_backup_timestamp_seconds", site="source", vm="app1") == (
        bk.parse_iso("2026-12-01T20:00:00Z").timestamp()
    )
    samples = scrape(reader(Vcenter(data)))  # the default name: NB_LAST_BACKUP
    assert value(samples, "vmrepl_vm_last_backup_known", site="source", vm="app1") == 0


def test_a_site_without_a_vcenter_has_no_vcenter_series() -> None:
    one = SiteReader(site(), client=Zvm())  # type: ignore[arg-type]
    assert not one.has_vcenter
    samples = scrape(one)
    assert "vmrepl_vcenter_up" not in names(samples)
    assert not BACKUP_SERIES & names(samples)


@pytest.mark.parametrize(
    ("variable", "bad"),
    [
        ("backup_rpo_hours", "a day"),
        ("backup_critical_free_percent", 20),  # over the warning's 15
        ("backup_hosts_clusters", "DC0_C0"),
        ("backup_hosts_custom_attribute", {"name": "customer"}),
        ("backup_last_backup_format", "veeam"),
        ("backup_proxy_pattern", "(unclosed"),
        ("backup_vms_exclude", ["^ok$", "[bad"]),
    ],
)
def test_bad_rules_are_refused_before_any_read(variable: str, bad: Any) -> None:
    vc = Vcenter(backup_site())
    with pytest.raises(ConfigurationError, match=variable):
        reader(vc, **{variable: bad})
    assert vc.sessions == []


def test_every_backup_sample_has_the_labels_of_its_metric() -> None:
    replication = bk.replication_usage(ZVM_DATASTORES)
    report = bk.evaluate(
        backup_site(), bk.Selection(clusters=["C1"]), bk.Thresholds(), NOW, replication
    )
    found = set()
    for metric, labels, _ in bk.metric_samples({"source": report}):
        assert set(labels) == set(SPECS[metric].labels), metric
        found.add(metric)
    assert found == BACKUP_SERIES


def test_the_vcenter_is_read_while_the_zvm_is() -> None:
    """The ZVM's first list call waits until the vCenter read has begun: read one after the
    other (ZVM first), it would not begin, and the ZVM read would fail."""
    import threading

    started = threading.Event()

    class Waiting(Vcenter):
        def read(self, session: FakeVcenter) -> bk.SiteData:
            started.set()
            return super().read(session)

    class Waits(Zvm):
        def vpgs(self) -> Any:
            if not started.wait(10):
                raise ConnectionFailed("the vCenter read did not begin meanwhile")
            return super().vpgs()

    samples = scrape(reader(Waiting(backup_site()), Waits()))
    assert value(samples, "vmrepl_zvm_up", site="source") == 1
    assert value(samples, "vmrepl_vcenter_up", site="source") == 1
