"""The vCenter source: the customer's VMs (chosen by the deployment's rules, module_utils
``discovery``), their ``disk.write.average`` history read with a few batched ``QueryPerf`` calls,
and the recovery cluster's capacity.

Calls, whatever the number of VMs: the VM inventory (discovery's reads), one PropertyCollector
read of the performance manager's counters and historical intervals, one read of the chosen VMs'
vCPUs, memory and storage, and ``ceil(VMs / batch)`` ``QueryPerf`` calls - ``batch`` is 64, the
default of vCenter's ``config.vpxd.stats.maxQueryMetrics`` (the most metrics one historical query
may ask for).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.vmrepl.core.plugins.module_utils.clients.vsphere import (
    VSphereClient,
    vim,
)
from ansible_collections.vmrepl.core.plugins.module_utils.discovery import (
    choose_hosts,
    choose_vms,
    discover,
    discover_vms,
    tagged_objects,
)
from vmrepl.sizing.arithmetic import Capacity, Host, SizingError, VmSeries

COUNTER = "disk.write.average"
#: vCenter's default config.vpxd.stats.maxQueryMetrics.
QUERY_BATCH = 64


@dataclass(frozen=True)
class Selection:
    """Which VMs, as the deployment chooses them: by name, folder, custom attribute, vSphere
    tag (any of them), and/or those running on the hosts of ``clusters``. ``vpg`` names the VPG
    they go into."""

    vpg: str = "default"
    names: tuple[str, ...] = ()
    folder: str | None = None
    custom_attribute: Mapping[str, str] | None = None
    tag: Mapping[str, str] | None = None
    clusters: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any], where: str = "vpg") -> Selection:
        """From a VPG definition of the vpg role (``name``, ``vms``, ``vm_folder``,
        ``vm_custom_attribute``, ``vm_tag``; its other keys are not used here), or the default
        VPG's variables, plus ``clusters``."""
        if not isinstance(doc, Mapping) or not doc.get("name"):
            raise SizingError(f"{where}: a VPG definition needs a name (got {doc!r})"[:300])
        for key in ("vm_custom_attribute", "vm_tag"):
            given = doc.get(key)
            wanted = ("name", "value") if key == "vm_custom_attribute" else ("category", "name")
            if given and (not isinstance(given, Mapping) or any(k not in given for k in wanted)):
                raise SizingError(f"{where} ({doc['name']}): {key} needs {' and '.join(wanted)}")
        for key in ("vms", "clusters"):
            if not isinstance(doc.get(key) or [], list | tuple):
                raise SizingError(f"{where} ({doc['name']}): {key} must be a list of names")
        return cls(
            vpg=str(doc.get("name") or "default"),
            names=tuple(doc.get("vms") or ()),
            folder=doc.get("vm_folder") or None,
            custom_attribute=doc.get("vm_custom_attribute") or None,
            tag=doc.get("vm_tag") or None,
            clusters=tuple(doc.get("clusters") or ()),
        )

    def empty(self) -> bool:
        return not (self.names or self.folder or self.custom_attribute or self.tag or self.clusters)


@dataclass
class Reading:
    """What the vCenter source read: the series, the window and how many calls it took."""

    vms: list[VmSeries]
    interval: dict[str, Any]
    start: str
    end: str
    query_perf_calls: int
    calls: int
    notes: list[str] = field(default_factory=list)
    kind: str = "vcenter"


def choose(client: VSphereClient, selections: Sequence[Selection]) -> list[tuple[str, Any]]:
    """(VPG name, VM fact dict) for each chosen VM; a VM is in the first VPG that chose it."""
    everything = discover_vms(client)
    hosts_by_cluster: list[dict[str, Any]] | None = None
    chosen: dict[str, tuple[str, dict[str, Any]]] = {}
    for selection in selections:
        if selection.empty():
            raise SizingError(
                f"VPG {selection.vpg}: no VMs chosen - give vms, vm_folder, "
                "vm_custom_attribute, vm_tag or clusters"
            )
        picked: list[dict[str, Any]] = []
        if selection.names or selection.folder or selection.custom_attribute or selection.tag:
            picked = choose_vms(
                everything,
                list(selection.names),
                selection.folder,
                dict(selection.custom_attribute) if selection.custom_attribute else None,
                tagged_objects(
                    client, dict(selection.tag) if selection.tag else None, "VirtualMachine"
                ),
            )
        if selection.clusters:
            if hosts_by_cluster is None:
                hosts_by_cluster = discover(client).hosts
            names, _ = choose_hosts(hosts_by_cluster, clusters=list(selection.clusters))
            picked += [vm for vm in everything if vm["host"] in names]
        for vm in picked:
            chosen.setdefault(vm["moid"], (selection.vpg, vm))
    return sorted(chosen.values(), key=lambda pair: pair[1]["name"])


