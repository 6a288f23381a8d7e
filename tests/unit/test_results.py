"""The verdict, counts and JUnit report of a run, from ansible-runner events (synthetic)."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree as ET

from vmrepl.results import junit_xml, summarise


def task(name: str, role: str = "", action: str = "ansible.builtin.debug") -> dict[str, Any]:
    return {
        "event": "playbook_on_task_start",
        "event_data": {"task": name, "role": role, "task_action": action},
    }


def result(
    kind: str,
    host: str,
    name: str,
    role: str = "",
    action: str = "ansible.builtin.debug",
    **res: Any,
) -> dict[str, Any]:
    return {
        "event": f"runner_on_{kind}",
        "event_data": {
            "host": host,
            "task": name,
            "role": role,
            "task_action": action,
            "duration": 0.5,
            "res": res,
        },
    }


def test_success_counts_changes_and_collects_messages() -> None:
    events = [
        task("Install", "vra", "vmrepl.core.vra"),
        result(
            "ok",
            "source",
            "Install",
            "vra",
            "vmrepl.core.vra",
            changed=True,
            msg="2 installed",
            skipped_hosts={"esx9": "in maintenance mode"},
        ),
        result("ok", "target", "Install", "vra", "vmrepl.core.vra", changed=False),
        task("Summarise", "verify"),
        result("ok", "source", "Summarise", "verify", msg=["a", "b"]),
        result("skipped", "target", "Summarise", "verify"),
    ]
    summary = summarise(events, "successful")
    assert summary.status == "successful" and summary.exit_code == 0
    assert summary.hosts["source"].ok == 2 and summary.hosts["source"].changed == 1
    assert summary.hosts["target"].skipped == 1
    doc = summary.as_dict()
    assert doc["changes"] == [{"host": "source", "task": "vra : Install", "msg": "2 installed"}]
    assert doc["messages"] == [{"host": "source", "task": "verify : Summarise", "msg": ["a", "b"]}]
    assert doc["skipped_hypervisors"] == [
        {"site": "source", "hypervisor": "esx9", "reason": "in maintenance mode"}
    ]
    assert doc["skipped"] == [
        {"host": "target", "task": "verify : Summarise", "reason": "condition not met"}
    ]


def test_ansible_stats_override_the_counts() -> None:
    events = [result("ok", "source", "A")]
    stats = {"ok": {"source": 5}, "changed": {"source": 2}, "failures": {}, "dark": {}}
    summary = summarise(events, "successful", stats)
    assert (summary.hosts["source"].ok, summary.hosts["source"].changed) == (5, 2)


def refused_stats(**reason: str) -> dict[str, Any]:
    """The stats event of a run whose playbook reported a refusal (site → reason)."""
    return _stats_event({"vmrepl": {"verdict": "refused", "reason": reason}})


def test_a_failure_that_preflight_reports_as_refused_is_a_refusal() -> None:
    login = ("Log in to the ZVM", "preflight", "vmrepl.core.zvm_info")
    events = [
        task(*login),
        result("failed", "source", *login, msg="Refused: wrong password"),
        result("failed", "source", "Stop", "preflight", "ansible.builtin.fail", msg="wrong pw"),
        refused_stats(source="wrong password"),
    ]
    summary = summarise(events, "failed")
    assert summary.status == "refused" and summary.exit_code == 2
    assert summary.reason == "Refused before any change. source: wrong password"
    assert summary.as_dict()["reported"]["verdict"] == "refused"
    # Without the playbook's report, neither the role nor the words make it a refusal.
    assert summarise(events[:-1], "failed").status == "failed"


def test_a_failure_while_preflight_plans_in_check_mode_is_a_refusal_it_reports() -> None:
    events = [
        task("Plan every change", "preflight", "ansible.builtin.include_role"),
        task("Install a VRA", "vra", "vmrepl.core.vra"),
        result("failed", "source", "Install a VRA", "vra", "vmrepl.core.vra", msg="bad pool"),
        refused_stats(source="bad pool"),
    ]
    assert summarise(events, "failed").status == "refused"


def test_the_same_role_after_preflight_fails_for_real() -> None:
    events = [
        task("Plan every change", "preflight", "ansible.builtin.include_role"),
        task("Install a VRA", "vra", "vmrepl.core.vra"),
        result("ok", "source", "Install a VRA", "vra", "vmrepl.core.vra"),
        task("Summarise the site", "preflight"),
        result("ok", "source", "Summarise the site", "preflight"),
        task("Install a VRA", "vra", "vmrepl.core.vra"),
        result("failed", "source", "Install a VRA", "vra", "vmrepl.core.vra", msg="task failed"),
    ]
    summary = summarise(events, "failed")
    assert summary.status == "failed" and summary.exit_code == 1
    assert summary.failures[0].msg == "task failed"


def test_a_reported_refusal_after_a_change_is_a_failure() -> None:
    refuse = [
        result("failed", "source", "Check", "failover", "ansible.builtin.assert", msg="no ref"),
        refused_stats(source="no ref"),
    ]
    assert summarise(refuse, "failed").status == "refused"
    changed_first = [result("ok", "source", "Change", changed=True), *refuse]
    assert summarise(changed_first, "failed").status == "failed"


def test_typed_refusals_and_argument_specs_are_refusals_by_what_they_are() -> None:
    typed = result("failed", "source", "Apply", "vpg", "vmrepl.core.vpg", error="Refused", msg="m")
    spec = result("failed", "source", "Validate", "vra", "ansible.builtin.validate_argument_spec")
    assert summarise([typed], "failed").status == "refused"
    assert summarise([spec], "failed").status == "refused"


def test_unreachable_fails_and_canceled_is_interrupted() -> None:
    events = [result("unreachable", "target", "Read", msg="timed out")]
    assert summarise(events, "failed").status == "failed"
    interrupted = summarise([result("ok", "source", "A")], "canceled")
    assert interrupted.status == "interrupted" and interrupted.exit_code == 130


def test_an_error_before_any_task_is_bad_input() -> None:
    events = [
        {
            "event": "verbose",
            "stdout": "\x1b[0;31m[ERROR]: Attempting to decrypt but no vault secrets found\x1b[0m",
        }
    ]
    summary = summarise(events, "failed")
    assert summary.status == "refused"
    assert summary.reason == "Attempting to decrypt but no vault secrets found"


def test_ignored_errors_do_not_fail() -> None:
    event = result("failed", "source", "Try", msg="nope")
    event["event_data"]["ignore_errors"] = True
    summary = summarise([event], "successful")
    assert summary.status == "successful" and summary.hosts["source"].ignored == 1


def test_junit_has_a_suite_per_host_and_a_case_per_task() -> None:
    events = [
        result("ok", "source", "A", changed=True, msg="did a"),
        result("failed", "source", "B", msg="broke <b>"),
        result("skipped", "target", "A"),
    ]
    root = ET.fromstring(junit_xml(summarise(events, "failed"), "vmrepl.test-failover"))
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert set(suites) == {"vmrepl.test-failover.source", "vmrepl.test-failover.target"}
    source = suites["vmrepl.test-failover.source"]
    assert (source.get("tests"), source.get("failures")) == ("2", "1")
    failure = source.find("testcase[@name='B']/failure")
    assert failure is not None and failure.get("message") == "broke <b>"
    assert suites["vmrepl.test-failover.target"].get("skipped") == "1"


def test_junit_of_a_run_that_never_started_has_an_error() -> None:
    summary = summarise([{"event": "error", "stdout": "ERROR! the inventory is broken"}], "failed")
    root = ET.fromstring(junit_xml(summary, "vmrepl.pair"))
    assert root.find(".//testcase/error") is not None


def test_a_role_that_fails_after_reporting_a_refusal_is_a_refusal() -> None:
    events = [
        result("failed", "source", "Refuse", "vpg", "ansible.builtin.assert", msg="give the ref"),
        result("ok", "source", "Append the run to the audit log", "vpg", "vmrepl.core.audit_log"),
        result("failed", "source", "Fail", "vpg", "ansible.builtin.fail", msg="refused: give"),
    ]
    # The words "refused" and "Refuse" decide nothing: the report does.
    assert summarise(events, "failed").status == "failed"
    events.append(refused_stats(source="give the request reference"))
    assert summarise(events, "failed").status == "refused"


def _stats_event(artifact_data: dict) -> dict:
    return {"event": "playbook_on_stats", "event_data": {"artifact_data": artifact_data}}


def _failed(host: str, msg: str) -> dict:
    return {
        "event": "runner_on_failed",
        "event_data": {
            "host": host,
            "task": "End as incomplete while something is left",
            "role": "verify",
            "task_action": "ansible.builtin.fail",
            "res": {"msg": msg, "failed": True},
        },
    }


def _incomplete_stats(left: dict[str, Any], **reason: str) -> dict[str, Any]:
    return _stats_event({"vmrepl": {"verdict": "incomplete", "left": left, "reason": reason}})


def test_a_run_that_reports_itself_incomplete_is_incomplete_with_what_is_left() -> None:
    left = {"source": {"hosts": {"esx2": "in maintenance mode"}, "vms": {}}}
    why = "everything else is done at source, but host esx2 is in maintenance mode."
    events = [
        {
            "event": "runner_on_ok",
            "event_data": {"host": "source", "task": "x", "res": {"changed": True}},
        },
        _failed("source", f"incomplete: {why}"),
        _incomplete_stats(left, source=why),
    ]
    summary = summarise(events, "failed")
    assert summary.status == "incomplete" and summary.exit_code == 3
    assert summary.reason == f"source: {why}"
    assert summary.as_dict()["left"] == left


def test_an_incomplete_run_with_another_failure_is_failed() -> None:
    events = [
        {
            "event": "runner_on_failed",
            "event_data": {"host": "target", "task": "y", "res": {"msg": "boom"}},
        },
        _failed("source", "incomplete: everything else is done at source, but ..."),
        _incomplete_stats({"source": {}}, source="..."),
    ]
    assert summarise(events, "failed").status == "failed"


def test_an_incomplete_message_without_the_reported_verdict_is_not_enough() -> None:
    events = [_failed("source", "incomplete: said by some other task")]
    assert summarise(events, "failed").status == "failed"


SCENARIOS = {
    "refused": [
        task("Refuse datastores with too little free space", "preflight", "assert"),
        result("failed", "source", "Refuse datastores", "preflight", "assert", msg="refused: x"),
        refused_stats(source="LocalDS_0 has 9% free"),
    ],
    "incomplete": [
        result("ok", "source", "Install", changed=True),
        _failed("source", "incomplete: everything else is done"),
        _incomplete_stats({"source": {}}, source="host esx2 is in maintenance mode"),
    ],
    "failed": [
        result("ok", "source", "Install", changed=True),
        result("failed", "source", "Refuse", "vpg", "assert", msg="refused: give the ref"),
    ],
    "successful": [result("ok", "source", "Install", changed=True)],
}


def _renamed(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The same events with every task and role renamed and every message reworded."""
    out = []
    for number, event in enumerate(events):
        copy = {**event, "event_data": dict(event.get("event_data") or {})}
        data = copy["event_data"]
        if "task" in data:
            data["task"], data["role"] = f"task {number}", f"role{number}"
        if isinstance(data.get("res"), dict):
            data["res"] = {**data["res"], "msg": f"words {number}"}
        out.append(copy)
    return out


