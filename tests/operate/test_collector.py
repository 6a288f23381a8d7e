"""The exporter's collector against recorded ZVM answers (a fake client: unit tests)."""

from __future__ import annotations

import copy
import logging
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from ansible_collections.vmrepl.core.plugins.module_utils.clients.errors import ConnectionFailed
from vmrepl.operate import exporter
from vmrepl.operate.exporter import SiteReader, ZvmCollector
from vmrepl.operate.sites import Site

PASSWORD = "s3cret-zvm-password"

LOCAL = {"SiteIdentifier": "site-a", "SiteName": "dc1", "Version": "10.0.60.1310"}
ENUMS = {
    "/v1/vpgs/statuses": ["Initializing", "MeetingSLA", "NotMeetingSLA", "RpoNotMeetingSLA"],
    "/v1/vpgs/substatuses": ["None", "InitialSync"],
    "/v1/vras/statuses": ["Installed", "UnsupportedEsxVersion", "NotInstalled"],
    "/v1/peersites/pairingstatuses": ["Paired", "Pairing", "Unpaired"],
}


def vpg(index: int, status: int = 1) -> dict[str, Any]:
    return {
        "VpgIdentifier": f"vpg-{index}",
        "VpgName": f"100001-{index}-default",
        "Status": status,
        "SubStatus": 0,
        "Priority": 1,
        "VmsCount": 2,
        "UsedStorageInMB": 10,
        "IoPs": 20,
        "ThroughputInMB": 1.5,
        "ActualRPO": 7,
        "ConfiguredRpoSeconds": 300,
        "LastTest": "2026-01-02T03:04:05.000Z" if index == 0 else None,
        "ProtectedSiteName": "dc1",
        "RecoverySiteName": "dc2",
        "HistoryStatusApi": {"ActualHistoryInMinutes": 60, "ConfiguredHistoryInMinutes": 1440},
    }


class FakeZvm:
    """The client calls the collector makes, answered from recorded JSON; counts them."""

    def __init__(self, vpgs: int = 1) -> None:
        self.calls = 0
        self.paths: list[str] = []
        self.local = dict(LOCAL)
        self.down = False
        self.answers: dict[str, Any] = {
            "vpgs": [vpg(i) for i in range(vpgs)],
            "vms": [
                {"VpgIdentifier": f"vpg-{i}", "VmName": f"vm{i}-{j}", "JournalUsedStorageMb": 3}
                for i in range(vpgs)
                for j in range(2)
            ],
            "vras": [
                {
                    "VraName": "Z-VRA-h0",
                    "HostDisplayName": "h0",
                    "Status": 0,
                    "VraVersion": "10.0.60.1310",
                    "HostVersion": "8.0",
                    "ProtectedCounters": {"Vms": 2},
                    "RecoveryCounters": {"Vms": 0},
                },
                {
                    "VraName": "Z-VRA-h1",
                    "HostDisplayName": "h1",
                    "Status": 2,
                    "VraVersion": "10.0.50.9",
                    "HostVersion": "8.0",
                },
            ],
            "peer_sites": [{"PeerSiteName": "dc2", "SiteIdentifier": "site-b", "PairingStatus": 0}],
            "alerts": [
                {"Level": "Error", "HelpIdentifier": "VPG0010", "IsDismissed": False},
                {"Level": "Error", "HelpIdentifier": "VPG0010", "IsDismissed": False},
                {"Level": "Warning", "HelpIdentifier": "VPG0009", "IsDismissed": False},
            ],
            "statistics_vms": [
                {
                    "VpgIdentifier": f"vpg-{i}",
                    "VmIdentifier": f"vm{i}-{j}",
                    "WriteCounterInMBs": 100 + j,
                    "IoOperationsCounter": 5,
                    "NetworkTrafficCounterInMBs": 60,
                }
                for i in range(vpgs)
                for j in range(2)
            ],
            "license": {
                "Details": {"ExpiryTime": "2027-01-01T00:00:00.000Z", "MaxVms": 1000},
                "Usage": {"TotalVmsCount": 2},
            },
        }

    def _call(self, what: str) -> Any:
        self.calls += 1
        self.paths.append(what)
        if self.down:
            raise ConnectionFailed(f"Cannot reach ZVM https://zvm (GET {what}): refused.")
        return copy.deepcopy(self.answers.get(what))

    def local_site(self) -> Any:
        self.calls += 1
        self.paths.append("localsite")
        if self.down:
            raise ConnectionFailed("refused")
        return dict(self.local)

    def get(self, path: str) -> Any:
        self.calls += 1
        self.paths.append(path)
        if self.down:
            raise ConnectionFailed("refused")
        return list(ENUMS[path])

    def vpgs(self) -> Any:
        return self._call("vpgs")

    def vms(self) -> Any:
        return self._call("vms")

    def vras(self) -> Any:
        return self._call("vras")

    def peer_sites(self) -> Any:
        return self._call("peer_sites")

    def alerts(self, is_dismissed: bool | None = None) -> Any:
        assert is_dismissed is False
        return self._call("alerts")

    def license(self) -> Any:
        return self._call("license")

    def statistics_vms(self) -> Any:
        return self._call("statistics_vms")

    def close(self) -> None:
        pass


