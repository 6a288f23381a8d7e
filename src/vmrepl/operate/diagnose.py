"""``vmrepl diagnose``: for a site pair now, what is wrong, since when, the probable cause and
the next step, and the vendor severity to suggest.

One read per site (:func:`read`: a fixed number of list calls: site, peers, VRAs, VPGs, alerts
on, events and tasks of the window, the ZVM's clock), then pure functions: every alert on, every
VPG out of SLA, unpaired peer, VRA not installed, failed task and unreadable ZVM is a
*finding*; the knowledge (``knowledge.yml``: help identifiers and alert rule names, with their
meaning, causes, remedy, severity and what causes them) links a finding to the finding or event
that came before it and causes it (``caused_by``). The findings that nothing causes are the
incidents; the rest are their consequences.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any

#: How long after its cause a consequence may start and still be linked to it, seconds: the
#: ZVM raises the alerts of one change in the same round, a few seconds apart.
SLACK_SECONDS = 120.0
#: The window of events and tasks read by default.
DEFAULT_WINDOW = timedelta(hours=24)


@functools.cache
def knowledge() -> dict[str, Any]:
    """``knowledge.yml``: ``{"severities": {1: ...}, "entries": {ID: ...}}``."""
    import yaml

    text = resources.files("vmrepl.operate").joinpath("knowledge.yml").read_text()
    data: dict[str, Any] = yaml.safe_load(text)
    return data


def entry(identifier: str) -> dict[str, Any] | None:
    entries = knowledge()["entries"]
    found = entries.get(identifier)
    if found is None:
        lower = {k.lower(): v for k, v in entries.items()}
        found = lower.get(identifier.lower())
    return found


def explain(identifier: str) -> str | None:
    """The knowledge entry of ``identifier`` as text, or None when there is none."""
    item = entry(identifier)
    if item is None:
        return None
    name = next(k for k in knowledge()["entries"] if k.lower() == identifier.lower())
    lines = [f"{name}: {item['title']}", "", item["meaning"], "", "Probable causes:"]
    lines += [f"  - {c}" for c in item.get("causes", [])]
    lines += ["", "Next steps:"] + [f"  - {r}" for r in item.get("remedy", [])]
    if item.get("caused_by"):
        lines += ["", "Usually caused by: " + ", ".join(item["caused_by"])]
    lines += ["", severity_text(int(item["severity"]))]
    return "\n".join(lines)


def severity_text(level: int) -> str:
    sev = knowledge()["severities"][level]
    return (
        f"Suggested vendor severity {level}: {sev['meaning']} "
        f"(response: Standard {sev['standard']}, Premium {sev['premium']})"
    )


# -- reading --------------------------------------------------------------------------------
def _list(value: Any, what: str) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(f"{what}: a list was expected")
    return value


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def server_time(zvm: Any) -> Any:
    """The ZVM's clock (UTC), as it gives it."""
    return zvm.get("/v1/serverDateTime/serverDateTimeUtc")


def events_since(zvm: Any, start: datetime) -> list[dict[str, Any]]:
    return _list(zvm.get("/v1/events", {"startDate": iso(start)}), "events")


def tasks_since(zvm: Any, start: datetime) -> list[dict[str, Any]]:
    return _list(zvm.get("/v1/tasks", {"startedAfterDate": iso(start)}), "tasks")


def read(
    zvm: Any, since: datetime | None = None, stage: Callable[[str], None] | None = None
) -> dict[str, Any]:
    """What diagnose needs from one ZVM, a fixed number of list calls: the site, peers, VRAs,
    VPGs, alerts on, events and tasks since ``since`` (default: a day before the ZVM's now),
    and the ZVM's clock."""
    say = stage or (lambda _text: None)
    say("reading the ZVM's clock")
    now = parse_time(server_time(zvm)) or datetime.now(UTC)
    start = since or now - DEFAULT_WINDOW
    parts: dict[str, Any] = {"now": iso(now), "since": iso(start)}
    reads: dict[str, Callable[[], Any]] = {
        "site": zvm.local_site,
        "peers": zvm.peer_sites,
        "vras": zvm.vras,
        "vpgs": zvm.vpgs,
        "alerts": lambda: zvm.alerts(is_dismissed=False),
        "events": lambda: events_since(zvm, start),
        "tasks": lambda: tasks_since(zvm, start),
    }
    for part, call in reads.items():
        say(f"reading {part}")
        parts[part] = call()
    return parts


