"""Sizing of journals and of the WAN link from the customer's VM write rates (pure Python).

The rules (Zerto's planner, see zerto-api/README "Sizing facts"):

- journal ≈ average write rate * journal history * compression factor (*1 without compression,
  *0.5 at 50 %, *0.3 at 70 %); a failover test needs scratch space up to the journal again;
  a VM's journal limit is at least 8 GB;
- WAN Mb/s = write KB/s * 8 / 1024 per VM, summed; sized on the 98th percentile; halved with
  WAN compression on compressible data; at least 5 Mb/s dedicated.

Write rates are vCenter's ``disk.write.average`` (KB/s), collected at statistics level 2 or more
over a day or more. Input: CSV or JSON rows of ``vm`` and ``write_kbps``, one row per VM or one
per sample (with a ``timestamp``: the WAN percentile is then taken on the sum at each moment)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Journal size factor by compression percentage.
JOURNAL_COMPRESSION = {0: 1.0, 50: 0.5, 70: 0.3}
MIN_JOURNAL_GB = 8.0
MIN_WAN_MBPS = 5.0
DEFAULT_HISTORY_HOURS = 7 * 24
KB_PER_GB = 1024 * 1024

_VM_KEYS = ("vm", "name", "vm_name", "vmname")
_RATE_KEYS = ("write_kbps", "write_kBps", "write_kb_s", "disk.write.average", "write")
_TIME_KEYS = ("timestamp", "time", "sample")


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
    """Write KB/s → link Mb/s (* 8 bits / 1024)."""
    return kbps * 8 / 1024


def _pick(row: Mapping[str, Any], keys: Iterable[str]) -> Any:
    lowered = {str(k).strip().lower(): v for k, v in row.items()}
    for key in keys:
        if key.lower() in lowered and lowered[key.lower()] not in (None, ""):
            return lowered[key.lower()]
    return None


#: The highest write rate accepted for one VM: 10 GiB/s (in KB/s), far above what one VM
#: writes; a larger figure (1e300) is a unit or export error, not a workload.
MAX_WRITE_KBPS = 10 * 1024 * 1024


def _column(row: Mapping[str, Any], keys: Iterable[str]) -> str:
    lowered = {str(k).strip().lower(): str(k) for k in row}
    return next((lowered[k.lower()] for k in keys if k.lower() in lowered), next(iter(keys)))


def _timestamp(value: Any) -> str | None:
    """The sample time as given, when it is an ISO 8601 date-time or seconds since the epoch;
    None when it is neither."""
    text = str(value).strip()
    try:
        dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        return text
    except ValueError:
        pass
    try:
        seconds = float(text)
    except ValueError:
        return None
    return text if math.isfinite(seconds) and 0 <= seconds < 32503680000 else None


def _rows_to_samples(
    rows: Iterable[Mapping[str, Any]], source: str, first_line: int | None = None
) -> list[Sample]:
    """Samples from rows; a problem names ``source``, the row (and, for CSV, its line) and the
    column."""
    samples = []
    for number, row in enumerate(rows, start=1):
        where = f"{source} row {number}" + (
            f" (line {first_line + number - 1})" if first_line else ""
        )
        if not isinstance(row, Mapping):
            raise SizingError(f"{where}: expected an object, got {row!r}"[:300])
        if None in row:  # csv: more fields than the header names
            raise SizingError(f"{where}: more fields than the header has columns")
        vm = _pick(row, _VM_KEYS)
        rate = _pick(row, _RATE_KEYS)
        if vm is None or rate is None:
            raise SizingError(
                f"{where}: needs a VM name ('vm') and a write rate in KB/s "
                f"('write_kbps'); got {sorted(str(k) for k in row)}"
            )
        if not isinstance(vm, str) or not vm.strip() or not vm.isprintable():
            raise SizingError(f"{where}, column {_column(row, _VM_KEYS)!r}: {vm!r} is not a name")
        rate_column = _column(row, _RATE_KEYS)
        rates = rate if isinstance(rate, list) else [rate]
        raw_time = _pick(row, _TIME_KEYS)
        timestamp = None if raw_time is None else _timestamp(raw_time)
        if raw_time is not None and timestamp is None:
            raise SizingError(
                f"{where} ({vm}), column {_column(row, _TIME_KEYS)!r}: {str(raw_time)[:60]!r} "
                "is not a time (ISO 8601, e.g. 2024-05-01T10:00:00Z, or seconds since 1970)"
            )
        for value in rates:
            try:
                kbps = float(str(value) if isinstance(value, bool) else value)
            except (TypeError, ValueError):
                raise SizingError(
                    f"{where} ({vm}), column {rate_column!r}: write rate {value!r} is not a number"
                ) from None
            if not math.isfinite(kbps) or not 0 <= kbps <= MAX_WRITE_KBPS:
                raise SizingError(
                    f"{where} ({vm}), column {rate_column!r}: write rate {value!r} must be 0 or "
                    f"more, and at most {MAX_WRITE_KBPS} KB/s (10 GiB/s)"
                )
            samples.append(Sample(str(vm), kbps, timestamp))
    if not samples:
        raise SizingError(f"{source}: no VM write rates")
    return samples


def parse(text: str, source: str = "input") -> list[Sample]:
    """Samples from CSV (a header row) or JSON (a list of rows, or ``{"vms": [...]}``)."""
    stripped = text.lstrip()
    if stripped.startswith(("[", "{")):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SizingError(f"{source}: invalid JSON ({exc})") from None
        if isinstance(data, Mapping):
            data = data.get("vms", data.get("samples"))
        if not isinstance(data, list):
            raise SizingError(f"{source}: JSON must be a list of rows or {{'vms': [...]}}")
        return _rows_to_samples(data, source)
    if "\x00" in text:
        raise SizingError(f"{source}: holds NUL bytes - not a CSV or JSON text file")
    reader = csv.DictReader(io.StringIO(text))
    try:
        return _rows_to_samples(reader, source, first_line=2)
    except csv.Error as exc:
        raise SizingError(f"{source} line {reader.line_num}: {exc}") from None


def load(path: Path) -> list[Sample]:
    """Samples from a file; a file that is not UTF-8 text is refused naming the file, the line
    and the column of the first byte that is not."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise SizingError(
            f"{path} line {line}, column {column}: byte 0x{data[exc.start]:02x} is not UTF-8 "
            "(save the file as UTF-8 CSV or JSON)"
        ) from None
    return parse(text, str(path))


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