def site(name: str = "source") -> Site:
    zvm = {"url": "https://zvm.example", "username": "admin", "password": PASSWORD}
    return Site(name, "remote", ["vmrepl_sites"], zvm=zvm, secrets=[PASSWORD])


def scrape(*readers: SiteReader) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ZvmCollector(list(readers)))
    text = generate_latest(registry).decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def names(samples: dict[Any, float], site_name: str | None = None) -> set[str]:
    return {
        name for (name, labels) in samples if site_name is None or ("site", site_name) in labels
    }


def value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def test_a_scrape_reads_every_family() -> None:
    fake = FakeZvm()
    samples = scrape(SiteReader(site(), client=fake))  # type: ignore[arg-type]
    vpg_name = "100001-0-default"
    assert value(samples, "vmrepl_zvm_up", site="source") == 1
    assert (
        value(samples, "vmrepl_vpg_status", site="source", vpg=vpg_name, status="MeetingSLA") == 1
    )
    assert (
        value(samples, "vmrepl_vpg_status", site="source", vpg=vpg_name, status="NotMeetingSLA")
        == 0
    )
    assert value(samples, "vmrepl_vpg_status_code", site="source", vpg=vpg_name) == 1
    assert value(samples, "vmrepl_vpg_actual_rpo_seconds", site="source", vpg=vpg_name) == 7
    assert value(samples, "vmrepl_vpg_journal_history_seconds", site="source", vpg=vpg_name) == 3600
    assert (
        value(samples, "vmrepl_vpg_configured_journal_history_seconds", site="source", vpg=vpg_name)
        == 86400
    )
    assert value(samples, "vmrepl_vpg_journal_used_bytes", site="source", vpg=vpg_name) == 6 << 20
    assert value(
        samples, "vmrepl_vpg_throughput_bytes_per_second", site="source", vpg=vpg_name
    ) == 1.5 * (1 << 20)
    assert (
        value(
            samples, "vmrepl_vpg_last_failover_test_timestamp_seconds", site="source", vpg=vpg_name
        )
        == 1767323045.0
    )
    assert value(samples, "vmrepl_vra_outdated", site="source", vra="Z-VRA-h1") == 1
    assert value(samples, "vmrepl_vra_outdated", site="source", vra="Z-VRA-h0") == 0
    assert (
        value(samples, "vmrepl_vra_status", site="source", vra="Z-VRA-h1", status="NotInstalled")
        == 1
    )
    assert (
        value(
            samples,
            "vmrepl_vra_info",
            site="source",
            vra="Z-VRA-h1",
            host="h1",
            vra_version="10.0.50.9",
            host_version="8.0",
        )
        == 1
    )
    assert (
        value(samples, "vmrepl_peer_pairing_status", site="source", peer="dc2", status="Paired")
        == 1
    )
    assert (
        value(samples, "vmrepl_alerts", site="source", level="Error", help_identifier="VPG0010")
        == 2
    )
    assert value(samples, "vmrepl_license_expiry_timestamp_seconds", site="source") == 1798761600
    assert value(samples, "vmrepl_license_max_vms", site="source") == 1000
    assert value(samples, "vmrepl_license_protected_vms", site="source") == 2
    assert value(samples, "vmrepl_exporter_zvm_requests_total", site="source") == fake.calls
    # the VMs' cumulative counters, summed per VPG, exposed as counters
    assert value(samples, "vmrepl_vpg_written_bytes_total", site="source", vpg=vpg_name) == 201 * (
        1 << 20
    )
    assert value(samples, "vmrepl_vpg_io_operations_total", site="source", vpg=vpg_name) == 10
    # every series carries the inventory site; versions only in _info series
    for name, labels in samples:
        assert ("site", "source") in labels, name
        if any(k.endswith("version") for k, _ in labels):
            assert name.endswith("_info"), name
    # every name the scrape has is a documented one
    assert names(samples) <= exporter.exposed_names()


def test_calls_per_scrape_do_not_grow_with_the_vpgs() -> None:
    def steady_calls(vpgs: int) -> list[str]:
        fake = FakeZvm(vpgs)
        reader = SiteReader(site(), client=fake)  # type: ignore[arg-type]
        scrape(reader)  # the first scrape also reads the local site and the enums
        before = len(fake.paths)
        scrape(reader)
        return fake.paths[before:]

    one, fifty = steady_calls(1), steady_calls(50)
    assert (
        one
        == fifty
        == [
            "vpgs",
            "vms",
            "vras",
            "peer_sites",
            "alerts",
            "license",
            "statistics_vms",
        ]
    )
    assert len(exporter.SCRAPE_CALLS) == len(one)