# -- findings -------------------------------------------------------------------------------
def parse_time(text: Any) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        moment = datetime.fromisoformat(text.strip().strip('"').replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _field(obj: Any, *path: str) -> Any:
    from ansible_collections.vmrepl.core.plugins.module_utils.clients.zvm import json_field

    return json_field(obj, *path)


def _ids(links: Any) -> list[str]:
    out = []
    for item in links or []:
        ident = _field(item, "identifier") or (
            str(_field(item, "href") or "").rstrip("/").rsplit("/", 1)[-1] or None
        )
        if ident:
            out.append(str(ident))
    return out


@dataclass
class Finding:
    """One thing wrong at one site."""

    id: str
    site: str
    since: datetime | None
    description: str
    level: str = "Error"
    vpgs: list[str] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)
    cause: Finding | None = None
    cause_event: dict[str, Any] | None = None

    @property
    def key(self) -> tuple[str, tuple[str, ...]]:
        return (self.id, tuple(sorted(self.vpgs)))

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "site": self.site,
            "since": iso(self.since) if self.since else None,
            "description": self.description,
            "level": self.level,
            "vpgs": self.vpgs,
        }


def findings(site: str, parts: Mapping[str, Any], paired: bool = True) -> list[Finding]:
    """Everything wrong at one site, from what :func:`read` returned (or ``{"error": ...}``)."""
    if "error" in parts:
        return [Finding("VmreplZvmDown", site, None, str(parts["error"]))]
    from ansible_collections.vmrepl.core.plugins.module_utils.clients.zvm import (
        PairingStatus,
        VpgStatus,
        VraStatus,
        code_name,
    )

    found: list[Finding] = []
    names = {str(_field(v, "VpgIdentifier")): str(_field(v, "VpgName")) for v in parts["vpgs"]}
    alerted_vpgs: set[str] = set()
    for alert in parts["alerts"]:
        vpgs = [names.get(i, i) for i in _ids(_field(alert, "AffectedVpgs"))]
        if _field(alert, "HelpIdentifier") in ("VPG0010", "VPG0009"):
            alerted_vpgs.update(vpgs)
        found.append(
            Finding(
                str(_field(alert, "HelpIdentifier") or "alert"),
                site,
                parse_time(_field(alert, "TurnedOn")),
                str(_field(alert, "Description") or ""),
                str(_field(alert, "Level") or "Error"),
                vpgs,
            )
        )
    statuses = [_field(p, "PairingStatus") for p in parts["peers"]]
    if paired and statuses != [PairingStatus.Paired]:
        text = ", ".join(code_name(PairingStatus, s) for s in statuses) or "no peer site"
        found.append(Finding("VmreplPeerNotPaired", site, None, f"pairing: {text}"))
    for vpg in parts["vpgs"]:
        name = str(_field(vpg, "VpgName"))
        if _field(vpg, "Status") != VpgStatus.MeetingSLA and name not in alerted_vpgs:
            status = _field(vpg, "StatusDescription") or code_name(VpgStatus, _field(vpg, "Status"))
            found.append(
                Finding(
                    "VmreplVpgNotMeetingSla",
                    site,
                    None,
                    f"VPG {name} is {status} ({_field(vpg, 'SubStatusDescription') or '-'})",
                    vpgs=[name],
                )
            )
    for vra in parts["vras"]:
        if _field(vra, "Status") != VraStatus.Installed:
            status = code_name(VraStatus, _field(vra, "Status"))
            found.append(
                Finding(
                    "VmreplVraNotInstalled",
                    site,
                    None,
                    f"VRA {_field(vra, 'VraName')} on {_field(vra, 'HostDisplayName') or '-'} "
                    f"is {status}",
                    level="Warning",
                    hosts=[str(_field(vra, "HostDisplayName") or "")],
                )
            )
    for task in parts["tasks"]:
        if _field(task, "Status", "State") == 4:  # Failed
            found.append(
                Finding(
                    "VmreplTaskFailed",
                    site,
                    parse_time(_field(task, "Started")),
                    f"task {_field(task, 'Type')} failed: {_field(task, 'CompleteReason') or '-'}",
                    vpgs=[names.get(i, i) for i in _ids(_field(task, "RelatedEntities", "Vpgs"))],
                )
            )
    return found


