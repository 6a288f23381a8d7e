"""The vmrepl command's verdict when a site cannot be reached: a failure (exit 1), not a
refusal (exit 2), unless the run was refused before. Synthetic ansible-runner events; a
refusal is what the playbook reported through set_stats (the stats event's artifact_data)."""

from __future__ import annotations

from typing import Any

from vmrepl.results import EXIT_CODES, final_verdict, summarise, unreachable_first


def task(name: str, role: str = "", action: str = "ansible.builtin.debug") -> dict[str, Any]:
    return {
        "event": "playbook_on_task_start",
        "event_data": {"task": name, "role": role, "task_action": action},
    }


def result(kind: str, host: str, name: str, role: str = "", action: str = "", **res: Any):
    return {
        "event": f"runner_on_{kind}",
        "event_data": {"host": host, "task": name, "role": role, "task_action": action, "res": res},
    }


def refused(**reason: str) -> dict[str, Any]:
    """The stats event of a run whose playbook reported a refusal (site → reason)."""
    data = {"vmrepl": {"verdict": "refused", "reason": reason}}
    return {"event": "playbook_on_stats", "event_data": {"artifact_data": data}}


def verdict(events: list[dict[str, Any]]) -> tuple[str, str, int]:
    summary = summarise(events, "failed")
    status, reason = final_verdict(summary, events)
    return status, reason, EXIT_CODES[status]


LOGIN = ("Log in to the ZVM", "preflight", "vmrepl.core.zvm_info")
UNREACHABLE_ZVM = {
    "msg": "ZVM https://zvm-b.example is not reachable: connection refused.",
    "error": "ConnectionFailed",
}


def test_a_zvm_that_cannot_be_reached_in_preflight_fails_the_run() -> None:
    events = [
        task(*LOGIN),
        result("ok", "source", *LOGIN),
        result("failed", "target", *LOGIN, **UNREACHABLE_ZVM),
        refused(target=UNREACHABLE_ZVM["msg"]),  # preflight reports every failure as refused
    ]
    assert summarise(events, "failed").status == "refused"  # what the summary alone says
    status, reason, code = verdict(events)
    assert (status, code) == ("failed", 1)
    assert "could not be reached" in reason and "target" in reason and "zvm-b" in reason


def test_a_host_ansible_cannot_reach_and_a_port_check_that_times_out_fail() -> None:
    unreachable = [task("Read", "preflight"), result("unreachable", "target", "Read", "preflight")]
    assert verdict(unreachable)[2] == 1
    ports = ("Check that the controller reaches the site's vCenter and ZVM", "site_network")
    timeout = [
        task(*ports, "ansible.builtin.wait_for"),
        result(
            "failed",
            "target",
            *ports,
            "ansible.builtin.wait_for",
            msg="Timeout when waiting for 10.0.0.9:443",
            elapsed=10,
        ),
        refused(target="the site is not ready"),
    ]
    assert verdict(timeout)[:1] == ("failed",)


def test_a_refusal_before_the_site_was_unreachable_stays_a_refusal() -> None:
    refuse = ("Refuse empty values of required inputs", "preflight", "ansible.builtin.assert")
    events = [
        task(*refuse),
        result("failed", "source", *refuse, msg="vmrepl_account_id is required"),
        task(*LOGIN),
        result("failed", "target", *LOGIN, **UNREACHABLE_ZVM),
        refused(source="vmrepl_account_id is required"),
    ]
    assert unreachable_first(events) is None
    assert verdict(events)[2] == 2


def test_other_refusals_and_successes_are_unchanged() -> None:
    refuse = ("Check the edition", "preflight", "ansible.builtin.assert")
    events = [task(*refuse), result("failed", "source", *refuse, msg="local edition")]
    assert verdict([*events, refused(source="local edition")])[2] == 2
    stopped = verdict([result("failed", "source", "Stop", msg="x"), refused(source="y")])
    assert stopped == ("refused", "Refused before any change. source: y", 2)
    ok = summarise([result("ok", "source", "A")], "successful")
    assert final_verdict(ok, []) == ("successful", "")


def test_an_ignored_connection_failure_is_not_the_first_failure() -> None:
    ignored = result("failed", "target", *LOGIN, **UNREACHABLE_ZVM)
    ignored["event_data"]["ignore_errors"] = True
    refuse = ("Refuse a site with no customer-dedicated host", "preflight", "assert")
    events = [ignored, task(*refuse), result("failed", "source", *refuse, msg="no host")]
    assert verdict([*events, refused(source="no host")])[2] == 2