def test_enums_are_read_once_per_zvm_version() -> None:
    now = [0.0]
    fake = FakeZvm()
    reader = SiteReader(site(), client=fake, clock=lambda: now[0])  # type: ignore[arg-type]
    scrape(reader)
    scrape(reader)
    assert fake.paths.count("/v1/vpgs/statuses") == 1
    assert fake.paths.count("localsite") == 1
    now[0] += exporter.LOCALSITE_TTL  # the local site is read again; same version: no enums
    scrape(reader)
    assert fake.paths.count("localsite") == 2
    assert fake.paths.count("/v1/vpgs/statuses") == 1
    fake.local["Version"] = "10.0.70.1"  # an upgrade: the names are read again
    now[0] += exporter.LOCALSITE_TTL
    samples = scrape(reader)
    assert fake.paths.count("/v1/vpgs/statuses") == 2
    # the VRA at the old version is now outdated too
    assert value(samples, "vmrepl_vra_outdated", site="source", vra="Z-VRA-h0") == 1


def test_the_zvm_names_the_states() -> None:
    fake = FakeZvm()
    fake.answers["vpgs"][0]["Status"] = 3
    # a ZVM whose names differ from our IntEnums (the sources contradict each other): its own win
    ENUMS_BEFORE = dict(ENUMS)
    ENUMS["/v1/vpgs/statuses"] = [
        "Initializing",
        "MeetingSLA",
        "NotMeetingSLA",
        "HistoryNotMeetingSLA",
    ]
    try:
        samples = scrape(SiteReader(site(), client=fake))  # type: ignore[arg-type]
    finally:
        ENUMS.clear()
        ENUMS.update(ENUMS_BEFORE)
    labels = {"site": "source", "vpg": "100001-0-default"}
    assert value(samples, "vmrepl_vpg_status", **labels, status="HistoryNotMeetingSLA") == 1
    assert (
        "vmrepl_vpg_status",
        tuple(sorted({**labels, "status": "RpoNotMeetingSLA"}.items())),
    ) not in samples
    assert value(samples, "vmrepl_vpg_status_code", **labels) == 3


def test_a_zvm_that_cannot_be_read_has_up_0_and_no_other_series(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    a, b = FakeZvm(), FakeZvm()
    ra = SiteReader(site("source"), client=a)  # type: ignore[arg-type]
    rb = SiteReader(site("target"), client=b)  # type: ignore[arg-type]
    assert "vmrepl_vpg_status" in names(scrape(ra, rb), "source")
    a.down = True
    samples = scrape(ra, rb)
    assert value(samples, "vmrepl_zvm_up", site="source") == 0
    assert value(samples, "vmrepl_zvm_up", site="target") == 1
    assert names(samples, "source") == {
        "vmrepl_zvm_up",
        "vmrepl_exporter_zvm_requests_total",
        "vmrepl_exporter_zvm_read_failures_total",
        "vmrepl_exporter_scrape_duration_seconds",
    }
    assert value(samples, "vmrepl_exporter_zvm_read_failures_total", site="source") == 1
    assert "vmrepl_vpg_status" in names(samples, "target")
    assert "site source: the ZVM could not be read" in caplog.text
    assert PASSWORD not in caplog.text
    a.down = False
    samples = scrape(ra, rb)
    assert value(samples, "vmrepl_zvm_up", site="source") == 1
    assert a.paths.count("localsite") == 2  # re-read after the failure


def test_removed_vpgs_and_vras_disappear() -> None:
    fake = FakeZvm(vpgs=2)
    reader = SiteReader(site(), client=fake)  # type: ignore[arg-type]
    samples = scrape(reader)
    assert any(("vpg", "100001-1-default") in labels for _, labels in samples)
    fake.answers["vpgs"] = fake.answers["vpgs"][:1]
    fake.answers["vras"] = fake.answers["vras"][:1]
    samples = scrape(reader)
    assert not any(("vpg", "100001-1-default") in labels for _, labels in samples)
    assert not any(("vra", "Z-VRA-h1") in labels for _, labels in samples)
    assert any(("vpg", "100001-0-default") in labels for _, labels in samples)


def test_an_unlicensed_zvm() -> None:
    fake = FakeZvm()
    fake.answers["license"] = {"Details": None, "Usage": {"TotalVmsCount": 0}}
    samples = scrape(SiteReader(site(), client=fake))  # type: ignore[arg-type]
    assert value(samples, "vmrepl_license_installed", site="source") == 0
    assert "vmrepl_license_expiry_timestamp_seconds" not in names(samples)


def test_version_key() -> None:
    assert exporter.version_key("10.0.60.1310") > exporter.version_key("10.0.50.9")
    assert exporter.version_key(None) == ()