def _before(cause: datetime | None, effect: datetime | None) -> bool:
    """A cause comes first (within the slack); an unknown time does not rule it out."""
    if cause is None or effect is None:
        return True
    return cause <= effect + timedelta(seconds=SLACK_SECONDS)


def correlate(all_findings: list[Finding], events: Mapping[str, list[dict[str, Any]]]) -> None:
    """Link each finding to the finding (any site of the pair) or event that causes it."""
    for item in all_findings:
        known = entry(item.id) or {}
        for cause_id in known.get("caused_by", []):
            if cause_id.startswith("event:"):
                event = _cause_event(cause_id.split(":", 1)[1], item, events.get(item.site, []))
                if event is not None:
                    item.cause_event = event
                    break
                continue
            candidates = [
                c
                for c in all_findings
                if c is not item
                and c.id == cause_id
                and _before(c.since, item.since)
                # without both times, only a cause at the same site
                and (c.site == item.site or (c.since is not None and item.since is not None))
            ]
            latest = datetime.max.replace(tzinfo=UTC)
            candidates.sort(key=lambda c: (c.site != item.site, c.since or latest))
            if candidates:
                item.cause = candidates[0]
                break


def _cause_event(
    event_type: str, item: Finding, events: list[dict[str, Any]]
) -> dict[str, Any] | None:
    matching = [
        e
        for e in events
        if str(_field(e, "EventType")) == event_type
        and _before(parse_time(_field(e, "OccurredOn")), item.since)
    ]
    matching.sort(key=lambda e: str(_field(e, "OccurredOn")))
    named = re.findall(r"\bhost (\S+?)(?=[\s:.,;]|$)", item.description, re.IGNORECASE)
    hosts = [h.lower() for h in [*item.hosts, *named] if h]
    if hosts:
        on_host = [
            e for e in matching if any(h in str(_field(e, "Description")).lower() for h in hosts)
        ]
        matching = on_host or matching
    return matching[-1] if matching else None


def _root(item: Finding) -> Finding:
    seen = set()
    while item.cause is not None and id(item) not in seen:
        seen.add(id(item))
        item = item.cause
    return item


