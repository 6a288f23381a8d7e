# Copyright: vmrepl contributors
# Apache License 2.0
"""The replication health of one site, from what its ZVM reports (site, peers, VRAs, VPGs,
VMs, alerts, licence): one pure function, :func:`site_health`, that ``zvm_info`` returns
(``gather: [health]``), the health playbook asserts and sets as the job's stats, and
``vmrepl health`` (a Monitoring Plugin) computes from its own direct read (:func:`read_site`)
and prints with its perfdata.

A site is healthy when it is paired (remote edition), every VPG meets its SLA and no error
alert is on: those are its ``problems`` (CRITICAL). Its ``warnings`` (WARNING) come from the
thresholds (:class:`Thresholds`, Monitoring Plugins range expressions): RPO and journal
history against each VPG's configured values, journal fill of its VMs, the licence's expiry and
VMs, VRAs not installed, warning alerts.

A read costs a fixed number of list calls whatever the number of VPGs, VMs and VRAs
(:data:`READS`); no per-VPG or per-VM GET.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ansible_collections.vmrepl.core.plugins.module_utils.clients.zvm import (
    PairingStatus,
    VpgStatus,
    VraStatus,
    code_name,
    json_field,
)

#: The parts of a site that the health is computed from (what zvm_info gathers for it).
PARTS = ("site", "peers", "vras", "vpgs", "alerts", "vms", "license")

#: Monitoring Plugins states (exit codes).
OK, WARNING, CRITICAL, UNKNOWN = 0, 1, 2, 3
STATE_NAMES = ("OK", "WARNING", "CRITICAL", "UNKNOWN")

#: part → how the direct read gets it from a ZvmClient: one list call each.
READS: dict[str, Callable[[Any], Any]] = {
    "site": lambda zvm: zvm.local_site(),
    "peers": lambda zvm: zvm.peer_sites(),
    "vras": lambda zvm: zvm.vras(),
    "vpgs": lambda zvm: zvm.vpgs(),
    "vms": lambda zvm: zvm.vms(),
    "alerts": lambda zvm: zvm.alerts(is_dismissed=False),
    "license": lambda zvm: zvm.license(),
}


def read_site(zvm: Any, stage: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Every part of :data:`PARTS` from the site's ZVM, one list call each (and the login).
    ``stage`` is told what is being read (a timeout names it)."""
    parts: dict[str, Any] = {}
    for part, read in READS.items():
        if stage:
            stage(f"reading {part}")
        parts[part] = read(zvm)
    return parts


# -- range expressions (Monitoring Plugins guidelines) --------------------------------------
_RANGE = re.compile(r"^(@)?(?:(~|[-+]?\d+(?:\.\d+)?)?:)?([-+]?\d+(?:\.\d+)?)?$")


@dataclass(frozen=True)
class Range:
    """``[@][start:][end]``: ``10`` alerts outside 0..10, ``10:`` below 10, ``~:10`` above 10,
    ``10:20`` outside 10..20, ``@10:20`` inside it. ``start`` None is -infinity (``~``),
    ``end`` None is +infinity."""

    start: float | None = 0.0
    end: float | None = None
    inside: bool = False

    @classmethod
    def parse(cls, text: str) -> Range:
        match = _RANGE.match(str(text).strip())
        if not match or not str(text).strip() or str(text).strip() == "@":
            raise ValueError(
                f"{text!r} is not a range expression: give [@][start:][end], e.g. 10, 10:, "
                "~:10, 10:20 or @10:20."
            )
        inside, start, end = match.groups()
        has_colon = ":" in str(text)
        if not has_colon:
            lo: float | None = 0.0
        elif start in (None, ""):
            lo = 0.0
        elif start == "~":
            lo = None
        else:
            lo = float(start)
        hi = float(end) if end not in (None, "") else None
        if lo is not None and hi is not None and lo > hi:
            raise ValueError(f"{text!r}: the start of a range must not be above its end.")
        return cls(lo, hi, bool(inside))

    def alerts(self, value: float) -> bool:
        """Whether ``value`` raises the alert this range stands for."""
        within = (self.start is None or value >= self.start) and (
            self.end is None or value <= self.end
        )
        return within if self.inside else not within

    def scaled(self, factor: float) -> Range:
        """The range with its bounds multiplied (a ratio range as a value range)."""
        return Range(
            None if self.start is None else self.start * factor,
            None if self.end is None else self.end * factor,
            self.inside,
        )

    def __str__(self) -> str:
        start = "~" if self.start is None else _number(self.start)
        end = "" if self.end is None else _number(self.end)
        prefix = "@" if self.inside else ""
        if self.start == 0 and not self.inside and self.end is not None:
            return end
        return f"{prefix}{start}:{end}"


