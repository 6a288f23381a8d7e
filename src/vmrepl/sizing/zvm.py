"""The ZVM source, for a running customer: the protected VMs' change rate from the cumulative
``/v1/statistics/vms`` counters (OPERATE.md formula 4: deltas over the sample times, a counter
that went down is a reset and that interval is dropped), what they need at the recovery site and
the journal they use from ``/v1/reports/resources`` (paged), and the RPOs from ``/v1/vms`` and
``/v1/vpgs`` - the measurement the plan is set beside (``measured``).

Units: the ZVM counts in "MB" (``WriteCounterInMBs``); taken as 10^6 bytes (its documentation
does not say), so MB/s x 1000 = KB/s as vCenter's rates are taken. ``memoryInMB`` is MiB as
vSphere's, ``...InGB`` are taken as GB, ``...InBps`` as bytes per second.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.vmrepl.core.plugins.module_utils.clients.zvm import ZvmClient
from vmrepl.sizing.arithmetic import SizingError, VmSeries, counter_rates


def _seconds(text: str) -> float:
    moment = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()


PAGE_SIZE = 1000


@dataclass
class ZvmReading:
    vms: list[VmSeries]
    measured: dict[str, Any]
    kind: str = "zvm"
    reads: int = 0
    notes: list[str] = field(default_factory=list)


def resources(client: ZvmClient, vpg: str | None = None, page_size: int = PAGE_SIZE) -> list[Any]:
    """Every sample of the resources report (of one VPG), page after page."""
    rows: list[Any] = []
    page = 1
    while True:
        params: dict[str, Any] = {"pageNumber": page, "pageSize": page_size}
        if vpg:
            params["vpgName"] = vpg
        found = client.get("/v1/reports/resources", params) or []
        rows += found
        if len(found) < page_size:
            return rows
        page += 1


def read(
    client: ZvmClient,
    vpgs: Sequence[str],
    reads: int = 4,
    spacing_seconds: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
) -> ZvmReading:
    """``reads`` reads of the counters ``spacing_seconds`` apart (``reads - 1`` rates per VM),
    and the resources report's latest sample of each VM of ``vpgs`` (every VPG when empty)."""
    if reads < 2:
        raise SizingError(f"at least 2 reads of the counters give a rate, not {reads}")
    vpg_list = client._list(client.get("/v1/vpgs"))
    by_id = {v["VpgIdentifier"]: v for v in vpg_list}
    wanted = {v["VpgName"] for v in vpg_list if not vpgs or v["VpgName"] in vpgs}
    missing = set(vpgs) - wanted
    if missing:
        known = ", ".join(sorted(v["VpgName"] for v in vpg_list)) or "none"
        raise SizingError(f"VPG(s) {', '.join(sorted(missing))} not on this ZVM (it has: {known})")
    # (VPG, VM) -> [(read index, sample time, row)]
    counters: dict[tuple[str, str], list[tuple[int, float, dict[str, Any]]]] = {}
    read_times: list[int] = []
    for index in range(reads):
        if index:
            sleep(spacing_seconds)
        found = client.statistics_vms()
        read_times.append(int(time.time()))
        for row in found:
            vpg = str(by_id.get(row.get("VpgIdentifier"), {}).get("VpgName"))
            if vpg in wanted:
                key = (vpg, row["VmIdentifier"])
                counters.setdefault(key, []).append((index, _seconds(row["SampleTime"]), row))
    latest: dict[str, dict[str, Any]] = {}
    for vpg in sorted(wanted):
        for sample in resources(client, vpg):
            latest[sample["protectedSite"]["vmInfo"]["vmIdentifier"]] = sample  # the last stays
    protected = {(v["VpgName"], v["VmIdentifier"]): v for v in client._list(client.get("/v1/vms"))}
    vms, notes = [], []
    journal_used: dict[str, float] = {}
    wan_mbps = 0.0
    for (vpg, vm_id), reads_of_vm in sorted(counters.items()):
        name = protected.get((vpg, vm_id), {}).get("VmName") or vm_id
        when = {t: i for i, t, _ in reads_of_vm}  # sample time -> the read it came with
        writes = counter_rates([(t, float(r["WriteCounterInMBs"])) for _, t, r in reads_of_vm])
        traffic = counter_rates(
            [(t, float(r["NetworkTrafficCounterInMBs"])) for _, t, r in reads_of_vm]
        )
        if not writes:
            notes.append(f"{name}: its counters did not move between reads (no rate)")
            continue
        if traffic:
            wan_mbps += sum(rate for _, rate in traffic) / len(traffic) * 8  # MB/s -> Mb/s
        sample = latest.get(vm_id)
        info = sample["protectedSite"]["vmInfo"] if sample else {}
        storage = sample["protectedSite"]["storage"] if sample else {}
        if sample:
            journal_used[name] = float(sample["recoverySite"]["storage"]["journalUsedStorageInGB"])
        else:
            notes.append(f"{name}: no sample in the resources report yet")
        vms.append(
            VmSeries(
                name=name,
                vpg=vpg,
                write_kbps=tuple(rate * 1000 for _, rate in writes),  # MB/s -> KB/s
                # the time of the read: the same for every VM, so that rates add up
                timestamps=tuple(read_times[when[t]] for t, _ in writes),
                interval_seconds=None,
                vcpus=int((info.get("cpu") or {}).get("numberOfvCpus") or 0),
                memory_gb=int((info.get("memory") or {}).get("memoryInMB") or 0) * 2**20 / 1e9,
                storage_gb=float(storage.get("volumesProvisionedStorageInGB") or 0),
                disks=(
                    int(storage["numberOfVolumes"])
                    if isinstance(storage.get("numberOfVolumes"), int)
                    else None
                ),
            )
        )
    rpo = {}
    configured = {}
    for vpg in sorted(wanted):
        record = next(v for v in vpg_list if v["VpgName"] == vpg)
        rpo[vpg] = int(record.get("ActualRPO") or 0)
        configured[vpg] = int(record.get("ConfiguredRpoSeconds") or 0) or None
    measured = {
        "journal_used_gb": journal_used,
        "rpo_seconds": rpo,
        "configured_rpo_seconds": configured,
        "wan_mbps": wan_mbps if vms else None,
    }
    return ZvmReading(vms=vms, measured=measured, reads=reads, notes=notes)
