"""The CSV (or JSON) source of write rates.

Write rates are vCenter's ``disk.write.average`` (KB/s), collected at statistics level 2 or more
over a day or more. Input: CSV or JSON rows of ``vm`` and ``write_kbps``, one row per VM or one
per sample (with a ``timestamp``: the WAN percentile is then taken on the sum at each moment)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from vmrepl.sizing.arithmetic import Sample, SizingError, VmSeries

_VM_KEYS = ("vm", "name", "vm_name", "vmname")
_RATE_KEYS = ("write_kbps", "write_kBps", "write_kb_s", "disk.write.average", "write")
_TIME_KEYS = ("timestamp", "time", "sample")


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


def _epoch(timestamp: str) -> int:
    try:
        return int(float(timestamp))
    except ValueError:
        parsed = dt.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.UTC)
        return int(parsed.timestamp())


def series(samples: list[Sample]) -> list[VmSeries]:
    """The samples as one series per VM (timed when every sample has a time)."""
    timed = all(s.timestamp is not None for s in samples)
    by_vm: dict[str, list[Sample]] = {}
    for sample in samples:
        by_vm.setdefault(sample.vm, []).append(sample)
    result = []
    for vm, given in by_vm.items():
        rows = sorted(given, key=lambda s: _epoch(s.timestamp or "0")) if timed else given
        result.append(
            VmSeries(
                name=vm,
                write_kbps=tuple(s.write_kbps for s in rows),
                timestamps=tuple(_epoch(s.timestamp or "0") for s in rows) if timed else None,
            )
        )
    return result