def _number(value: float) -> str:
    """A number as perfdata wants it: no exponent, no needless decimals."""
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


@dataclass(frozen=True)
class Thresholds:
    """The service's defaults. RPO: a multiple of each VPG's configured RPO (warning above it,
    critical above twice it). History: a fraction of each VPG's configured journal history; by
    default no alert (``0:``), as a new VPG's history takes its whole configured length to
    build up and a stateless check cannot tell that from a shortfall: the ZVM's own status
    (HistoryNotMeetingSLA) makes the VPG CRITICAL, and ``0.9:`` suits established VPGs.
    Journal: the fill of a VM's journal hard limit in percent. Licence: days to its expiry."""

    rpo_warning: Range = field(default_factory=lambda: Range.parse("1"))
    rpo_critical: Range = field(default_factory=lambda: Range.parse("2"))
    history_warning: Range = field(default_factory=lambda: Range.parse("0:"))
    history_critical: Range = field(default_factory=lambda: Range.parse("0:"))
    journal_warning: Range = field(default_factory=lambda: Range.parse("75"))
    journal_critical: Range = field(default_factory=lambda: Range.parse("90"))
    licence_warning: Range = field(default_factory=lambda: Range.parse("30:"))
    licence_critical: Range = field(default_factory=lambda: Range.parse("7:"))

    @classmethod
    def of(cls, values: Mapping[str, str | Range | None]) -> Thresholds:
        """From option values (range expressions); None keeps the default. Raises ValueError
        naming the option."""
        given: dict[str, Range] = {}
        for name, value in values.items():
            if value is None:
                continue
            if name not in cls.__dataclass_fields__:
                raise ValueError(f"unknown threshold {name!r}")
            try:
                given[name] = value if isinstance(value, Range) else Range.parse(value)
            except ValueError as exc:
                raise ValueError(f"--{name.replace('_', '-')}: {exc}") from None
        return cls(**given)

    def as_dict(self) -> dict[str, str]:
        return {name: str(getattr(self, name)) for name in self.__dataclass_fields__}


@dataclass
class Perf:
    """One perfdata item: ``'label'=value[uom];warn;crit;min;max``."""

    label: str
    value: float
    uom: str = ""
    warn: Range | None = None
    crit: Range | None = None
    min: float | None = None
    max: float | None = None

    def __str__(self) -> str:
        label = self.label.replace("'", "''")
        fields = [
            "" if self.warn is None else str(self.warn),
            "" if self.crit is None else str(self.crit),
            "" if self.min is None else _number(self.min),
            "" if self.max is None else _number(self.max),
        ]
        while fields and not fields[-1]:
            fields.pop()
        tail = ";".join(fields)
        return f"'{label}'={_number(self.value)}{self.uom}" + (f";{tail}" if tail else "")

    def as_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "value": self.value,
            "uom": self.uom,
            "warn": None if self.warn is None else str(self.warn),
            "crit": None if self.crit is None else str(self.crit),
            "min": self.min,
            "max": self.max,
        }


def _state(value: float, warn: Range, crit: Range) -> int:
    if crit.alerts(value):
        return CRITICAL
    return WARNING if warn.alerts(value) else OK


