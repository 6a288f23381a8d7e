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


def test_a_failure_in_preflight_is_a_refusal() -> None:
    events = [
        task("Log in to the ZVM", "preflight", "vmrepl.core.zvm_info"),
        result(
            "failed",
            "source",
            "Log in to the ZVM",
            "preflight",
            "vmrepl.core.zvm_info",
            msg="Refused: wrong password",
        ),
    ]
    summary = summarise(events, "failed")
    assert summary.status == "refused" and summary.exit_code == 2
    assert "wrong password" in summary.reason


def test_a_failure_while_preflight_plans_in_check_mode_is_a_refusal() -> None:
    events = [
        task("Plan every change", "preflight", "ansible.builtin.include_role"),
        task("Install a VRA", "vra", "vmrepl.core.vra"),
        result("failed", "source", "Install a VRA", "vra", "vmrepl.core.vra", msg="bad pool"),
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


def test_a_refusing_assert_outside_preflight_is_a_refusal_unless_something_changed() -> None:
    refuse = [
        task("Refuse a failover without a request reference", "failover", "ansible.builtin.assert"),
        result(
            "failed",
            "source",
            "Refuse a failover without a request reference",
            "failover",
            "ansible.builtin.assert",
            msg="Give request_ref",
        ),
    ]
    assert summarise(refuse, "failed").status == "refused"
    changed_first = [result("ok", "source", "Change", changed=True), *refuse]
    assert summarise(changed_first, "failed").status == "failed"


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


def test_a_role_that_fails_after_noting_a_refusal_is_a_refusal() -> None:
    events = [
        result(
            "failed",
            "source",
            "Refuse a customisation without the request",
            "vpg",
            "ansible.builtin.assert",
            msg="give the request reference",
        ),
        result("ok", "source", "Append the run to the audit log", "vpg", "vmrepl.core.audit_log"),
        result(
            "failed",
            "source",
            "Fail the run that was refused or failed",
            "vpg",
            "ansible.builtin.fail",
            msg="refused: give the request reference",
        ),
    ]
    assert summarise(events, "failed").status == "refused"
    events[-1]["event_data"]["res"]["msg"] = "Failover test refused: no request reference"
    assert summarise(events, "failed").status == "refused"
    events[-1]["event_data"]["res"]["msg"] = "failed: the commit did not finish"
    assert summarise(events, "failed").status == "failed"


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


def test_a_run_that_reports_itself_incomplete_is_incomplete_with_what_is_left() -> None:
    left = {"source": {"hosts": {"esx2": "in maintenance mode"}, "vms": {}}}
    events = [
        {
            "event": "runner_on_ok",
            "event_data": {"host": "source", "task": "x", "res": {"changed": True}},
        },
        _failed(
            "source",
            "incomplete: everything else is done at source, but host esx2 is in maintenance mode.",
        ),
        _stats_event({"vmrepl": {"verdict": "incomplete", "left": left}}),
    ]
    summary = summarise(events, "failed")
    assert summary.status == "incomplete" and summary.exit_code == 3
    assert "host esx2 is in maintenance mode" in summary.reason
    assert summary.as_dict()["left"] == left


def test_an_incomplete_run_with_another_failure_is_failed() -> None:
    events = [
        {
            "event": "runner_on_failed",
            "event_data": {"host": "target", "task": "y", "res": {"msg": "boom"}},
        },
        _failed("source", "incomplete: everything else is done at source, but ..."),
        _stats_event({"vmrepl": {"verdict": "incomplete", "left": {}}}),
    ]
    assert summarise(events, "failed").status == "failed"


def test_an_incomplete_message_without_the_reported_verdict_is_not_enough() -> None:
    events = [_failed("source", "incomplete: said by some other task")]
    assert summarise(events, "failed").status == "failed"