def counters_and_intervals(client: VSphereClient) -> tuple[dict[str, Any], list[Any]]:
    """``{"group.name.rollup": PerfCounterInfo}`` and the historical intervals: one read."""
    manager = client.content.perfManager
    (found,) = client.retrieve_objects([manager], ["perfCounter", "historicalInterval"])
    counters = {
        f"{c.groupInfo.key}.{c.nameInfo.key}.{c.rollupType}": c for c in found["perfCounter"] or []
    }
    return counters, list(found["historicalInterval"] or [])


def pick_interval(intervals: Sequence[Any], window_hours: float, level: int) -> Any:
    """The finest enabled historical interval that keeps ``window_hours`` and collects at
    ``level`` or more; a clear refusal otherwise."""
    fitting = [
        i for i in intervals if i.enabled and i.length >= window_hours * 3600 and i.level >= level
    ]
    if not fitting:
        kept = ", ".join(
            f"{i.name} ({i.samplingPeriod} s kept {i.length / 3600:g} h, level {i.level})"
            for i in intervals
        )
        raise SizingError(
            f"vCenter keeps no {COUNTER} history of {window_hours:g} h: the counter needs "
            f"statistics level {level} on an interval that long (has: {kept or 'none'}). Raise "
            "the statistics level of the past-day/past-week intervals to 2 in vCenter "
            "(Configure > Settings > General > Statistics), wait a day, or give a shorter "
            "sizing_window_hours (at least 24)."
        )
    return min(fitting, key=lambda i: i.samplingPeriod)


