"""The Prometheus exporter: a ``prometheus_client`` custom collector that reads every site's ZVM
on each scrape.

One scrape of a site costs a fixed number of list calls whatever the number of VPGs, VMs and
VRAs (:data:`SCRAPE_CALLS`): ``GET /v1/vpgs``, ``/v1/vms``, ``/v1/vras``, ``/v1/peersites``,
``/v1/alerts?isDismissed=false``, ``/v1/license`` and ``/v1/statistics/vms``; never a GET per VM
or per VPG. The local
site (``/v1/localsite``) is cached for :data:`LOCALSITE_TTL` seconds and dropped when the ZVM
cannot be read (a restart, an upgrade); the enum names (``/v1/vpgs/statuses``,
``/v1/vpgs/substatuses``, ``/v1/vras/statuses``, ``/v1/peersites/pairingstatuses``) are read
from the ZVM and cached per ZVM version. Plus the client's login when its token expires.

Collected on scrape, never stale: when a site's ZVM cannot be read, ``vmrepl_zvm_up{site}`` is 0
and no other series of that site's ZVM is served (only the exporter's own counters). Series of
VPGs, VRAs and peers that are gone disappear with the next scrape. Every series carries
``site``, the inventory site whose ZVM (or vCenter) it was read from; versions are in ``_info``
series only.

The backup service's figures (``plugins/module_utils/backup.py``: last backup per VM, datastore
free space, a proxy per host) come from the site's vCenter, when the inventory gives one, read
with the same PropertyCollector read as ``backup_readiness.yml`` (:data:`VCENTER_CALLS`)
whatever the number of VMs, while the ZVM is read, on a session kept between scrapes; the
rules are the backup role's variables as the inventory sets them
(``backup_last_backup_attribute``, ...). When the vCenter cannot be read,
``vmrepl_vcenter_up{site}`` is 0 and the site's backup series are gone; its ZVM series are not
affected (and the other way round).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ansible_collections.vmrepl.core.plugins.module_utils import backup
from ansible_collections.vmrepl.core.plugins.module_utils.clients.errors import VmreplError
from ansible_collections.vmrepl.core.plugins.module_utils.clients.vsphere import (
    VSphereClient,
    vmodl,
)
from ansible_collections.vmrepl.core.plugins.module_utils.clients.zvm import (
    PairingStatus,
    VpgStatus,
    VraStatus,
    ZvmClient,
    json_field,
    site_id,
)
from ansible_collections.vmrepl.core.plugins.module_utils.discovery import tagged_objects
from vmrepl.operate.sites import Site

log = logging.getLogger(__name__)

#: A scrape must answer within Prometheus' scrape timeout (10 s by default): short HTTP
#: timeouts, one retry of what the client's retry rule allows.
SCRAPE_TIMEOUT = 4.0
SCRAPE_RETRIES = 1

#: The ZVM calls of one scrape of one site (the login and the cached reads aside).
SCRAPE_CALLS = (
    "GET /v1/vpgs",
    "GET /v1/vms",
    "GET /v1/vras",
    "GET /v1/peersites",
    "GET /v1/alerts?isDismissed=false",
    "GET /v1/license",
    "GET /v1/statistics/vms",
)
#: The vCenter calls of one backup read of one site (the login aside, and the tag lookups of a
#: selection by tag): one PropertyCollector read of clusters, folders, datastores, hosts and
#: VMs over a container view, and the custom attributes' names. (RetrievePropertiesEx is
#: continued past 1000 objects, one more call per 1000.)
VCENTER_CALLS = (
    "CreateContainerView",
    "RetrievePropertiesEx (clusters, folders, datastores, hosts, VMs)",
    "DestroyView",
    "customFieldsManager.field",
)
#: How long the local site (name, identifier, version) is kept between scrapes.
LOCALSITE_TTL = 60.0
#: The enum endpoints, read once per ZVM version: name -> (path, fallback names).
ENUM_ENDPOINTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "vpg_status": ("/v1/vpgs/statuses", tuple(s.name for s in VpgStatus)),
    "vpg_substatus": ("/v1/vpgs/substatuses", ()),
    "vra_status": ("/v1/vras/statuses", tuple(s.name for s in VraStatus)),
    "pairing_status": ("/v1/peersites/pairingstatuses", tuple(s.name for s in PairingStatus)),
}
#: The ZVM's sizes are in MB (binary megabytes, as its storage figures).
MB = 1024 * 1024

VPG = ("site", "vpg")
VM = ("site", "vm")
DATASTORE = ("site", "datastore")
VRA = ("site", "vra")
PEER = ("site", "peer")


@dataclass(frozen=True)
class MetricSpec:
    name: str
    kind: str  # gauge | counter
    labels: tuple[str, ...]
    help: str


def _spec(name: str, labels: tuple[str, ...], help_: str, kind: str = "gauge") -> MetricSpec:
    return MetricSpec(name, kind, labels, help_)


#: Every metric the exporter exposes (``docs/monitoring.md`` lists them; a test keeps both and
#: the dashboard and rules in step).
METRICS: tuple[MetricSpec, ...] = (
    _spec(
        "vmrepl_zvm_up",
        ("site",),
        "1 when every read of the site's ZVM succeeded in this scrape, else 0 (then no other "
        "series of the site is served).",
    ),
    _spec(
        "vmrepl_zvm_info",
        ("site", "zvm_site_name", "site_identifier", "version"),
        "The site's ZVM: its own site name, identifier and version (GET /v1/localsite).",
    ),
    _spec(
        "vmrepl_vpg_info",
        ("site", "vpg", "vpg_identifier", "protected_site", "recovery_site", "priority"),
        "A VPG as this site's ZVM lists it (the ZVM's names of its protected and recovery sites).",
    ),
    _spec(
        "vmrepl_vpg_status",
        ("site", "vpg", "status"),
        "State set of the VPG's status: 1 for the current status, 0 for the others (names from "
        "GET /v1/vpgs/statuses).",
    ),
    _spec("vmrepl_vpg_status_code", VPG, "The VPG's Status as the ZVM's number."),
    _spec(
        "vmrepl_vpg_substatus",
        ("site", "vpg", "substatus"),
        "The VPG's SubStatus number, labelled with its name (GET /v1/vpgs/substatuses).",
    ),
    _spec("vmrepl_vpg_actual_rpo_seconds", VPG, "The VPG's actual RPO (ActualRPO)."),
    _spec(
        "vmrepl_vpg_configured_rpo_seconds",
        VPG,
        "The VPG's target RPO, above which the ZVM alerts (ConfiguredRpoSeconds).",
    ),
    _spec(
        "vmrepl_vpg_journal_history_seconds",
        VPG,
        "The journal history the VPG has (HistoryStatusApi.ActualHistoryInMinutes).",
    ),
    _spec(
        "vmrepl_vpg_configured_journal_history_seconds",
        VPG,
        "The journal history the VPG is configured to keep (ConfiguredHistoryInMinutes).",
    ),
    _spec(
        "vmrepl_vpg_journal_used_bytes",
        VPG,
        "Journal storage used by the VPG's VMs (sum of JournalUsedStorageMb of GET /v1/vms).",
    ),
    _spec("vmrepl_vpg_used_storage_bytes", VPG, "Storage used by the VPG (UsedStorageInMB)."),
    _spec("vmrepl_vpg_throughput_bytes_per_second", VPG, "The VPG's throughput (ThroughputInMB)."),
    _spec("vmrepl_vpg_iops", VPG, "The VPG's write operations per second (IoPs)."),
    _spec(
        "vmrepl_vpg_written_bytes",
        VPG,
        "Bytes written by the VPG's VMs, a cumulative counter (sum of WriteCounterInMBs of GET "
        "/v1/statistics/vms; it restarts when the ZVM does, or a VM leaves the VPG).",
        "counter",
    ),
    _spec(
        "vmrepl_vpg_io_operations",
        VPG,
        "I/O operations of the VPG's VMs, a cumulative counter (sum of IoOperationsCounter).",
        "counter",
    ),
    _spec(
        "vmrepl_vpg_network_sent_bytes",
        VPG,
        "Bytes the VPG's VMs sent to the peer, a cumulative counter (sum of "
        "NetworkTrafficCounterInMBs).",
        "counter",
    ),
    _spec("vmrepl_vpg_protected_vms", VPG, "VMs in the VPG (VmsCount)."),
    _spec(
        "vmrepl_vpg_last_failover_test_timestamp_seconds",
        VPG,
        "Unix time of the VPG's last failover test (LastTest); 0 when it was never tested.",
    ),
    _spec(
        "vmrepl_vra_info",
        ("site", "vra", "host", "vra_version", "host_version"),
        "A VRA, its host and their versions.",
    ),
    _spec(
        "vmrepl_vra_status",
        ("site", "vra", "status"),
        "State set of the VRA's status (names from GET /v1/vras/statuses).",
    ),
    _spec("vmrepl_vra_status_code", VRA, "The VRA's Status as the ZVM's number."),
    _spec(
        "vmrepl_vra_outdated",
        VRA,
        "1 when the VRA's version is older than its ZVM's (the VRA should be upgraded).",
    ),
    _spec("vmrepl_vra_protected_vms", VRA, "VMs the VRA protects (ProtectedCounters.Vms)."),
    _spec("vmrepl_vra_recovery_vms", VRA, "VMs the VRA recovers to (RecoveryCounters.Vms)."),
    _spec(
        "vmrepl_peer_info",
        ("site", "peer", "peer_site_identifier", "version"),
        "A peer site of the site's ZVM and its version.",
    ),
    _spec(
        "vmrepl_peer_pairing_status",
        ("site", "peer", "status"),
        "State set of the peer's pairing status (names from GET /v1/peersites/pairingstatuses).",
    ),
    _spec("vmrepl_peer_pairing_status_code", PEER, "The peer's PairingStatus number."),
    _spec(
        "vmrepl_alerts",
        ("site", "level", "help_identifier"),
        "Alerts on (not dismissed) at the site's ZVM, by level and help identifier.",
    ),
    _spec("vmrepl_license_installed", ("site",), "1 when the ZVM has a licence."),
    _spec(
        "vmrepl_license_expiry_timestamp_seconds",
        ("site",),
        "Unix time the ZVM's licence expires (Details.ExpiryTime); absent without one.",
    ),
    _spec("vmrepl_license_max_vms", ("site",), "VMs the licence allows (Details.MaxVms)."),
    _spec(
        "vmrepl_license_protected_vms",
        ("site",),
        "VMs protected under the licence (Usage.TotalVmsCount).",
    ),
    _spec(
        "vmrepl_vcenter_up",
        ("site",),
        "1 when the site's vCenter was read in this scrape (for the backup series), else 0 "
        "(then no backup series of the site is served); absent without a vCenter in the "
        "inventory.",
    ),
    _spec(
        "vmrepl_vm_last_backup_timestamp_seconds",
        VM,
        "Unix time of the VM's last backup, from the custom attribute the backup product "
        "writes (backup_last_backup_attribute); absent when the attribute is missing or "
        "unreadable (see vmrepl_vm_last_backup_known).",
    ),
    _spec(
        "vmrepl_vm_last_backup_known",
        VM,
        "1 when the VM's last-backup attribute holds a readable time, 0 when it is missing or "
        "unreadable (never backed up, or the product writes another attribute); one per VM "
        "the backup service covers.",
    ),
    _spec(
        "vmrepl_datastore_free_ratio",
        DATASTORE,
        "Free share of a datastore holding the customer's VMs (summary.freeSpace / capacity).",
    ),
    _spec(
        "vmrepl_datastore_free_after_replication_ratio",
        DATASTORE,
        "Free share once the journals and scratch the ZVM has provisioned there are written; "
        "served only when the ZVM's datastores were read too.",
    ),
    _spec(
        "vmrepl_backup_proxy_up",
        ("site", "host"),
        "1 when a customer hypervisor in service has a backup proxy VM powered on, else 0.",
    ),
    _spec(
        "vmrepl_backup_readiness_status",
        ("site",),
        "The site's backup readiness as backup_readiness.yml judges it: 0 OK, 1 WARNING, "
        "2 CRITICAL.",
    ),
    _spec(
        "vmrepl_exporter_vcenter_requests",
        ("site",),
        "SOAP calls the exporter made to the site's vCenter (logins excluded).",
        "counter",
    ),
    _spec(
        "vmrepl_exporter_vcenter_read_failures",
        ("site",),
        "Scrapes in which the site's vCenter could not be read.",
        "counter",
    ),
    _spec(
        "vmrepl_exporter_zvm_requests",
        ("site",),
        "HTTP requests the exporter made to the site's ZVM (logins and retries included).",
        "counter",
    ),
    _spec(
        "vmrepl_exporter_zvm_read_failures",
        ("site",),
        "Scrapes in which the site's ZVM could not be read.",
        "counter",
    ),
    _spec(
        "vmrepl_exporter_scrape_duration_seconds",
        ("site",),
        "How long reading the site's ZVM took in this scrape.",
    ),
)
SPECS = {spec.name: spec for spec in METRICS}


def exposed_names() -> set[str]:
    """The series names a scrape can contain (counters with their ``_total``)."""
    return {s.name + ("_total" if s.kind == "counter" else "") for s in METRICS}


Sample = tuple[str, tuple[str, ...], float]


def version_key(version: Any) -> tuple[int, ...]:
    """``"10.0.60.123"`` -> ``(10, 0, 60, 123)`` (the numbers of a version, for comparing)."""
    return tuple(int(n) for n in re.findall(r"\d+", str(version or "")))


def timestamp(value: Any) -> float | None:
    """Unix time of an ISO 8601 date-time of the ZVM (naive means UTC), or None."""
    import datetime as dt

    if not isinstance(value, str) or not value.strip():
        return None
    try:
        moment = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()


def _number(value: Any, scale: float = 1.0) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) * scale


def _text(value: Any) -> str:
    return "" if value is None else str(value)


@dataclass
class _Cache:
    local_site: dict[str, Any] | None = None
    read_at: float = 0.0
    enums_version: str | None = None
    enums: dict[str, tuple[str, ...]] = field(default_factory=dict)


class SiteReader:
    """One site's ZVM: its client (kept between scrapes, so that its token is too), the cached
    local site and enum names, and the counters of what reading it cost."""

    def __init__(
        self,
        site: Site,
        client: ZvmClient | None = None,
        clock: Callable[[], float] = time.monotonic,
        vcenter: Callable[[], Any] | None = None,
        read_vcenter: Callable[[Any], backup.SiteData] = backup.read_site,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.site = site
        self.client = client or ZvmClient(
            site.zvm_params(timeout=SCRAPE_TIMEOUT, retries=SCRAPE_RETRIES)
        )
        self.clock = clock
        self.failures = 0
        self.last_duration = 0.0
        self.cache = _Cache()
        self._lock = threading.Lock()
        self._vc_lock = threading.Lock()
        # The backup read: the rules checked now (bad values refused before any read), the
        # vCenter's session made on the first scrape and kept.
        rules = backup.rules_from_variables(site.backup)
        self.selection, self.thresholds, self.host_tag, self.vm_tag = rules
        self.count_replication = str(site.backup.get("backup_readiness_zvm", "auto")) != "skip"
        if vcenter is None and site.vcenter:
            params = site.vcenter_params(timeout=SCRAPE_TIMEOUT)
            vcenter = lambda: VSphereClient.connect(params)  # noqa: E731
        self.connect_vcenter = vcenter
        self.read_vcenter = read_vcenter
        self.now = now
        self.vcenter: Any = None
        self.vcenter_calls = 0  # of the sessions closed
        self.vcenter_failures = 0

    @property
    def name(self) -> str:
        return self.site.name

    @property
    def requests(self) -> int:
        return self.client.calls

    @property
    def has_vcenter(self) -> bool:
        return self.connect_vcenter is not None

    @property
    def vcenter_requests(self) -> int:
        return self.vcenter_calls + (self.vcenter.calls if self.vcenter is not None else 0)

    def close(self) -> None:
        self.client.close()
        self._drop_vcenter()

    def _drop_vcenter(self) -> None:
        if self.vcenter is not None:
            self.vcenter_calls += self.vcenter.calls
            self.vcenter.close()
            self.vcenter = None

    # -- reads ------------------------------------------------------------------------------
    def _local_site(self) -> dict[str, Any]:
        now = self.clock()
        cache = self.cache
        if cache.local_site is None or now - cache.read_at >= LOCALSITE_TTL:
            cache.local_site = self.client.local_site()
            cache.read_at = now
        return cache.local_site

    def _enums(self, version: str) -> dict[str, tuple[str, ...]]:
        cache = self.cache
        if cache.enums_version != version or not cache.enums:
            enums = {}
            for key, (path, fallback) in ENUM_ENDPOINTS.items():
                try:
                    names = self.client.get(path)
                except VmreplError as exc:  # an older ZVM without the endpoint: our names
                    log.info("site %s: %s not read (%s); using known names", self.name, path, exc)
                    names = fallback
                enums[key] = tuple(str(n) for n in names) if isinstance(names, list) else fallback
            cache.enums, cache.enums_version = enums, version
        return cache.enums

    def read(self) -> list[Sample]:
        """Every sample of the site, or an exception when the ZVM cannot be read."""
        with self._lock:
            try:
                return self._read()
            except BaseException:
                self.cache.local_site = None  # re-read after a restart (the version may change)
                raise

    def read_backup(self, zvm_up: bool) -> list[Sample]:
        """The backup service's samples of the site (:meth:`read_vcenter_data`, then
        :meth:`backup_samples`), or an exception."""
        return self.backup_samples(self.read_vcenter_data(), zvm_up)

    def read_vcenter_data(self) -> tuple[backup.SiteData, set[str] | None, set[str] | None]:
        """What the site's vCenter holds for the backup rules, and the tagged hosts and VMs
        (None without a tag), or an exception. A kept session that the vCenter refuses with a
        fault (an expired session: NotAuthenticated) is replaced once, within the scrape; one
        that cannot be reached is not (a second timeout would overrun the scrape's)."""
        with self._vc_lock:
            kept = self.vcenter is not None
            try:
                data = self._vcenter_read()
            except Exception as exc:
                self._drop_vcenter()
                if not (kept and isinstance(exc, vmodl.MethodFault)):
                    raise
                data = self._vcenter_read()
            assert self.vcenter is not None
            tagged_hosts = tagged_objects(self.vcenter, self.host_tag, "HostSystem")
            tagged_vms = tagged_objects(self.vcenter, self.vm_tag, "VirtualMachine")
        return data, tagged_hosts, tagged_vms

    def backup_samples(
        self, read: tuple[backup.SiteData, set[str] | None, set[str] | None], zvm_up: bool
    ) -> list[Sample]:
        """The samples of the rules on what was read, with the ZVM's journals and scratch
        counted when its ZVM was read in this scrape (one ``GET /v1/datastores``)."""
        data, tagged_hosts, tagged_vms = read
        replication = None
        if zvm_up and self.count_replication:
            with self._lock:  # the ZVM's client, one thread at a time
                try:
                    replication = backup.replication_usage(self.client.datastores())
                except VmreplError as exc:  # counted when the ZVM answers, as the playbook
                    log.info("site %s: the ZVM's datastores not read (%s)", self.name, exc)
        selection = replace(self.selection, tagged_hosts=tagged_hosts, tagged_vms=tagged_vms)
        report = backup.evaluate(data, selection, self.thresholds, self.now(), replication)
        return [
            (metric, tuple(labels[k] for k in SPECS[metric].labels), value)
            for metric, labels, value in backup.metric_samples({self.name: report})
        ]

    def _vcenter_read(self) -> backup.SiteData:
        if self.vcenter is None:
            assert self.connect_vcenter is not None
            self.vcenter = self.connect_vcenter()
        return self.read_vcenter(self.vcenter)

    def _read(self) -> list[Sample]:
        client, name = self.client, self.name
        local = self._local_site()
        version = _text(json_field(local, "Version"))
        enums = self._enums(version)
        vpgs = client.vpgs()
        vms = client.vms()
        vras = client.vras()
        peers = client.peer_sites()
        alerts = client.alerts(is_dismissed=False)
        license_ = client.license()
        statistics = client.statistics_vms()
        out: list[Sample] = [
            (
                "vmrepl_zvm_info",
                (name, _text(json_field(local, "SiteName")), site_id(local), version),
                1.0,
            )
        ]
        out += vpg_samples(name, vpgs, vms, enums)
        out += counter_samples(name, vpgs, statistics)
        out += vra_samples(name, vras, version, enums)
        out += peer_samples(name, peers, enums)
        out += alert_samples(name, alerts)
        out += license_samples(name, license_)
        return out


def _state_set(
    metric: str, labels: tuple[str, ...], code: Any, names: Sequence[str]
) -> list[Sample]:
    return [
        (metric, (*labels, state), 1.0 if code == index else 0.0)
        for index, state in enumerate(names)
    ]


def _name_of(code: Any, names: Sequence[str]) -> str:
    if isinstance(code, int) and 0 <= code < len(names):
        return names[code]
    return _text(code)


def vpg_samples(
    site: str,
    vpgs: Iterable[Mapping[str, Any]],
    vms: Iterable[Mapping[str, Any]],
    enums: Mapping[str, Sequence[str]],
) -> list[Sample]:
    journal: dict[str, float] = {}
    for vm in vms:
        vpg_id = _text(json_field(vm, "VpgIdentifier"))
        used = _number(json_field(vm, "JournalUsedStorageMb"), MB)
        if vpg_id and used is not None:
            journal[vpg_id] = journal.get(vpg_id, 0.0) + used
    out: list[Sample] = []
    priorities = ("Low", "Medium", "High")
    for vpg in vpgs:
        name = _text(json_field(vpg, "VpgName"))
        vpg_id = _text(json_field(vpg, "VpgIdentifier"))
        key = (site, name)
        priority = json_field(vpg, "Priority")
        out.append(
            (
                "vmrepl_vpg_info",
                (
                    site,
                    name,
                    vpg_id,
                    _text(json_field(vpg, "ProtectedSiteName")),
                    _text(json_field(vpg, "RecoverySiteName")),
                    _name_of(priority, priorities),
                ),
                1.0,
            )
        )
        status = json_field(vpg, "Status")
        out += _state_set("vmrepl_vpg_status", key, status, enums["vpg_status"])
        sub = json_field(vpg, "SubStatus")
        values: dict[str, float | None] = {
            "vmrepl_vpg_status_code": _number(status),
            "vmrepl_vpg_actual_rpo_seconds": _number(json_field(vpg, "ActualRPO")),
            "vmrepl_vpg_configured_rpo_seconds": _number(json_field(vpg, "ConfiguredRpoSeconds")),
            "vmrepl_vpg_journal_history_seconds": _number(
                json_field(vpg, "HistoryStatusApi", "ActualHistoryInMinutes"), 60
            ),
            "vmrepl_vpg_configured_journal_history_seconds": _number(
                json_field(vpg, "HistoryStatusApi", "ConfiguredHistoryInMinutes"), 60
            ),
            "vmrepl_vpg_journal_used_bytes": journal.get(vpg_id, 0.0),
            "vmrepl_vpg_used_storage_bytes": _number(json_field(vpg, "UsedStorageInMB"), MB),
            "vmrepl_vpg_throughput_bytes_per_second": _number(
                json_field(vpg, "ThroughputInMB"), MB
            ),
            "vmrepl_vpg_iops": _number(json_field(vpg, "IoPs")),
            "vmrepl_vpg_protected_vms": _number(json_field(vpg, "VmsCount")),
            "vmrepl_vpg_last_failover_test_timestamp_seconds": timestamp(
                json_field(vpg, "LastTest")
            )
            or 0.0,
        }
        if isinstance(sub, int):
            out.append(
                ("vmrepl_vpg_substatus", (*key, _name_of(sub, enums["vpg_substatus"])), float(sub))
            )
        out += [(metric, key, value) for metric, value in values.items() if value is not None]
    return out


#: /v1/statistics/vms counter -> (metric, scale)
COUNTERS = {
    "WriteCounterInMBs": ("vmrepl_vpg_written_bytes", MB),
    "IoOperationsCounter": ("vmrepl_vpg_io_operations", 1.0),
    "NetworkTrafficCounterInMBs": ("vmrepl_vpg_network_sent_bytes", MB),
}


def counter_samples(
    site: str, vpgs: Iterable[Mapping[str, Any]], statistics: Iterable[Mapping[str, Any]]
) -> list[Sample]:
    """The VMs' cumulative counters summed per VPG (raw, so that ``rate()`` works)."""
    names = {_text(json_field(v, "VpgIdentifier")): _text(json_field(v, "VpgName")) for v in vpgs}
    sums: dict[tuple[str, str], float] = {}
    for entry in statistics:
        vpg = names.get(_text(json_field(entry, "VpgIdentifier")))
        if vpg is None:
            continue
        for field_name, (metric, scale) in COUNTERS.items():
            value = _number(json_field(entry, field_name), scale)
            if value is not None:
                sums[(metric, vpg)] = sums.get((metric, vpg), 0.0) + value
    return [(metric, (site, vpg), value) for (metric, vpg), value in sorted(sums.items())]


def vra_samples(
    site: str, vras: Iterable[Mapping[str, Any]], zvm_version: str, enums: Mapping[str, Any]
) -> list[Sample]:
    out: list[Sample] = []
    current = version_key(zvm_version)
    for vra in vras:
        name = _text(json_field(vra, "VraName"))
        key = (site, name)
        version = _text(json_field(vra, "VraVersion"))
        out.append(
            (
                "vmrepl_vra_info",
                (
                    site,
                    name,
                    _text(json_field(vra, "HostDisplayName")),
                    version,
                    _text(json_field(vra, "HostVersion")),
                ),
                1.0,
            )
        )
        status = json_field(vra, "Status")
        out += _state_set("vmrepl_vra_status", key, status, enums["vra_status"])
        outdated = bool(version and current and version_key(version) < current)
        values = {
            "vmrepl_vra_status_code": _number(status),
            "vmrepl_vra_outdated": 1.0 if outdated else 0.0,
            "vmrepl_vra_protected_vms": _number(json_field(vra, "ProtectedCounters", "Vms")),
            "vmrepl_vra_recovery_vms": _number(json_field(vra, "RecoveryCounters", "Vms")),
        }
        out += [(metric, key, value) for metric, value in values.items() if value is not None]
    return out


def peer_samples(
    site: str, peers: Iterable[Mapping[str, Any]], enums: Mapping[str, Any]
) -> list[Sample]:
    out: list[Sample] = []
    for peer in peers:
        name = _text(json_field(peer, "PeerSiteName"))
        key = (site, name)
        status = json_field(peer, "PairingStatus")
        out.append(
            (
                "vmrepl_peer_info",
                (site, name, site_id(peer), _text(json_field(peer, "Version"))),
                1.0,
            )
        )
        out += _state_set("vmrepl_peer_pairing_status", key, status, enums["pairing_status"])
        code = _number(status)
        if code is not None:
            out.append(("vmrepl_peer_pairing_status_code", key, code))
    return out


def alert_samples(site: str, alerts: Iterable[Mapping[str, Any]]) -> list[Sample]:
    counts: dict[tuple[str, str], int] = {}
    for alert in alerts:
        if json_field(alert, "IsDismissed") is True:
            continue
        key = (_text(json_field(alert, "Level")), _text(json_field(alert, "HelpIdentifier")))
        counts[key] = counts.get(key, 0) + 1
    return [("vmrepl_alerts", (site, *key), float(n)) for key, n in sorted(counts.items())]


def license_samples(site: str, license_: Mapping[str, Any]) -> list[Sample]:
    details = json_field(license_, "Details")
    out: list[Sample] = [("vmrepl_license_installed", (site,), 1.0 if details else 0.0)]
    expiry = timestamp(json_field(details, "ExpiryTime")) if details else None
    if expiry is not None:
        out.append(("vmrepl_license_expiry_timestamp_seconds", (site,), expiry))
    maximum = _number(json_field(details, "MaxVms")) if details else None
    if maximum is not None:
        out.append(("vmrepl_license_max_vms", (site,), maximum))
    used = _number(json_field(license_, "Usage", "TotalVmsCount"))
    if used is not None:
        out.append(("vmrepl_license_protected_vms", (site,), used))
    return out


class ZvmCollector(Collector):
    """Reads the sites' ZVMs on each ``collect()`` (one thread per site, at most
    ``max_workers`` at once) and yields every family of :data:`METRICS`."""

    def __init__(self, readers: Sequence[SiteReader], max_workers: int = 8) -> None:
        self.limit = max_workers
        self.readers = list(readers)
        self.max_workers = max(1, min(max_workers, len(self.readers) or 1))

    def replace(self, readers: Sequence[SiteReader]) -> list[SiteReader]:
        """Serve ``readers`` from the next scrape on (a reload); returns the ones replaced,
        which a scrape under way may still be using."""
        old, self.readers = self.readers, list(readers)
        self.max_workers = max(1, min(self.limit, len(self.readers) or 1))
        return old

    def describe(self) -> Iterator[Metric]:
        return iter(())  # collected on scrape only: registering must not read the ZVMs

    def collect(self) -> Iterator[Metric]:
        return iter(self.collect_sites(self.readers))

    def collect_sites(self, readers: Sequence[SiteReader]) -> list[Metric]:
        families: dict[str, GaugeMetricFamily | CounterMetricFamily] = {}
        for spec in METRICS:
            cls = CounterMetricFamily if spec.kind == "counter" else GaugeMetricFamily
            families[spec.name] = cls(spec.name, spec.help, labels=list(spec.labels))
        if len(readers) == 1:
            results = [_read_site(readers[0])]
        else:
            with ThreadPoolExecutor(max_workers=self.max_workers) as pool:
                results = list(pool.map(_read_site, readers))
        for reader, (samples, backup_samples) in zip(readers, results, strict=True):
            up = samples is not None
            families["vmrepl_zvm_up"].add_metric([reader.name], 1.0 if up else 0.0)
            for metric, labels, value in samples or []:
                families[metric].add_metric(list(labels), value)
            if reader.has_vcenter:
                vc_up = backup_samples is not None
                families["vmrepl_vcenter_up"].add_metric([reader.name], 1.0 if vc_up else 0.0)
                for metric, labels, value in backup_samples or []:
                    families[metric].add_metric(list(labels), value)
                families["vmrepl_exporter_vcenter_requests"].add_metric(
                    [reader.name], reader.vcenter_requests
                )
                families["vmrepl_exporter_vcenter_read_failures"].add_metric(
                    [reader.name], reader.vcenter_failures
                )
            families["vmrepl_exporter_zvm_requests"].add_metric([reader.name], reader.requests)
            families["vmrepl_exporter_zvm_read_failures"].add_metric([reader.name], reader.failures)
            families["vmrepl_exporter_scrape_duration_seconds"].add_metric(
                [reader.name], reader.last_duration
            )
        return list(families.values())


def _read_site(reader: SiteReader) -> tuple[list[Sample] | None, list[Sample] | None]:
    """The site's ZVM samples and its backup samples (None for what could not be read): the
    vCenter read in a thread of its own while the ZVM is read, so that a scrape takes the
    longer of the two, not their sum; then the rules, with the ZVM's datastores."""
    if not reader.has_vcenter:
        return _read(reader), None
    with ThreadPoolExecutor(max_workers=1) as pool:
        vcenter = pool.submit(_read_vcenter, reader)
        samples = _read(reader)
        read = vcenter.result()
    if read is None:
        return samples, None
    try:
        return samples, reader.backup_samples(read, samples is not None)
    except Exception as exc:  # a rule that cannot be applied (a bad pattern) is logged
        reader.vcenter_failures += 1
        log.warning("site %s: the backup rules failed: %s", reader.name, exc)
        return samples, None


def _read_vcenter(
    reader: SiteReader,
) -> tuple[backup.SiteData, set[str] | None, set[str] | None] | None:
    try:
        return reader.read_vcenter_data()
    except VmreplError as exc:
        reader.vcenter_failures += 1
        log.warning("site %s: the vCenter could not be read: %s", reader.name, exc)
        return None
    except Exception as exc:  # a fault of pyVmomi, a socket error: logged by its kind only
        reader.vcenter_failures += 1
        log.warning("site %s: the vCenter could not be read: %s", reader.name, type(exc).__name__)
        return None


def _read(reader: SiteReader) -> list[Sample] | None:
    started = time.perf_counter()
    try:
        return reader.read()
    except VmreplError as exc:
        reader.failures += 1
        log.warning("site %s: the ZVM could not be read: %s", reader.name, exc)
        return None
    except Exception as exc:  # an answer of an unexpected shape must not end the exporter
        reader.failures += 1
        log.warning("site %s: the ZVM could not be read: %s", reader.name, type(exc).__name__)
        return None
    finally:
        reader.last_duration = time.perf_counter() - started


# -- HTTP: /metrics, /probe?target=SITE, / -------------------------------------------------
LANDING = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>vmrepl exporter</title></head>
<body><h1>vmrepl exporter</h1>
<p>Zerto replication metrics of every site of the inventory, read from each site's ZVM on
every scrape.</p>
<ul><li><a href="metrics">/metrics</a>: every site</li>
<li>/probe?target=SITE: one site (the multi-target form); sites: {sites}</li></ul>
</body></html>
"""


def make_app(collector: ZvmCollector) -> Callable[..., Iterable[bytes]]:
    """The exporter's WSGI application, serving the collector's readers of the moment."""
    from html import escape
    from urllib.parse import parse_qs

    from prometheus_client import CollectorRegistry, make_wsgi_app

    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    metrics_app = make_wsgi_app(registry)

    class _One(Collector):
        def __init__(self, reader: SiteReader) -> None:
            self.reader = reader

        def collect(self) -> Iterator[Metric]:
            return iter(collector.collect_sites([self.reader]))

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or "/"
        by_name = {r.name: r for r in collector.readers}
        if path == "/metrics":
            return metrics_app(environ, start_response)
        if path == "/probe":
            query = parse_qs(environ.get("QUERY_STRING") or "")
            target = (query.get("target") or [""])[0]
            reader = by_name.get(target)
            if reader is None:
                known = ", ".join(sorted(by_name))
                body = f"Unknown target {target!r}: give target=SITE, one of {known}.\n"
                start_response("400 Bad Request", [("Content-Type", "text/plain; charset=utf-8")])
                return [body.encode()]
            one = CollectorRegistry(auto_describe=False)
            one.register(_One(reader))
            environ = {**environ, "QUERY_STRING": ""}
            return make_wsgi_app(one)(environ, start_response)
        if path in ("/", ""):
            sites = ", ".join(escape(n) for n in sorted(by_name))
            start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
            return [LANDING.format(sites=sites).encode()]
        start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
        return [b"Not found: see / for the exporter's endpoints.\n"]

    return app


def make_server(host: str, port: int, collector: ZvmCollector) -> Any:
    """A threading HTTP server of :func:`make_app` bound to ``host:port`` (0: a free port)."""
    from socketserver import ThreadingMixIn
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer
    from wsgiref.simple_server import make_server as wsgi_server

    class _Server(ThreadingMixIn, WSGIServer):
        daemon_threads = True
        allow_reuse_address = True

    class _Handler(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            log.debug("%s %s", self.address_string(), format % args)

    if ":" in host and not host.startswith("["):
        import socket

        _Server.address_family = socket.AF_INET6
    return wsgi_server(
        host.strip("[]"), port, make_app(collector), server_class=_Server, handler_class=_Handler
    )
