"""The sizing arithmetic: pure functions of the samples and of the recovery site's capacity, the
same whatever the source (vCenter performance history, the ZVM's counters, a CSV).

Units (SI, stated once): write rates come in KB/s as vCenter's ``disk.write.average`` reports
them (``kiloBytesPerSecond``) and are taken as 1 KB = 1000 bytes, as Zerto's planner (ZPL) does;
storage is in GB = 10^9 bytes; link rates in Mb/s = 10^6 bit/s. So 1 KB/s = 0.008 Mb/s, and a day
at 1 KB/s writes 0.0864 GB.

Percentiles are exact: linear interpolation between the closest ranks of the sorted samples
(Hyndman and Fan type 7, numpy's default ``linear`` method), never a truncated list."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

#: Journal size factor by expected compression of the journal, in %.
JOURNAL_COMPRESSION = {0: 1.0, 50: 0.5, 70: 0.3}
#: WAN factor by compression scenario, in % (ZPL's WAN sizing dashboard: 0/50/70 %).
WAN_COMPRESSION = {0: 1.0, 50: 0.5, 70: 0.3}
MIN_JOURNAL_GB = 8.0
MIN_WAN_MBPS = 5.0
DEFAULT_HISTORY_HOURS = 7 * 24
#: KB (of the KB/s write rates) per GB: SI, 10^6.
KB_PER_GB = 1000 * 1000


class SizingError(ValueError):
    """The input cannot be sized; the message says which row or field."""


@dataclass(frozen=True)
class Sample:
    vm: str
    write_kbps: float
    timestamp: str | None = None


@dataclass
class VmSizing:
    vm: str
    samples: int
    average_write_kbps: float
    peak_write_kbps: float
    percentile_write_kbps: float
    journal_gb: float
    journal_limit_gb: float

    def as_dict(self) -> dict[str, Any]:
        return {k: round(v, 3) if isinstance(v, float) else v for k, v in self.__dict__.items()}


@dataclass
class Sizing:
    vms: list[VmSizing]
    history_hours: float
    journal_compression: int
    wan_compression: bool
    percentile: float
    wan_method: str
    total_average_write_kbps: float
    journal_gb: float
    journal_limit_gb: float
    journal_with_test_gb: float
    wan_percentile_mbps: float
    wan_mbps: float
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        doc = {k: round(v, 3) if isinstance(v, float) else v for k, v in self.__dict__.items()}
        doc["vms"] = [vm.as_dict() for vm in self.vms]
        return doc


def percentile(values: Sequence[float], pct: float) -> float:
    """The ``pct`` percentile of ``values`` with linear interpolation between ranks (the
    method of numpy's default and of most spreadsheets)."""
    if not values:
        raise SizingError("no values to take a percentile of")
    if not 0 <= pct <= 100:
        raise SizingError(f"percentile must be between 0 and 100, not {pct}")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def kbps_to_mbps(kbps: float) -> float:
    """Write KB/s → link Mb/s (* 8 bits / 1000, SI)."""
    return kbps * 8 / 1000


def size(
    samples: Sequence[Sample],
    history_hours: float = DEFAULT_HISTORY_HOURS,
    journal_compression: int = 0,
    wan_compression: bool = False,
    pct: float = 98.0,
) -> Sizing:
    """Journals per VM and in total, and the WAN bandwidth, from write-rate samples."""
    if not samples:
        raise SizingError("no VM write rates")
    if not math.isfinite(pct) or not 0 < pct <= 100:
        raise SizingError(f"the percentile must be above 0 and at most 100, not {pct}")
    if not 1 <= history_hours <= 720:
        raise SizingError(f"journal history must be 1 to 720 hours, not {history_hours}")
    if journal_compression not in JOURNAL_COMPRESSION:
        raise SizingError(
            f"journal compression must be one of {sorted(JOURNAL_COMPRESSION)} %, "
            f"not {journal_compression}"
        )
    factor = JOURNAL_COMPRESSION[journal_compression]
    seconds = history_hours * 3600
    by_vm: dict[str, list[float]] = {}
    for sample in samples:
        by_vm.setdefault(sample.vm, []).append(sample.write_kbps)
    vms = []
    for vm, rates in by_vm.items():
        average = sum(rates) / len(rates)
        journal = average * seconds * factor / KB_PER_GB
        vms.append(
            VmSizing(
                vm=vm,
                samples=len(rates),
                average_write_kbps=average,
                peak_write_kbps=max(rates),
                percentile_write_kbps=percentile(rates, pct),
                journal_gb=journal,
                journal_limit_gb=max(journal, MIN_JOURNAL_GB),
            )
        )
    timed = all(s.timestamp is not None for s in samples)
    notes = []
    if timed:
        at: dict[str, float] = {}
        for sample in samples:
            at[sample.timestamp or ""] = at.get(sample.timestamp or "", 0.0) + sample.write_kbps
        wan_raw = kbps_to_mbps(percentile(list(at.values()), pct))
        method = f"{pct:g}th percentile of the sum of all VMs at each of {len(at)} moments"
    else:
        wan_raw = sum(kbps_to_mbps(vm.percentile_write_kbps) for vm in vms)
        method = f"sum of each VM's {pct:g}th percentile (no timestamps: an upper bound)"
        if all(vm.samples == 1 for vm in vms):
            notes.append("One rate per VM: the WAN figure is the sum of those rates.")
    wan = wan_raw / 2 if wan_compression else wan_raw
    if wan < MIN_WAN_MBPS:
        notes.append(f"WAN raised to the {MIN_WAN_MBPS:g} Mb/s minimum (computed {wan:.2f}).")
    journal_total = sum(vm.journal_gb for vm in vms)
    limit_total = sum(vm.journal_limit_gb for vm in vms)
    return Sizing(
        vms=sorted(vms, key=lambda v: v.vm),
        history_hours=history_hours,
        journal_compression=journal_compression,
        wan_compression=wan_compression,
        percentile=pct,
        wan_method=method,
        total_average_write_kbps=sum(vm.average_write_kbps for vm in vms),
        journal_gb=journal_total,
        journal_limit_gb=limit_total,
        journal_with_test_gb=limit_total * 2,
        wan_percentile_mbps=wan_raw,
        wan_mbps=max(wan, MIN_WAN_MBPS),
        notes=notes,
    )


# -- the full plan: journals, WAN, target site N+1, drift ------------------------------------


@dataclass(frozen=True)
class VmSeries:
    """One VM's write-rate samples (KB/s) with what the target site needs to run it.

    ``timestamps`` are the sample times (seconds since 1970, UTC), one per rate, or None for
    untimed rates (one rate per VM from a CSV)."""

    name: str
    write_kbps: tuple[float, ...]
    timestamps: tuple[int, ...] | None = None
    interval_seconds: int | None = None
    vpg: str = "default"
    vcpus: int = 0
    memory_gb: float = 0.0
    storage_gb: float = 0.0
    #: virtual disks (vCenter's VirtualDisk devices, the ZVM's numberOfVolumes); None: unknown
    disks: int | None = None


@dataclass(frozen=True)
class Host:
    name: str
    cpu_cores: int
    memory_bytes: int
    usable: bool = True


@dataclass(frozen=True)
class Capacity:
    """The recovery cluster as vCenter reports it: its hosts, and the free space of the
    datastores that take the recovered VMs, journals and scratch volumes."""

    cluster: str
    hosts: tuple[Host, ...]
    datastore_free_bytes: int


@dataclass(frozen=True)
class Parameters:
    history_hours: float = DEFAULT_HISTORY_HOURS
    journal_compression: int = 0
    wan_compression: int = 0
    journal_hard_limit_gb: float = 150.0
    #: a service profile's maxJournalSizeInPercent: each VM's hard limit is then that share of
    #: its volumes, rounded up to Zerto's steps (formula 5), instead of journal_hard_limit_gb
    max_journal_percent: float | None = None
    vcpus_per_core: float = 4.0
    ram_ratio: float = 1.0
    vra_memory_gb: float = 3.0
    vra_vcpus: int = 1
    hosts_down: int = 1
    link_mbps: float | None = None
    link_efficiency: float = 0.8
    drift_tolerance: float = 0.2

    def check(self) -> None:
        if not 1 <= self.history_hours <= 720:
            raise SizingError(f"history_hours must be 1 to 720, not {self.history_hours}")
        for name, value in (
            ("journal_compression", self.journal_compression),
            ("wan_compression", self.wan_compression),
        ):
            if value not in JOURNAL_COMPRESSION:
                raise SizingError(f"{name} must be one of 0, 50, 70 (%), not {value}")
        if self.journal_hard_limit_gb < MIN_JOURNAL_GB:
            raise SizingError(
                f"journal_hard_limit_gb must be at least {MIN_JOURNAL_GB:g}, "
                f"not {self.journal_hard_limit_gb}"
            )
        if self.max_journal_percent is not None and not 0 < self.max_journal_percent <= 100:
            raise SizingError(
                f"max_journal_percent must be above 0 and at most 100, not "
                f"{self.max_journal_percent}"
            )
        if self.vcpus_per_core <= 0 or self.ram_ratio <= 0:
            raise SizingError("vcpus_per_core and ram_ratio must be above 0")
        if not 0 < self.link_efficiency <= 1:
            raise SizingError(f"link_efficiency must be in (0, 1], not {self.link_efficiency}")
        if self.link_mbps is not None and self.link_mbps <= 0:
            raise SizingError(f"link_mbps must be above 0, not {self.link_mbps}")
        if self.hosts_down < 0:
            raise SizingError(f"hosts_down must be 0 or more, not {self.hosts_down}")


def _r(value: float) -> float:
    """A figure as JSON carries it: not rounded, so that it can be recomputed exactly."""
    return float(value)


def rate_figures(rates: Sequence[float]) -> dict[str, float]:
    """Mean, P95, P98 and peak of rates (same unit)."""
    return {
        "mean": sum(rates) / len(rates),
        "p95": percentile(rates, 95),
        "p98": percentile(rates, 98),
        "peak": max(rates),
    }


#: The journal limits a service profile's percentage is rounded up to, GB (assurestor KB
#: "Max journal size for VMs utilizing Zerto service profiles").
SERVICE_PROFILE_STEPS_GB = (
    10,
    15,
    20,
    25,
    30,
    35,
    40,
    45,
    50,
    75,
    100,
    150,
    200,
    250,
    300,
    400,
    500,
    750,
    1000,
)


def service_profile_limit_gb(percent: float, volumes_gb: float) -> float:
    """``percent`` of the VM's volumes rounded up to the first step; 6 % of 100 GB is 10 GB.
    Above the last step: the share itself."""
    share = percent / 100 * volumes_gb
    return float(next((step for step in SERVICE_PROFILE_STEPS_GB if step >= share), share))


def journal_gb(mean_kbps: float, history_hours: float, compression: int) -> float:
    """Data written during the history at the mean rate, compressed: GB (SI). Formula 1 of
    the planner (sum of rate * interval over the window) equals mean * window when the samples
    cover the window at one interval; a window shorter than the history is extrapolated."""
    return mean_kbps * history_hours * 3600 * JOURNAL_COMPRESSION[compression] / KB_PER_GB


def total_series(vms: Sequence[VmSeries]) -> tuple[list[int], list[float]] | None:
    """The sum of every VM's rate at each sample time (times where every VM has a sample),
    or None when a VM's rates are untimed."""
    if any(vm.timestamps is None for vm in vms):
        return None
    sums: dict[int, float] = {}
    counts: dict[int, int] = {}
    for vm in sorted(vms, key=lambda v: (v.vpg, v.name)):  # one order: the same sums
        for t, rate in zip(vm.timestamps or (), vm.write_kbps, strict=True):
            sums[t] = sums.get(t, 0.0) + rate
            counts[t] = counts.get(t, 0) + 1
    times = sorted(t for t in sums if counts[t] == len(vms))
    return times, [sums[t] for t in times]


#: Zerto's most volumes attached to one VRA (OPERATE 3.3, formula 8; ZROC's "VRA maximums").
VRA_MAX_VOLUMES = 1500
#: Volumes a protected VM puts on its recovery host's VRA besides one per virtual disk: its
#: journal (one volume; a journal that grows past one volume's size takes more, which is not
#: counted: the vendor's rule for it was not found).
JOURNAL_VOLUMES_PER_VM = 1


def vra_volumes(
    vms: Sequence[VmSeries], hosts: Sequence[str], limit: int = VRA_MAX_VOLUMES
) -> dict[str, Any]:
    """The volumes each recovery host's VRA would hold: each VM's disks plus its journal, the
    VMs placed whole, most volumes first, each on the host holding the fewest so far (ties:
    the host listed first) - the even spread a recovery cluster gets, as the ZVM balances it.
    The hosts over ``limit`` and by how much; VMs whose disks are unknown listed apart, not
    counted. Pure."""
    known = [vm for vm in vms if vm.disks is not None]
    unknown = sorted(vm.name for vm in vms if vm.disks is None)
    counts = [0] * len(hosts)
    if hosts:
        for vm in sorted(known, key=lambda v: (-(v.disks or 0), v.name)):
            index = min(range(len(hosts)), key=lambda i: (counts[i], i))
            counts[index] += (vm.disks or 0) + JOURNAL_VOLUMES_PER_VM
    total = sum((vm.disks or 0) + JOURNAL_VOLUMES_PER_VM for vm in known)
    per_host = [{"host": h, "volumes": n} for h, n in zip(hosts, counts, strict=True)]
    over = [
        {"host": h, "volumes": n, "over_by": n - limit}
        for h, n in zip(hosts, counts, strict=True)
        if n > limit
    ]
    return {
        "limit_per_vra": limit,
        "per_vm": f"one per virtual disk + {JOURNAL_VOLUMES_PER_VM} journal",
        "total": total,
        "per_host": per_host,
        "over_limit": over,
        "within_limit": not over and (bool(hosts) or total == 0),
        "vms_unknown": unknown,
    }


def target_fit(
    vms: Sequence[VmSeries], storage_need_gb: float, capacity: Capacity, params: Parameters
) -> dict[str, Any]:
    """Does a failover of every VM fit the recovery cluster with ``hosts_down`` hosts down?
    The hosts that go down are the largest (the worst case); the VRAs of the hosts that stay
    take their memory and vCPUs; datastores are shared, so their free space stays."""
    usable = sorted(
        (h for h in capacity.hosts if h.usable),
        key=lambda h: (h.memory_bytes, h.cpu_cores),
        reverse=True,
    )
    remaining = usable[params.hosts_down :]
    vcpu_capacity = sum(h.cpu_cores for h in remaining) * params.vcpus_per_core
    memory_capacity = sum(h.memory_bytes for h in remaining) / 1e9 * params.ram_ratio
    storage_capacity = capacity.datastore_free_bytes / 1e9
    need = {
        "vcpus": sum(vm.vcpus for vm in vms) + params.vra_vcpus * len(remaining),
        "memory_gb": sum(vm.memory_gb for vm in vms) + params.vra_memory_gb * len(remaining),
        "storage_gb": storage_need_gb,
    }
    have = {"vcpus": vcpu_capacity, "memory_gb": memory_capacity, "storage_gb": storage_capacity}
    short = {k: _r(need[k] - have[k]) for k in need if need[k] > have[k]}
    return {
        "cluster": capacity.cluster,
        "hosts": len(capacity.hosts),
        "hosts_usable": len(usable),
        "hosts_down": params.hosts_down,
        "hosts_counted": [h.name for h in remaining],
        "need": {k: _r(v) for k, v in need.items()},
        "capacity": {k: _r(v) for k, v in have.items()},
        "fits": not short,
        "short": short,
        "vra": {"per_host_memory_gb": params.vra_memory_gb, "per_host_vcpus": params.vra_vcpus},
        "vra_volumes": vra_volumes(vms, [h.name for h in remaining]),
    }


def plan(
    vms: Sequence[VmSeries],
    params: Parameters | None = None,
    capacity: Capacity | None = None,
    measured: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The sizing report (JSON-ready) from the samples, the parameters and, when known, the
    recovery cluster's capacity and what a running customer's ZVM measured."""
    params = params or Parameters()
    params.check()
    vms = sorted(vms, key=lambda v: (v.vpg, v.name))  # one order: the same float sums
    if not vms:
        raise SizingError("no VMs to size")
    empty = [vm.name for vm in vms if not vm.write_kbps]
    if empty:
        raise SizingError(f"no write-rate samples for {', '.join(empty)}")
    notes: list[str] = []
    rows: list[dict[str, Any]] = []
    for vm in sorted(vms, key=lambda v: (v.vpg, v.name)):
        figures = rate_figures(vm.write_kbps)
        journal = journal_gb(figures["mean"], params.history_hours, params.journal_compression)
        limit = max(journal, MIN_JOURNAL_GB)
        hard = (
            params.journal_hard_limit_gb
            if params.max_journal_percent is None
            else service_profile_limit_gb(params.max_journal_percent, vm.storage_gb)
        )
        over = journal > hard
        per_hour = journal / params.history_hours
        rows.append(
            {
                "name": vm.name,
                "vpg": vm.vpg,
                "samples": len(vm.write_kbps),
                "interval_seconds": vm.interval_seconds,
                "mean_write_kbps": _r(figures["mean"]),
                "p95_write_kbps": _r(figures["p95"]),
                "p98_write_kbps": _r(figures["p98"]),
                "peak_write_kbps": _r(figures["peak"]),
                "journal_gb": _r(journal),
                "journal_limit_gb": _r(min(limit, hard)),
                "hard_limit_gb": _r(hard),
                "exceeds_hard_limit": over,
                "history_hours_possible": _r(
                    min(params.history_hours, hard / per_hour)
                    if per_hour > 0
                    else params.history_hours
                ),
                # The hard limit applies to the scratch volume independently: a failover
                # test may take up to the journal's limit again.
                "scratch_gb": _r(min(limit, hard)),
                "vcpus": vm.vcpus,
                "memory_gb": _r(vm.memory_gb),
                "storage_gb": _r(vm.storage_gb),
            }
        )
        if over:
            notes.append(
                f"{vm.name}: the journal would need {journal:.1f} GB, above the hard limit of "
                f"{hard:g} GB: history would shrink to "
                f"{rows[-1]['history_hours_possible']:.1f} h of {params.history_hours:g} h."
            )
    vpgs: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = vpgs.setdefault(
            row["vpg"],
            {
                "name": row["vpg"],
                "vms": 0,
                "journal_gb": 0.0,
                "journal_limit_gb": 0.0,
                "scratch_gb": 0.0,
            },
        )
        entry["vms"] += 1
        for key in ("journal_gb", "journal_limit_gb", "scratch_gb"):
            entry[key] = _r(entry[key] + row[key])
    journal_total = sum(r["journal_gb"] for r in rows)
    limit_total = sum(r["journal_limit_gb"] for r in rows)
    scratch_total = sum(r["scratch_gb"] for r in rows)
    storage_total = sum(vm.storage_gb for vm in vms)

    timed = total_series(vms)
    if timed is not None and timed[1]:
        times, totals = timed
        wan_rates = [kbps_to_mbps(v) for v in totals]
        method = f"percentiles of the sum of every VM's rate at each of {len(times)} sample times"
    else:
        times, wan_rates = [], []
        method = "sum of each VM's percentile (untimed rates: an upper bound)"
    if wan_rates:
        wan = {k: _r(v) for k, v in rate_figures(wan_rates).items()}
    else:
        wan = {
            k: _r(sum(kbps_to_mbps(r[f"{k}_write_kbps"]) for r in rows))
            for k in ("mean", "p95", "p98", "peak")
        }
    scenarios = {str(pct): _r(wan["p98"] * f) for pct, f in WAN_COMPRESSION.items()}
    sized = wan["p98"] * WAN_COMPRESSION[params.wan_compression]
    if sized < MIN_WAN_MBPS:
        notes.append(f"WAN raised to Zerto's {MIN_WAN_MBPS:g} Mb/s minimum (computed {sized:.2f}).")
    wan_mbps = max(sized, MIN_WAN_MBPS)
    link = params.link_mbps or wan_mbps
    sync_hours = storage_total * 8000 / (link * params.link_efficiency) / 3600

    doc: dict[str, Any] = {
        "units": {
            "write_rate": "KB/s (1 KB = 1000 bytes)",
            "storage": "GB (10^9 bytes)",
            "link": "Mb/s (10^6 bit/s)",
        },
        "percentile_method": "linear interpolation between closest ranks (Hyndman-Fan type 7)",
        "parameters": {k: v for k, v in params.__dict__.items()},
        "vms": rows,
        "vpgs": sorted(vpgs.values(), key=lambda v: v["name"]),
        "journal_total_gb": _r(journal_total),
        "journal_limit_total_gb": _r(limit_total),
        "scratch_total_gb": _r(scratch_total),
        "journal_with_test_gb": _r(limit_total + scratch_total),
        "wan": {
            "method": method,
            **wan,
            "compression_scenarios_mbps": scenarios,
            "minimum_mbps": MIN_WAN_MBPS,
        },
        "wan_mbps": _r(wan_mbps),
        "initial_sync": {
            "storage_gb": _r(storage_total),
            "link_mbps": _r(link),
            "efficiency": params.link_efficiency,
            "hours": _r(sync_hours),
        },
        "total_series": {"timestamps": times, "write_mbps": [_r(v) for v in wan_rates]},
        "notes": notes,
    }
    if capacity is not None:
        storage_need = storage_total + limit_total + scratch_total
        doc["target"] = target_fit(vms, storage_need, capacity, params)
        if not doc["target"]["fits"]:
            for key, value in doc["target"]["short"].items():
                notes.append(
                    f"A failover to {capacity.cluster} with {params.hosts_down} host(s) down "
                    f"does not fit: {key} short by {value:g}."
                )
        volumes = doc["target"]["vra_volumes"]
        for host in volumes["over_limit"]:
            notes.append(
                f"{host['host']}: its VRA would hold {host['volumes']} volumes, "
                f"{host['over_by']} over Zerto's {volumes['limit_per_vra']} per VRA."
            )
        if volumes["total"] and not volumes["per_host"]:
            notes.append(
                f"No recovery host left with {params.hosts_down} host(s) down for the "
                f"{volumes['total']} volumes."
            )
        if volumes["vms_unknown"]:
            notes.append(
                "VRA volumes not counted for VMs whose disks are unknown: "
                + ", ".join(volumes["vms_unknown"])
                + "."
            )
    else:
        doc["target"] = None
    if measured is not None:
        doc["measured"] = drift(doc, measured, params.drift_tolerance)
        notes.extend(doc["measured"]["warnings"])
    return doc


def drift(doc: Mapping[str, Any], measured: Mapping[str, Any], tolerance: float) -> dict[str, Any]:
    """The plan beside what the ZVM measured: ``measured`` holds ``journal_used_gb`` per VM,
    ``rpo_seconds`` and ``configured_rpo_seconds`` per VPG and ``wan_mbps``. A warning for each
    figure above the plan by more than ``tolerance`` (or an RPO above its setting)."""
    warnings = []
    vms = []
    planned = {r["name"]: r for r in doc["vms"]}
    for name, used in sorted((measured.get("journal_used_gb") or {}).items()):
        plan_gb = planned.get(name, {}).get("journal_limit_gb")
        row = {"name": name, "journal_used_gb": _r(used), "journal_plan_gb": plan_gb}
        vms.append(row)
        if plan_gb is not None and used > plan_gb * (1 + tolerance):
            warnings.append(
                f"drift: {name} uses {used:.2f} GB of journal, the plan said {plan_gb:.2f} GB."
            )
    rpos = []
    for vpg, rpo in sorted((measured.get("rpo_seconds") or {}).items()):
        configured = (measured.get("configured_rpo_seconds") or {}).get(vpg)
        rpos.append({"vpg": vpg, "rpo_seconds": rpo, "configured_rpo_seconds": configured})
        if configured is not None and rpo > configured:
            warnings.append(f"drift: VPG {vpg} has an RPO of {rpo} s, above {configured} s.")
    wan = measured.get("wan_mbps")
    if wan is not None and wan > doc["wan_mbps"] * (1 + tolerance):
        warnings.append(
            f"drift: the VMs send {wan:.2f} Mb/s over the WAN, the plan said "
            f"{doc['wan_mbps']:.2f} Mb/s."
        )
    return {
        "tolerance": tolerance,
        "vms": vms,
        "rpo": rpos,
        "wan_mbps": None if wan is None else _r(wan),
        "wan_plan_mbps": doc["wan_mbps"],
        "warnings": warnings,
    }


def counter_rates(
    samples: Sequence[tuple[float, float]],
) -> list[tuple[float, float]]:
    """Rates from a cumulative counter read at times: ``[(t, counter), ...]`` sorted by time →
    ``[(t2, (c2 - c1) / (t2 - t1)), ...]``. A counter that went down was reset (the ZVM
    restarted): that interval is dropped, and the next starts from the new value."""
    ordered = sorted(samples)
    rates = []
    for (t1, c1), (t2, c2) in itertools.pairwise(ordered):
        if t2 <= t1 or c2 < c1:
            continue
        rate = (c2 - c1) / (t2 - t1)
        if math.isfinite(rate):  # (an interval too short to divide by is no measurement)
            rates.append((t2, rate))
    return rates