def read(
    client: VSphereClient,
    selections: Sequence[Selection],
    window_hours: float = 24.0,
    end: dt.datetime | None = None,
    batch: int = QUERY_BATCH,
) -> Reading:
    """The chosen VMs' write rates over the window ending at ``end`` (default: now, rounded
    down to the interval), with their vCPUs, memory and storage."""
    if window_hours < 24:
        raise SizingError(f"the window must be at least 24 hours, not {window_hours:g}")
    chosen = choose(client, selections)
    if not chosen:
        raise SizingError("no VM matches the selection; nothing to size")
    counters, intervals = counters_and_intervals(client)
    counter = counters.get(COUNTER)
    if counter is None:
        raise SizingError(f"vCenter has no {COUNTER} counter")
    interval = pick_interval(intervals, window_hours, int(counter.level or 1))
    period = int(interval.samplingPeriod)
    now = end or dt.datetime.now(dt.UTC)
    stop = dt.datetime.fromtimestamp(int(now.timestamp()) // period * period, dt.UTC)
    start = stop - dt.timedelta(hours=window_hours)
    refs = [client.get(vim.VirtualMachine, vm["moid"]) for _, vm in chosen]
    hardware = {
        o.moid: o
        for o in client.retrieve_objects(
            refs, ["config.hardware.numCPU", "config.hardware.memoryMB", "config.hardware.device"]
        )
    }
    manager = client.content.perfManager
    samples: dict[str, list[tuple[int, float]]] = {}
    perf_calls = 0
    for first in range(0, len(refs), batch):
        specs = [
            vim.PerformanceManager.QuerySpec(
                entity=ref,
                metricId=[vim.PerformanceManager.MetricId(counterId=counter.key, instance="")],
                intervalId=period,
                startTime=start,
                endTime=stop,
            )
            for ref in refs[first : first + batch]
        ]
        result = manager.QueryPerf(querySpec=specs)
        client.calls += 1
        perf_calls += 1
        for entity in result or []:
            times = [int(info.timestamp.timestamp()) for info in entity.sampleInfo or []]
            for series in entity.value or []:
                if series.id.counterId == counter.key and not series.id.instance:
                    samples[entity.entity._moId] = list(
                        zip(times, (float(v) for v in series.value), strict=True)
                    )
    vms, notes = [], []
    for (vpg, vm), ref in zip(chosen, refs, strict=True):
        points = [(t, v) for t, v in samples.get(ref._moId, []) if v >= 0]  # -1: no data
        if not points:
            notes.append(f"{vm['name']}: no {COUNTER} samples in the window (powered off?)")
            continue
        facts = hardware.get(ref._moId)
        # Provisioned: what the recovered VM takes on a thick datastore, and what the
        # initial sync copies at most.
        disks = [
            d
            for d in (facts["config.hardware.device"] or [] if facts else [])
            if isinstance(d, vim.vm.device.VirtualDisk)
        ]
        provisioned = sum(
            int(d.capacityInBytes or 0) or int(d.capacityInKB or 0) * 1024 for d in disks
        )
        vms.append(
            VmSeries(
                name=vm["name"],
                vpg=vpg,
                write_kbps=tuple(v for _, v in points),
                timestamps=tuple(t for t, _ in points),
                interval_seconds=period,
                vcpus=int(facts["config.hardware.numCPU"] or 0) if facts else 0,
                # vSphere's memoryMB is MiB
                memory_gb=int(facts["config.hardware.memoryMB"] or 0) * 2**20 / 1e9
                if facts
                else 0.0,
                storage_gb=provisioned / 1e9,
                disks=len(disks) if facts else None,
            )
        )
    return Reading(
        vms=vms,
        interval={
            "name": interval.name,
            "sampling_period_seconds": period,
            "length_seconds": int(interval.length),
            "level": int(interval.level),
            "counter": COUNTER,
            "counter_key": int(counter.key),
            "counter_level": int(counter.level or 1),
        },
        start=start.isoformat(),
        end=stop.isoformat(),
        query_perf_calls=perf_calls,
        calls=client.calls,
        notes=notes,
    )


def expected_query_calls(vms: int, batch: int = QUERY_BATCH) -> int:
    return math.ceil(vms / batch)


def capacity(client: VSphereClient, cluster: str, datastores: Sequence[str]) -> Capacity:
    """The recovery cluster's hosts (cores, memory, usable: connected and not in maintenance)
    and the free space of ``datastores`` (all the cluster's datastores when empty): one read."""
    found = client.retrieve_many(
        [
            (vim.ClusterComputeResource, ["name", "host", "datastore"]),
            (
                vim.HostSystem,
                [
                    "name",
                    "summary.hardware.numCpuCores",
                    "summary.hardware.memorySize",
                    "runtime.connectionState",
                    "runtime.inMaintenanceMode",
                ],
            ),
            (vim.Datastore, ["name", "summary.freeSpace"]),
        ]
    )
    match = [c for c in found[vim.ClusterComputeResource] if c["name"] == cluster]
    if not match:
        known = ", ".join(sorted(c["name"] for c in found[vim.ClusterComputeResource]))
        raise SizingError(f"recovery cluster {cluster!r} not found (the vCenter has: {known})")
    members = {ref._moId for ref in match[0]["host"] or []}
    hosts = tuple(
        Host(
            name=h["name"],
            cpu_cores=int(h["summary.hardware.numCpuCores"] or 0),
            memory_bytes=int(h["summary.hardware.memorySize"] or 0),
            usable=str(h["runtime.connectionState"]) == "connected"
            and not h["runtime.inMaintenanceMode"],
        )
        for h in sorted(found[vim.HostSystem], key=lambda h: h["name"])
        if h.moid in members
    )
    cluster_ds = {ref._moId for ref in match[0]["datastore"] or []}
    chosen = [
        d
        for d in found[vim.Datastore]
        if (d["name"] in datastores if datastores else d.moid in cluster_ds)
    ]
    missing = set(datastores) - {d["name"] for d in chosen}
    if missing:
        raise SizingError(f"recovery datastore(s) not found: {', '.join(sorted(missing))}")
    return Capacity(
        cluster=cluster,
        hosts=hosts,
        datastore_free_bytes=sum(int(d["summary.freeSpace"] or 0) for d in chosen),
    )
