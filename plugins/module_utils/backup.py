# Copyright: vmrepl contributors
# Apache License 2.0
"""VM recovery (backup) readiness: the backup service's rules as checks, and the plan of the
backup proxies that are missing.

The rules (the provider's VM recovery requirements, OPERATE.md 4.3):

- a proxy on each customer-dedicated hypervisor in service: one proxy VM registered and powered
  on there; hosts in maintenance mode or disconnected are reported apart, not judged;
- the datastores holding the customer's VMs: WARNING under 15% free, CRITICAL under 10%
  ("backup jobs stop"); the space replication has claimed there and not yet written (journals
  and test scratch, from the ZVM's ``/v1/datastores``) is taken off the free space first;
- a 24-hour backup RPO per VM, from the vCenter custom attribute the backup product writes
  (ISO 8601, NetBackup's ``NB_LAST_BACKUP`` and epoch-seconds parsers): CRITICAL when older or
  missing or unreadable;
- snapshot hygiene: consolidation needed, snapshots older than a day left behind (WARNING);
- the VMs that cannot meet the requirements (their host has no proxy, their datastore has
  under 15% free) are named with the provider's advice: consider VM Replication Local Edition.

:func:`read_site` reads vCenter with one PropertyCollector call for hosts, clusters, folders,
datastores and VMs, plus one for the custom attribute names. :func:`evaluate` is pure: the
report from what was read, the thresholds and the time. :func:`metric_samples` gives the
report's figures as Prometheus samples (timestamps, not ages). No Ansible imports.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from ansible_collections.vmrepl.core.plugins.module_utils.appliance import (
    OvfVmSpec,
    ensure_ovf_vm,
    spec_from_params,
)
from ansible_collections.vmrepl.core.plugins.module_utils.clients.errors import (
    ConfigurationError,
    VmreplError,
)
from ansible_collections.vmrepl.core.plugins.module_utils.clients.vsphere import (
    VSphereClient,
    custom_values,
    moid,
    vim,
)
from ansible_collections.vmrepl.core.plugins.module_utils.discovery import (
    choose_hosts,
    choose_vms,
)
from ansible_collections.vmrepl.core.plugins.module_utils.selection import (
    host_selection_spec,
    tagged,
)

#: Monitoring-plugin states and their exit codes (Nagios plugin guidelines).
STATES = {"OK": 0, "WARNING": 1, "CRITICAL": 2, "UNKNOWN": 3}
#: The provider's advice for VMs that cannot meet the backup service's requirements.
ADVICE = "consider VM Replication Local Edition"
#: NetBackup's NB_LAST_BACKUP: comma-separated, the time first (OPERATE.md 4.2).
NETBACKUP_TIME = "%a %b %d %H:%M:%S %Y %z"

HOST_PROPS = (
    "name",
    "parent",
    "runtime.connectionState",
    "runtime.inMaintenanceMode",
    "customValue",
)
DATASTORE_PROPS = (
    "name",
    "summary.capacity",
    "summary.freeSpace",
    "summary.accessible",
    "summary.maintenanceMode",
)
VM_PROPS = (
    "name",
    "parent",
    "runtime.host",
    "runtime.powerState",
    "runtime.consolidationNeeded",
    "config.template",
    "config.changeTrackingEnabled",
    "datastore",
    "snapshot",
    "customValue",
)


# -- last-backup parsers ----------------------------------------------------------------------
def parse_iso(text: str) -> datetime:
    """ISO 8601 (``2026-12-01T20:00:00Z``, ``2026-12-01 20:00:00+01:00``); a time without an
    offset is read as UTC."""
    value = datetime.fromisoformat(text.strip())
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def parse_netbackup(text: str) -> datetime:
    """NetBackup's ``NB_LAST_BACKUP``: ``Tue Dec 01 20:00:00 2026 +0000,<...>,<policy>,...``
    - field 1 in ``%a %b %d %H:%M:%S %Y %z`` (English day and month names)."""
    first = text.split(",", 1)[0].strip()
    return datetime.strptime(first, NETBACKUP_TIME).astimezone(UTC)


def parse_epoch(text: str) -> datetime:
    """Seconds since 1970 (Commvault's ``endateunixsec``), as an integer or decimal."""
    if not re.fullmatch(r"\s*\d{9,11}(\.\d+)?\s*", text):
        raise ValueError(f"{text!r} is not a time in epoch seconds")
    return datetime.fromtimestamp(float(text), UTC)


PARSERS: dict[str, Callable[[str], datetime]] = {
    "iso": parse_iso,
    "netbackup": parse_netbackup,
    "epoch": parse_epoch,
}
FORMATS = ("auto", *PARSERS)


def parse_last_backup(text: str, fmt: str = "auto") -> datetime:
    """The time of a VM's last backup from its attribute's value, in UTC. ``auto`` tries
    ISO 8601, NetBackup's format, then epoch seconds. Raises ValueError naming what it tried."""
    if fmt not in FORMATS:
        raise ConfigurationError(
            f"backup_last_backup_format: {fmt!r} is not one of {', '.join(FORMATS)}."
        )
    if fmt != "auto":
        try:
            return PARSERS[fmt](text)
        except ValueError as exc:
            raise ValueError(f"not a {fmt} time ({exc})") from None
    for parser in PARSERS.values():
        try:
            return parser(text)
        except ValueError:
            continue
    raise ValueError(f"neither an ISO 8601, a NetBackup nor an epoch time: {text[:60]!r}")


# -- thresholds ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Thresholds:
    """The rules' figures; the defaults are the provider's."""

    warning_free_percent: float = 15.0
    critical_free_percent: float = 10.0
    rpo_hours: float = 24.0
    snapshot_max_age_hours: float = 24.0
    last_backup_attribute: str = "NB_LAST_BACKUP"
    last_backup_format: str = "auto"
    require_cbt: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.critical_free_percent <= self.warning_free_percent <= 100:
            raise ConfigurationError(
                "backup_critical_free_percent and backup_warning_free_percent: give "
                f"0 <= critical ({self.critical_free_percent}) <= warning "
                f"({self.warning_free_percent}) <= 100."
            )
        if self.rpo_hours <= 0:
            raise ConfigurationError(
                f"backup_rpo_hours: {self.rpo_hours} must be more than 0 (the service's is 24)."
            )
        if self.snapshot_max_age_hours <= 0:
            raise ConfigurationError(
                f"backup_snapshot_max_age_hours: {self.snapshot_max_age_hours} must be more than 0."
            )
        if not self.last_backup_attribute.strip():
            raise ConfigurationError(
                "backup_last_backup_attribute: give the name of the custom attribute the "
                "backup product writes (NB_LAST_BACKUP for NetBackup, e.g. 'Last Backup' for "
                "a Veeam job's VmAttributeName)."
            )
        if self.last_backup_format not in FORMATS:
            raise ConfigurationError(
                f"backup_last_backup_format: {self.last_backup_format!r} is not one of "
                f"{', '.join(FORMATS)}."
            )


# -- what vCenter holds -----------------------------------------------------------------------
@dataclass
class SiteData:
    """What :func:`read_site` read, as plain data."""

    hosts: list[dict[str, Any]] = field(default_factory=list)
    vms: list[dict[str, Any]] = field(default_factory=list)
    datastores: dict[str, dict[str, Any]] = field(default_factory=dict)  # name → facts
    calls: int = 0


def _snapshots(info: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    stack = list(getattr(info, "rootSnapshotList", None) or [])
    while stack:
        node = stack.pop()
        created = node.createTime
        found.append(
            {
                "name": node.name,
                "created": created.astimezone(UTC).isoformat() if created else None,
            }
        )
        stack += list(node.childSnapshotList or [])
    return sorted(found, key=lambda s: s["created"] or "")


def read_site(client: VSphereClient) -> SiteData:
    """Hosts, datastores and VMs (templates left out) of the vCenter with what the rules need:
    one PropertyCollector read for all of them and one for the custom attribute names, however
    many VMs there are. Custom values are de-duplicated by key (vcsim 0.24's SetField appends)."""
    before = client.calls
    found = client.retrieve_many(
        [
            (vim.ClusterComputeResource, ["name"]),
            (vim.Folder, ["name"]),
            (vim.Datastore, DATASTORE_PROPS),
            (vim.HostSystem, HOST_PROPS),
            (vim.VirtualMachine, VM_PROPS),
        ]
    )
    keys = client.custom_field_keys()
    clusters = {c.moid: c["name"] for c in found[vim.ClusterComputeResource]}
    folders = {f.moid: f["name"] for f in found[vim.Folder]}
    site = SiteData()
    ds_names = {}
    for ds in found[vim.Datastore]:
        ds_names[ds.moid] = ds["name"]
        site.datastores[ds["name"]] = {
            "name": ds["name"],
            "capacity_bytes": int(ds["summary.capacity"] or 0),
            "free_bytes": int(ds["summary.freeSpace"] or 0),
            "accessible": bool(ds["summary.accessible"]),
            "maintenance_mode": str(ds["summary.maintenanceMode"] or "normal"),
        }
    host_names = {}
    for host in found[vim.HostSystem]:
        host_names[host.moid] = host["name"]
        parent = host["parent"]
        site.hosts.append(
            {
                "name": host["name"],
                "moid": host.moid,
                "cluster": clusters.get(moid(parent)) if parent is not None else None,
                "connection_state": str(host["runtime.connectionState"]),
                "maintenance_mode": bool(host["runtime.inMaintenanceMode"]),
                "custom_attributes": custom_values(host, keys),
            }
        )
    for vm in found[vim.VirtualMachine]:
        if vm["config.template"]:
            continue
        host, parent = vm["runtime.host"], vm["parent"]
        site.vms.append(
            {
                "name": vm["name"],
                "moid": vm.moid,
                "folder": folders.get(moid(parent)) if parent is not None else None,
                "host": host_names.get(moid(host)) if host is not None else None,
                "power_state": str(vm["runtime.powerState"]),
                "datastores": sorted(ds_names.get(moid(d), moid(d)) for d in vm["datastore"] or []),
                "consolidation_needed": bool(vm["runtime.consolidationNeeded"]),
                "cbt": bool(vm["config.changeTrackingEnabled"]),
                "snapshots": _snapshots(vm["snapshot"]),
                "custom_attributes": custom_values(vm, keys),
            }
        )
    site.hosts.sort(key=lambda h: h["name"])
    site.vms.sort(key=lambda v: v["name"])
    site.calls = client.calls - before
    return site


def replication_usage(zvm_datastores: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, int]]:
    """By datastore name, what replication holds there as the ZVM reports it (``GET
    /v1/datastores``, ``Stats.Usage.Zerto.{Journal, Scratch}``): bytes used, and bytes claimed
    (provisioned) but not yet written, which will come off the datastore's free space."""
    usage: dict[str, dict[str, int]] = {}
    for ds in zvm_datastores:
        zerto = ((ds.get("Stats") or {}).get("Usage") or {}).get("Zerto") or {}
        entry = {"journal_used_bytes": 0, "scratch_used_bytes": 0, "reserve_bytes": 0}
        for kind in ("Journal", "Scratch"):
            part = zerto.get(kind) or {}
            used = int(part.get("UsedInBytes") or 0)
            provisioned = int(part.get("ProvisionedInBytes") or 0)
            entry[f"{kind.lower()}_used_bytes"] = used
            entry["reserve_bytes"] += max(0, provisioned - used)
        usage[str(ds.get("DatastoreName"))] = entry
    return usage


# -- the rules ----------------------------------------------------------------------------------
def _worst(states: Iterable[str]) -> str:
    return max(states, key=lambda s: STATES[s], default="OK")


def _percent(part: float, whole: float) -> float:
    return round(100.0 * part / whole, 2) if whole else 0.0


@dataclass(frozen=True)
class Selection:
    """Which hosts and VMs are the customer's (as the deployment chooses its hypervisors)."""

    clusters: Sequence[str] = ()
    host_attribute: Mapping[str, str] | None = None
    host_names: Sequence[str] = ()
    tagged_hosts: set[str] | None = None
    vm_names: Sequence[str] = ()
    vm_folder: str | None = None
    vm_attribute: Mapping[str, str] | None = None
    tagged_vms: set[str] | None = None
    #: VMs that are infrastructure, not the customer's (regular expressions on the name)
    vm_exclude: Sequence[str] = ("^Z-VRA-",)
    #: the name of a proxy VM (a regular expression)
    proxy_pattern: str = "^backup-proxy-"


#: The module options that choose the customer's hosts (shared by the modules; documented by
#: the ``vmrepl.core.selection.customer_hosts`` and ``vmrepl.core.backup_selection`` fragments).
SELECTION_ARGUMENT_SPEC: dict[str, Any] = {
    **host_selection_spec("host_"),
    "proxy_pattern": {"type": "str", "default": "^backup-proxy-"},
}


def customer_hosts(site: SiteData, sel: Selection) -> tuple[list[str], dict[str, str]]:
    """(hosts in service, {host: why not in service}) among the customer's hosts."""
    return choose_hosts(
        site.hosts,
        list(sel.clusters),
        dict(sel.host_attribute) if sel.host_attribute else None,
        list(sel.host_names),
        sel.tagged_hosts,
    )


def _regex(pattern: str, what: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ConfigurationError(
            f"{what}: {pattern!r} is not a regular expression ({exc})."
        ) from None


def proxies_by_host(site: SiteData, sel: Selection) -> dict[str, list[dict[str, Any]]]:
    proxy = _regex(sel.proxy_pattern, "backup_proxy_pattern")
    by_host: dict[str, list[dict[str, Any]]] = {}
    for vm in site.vms:
        if proxy.search(vm["name"]) and vm["host"]:
            by_host.setdefault(vm["host"], []).append(vm)
    return by_host


def _backup_check(vm: Mapping[str, Any], th: Thresholds, now: datetime) -> dict[str, Any]:
    raw = vm["custom_attributes"].get(th.last_backup_attribute)
    out: dict[str, Any] = {
        "attribute_value": raw,
        "last_backup": None,
        "last_backup_timestamp": None,
        "backup_age_hours": None,
    }
    if raw is None or not str(raw).strip():
        out["problem"] = (
            f"no last backup: custom attribute {th.last_backup_attribute} is not set "
            "(never backed up, or the backup product writes another attribute)"
        )
        return out
    try:
        when = parse_last_backup(str(raw), th.last_backup_format)
    except ValueError as exc:
        out["problem"] = f"last backup unreadable from {th.last_backup_attribute}: {exc}"
        return out
    age = (now - when).total_seconds() / 3600
    out |= {
        "last_backup": when.isoformat(),
        "last_backup_timestamp": when.timestamp(),
        "backup_age_hours": round(age, 2),
    }
    if age > th.rpo_hours:
        out["problem"] = (
            f"last backup {age:.1f} h ago ({when:%Y-%m-%d %H:%M} UTC), over the "
            f"{th.rpo_hours:g} h RPO"
        )
    return out


def evaluate(
    site: SiteData,
    sel: Selection,
    th: Thresholds,
    now: datetime,
    replication: Mapping[str, Mapping[str, int]] | None = None,
) -> dict[str, Any]:
    """The readiness report of one site (pure): hosts and their proxies, datastores, VMs,
    problems by level, the VMs for VM Replication Local Edition, the overall status."""
    problems: list[dict[str, str]] = []

    def problem(level: str, kind: str, name: str, message: str) -> None:
        problems.append({"level": level, "kind": kind, "object": name, "message": message})

    usable, out_of_service = customer_hosts(site, sel)
    proxies = proxies_by_host(site, sel)
    proxy = _regex(sel.proxy_pattern, "backup_proxy_pattern")
    hosts = []
    without_proxy = []
    for host in site.hosts:
        name = host["name"]
        if name not in usable and name not in out_of_service:
            continue
        on_host = proxies.get(name, [])
        running = [p["name"] for p in on_host if p["power_state"] == "poweredOn"]
        entry = {
            "name": name,
            "cluster": host["cluster"],
            "in_service": name in usable,
            "proxies": [p["name"] for p in on_host],
            "status": "OK",
        }
        if name in out_of_service:
            entry["reason"] = out_of_service[name]
        elif not on_host:
            without_proxy.append(name)
            entry["status"] = "CRITICAL"
            problem("CRITICAL", "proxy", name, "no backup proxy on this hypervisor")
        elif not running:
            without_proxy.append(name)
            entry["status"] = "CRITICAL"
            problem("CRITICAL", "proxy", name, f"backup proxy {on_host[0]['name']} is not on")
        elif len(on_host) > 1:
            entry["status"] = "WARNING"
            problem("WARNING", "proxy", name, f"{len(on_host)} proxies: {', '.join(running)}")
        hosts.append(entry)

    excluded = [_regex(p, "backup_vms_exclude") for p in sel.vm_exclude]
    chosen_hosts = set(usable) | set(out_of_service)
    candidates = [
        vm
        for vm in site.vms
        if not proxy.search(vm["name"]) and not any(x.search(vm["name"]) for x in excluded)
    ]
    if sel.vm_names or sel.vm_folder or sel.vm_attribute or sel.tagged_vms is not None:
        chosen = choose_vms(
            candidates,
            list(sel.vm_names),
            sel.vm_folder,
            dict(sel.vm_attribute) if sel.vm_attribute else None,
            sel.tagged_vms,
        )
    else:
        chosen = [vm for vm in candidates if vm["host"] in chosen_hosts]

    # Datastores holding the customer's VMs.
    holding: dict[str, list[str]] = {}
    for vm in chosen:
        for ds in vm["datastores"]:
            holding.setdefault(ds, []).append(vm["name"])
    datastores = []
    ds_status: dict[str, str] = {}
    for name in sorted(holding):
        facts = site.datastores.get(name) or {"capacity_bytes": 0, "free_bytes": 0}
        capacity, free = facts["capacity_bytes"], facts["free_bytes"]
        rep = (replication or {}).get(name)
        reserve = int(rep["reserve_bytes"]) if rep else 0
        effective = max(0, free - reserve)
        percent = _percent(effective, capacity)
        entry = {
            "name": name,
            "capacity_bytes": capacity,
            "free_bytes": free,
            "free_percent": _percent(free, capacity),
            "replication_counted": rep is not None,
            "journal_used_bytes": rep["journal_used_bytes"] if rep else None,
            "scratch_used_bytes": rep["scratch_used_bytes"] if rep else None,
            "replication_reserve_bytes": reserve if rep else None,
            "free_after_replication_percent": percent,
            "vms": sorted(holding[name]),
            "status": "OK",
        }
        if not facts.get("accessible", True):
            entry["status"] = "CRITICAL"
            problem("CRITICAL", "datastore", name, "not accessible")
        elif percent < th.critical_free_percent:
            entry["status"] = "CRITICAL"
            problem(
                "CRITICAL",
                "datastore",
                name,
                f"{percent:.1f}% free, under {th.critical_free_percent:g}%: backup jobs stop",
            )
        elif percent < th.warning_free_percent:
            entry["status"] = "WARNING"
            problem(
                "WARNING",
                "datastore",
                name,
                f"{percent:.1f}% free, under the {th.warning_free_percent:g}% the backup "
                "service needs",
            )
        ds_status[name] = entry["status"]
        datastores.append(entry)

    vms = []
    advice = []
    for vm in chosen:
        vm_problems: list[tuple[str, str]] = []
        check = _backup_check(vm, th, now)
        if "problem" in check:
            vm_problems.append(("CRITICAL", check.pop("problem")))
        if vm["consolidation_needed"]:
            vm_problems.append(("WARNING", "disk consolidation needed"))
        limit = now - timedelta(hours=th.snapshot_max_age_hours)
        for snap in vm["snapshots"]:
            created = datetime.fromisoformat(snap["created"]) if snap["created"] else None
            if created is None or created < limit:
                vm_problems.append(
                    ("WARNING", f"snapshot {snap['name']!r} left since {snap['created'] or '?'}")
                )
        if th.require_cbt and not vm["cbt"]:
            vm_problems.append(("WARNING", "changed block tracking is off"))
        for level, message in vm_problems:
            problem(level, "vm", vm["name"], message)
        cannot = []
        if vm["host"] in without_proxy:
            cannot.append(f"its host {vm['host']} has no backup proxy")
        low = [d for d in vm["datastores"] if ds_status.get(d) in ("WARNING", "CRITICAL")]
        if low:
            cannot.append(f"datastore {', '.join(low)} has under {th.warning_free_percent:g}% free")
        if cannot:
            advice.append({"vm": vm["name"], "reasons": cannot, "advice": ADVICE})
        vms.append(
            {
                "name": vm["name"],
                "host": vm["host"],
                "power_state": vm["power_state"],
                "datastores": vm["datastores"],
                **check,
                "consolidation_needed": vm["consolidation_needed"],
                "snapshots": vm["snapshots"],
                "cbt": vm["cbt"],
                "status": _worst(level for level, _ in vm_problems),
                "problems": [message for _, message in vm_problems],
            }
        )

    status = _worst(p["level"] for p in problems)
    report = {
        "status": status,
        "exit_code": STATES[status],
        "checked_at": now.astimezone(UTC).isoformat(timespec="seconds"),
        "thresholds": {
            "warning_free_percent": th.warning_free_percent,
            "critical_free_percent": th.critical_free_percent,
            "rpo_hours": th.rpo_hours,
            "last_backup_attribute": th.last_backup_attribute,
            "last_backup_format": th.last_backup_format,
        },
        "hosts": hosts,
        "hosts_without_proxy": without_proxy,
        "hosts_out_of_service": out_of_service,
        "datastores": datastores,
        "vms": vms,
        "problems": sorted(problems, key=lambda p: -STATES[p["level"]]),
        "advice": advice,
    }
    report["summary"] = summary_line(report)
    items = perfdata_items(report)
    report["perfdata_items"] = items
    report["perfdata"] = " ".join(items)
    return report


def summary_line(report: Mapping[str, Any]) -> str:
    counts = {level: 0 for level in ("CRITICAL", "WARNING")}
    for p in report["problems"]:
        counts[p["level"]] += 1
    parts = [
        f"{len(report['hosts_without_proxy'])} host(s) without a proxy",
        f"{sum(d['status'] != 'OK' for d in report['datastores'])} datastore(s) low",
        f"{sum(1 for v in report['vms'] if v['status'] == 'CRITICAL')} VM(s) over the RPO or "
        "without a backup",
    ]
    if report["hosts_out_of_service"]:
        parts.append(f"{len(report['hosts_out_of_service'])} host(s) out of service skipped")
    return f"{counts['CRITICAL']} critical, {counts['WARNING']} warning: " + ", ".join(parts)


def _label(text: str) -> str:
    """A perfdata label: quoted, without the characters the format reserves."""
    return "'" + re.sub(r"['=]", "_", text) + "'"


def perfdata_items(report: Mapping[str, Any], prefix: str = "") -> list[str]:
    """Monitoring-plugin performance data, one item each:
    ``'ds_free_<ds>'=12.5%;15:;10:;0;100`` per datastore (the free space after replication's
    claim), ``'backup_age_<vm>'=108000s;;86400`` per VM
    (``U`` when unknown), and ``'hosts_without_proxy'=1;;0``."""
    th = report["thresholds"]
    items = []
    for ds in report["datastores"]:
        items.append(
            f"{_label(prefix + 'ds_free_' + ds['name'])}={ds['free_after_replication_percent']:g}%"
            f";{th['warning_free_percent']:g}:;{th['critical_free_percent']:g}:;0;100"
        )
    rpo = int(th["rpo_hours"] * 3600)
    for vm in report["vms"]:
        hours = vm["backup_age_hours"]
        value = "U" if hours is None else f"{round(hours * 3600)}s"
        items.append(f"{_label(prefix + 'backup_age_' + vm['name'])}={value};;{rpo}")
    items.append(
        f"{_label(prefix + 'hosts_without_proxy')}={len(report['hosts_without_proxy'])};;0"
    )
    return items


def metric_samples(
    reports: Mapping[str, Mapping[str, Any]],
) -> list[tuple[str, dict[str, str], float]]:
    """The reports' figures (by site) as Prometheus samples ``(name, labels, value)``, for the
    exporter: ``vmrepl_vm_last_backup_timestamp_seconds`` (VMs with a readable last backup),
    ``vmrepl_vm_last_backup_known`` (every VM checked: 1 with a readable last backup, 0 when
    the attribute is missing or unreadable), ``vmrepl_datastore_free_ratio`` and (when the
    ZVM's journals and scratch were counted) ``vmrepl_datastore_free_after_replication_ratio``,
    ``vmrepl_backup_proxy_up`` per host in service, ``vmrepl_backup_readiness_status``
    (0 OK, 1 WARNING, 2 CRITICAL)."""
    samples: list[tuple[str, dict[str, str], float]] = []
    for site, report in sorted(reports.items()):
        for vm in report["vms"]:
            known = vm["last_backup_timestamp"] is not None
            samples.append(
                (
                    "vmrepl_vm_last_backup_known",
                    {"site": site, "vm": vm["name"]},
                    1.0 if known else 0.0,
                )
            )
            if known:
                samples.append(
                    (
                        "vmrepl_vm_last_backup_timestamp_seconds",
                        {"site": site, "vm": vm["name"]},
                        float(vm["last_backup_timestamp"]),
                    )
                )
        for ds in report["datastores"]:
            labels = {"site": site, "datastore": ds["name"]}
            capacity = ds["capacity_bytes"] or 0
            free = ds["free_bytes"] / capacity if capacity else 0.0
            samples.append(("vmrepl_datastore_free_ratio", labels, free))
            if ds["replication_counted"]:
                samples.append(
                    (
                        "vmrepl_datastore_free_after_replication_ratio",
                        dict(labels),
                        ds["free_after_replication_percent"] / 100,
                    )
                )
        for host in report["hosts"]:
            if host["in_service"]:
                up = 0.0 if host["name"] in report["hosts_without_proxy"] else 1.0
                samples.append(("vmrepl_backup_proxy_up", {"site": site, "host": host["name"]}, up))
        samples.append(
            ("vmrepl_backup_readiness_status", {"site": site}, float(STATES[report["status"]]))
        )
    return samples


def rules_from_variables(
    variables: Mapping[str, Any],
) -> tuple[Selection, Thresholds, dict[str, str] | None, dict[str, str] | None]:
    """The selection and thresholds from the backup role's variables (``backup_hosts_clusters``,
    ``backup_last_backup_attribute``, ...: what ``backup_readiness.yml`` gives the module),
    and the host and VM tags to resolve (None without). Raises ConfigurationError naming the
    variable whose value is not of its kind."""
    th_defaults = Thresholds()

    def number(name: str, default: float) -> float:
        value = variables.get(name, default)
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ConfigurationError(f"{name}: {value!r} is not a number.") from None

    def names(name: str) -> list[str]:
        value = variables.get(name) or []
        if isinstance(value, str) or not isinstance(value, Sequence):
            raise ConfigurationError(f"{name}: give a list, not {value!r}.")
        return [str(v) for v in value]

    def pair(name: str, keys: tuple[str, str]) -> dict[str, str] | None:
        value = variables.get(name) or None
        if value is None:
            return None
        if not isinstance(value, Mapping) or not all(value.get(k) for k in keys):
            raise ConfigurationError(f"{name}: give a mapping with {' and '.join(keys)}.")
        return {k: str(value[k]) for k in keys}

    cbt = variables.get("backup_require_cbt", False)
    if isinstance(cbt, str):
        cbt = cbt.strip().lower() in ("1", "true", "yes", "on")
    thresholds = Thresholds(
        warning_free_percent=number(
            "backup_warning_free_percent", th_defaults.warning_free_percent
        ),
        critical_free_percent=number(
            "backup_critical_free_percent", th_defaults.critical_free_percent
        ),
        rpo_hours=number("backup_rpo_hours", th_defaults.rpo_hours),
        snapshot_max_age_hours=number(
            "backup_snapshot_max_age_hours", th_defaults.snapshot_max_age_hours
        ),
        last_backup_attribute=str(
            variables.get("backup_last_backup_attribute") or th_defaults.last_backup_attribute
        ),
        last_backup_format=str(
            variables.get("backup_last_backup_format") or th_defaults.last_backup_format
        ),
        require_cbt=bool(cbt),
    )
    selection = Selection(
        clusters=names("backup_hosts_clusters"),
        host_attribute=pair("backup_hosts_custom_attribute", ("name", "value")),
        host_names=names("backup_hosts_names"),
        vm_names=names("backup_vms"),
        vm_folder=str(variables.get("backup_vms_folder") or "") or None,
        vm_attribute=pair("backup_vms_custom_attribute", ("name", "value")),
        vm_exclude=(
            tuple(names("backup_vms_exclude"))
            if "backup_vms_exclude" in variables
            else Selection.vm_exclude
        ),
        proxy_pattern=str(variables.get("backup_proxy_pattern") or Selection.proxy_pattern),
    )
    _regex(selection.proxy_pattern, "backup_proxy_pattern")
    for pattern in selection.vm_exclude:
        _regex(pattern, "backup_vms_exclude")
    return (
        selection,
        thresholds,
        pair("backup_hosts_tag", ("category", "name")),
        pair("backup_vms_tag", ("category", "name")),
    )


# -- the proxies' plan --------------------------------------------------------------------------
@dataclass
class ProxyPlan:
    """Which hosts in service get a proxy (``changes: {host: (None, proxy name)}``), which are
    skipped and why, and which have one already."""

    changes: dict[str, tuple[Any, Any]]
    present: dict[str, list[str]]
    skipped: dict[str, str]
    blocked: dict[str, str]
    #: deploys the proxy ``name`` on ``host`` (set by :func:`proxy_rollout`)
    deploy: Callable[[str, str], Any] | None = field(default=None, repr=False, compare=False)

    def apply(self) -> dict[str, Any]:
        """Deploy the planned proxies, one host after the other."""
        assert self.deploy is not None, "a plan of plan_proxies alone is not applied"
        deployed: dict[str, str] = {}
        for host, (_, name) in sorted(self.changes.items()):
            try:
                self.deploy(host, name)
            except VmreplError as exc:
                left = sorted(set(self.changes) - set(deployed))
                raise VmreplError(
                    f"Deploying the proxy on {host} failed: {exc} Deployed: "
                    f"{', '.join(sorted(deployed)) or 'none'}; left: {', '.join(left)}.",
                    hint="Fix the cause and run again: hosts with a proxy are kept.",
                    details={"changed": bool(deployed), "deployed": deployed, "left": left},
                ) from exc
            deployed[host] = name
        return {
            "deployed": deployed,
            "msg": f"Deployed a backup proxy on {', '.join(sorted(deployed))}."
            + (f" Skipped: {', '.join(sorted(self.skipped))}." if self.skipped else ""),
        }

    @property
    def facts(self) -> dict[str, Any]:
        return {
            "deployed": {},
            "planned": {h: after for h, (_, after) in self.changes.items()},
            "present": self.present,
            "skipped_hosts": self.skipped,
            "blocked": self.blocked,
        }

    def summary(self, check_mode: bool) -> str:
        verb = "Would deploy" if check_mode else "Deploying"
        parts = []
        if self.changes:
            parts.append(f"{verb} a backup proxy on {', '.join(sorted(self.changes))}.")
        else:
            parts.append("Every hypervisor in service has a backup proxy.")
        if self.skipped:
            parts.append(
                "Skipped: "
                + ", ".join(f"{h} ({why})" for h, why in sorted(self.skipped.items()))
                + "."
            )
        return " ".join(parts)


def proxy_name(prefix: str, host: str) -> str:
    return f"{prefix}{host}"


def plan_proxies(site: SiteData, sel: Selection, name_prefix: str) -> ProxyPlan:
    """The proxies to deploy: one named ``<prefix><host>`` on every customer host in service
    that has none registered on it (hosts in maintenance mode or disconnected skipped). A host
    whose proxy name is taken by a VM on another host is ``blocked``: nothing is deployed for
    it (the VM would be found by name, not deployed)."""
    usable, skipped = customer_hosts(site, sel)
    proxies = proxies_by_host(site, sel)
    by_name = {vm["name"]: vm for vm in site.vms}
    changes: dict[str, tuple[Any, Any]] = {}
    present: dict[str, list[str]] = {}
    blocked: dict[str, str] = {}
    for host in usable:
        name = proxy_name(name_prefix, host)
        on_host = proxies.get(host, [])
        if on_host and not any(p["power_state"] == "poweredOn" for p in on_host):
            if any(p["name"] == name for p in on_host):
                changes[host] = ("poweredOff", name)  # ours, off: powered on
            else:
                blocked[host] = f"proxy {on_host[0]['name']} is off (not one of ours)"
            continue
        if on_host:
            present[host] = [p["name"] for p in on_host]
            continue
        other = by_name.get(name)
        if other is not None:
            blocked[host] = f"VM {name} exists on {other['host'] or 'no host'}"
            continue
        changes[host] = (None, name)
    return ProxyPlan(changes, present, skipped, blocked)


# -- the modules' services ----------------------------------------------------------------------
def selection_of(client: VSphereClient, p: Mapping[str, Any]) -> Selection:
    """The selection the module options give (``SELECTION_ARGUMENT_SPEC``, and the ``vms``,
    ``vm_*`` options of backup_readiness_info); the tags are read from vCenter."""
    return Selection(
        clusters=p["clusters"],
        host_attribute=p["host_custom_attribute"],
        host_names=p["host_names"],
        tagged_hosts=tagged(client, p, "host_tag", "HostSystem"),
        vm_names=p.get("vms") or (),
        vm_folder=p.get("vm_folder"),
        vm_attribute=p.get("vm_custom_attribute"),
        tagged_vms=tagged(client, p, "vm_tag", "VirtualMachine"),
        vm_exclude=p.get("vms_exclude") or (),
        proxy_pattern=p["proxy_pattern"],
    )


def readiness(client: VSphereClient, p: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """backup_readiness_info's result: the site read, its readiness evaluated at ``now``."""
    thresholds = Thresholds(
        warning_free_percent=p["warning_free_percent"],
        critical_free_percent=p["critical_free_percent"],
        rpo_hours=p["rpo_hours"],
        snapshot_max_age_hours=p["snapshot_max_age_hours"],
        last_backup_attribute=p["last_backup_attribute"],
        last_backup_format=p["last_backup_format"],
        require_cbt=p["require_cbt"],
    )
    site = read_site(client)
    zvm_datastores = p["zvm_datastores"]
    replication = replication_usage(zvm_datastores) if zvm_datastores is not None else None
    report = evaluate(site, selection_of(client, p), thresholds, now, replication)
    return {
        "changed": False,
        "readiness": report,
        "skipped_hosts": report["hosts_out_of_service"],
        "calls": client.calls,
        "msg": f"Backup readiness {report['status']}: {report['summary']}.",
    }


def proxy_rollout(
    client: VSphereClient,
    p: Mapping[str, Any],
    on_progress: Callable[[int], None] | None = None,
) -> ProxyPlan:
    """backup_proxy's plan: the proxies missing on the customer's hosts in service, each
    resolved and validated (the OVF, its properties, the datastore and network on the host)
    before anything changes, in check mode too. Its :meth:`ProxyPlan.apply` deploys them one
    after the other; a failure names the proxies deployed and the hosts left."""
    if not _regex(p["proxy_pattern"], "proxy_pattern").search(p["name_prefix"] + "x"):
        raise ConfigurationError(
            f"name_prefix: proxies named {p['name_prefix']}<host> would not match "
            f"proxy_pattern {p['proxy_pattern']!r}, so they would not be found again.",
            hint="Give a name_prefix that proxy_pattern matches (or widen the pattern).",
        )
    plan = plan_proxies(read_site(client), selection_of(client, p), p["name_prefix"])
    base = proxy_spec(p)
    for host, (_, name) in sorted(plan.changes.items()):
        ensure_ovf_vm(client, for_host(base, host, name), check_mode=True)
    plan.deploy = lambda host, name: ensure_ovf_vm(
        client, for_host(base, host, name), on_progress=on_progress
    )
    return plan


def proxy_spec(p: Mapping[str, Any]) -> OvfVmSpec:
    """The OvfVmSpec of the proxies from the module options (name and host per proxy: see
    :func:`for_host`)."""
    return spec_from_params({**p, "name": "", "cluster": None, "host": None})


def for_host(spec: OvfVmSpec, host: str, name: str) -> OvfVmSpec:
    """The proxy ``name`` on ``host``: ``{host}`` in its properties replaced by the host."""
    properties = {k: v.replace("{host}", host) for k, v in spec.properties.items()}
    return replace(spec, name=name, host=host, properties=properties)