def _vpg(vpg: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "name": json_field(vpg, "VpgName"),
        "status": json_field(vpg, "StatusDescription") or json_field(vpg, "Status"),
        "meeting_sla": json_field(vpg, "Status") == VpgStatus.MeetingSLA,
        "actual_rpo_seconds": json_field(vpg, "ActualRPO"),
        "configured_rpo_seconds": json_field(vpg, "ConfiguredRpoSeconds"),
        "history_minutes": json_field(vpg, "HistoryStatusApi", "ActualHistoryInMinutes"),
        "configured_history_minutes": json_field(
            vpg, "HistoryStatusApi", "ConfiguredHistoryInMinutes"
        ),
        "vms": json_field(vpg, "VmsCount"),
        "last_test": json_field(vpg, "LastTest"),
    }


def _number_or_none(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _journal_fill(vm: Mapping[str, Any]) -> float | None:
    """A VM's journal use in percent of its hard limit (when the limit is in MB, type 1)."""
    used = _number_or_none(json_field(vm, "JournalUsedStorageMb"))
    limit = json_field(vm, "JournalHardLimit") or {}
    value = _number_or_none(json_field(limit, "LimitValue"))
    if used is None or not value or json_field(limit, "LimitType") != 1:
        return None
    return 100.0 * used / value


def _parse_time(text: Any) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _vpg_checks(
    name: str, row: Mapping[str, Any], t: Thresholds
) -> tuple[list[tuple[int, str]], list[Perf]]:
    found: list[tuple[int, str]] = []
    perf: list[Perf] = []
    vpg = row["name"]
    rpo = _number_or_none(row["actual_rpo_seconds"])
    target = _number_or_none(row["configured_rpo_seconds"])
    if rpo is not None and target:
        warn, crit = t.rpo_warning.scaled(target), t.rpo_critical.scaled(target)
        perf.append(Perf(f"{name} {vpg} rpo", rpo, "s", warn, crit, 0))
        state = _state(rpo, warn, crit)
        if state:
            found.append((state, f"VPG {vpg} RPO {rpo:g} s (target {target:g} s)"))
    history = _number_or_none(row["history_minutes"])
    configured = _number_or_none(row["configured_history_minutes"])
    if history is not None and configured:
        seconds, target_s = history * 60, configured * 60
        warn, crit = t.history_warning.scaled(target_s), t.history_critical.scaled(target_s)
        perf.append(Perf(f"{name} {vpg} history", seconds, "s", warn, crit, 0))
        state = _state(seconds, warn, crit)
        if state:
            found.append(
                (
                    state,
                    f"VPG {vpg} journal history {history / 60:.1f} h of {configured / 60:.1f} h",
                )
            )
    return found, perf


def _licence_checks(
    name: str, licence: Mapping[str, Any] | None, t: Thresholds, now: datetime
) -> tuple[list[tuple[int, str]], list[Perf]]:
    found: list[tuple[int, str]] = []
    perf: list[Perf] = []
    if not licence:
        return found, perf
    details = json_field(licence, "Details") or {}
    expiry = _parse_time(json_field(details, "ExpiryTime"))
    if expiry is not None:
        days = (expiry - now).total_seconds() / 86400
        perf.append(
            Perf(f"{name} licence", days * 86400, "s", t.licence_warning.scaled(86400),
                 t.licence_critical.scaled(86400))
        )  # fmt: skip
        state = _state(days, t.licence_warning, t.licence_critical)
        if state:
            found.append((state, f"licence expires in {days:.0f} days ({expiry:%Y-%m-%d})"))
    used = _number_or_none(json_field(licence, "Usage", "TotalVmsCount"))
    most = _number_or_none(json_field(details, "MaxVms"))
    if used is not None:
        perf.append(Perf(f"{name} licence vms", used, "", None, None if most is None else
                         Range(0, most), 0, most))  # fmt: skip
        if most is not None and used > most:
            found.append((CRITICAL, f"{used:g} protected VMs over the licence's {most:g}"))
    return found, perf


def site_health(
    site: Mapping[str, Any] | None,
    peers: list[Mapping[str, Any]],
    vras: list[Mapping[str, Any]],
    vpgs: list[Mapping[str, Any]],
    alerts: list[Mapping[str, Any]],
    paired: bool = True,
    vms: list[Mapping[str, Any]] | None = None,
    license: Mapping[str, Any] | None = None,
    thresholds: Thresholds | None = None,
    now: datetime | None = None,
    name: str | None = None,
) -> dict[str, Any]:
    """``{healthy, state, problems, warnings, perfdata, zvm, version, peers, vras_installed,
    vras, vpgs, alerts}`` of a site. ``paired``: the site must be paired with its peer (remote
    edition). ``name`` labels the perfdata (default: the ZVM's site name)."""
    t = thresholds or Thresholds()
    now = now or datetime.now(UTC)
    statuses = [code_name(PairingStatus, json_field(p, "PairingStatus")) for p in peers]
    on = [a for a in alerts if not json_field(a, "IsDismissed")]
    rows = [_vpg(v) for v in vpgs]
    label = name or str(json_field(site or {}, "SiteName") or "site")
    problems = []
    if paired and [json_field(p, "PairingStatus") for p in peers] != [PairingStatus.Paired]:
        problems.append(f"not paired with one peer site (pairing: {', '.join(statuses) or 'none'})")
    failing = [str(r["name"]) for r in rows if not r["meeting_sla"]]
    if failing:
        problems.append(f"VPGs not meeting their SLA: {', '.join(failing)}")
    errors = [str(json_field(a, "Description")) for a in on if json_field(a, "Level") == "Error"]
    if errors:
        problems.append(f"error alerts: {'; '.join(errors)}")

    graded: list[tuple[int, str]] = []
    perfdata: list[Perf] = []
    for row in rows:
        found, perf = _vpg_checks(label, row, t)
        graded += found
        perfdata += perf
    fills: dict[str, float] = {}
    for vm in vms or []:
        fill = _journal_fill(vm)
        vpg = str(json_field(vm, "VpgName") or "")
        if fill is not None:
            fills[vpg] = max(fill, fills.get(vpg, 0.0))
    for vpg, fill in sorted(fills.items()):
        perfdata.append(
            Perf(f"{label} {vpg} journal", fill, "%", t.journal_warning, t.journal_critical, 0, 100)
        )
        state = _state(fill, t.journal_warning, t.journal_critical)
        if state:
            graded.append((state, f"VPG {vpg} journal {fill:.0f}% of its hard limit"))
    found, perf = _licence_checks(label, license, t, now)
    graded += found
    perfdata += perf
    installed = sum(1 for v in vras if json_field(v, "Status") == VraStatus.Installed)
    if installed < len(vras):
        graded.append((WARNING, f"{len(vras) - installed} of {len(vras)} VRAs not installed"))
    warns = [str(json_field(a, "Description")) for a in on if json_field(a, "Level") == "Warning"]
    if warns:
        graded.append((WARNING, f"warning alerts: {'; '.join(warns)}"))
    problems += [text for state, text in graded if state == CRITICAL]
    warnings = [text for state, text in graded if state == WARNING]
    state = CRITICAL if problems else WARNING if warnings else OK
    return {
        "healthy": not problems,
        "state": STATE_NAMES[state],
        "problems": problems,
        "warnings": warnings,
        "perfdata": [p.as_dict() for p in perfdata],
        "zvm": json_field(site or {}, "SiteName"),
        "version": json_field(site or {}, "Version"),
        "peers": [
            {"site": json_field(p, "PeerSiteName"), "status": statuses[i]}
            for i, p in enumerate(peers)
        ],
        "vras_installed": installed,
        "vras": len(vras),
        "vpgs": rows,
        "alerts": [
            {
                "level": json_field(a, "Level"),
                "help": json_field(a, "HelpIdentifier"),
                "description": json_field(a, "Description"),
                "turned_on": json_field(a, "TurnedOn"),
            }
            for a in on
        ],
    }


def perf_line(items: Sequence[Mapping[str, Any]]) -> str:
    """Perfdata items (as :func:`site_health` returns them) as one space-separated string."""
    out = []
    for item in items:
        out.append(
            str(
                Perf(
                    item["label"],
                    item["value"],
                    item.get("uom") or "",
                    Range.parse(item["warn"]) if item.get("warn") else None,
                    Range.parse(item["crit"]) if item.get("crit") else None,
                    item.get("min"),
                    item.get("max"),
                )
            )
        )
    return " ".join(out)