def test_renaming_tasks_and_rewording_messages_changes_no_verdict() -> None:
    for expected, events in SCENARIOS.items():
        status = "successful" if expected == "successful" else "failed"
        assert summarise(events, status).status == expected
        assert summarise(_renamed(events), status).status == expected, expected


def test_no_verdict_is_read_from_a_task_name_or_a_message_pattern() -> None:
    """The CLI reads the verdict, reason, health and recovery result from set_stats: none of
    its source compares task names, matches task-name prefixes or greps messages for words
    such as "refused:" or "incomplete:"."""
    import re
    from pathlib import Path

    import vmrepl

    root = Path(vmrepl.__file__).parent
    # the lab simulates the sites; everything else is the command and its reading of runs
    files = [p for p in sorted(root.rglob("*.py")) if "lab" not in p.relative_to(root).parts]
    quote = "[\x27\x22]"
    forbidden = {
        "a refusal pattern": re.compile(
            rf"re\.compile\([^)]*refused|(startswith|match|search)\(\s*r?{quote}[^\x27\x22]*refused"
            rf"|{quote}Refuse{quote}",
            re.IGNORECASE,
        ),
        "an incomplete pattern": re.compile(rf"{quote}incomplete:"),
        "a vault message pattern": re.compile(r"no vault secrets|Decryption failed"),
        "a task-name comparison": re.compile(
            rf"get\({quote}task{quote}\)\s*[!=]=|\.task\s*[!=]=|[\x27\x22]task[\x27\x22]\]\s*[!=]="
        ),
        "a task-name prefix": re.compile(r"\.(task|title)\.startswith\("),
        "a task-name constant": re.compile(r"^[A-Z_]*TASK\s*=", re.MULTILINE),
    }
    assert any(p.name == "results.py" for p in files) and len(files) > 5
    for path in files:
        text = path.read_text()
        for what, pattern in forbidden.items():
            match = pattern.search(text)
            assert match is None, f"{path.name} has {what}: {match and match.group(0)!r}"


def test_a_failed_check_before_any_change_is_a_refusal_unless_the_playbook_judged_it() -> None:
    check = result(
        "failed", "source", "Check the input", action="ansible.builtin.assert",
        assertion="x == 1", evaluated_to=False, msg="x is not an input",
    )  # fmt: skip
    assert summarise([check], "failed").status == "refused"
    changed = result("ok", "source", "Install", changed=True)
    assert summarise([changed, check], "failed").status == "failed"
    judged = _stats_event({"vmrepl": {"verdict": "failed", "reason": {"source": "unhealthy"}}})
    assert summarise([check, judged], "failed").status == "failed"