def diagnose(
    reads: Mapping[str, Mapping[str, Any]],
    paired: Mapping[str, bool] | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The diagnosis of a site pair from each site's :func:`read` (or ``{"error": text}``)."""
    paired = paired or {}
    all_findings: list[Finding] = []
    for site, parts in reads.items():
        all_findings += findings(site, parts, paired.get(site, True))
    events = {s: list(p.get("events", [])) for s, p in reads.items() if "error" not in p}
    correlate(all_findings, events)
    times = [t for t in (parse_time(p.get("now")) for p in reads.values()) if t]
    clock = now or (max(times) if times else datetime.now(UTC))
    groups: dict[tuple[str, tuple[str, ...]], list[Finding]] = {}
    for item in all_findings:
        if item.cause is None:
            groups.setdefault((item.id, ()), []).append(item)
    incidents = []
    all_vpgs = {
        str(_field(v, "VpgName")) for p in reads.values() if "error" not in p for v in p["vpgs"]
    }
    for (identifier, _), roots in groups.items():
        consequences = [f for f in all_findings if f.cause is not None and _root(f) in roots]
        incidents.append(_incident(identifier, roots, consequences, all_vpgs, clock))
    incidents.sort(key=lambda i: (i["severity"], i["since"] or ""))
    severity = min((i["severity"] for i in incidents), default=None)
    return {
        "now": iso(clock),
        "sites": sorted(reads),
        "healthy": not incidents,
        "incidents": incidents,
        "severity": severity,
        "severity_text": severity_text(severity) if severity else None,
        "resolved": _resolved(reads),
    }


def _incident(
    identifier: str,
    roots: list[Finding],
    consequences: list[Finding],
    all_vpgs: set[str],
    now: datetime,
) -> dict[str, Any]:
    known = entry(identifier)
    times = [r.since for r in roots if r.since]
    since = min(times) if times else None
    members = [*roots, *consequences]
    severity = min(int((entry(m.id) or {"severity": 3})["severity"]) for m in members)
    affected = {v for m in members for v in m.vpgs}
    if (
        all_vpgs
        and affected >= all_vpgs
        and any(m.id in ("VPG0010", "VmreplVpgNotMeetingSla") for m in members)
    ):
        severity = 1  # every VPG of the pair is out of its SLA: the protection is lost
    event = next((r.cause_event for r in roots if r.cause_event), None)
    cause = (known or {}).get("causes", [])
    if event is not None:
        cause = [
            f"{_field(event, 'Description')} (event at {_field(event, 'OccurredOn')})",
            *cause,
        ]
    return {
        "id": identifier,
        "title": (known or {}).get("title", identifier),
        "sites": sorted({r.site for r in roots}),
        "since": iso(since) if since else None,
        "for_seconds": round((now - since).total_seconds()) if since else None,
        "what": [r.description for r in roots],
        "meaning": (known or {}).get(
            "meaning", f"No entry for {identifier} in the knowledge; see the ZVM's description."
        ),
        "probable_cause": cause,
        "next_steps": (known or {}).get("remedy", []),
        "consequences": [
            {**c.as_dict(), "title": (entry(c.id) or {}).get("title", c.id)} for c in consequences
        ],
        "severity": severity,
        "known": known is not None,
    }


def _resolved(reads: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Alerts of the window that have turned off (their events), newest last."""
    out = []
    for site, parts in reads.items():
        for event in parts.get("events", []) if "error" not in parts else []:
            text = str(_field(event, "Description") or "")
            if _field(event, "EventCategory") == "Alerts" and " turned off" in text:
                out.append({"site": site, "at": _field(event, "OccurredOn"), "event": text})
    return sorted(out, key=lambda e: str(e["at"]))


def render(doc: Mapping[str, Any]) -> str:
    """The diagnosis as text."""
    sites = "/".join(doc["sites"])
    if doc["healthy"]:
        lines = [f"vmrepl diagnose {sites}: nothing is wrong now ({doc['now']})."]
    else:
        count = len(doc["incidents"])
        lines = [
            f"vmrepl diagnose {sites}: {count} incident{'s' if count > 1 else ''} "
            f"({doc['now']}). {doc['severity_text']}."
        ]
    for n, inc in enumerate(doc["incidents"], 1):
        since = inc["since"] or "unknown"
        lasting = f", {_duration(inc['for_seconds'])}" if inc["for_seconds"] is not None else ""
        lines += [
            "",
            f"[{n}] {inc['id']} {inc['title']} at {', '.join(inc['sites'])} since {since}{lasting}",
            f"    What: {'; '.join(inc['what'])}",
            f"    Meaning: {inc['meaning']}",
        ]
        for c in inc["consequences"]:
            lines.append(
                f"    Consequence: {c['description']} ({c['id']} at {c['site']}, since "
                f"{c['since'] or 'unknown'})"
            )
        lines.append("    Probable cause: " + " Or: ".join(inc["probable_cause"] or ["unknown"]))
        lines += [f"    Next step: {s}" for s in inc["next_steps"]]
        lines.append(f"    {severity_text(inc['severity'])}")
        lines.append(f"    More: vmrepl diagnose --explain {inc['id']}")
    if doc["resolved"]:
        lines += ["", "Resolved in the window:"]
        lines += [f"  {r['at']} {r['site']}: {r['event']}" for r in doc["resolved"][-10:]]
    return "\n".join(lines)


def _duration(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds / 3600:.1f} h"
