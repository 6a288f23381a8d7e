"""What a playbook run did, from ansible-runner's events: per-host counts, failures with their
messages, skips, what the playbook reported through ``set_stats`` (the stats event's
``artifact_data``), and the verdict (successful, incomplete, failed, refused, interrupted) with
its exit code. The verdict comes from what the playbook reported and from what the events are
(their kind, action, typed error, changes), never from a task's name or a message's wording.
Pure functions: no Ansible, no terminal."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from xml.etree import ElementTree as ET

#: The exit codes of the ``vmrepl`` command, by verdict.
EXIT_CODES = {"successful": 0, "failed": 1, "refused": 2, "incomplete": 3, "interrupted": 130}

RESULT_EVENTS = {
    "runner_on_ok": "ok",
    "runner_on_failed": "failed",
    "runner_on_skipped": "skipped",
    "runner_on_unreachable": "unreachable",
}
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_ERROR_LINE = re.compile(r"^\s*(\[ERROR\]:|ERROR!)\s*(.*)$")


def plain(text: str) -> str:
    """``text`` without terminal colour codes and carriage returns."""
    return _ANSI.sub("", text).replace("\r", "")


def message_of(res: Mapping[str, Any]) -> str:
    """The human message of a task result (``msg``, else the failed items' messages)."""
    msg = res.get("msg")
    if isinstance(msg, list):
        msg = "; ".join(str(m) for m in msg)
    parts = [str(msg)] if msg else []
    for item in res.get("results", []) or []:
        if isinstance(item, Mapping) and item.get("failed") and item.get("msg"):
            parts.append(str(item["msg"]))
    if not parts and res.get("reason"):  # unreachable
        parts.append(str(res["reason"]))
    if not parts and res.get("stderr"):
        parts.append(str(res["stderr"]))
    return " ".join(" ".join(parts).split())


@dataclass
class TaskResult:
    host: str
    task: str
    role: str
    action: str
    status: str  # ok | changed | failed | ignored | skipped | unreachable
    msg: str = ""
    duration: float = 0.0
    preflight: bool = False
    error: str = ""  # a vmrepl module's typed error (ConfigurationError, Refused, ...)
    assertion: bool = False  # the failure of an assert: a check, not an action

    @property
    def title(self) -> str:
        return f"{self.role} : {self.task}" if self.role else self.task

    def as_dict(self) -> dict[str, Any]:
        doc = {
            "host": self.host,
            "task": self.title,
            "status": self.status,
            "msg": self.msg,
            "duration_seconds": round(self.duration, 3),
        }
        if self.preflight:
            doc["preflight"] = True
        return doc


@dataclass
class HostCounts:
    ok: int = 0
    changed: int = 0
    failed: int = 0
    skipped: int = 0
    unreachable: int = 0
    ignored: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass
class RunSummary:
    """Everything the summary table, the JSON document and the JUnit report show."""

    status: str  # successful | failed | refused | incomplete | interrupted
    hosts: dict[str, HostCounts]
    results: list[TaskResult]
    messages: list[dict[str, Any]] = field(default_factory=list)
    skipped_hypervisors: list[dict[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    reason: str = ""
    #: What the playbook reported through ``set_stats`` (key ``vmrepl``, see ``reported_by``).
    reported: dict[str, Any] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]

    @property
    def failures(self) -> list[TaskResult]:
        return [r for r in self.results if r.status in ("failed", "unreachable")]

    @property
    def skipped(self) -> list[TaskResult]:
        """Tasks skipped for real (not in preflight's check-mode plan of the changes)."""
        return [r for r in self.results if r.status == "skipped" and not r.preflight]

    def totals(self) -> HostCounts:
        total = HostCounts()
        for counts in self.hosts.values():
            for key, value in counts.as_dict().items():
                setattr(total, key, getattr(total, key) + value)
        return total

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "exit_code": self.exit_code,
            "reason": self.reason,
            "hosts": {host: counts.as_dict() for host, counts in sorted(self.hosts.items())},
            "totals": self.totals().as_dict(),
            "failures": [r.as_dict() for r in self.failures],
            "skipped": [
                {"host": r.host, "task": r.title, "reason": r.msg or "condition not met"}
                for r in self.skipped
            ],
            "skipped_hypervisors": self.skipped_hypervisors,
            "changes": [
                {"host": r.host, "task": r.title, "msg": r.msg}
                for r in self.results
                if r.status == "changed"
            ],
            "messages": self.messages,
            "errors": self.errors,
            "left": self.reported.get("left", {}),
            # what the playbook reported (set_stats): the job's artifacts in Automation Platform
            "reported": self.reported,
        }


class PhaseTracker:
    """Knows whether the task that is running belongs to the preflight phase: a task of the
    ``preflight`` role, or of a role that preflight includes to plan the changes in check mode
    (its tasks run between preflight's include and preflight's next task)."""

    def __init__(self) -> None:
        self.preflight = False
        self._planning = False

    def task_start(self, event_data: Mapping[str, Any]) -> None:
        role = str(event_data.get("role") or "")
        if role == "preflight":
            self.preflight = True
            self._planning = str(event_data.get("task_action", "")).endswith("include_role")
        elif not (self.preflight and self._planning):
            self.preflight = False


#: A vmrepl module's typed errors that mean bad input or a refusal before any change.
REFUSAL_ERRORS = frozenset({"ConfigurationError", "Refused"})
#: A module's typed error that means a site (its ZVM or vCenter) could not be reached.
UNREACHABLE_ERRORS = frozenset({"ConnectionFailed"})


def _is_refusal(result: TaskResult) -> bool:
    """A failure that is a refusal by what it is (not by what it says): a role's argument
    spec, a vmrepl module's typed refusal, or a failed assert (a check of the input; a run
    that changed something is not refused, whatever failed)."""
    return (
        result.action.endswith("validate_argument_spec")
        or result.error in REFUSAL_ERRORS
        or result.assertion
    )


def _skipped_hypervisors(host: str, res: Mapping[str, Any]) -> list[dict[str, str]]:
    skipped = res.get("skipped_hosts")
    if not isinstance(skipped, Mapping):
        return []
    return [{"site": host, "hypervisor": str(h), "reason": str(r)} for h, r in skipped.items()]


def summarise(
    events: Iterable[Mapping[str, Any]],
    runner_status: str,
    stats: Mapping[str, Mapping[str, int]] | None = None,
) -> RunSummary:
    """The summary of one run from its events (in order) and ansible-runner's status."""
    tracker = PhaseTracker()
    hosts: dict[str, HostCounts] = {}
    results: list[TaskResult] = []
    messages: list[dict[str, Any]] = []
    hypervisors: dict[tuple[str, str], dict[str, str]] = {}
    errors: list[str] = []
    reported: dict[str, Any] = {}
    for event in events:
        kind = str(event.get("event", ""))
        data = event.get("event_data") or {}
        if kind == "playbook_on_task_start":
            tracker.task_start(data)
            continue
        if kind == "playbook_on_stats":
            reported = reported_by(data)
            continue
        if kind in ("verbose", "error", "warning") or (kind == "" and event.get("stdout")):
            for line in plain(str(event.get("stdout", ""))).splitlines():
                match = _ERROR_LINE.match(line)
                if match and match.group(2).strip():
                    errors.append(match.group(2).strip())
            continue
        if kind not in RESULT_EVENTS:
            continue
        host = str(data.get("host", ""))
        res = data.get("res") or {}
        status = RESULT_EVENTS[kind]
        if status == "ok" and res.get("changed"):
            status = "changed"
        if status == "failed" and data.get("ignore_errors"):
            status = "ignored"
        result = TaskResult(
            host=host,
            task=str(data.get("task", "")),
            role=str(data.get("role") or ""),
            action=str(data.get("task_action") or data.get("resolved_action") or ""),
            status=status,
            msg=message_of(res) if status != "skipped" else "",
            duration=float(data.get("duration") or 0.0),
            preflight=tracker.preflight,
            error=str(res.get("error") or "") if isinstance(res, Mapping) else "",
            assertion=isinstance(res, Mapping) and "assertion" in res,
        )
        results.append(result)
        counts = hosts.setdefault(host, HostCounts())
        if status in ("ok", "changed"):
            counts.ok += 1
            counts.changed += status == "changed"
        else:
            setattr(counts, status, getattr(counts, status) + 1)
        if result.action.endswith("debug") and status == "ok" and res.get("msg"):
            messages.append({"host": host, "task": result.title, "msg": res["msg"]})
        for entry in _skipped_hypervisors(host, res):
            hypervisors[(entry["site"], entry["hypervisor"])] = entry
    if stats:  # Ansible's own recap, when the run got that far: the authority on counts
        recap = {"ok": "ok", "changed": "changed", "failures": "failed", "skipped": "skipped"}
        recap |= {"dark": "unreachable", "ignored": "ignored"}
        for kind, attribute in recap.items():
            for host, value in (stats.get(kind) or {}).items():
                setattr(hosts.setdefault(host, HostCounts()), attribute, int(value))
    summary = RunSummary(
        status="successful",
        hosts=hosts,
        results=results,
        messages=messages,
        skipped_hypervisors=list(hypervisors.values()),
        errors=list(dict.fromkeys(errors)),
        reported=reported,
    )
    summary.status, summary.reason = _verdict(summary, runner_status)
    return summary


def reported_by(stats_event_data: Mapping[str, Any]) -> dict[str, Any]:
    """What the playbook reported through ``ansible.builtin.set_stats`` (``per_host: false``,
    key ``vmrepl``), which ansible-runner puts into the ``playbook_on_stats`` event's
    ``artifact_data`` and Automation Platform shows as the job's artifacts: ``verdict``
    (successful, incomplete, refused, failed), ``reason`` and ``left`` by site, ``health`` by
    site, the evidence of a recovery run."""
    reported = (stats_event_data.get("artifact_data") or {}).get("vmrepl")
    return dict(reported) if isinstance(reported, Mapping) else {}


def reasons_of(reported: Mapping[str, Any]) -> str:
    """The playbook's reasons, site by site (``reason: {site: text}``), in one line."""
    reason = reported.get("reason")
    if isinstance(reason, Mapping):
        return " ".join(f"{site}: {text}" for site, text in reason.items() if text)
    return str(reason or "")


def _verdict(summary: RunSummary, runner_status: str) -> tuple[str, str]:
    failures = summary.failures
    changed = summary.totals().changed
    reported = summary.reported.get("verdict")
    if runner_status == "canceled":
        return "interrupted", "The run was interrupted; tasks that had started may have finished."
    if runner_status == "successful" and not failures:
        return "successful", ""
    if failures:
        first = failures[0]
        where = f"{first.host}: {first.title}: {first.msg}".strip()
        failed_only = all(f.status == "failed" for f in failures)
        # The playbook did all it could and ended on purpose, naming what is left at each site
        # that failed; a failure anywhere else makes the run a failure.
        left = summary.reported.get("left")
        all_left = isinstance(left, Mapping) and {f.host for f in failures} <= set(left)
        if reported == "incomplete" and failed_only and all_left:
            return "incomplete", reasons_of(summary.reported) or where
        if changed == 0 and failed_only:
            if reported == "refused":
                return "refused", f"Refused before any change. {reasons_of(summary.reported)}"
            # What the playbook did not judge itself is judged by what failed.
            if not reported and all(_is_refusal(f) for f in failures):
                return "refused", f"Refused before any change. {where}"
        return "failed", where
    if runner_status == "timeout":
        return "failed", "The run timed out."
    # No task failed, yet the run did: Ansible stopped before the first task (inventory,
    # vault password, syntax). That is bad input; nothing ran.
    if not summary.results:
        detail = (
            summary.errors[0] if summary.errors else "ansible-playbook stopped before any task."
        )
        return "refused", detail
    return "failed", summary.errors[0] if summary.errors else f"ansible-runner: {runner_status}"


def unreachable_first(events: Iterable[Mapping[str, Any]]) -> str | None:
    """Where the run's first failure was a site that could not be reached (a host Ansible
    could not reach, a module's ConnectionFailed, a port check that timed out), or None when
    the first failure was something else or nothing failed."""
    for event in events:
        kind = event.get("event")
        data = event.get("event_data") or {}
        if kind not in ("runner_on_unreachable", "runner_on_failed") or data.get("ignore_errors"):
            continue
        res = data.get("res") or {}
        action = str(data.get("task_action") or data.get("resolved_action") or "")
        unreachable = (
            kind == "runner_on_unreachable"
            or bool(res.get("unreachable"))
            or res.get("error") in UNREACHABLE_ERRORS
            # wait_for fails on its timeout saying how long it waited (bad arguments: 0 s)
            or (action.endswith("wait_for") and bool(res.get("elapsed")))
        )
        if not unreachable:
            return None
        return f"{data.get('host', '')}: {data.get('task', '')}: {message_of(res)}".strip()
    return None


def final_verdict(summary: RunSummary, events: Iterable[Mapping[str, Any]]) -> tuple[str, str]:
    """The run's verdict: the summary's, except that a site that could not be reached is a
    failure (exit 1), not a refusal, unless the run had been refused before it."""
    if summary.status == "refused":
        where = unreachable_first(events)
        if where:
            return "failed", f"A site could not be reached. {where}"
    return summary.status, summary.reason


def junit_xml(summary: RunSummary, suite_name: str) -> bytes:
    """A JUnit report of the run: a test suite per host, a test case per task result."""
    suites = ET.Element("testsuites", name=suite_name)
    by_host: dict[str, list[TaskResult]] = {}
    for result in summary.results:
        by_host.setdefault(result.host, []).append(result)
    if not by_host:
        by_host["run"] = []
    for host, results in by_host.items():
        suite = ET.SubElement(suites, "testsuite", name=f"{suite_name}.{host}")
        counts = {"tests": 0, "failures": 0, "skipped": 0, "errors": 0}
        total = 0.0
        for result in results:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=f"{suite_name}.{host}",
                name=result.title,
                time=f"{result.duration:.3f}",
            )
            counts["tests"] += 1
            total += result.duration
            if result.status in ("failed", "unreachable"):
                counts["failures"] += 1
                failure = ET.SubElement(
                    case, "failure", message=result.msg[:500], type=result.status
                )
                failure.text = result.msg
            elif result.status == "skipped":
                counts["skipped"] += 1
                ET.SubElement(case, "skipped", message="condition not met")
            elif result.msg:
                ET.SubElement(case, "system-out").text = result.msg
        if not results and summary.status != "successful":
            case = ET.SubElement(suite, "testcase", classname=suite_name, name="run")
            counts["tests"] += 1
            counts["errors"] += 1
            ET.SubElement(case, "error", message=summary.reason[:500]).text = summary.reason
        for key, value in counts.items():
            suite.set(key, str(value))
        suite.set("time", f"{total:.3f}")
    ET.indent(suites)
    return ET.tostring(suites, encoding="utf-8", xml_declaration=True)
