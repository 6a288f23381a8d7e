"""Testing and recovery rules: editions, the request, checkpoints and RPO, health, the checks
of a recovered VM and which VM it is, joining the sites' answers, the hand-off checklist."""

from __future__ import annotations

import pytest

from ansible_collections.vmrepl.core.plugins.filter.recovery_refusal import recovery_refusal
from ansible_collections.vmrepl.core.plugins.module_utils.clients.errors import Refused
from ansible_collections.vmrepl.core.plugins.module_utils.recovery.rules import (
    Point,
    check_vm,
    choose_checkpoint,
    failed_checks,
    handoff_checklist,
    health_problem,
    merge_results,
    needs_confirmation,
    operation_running,
    pick_recovered,
    refusal,
    rpo_at_start,
    status_text,
)

CHECKPOINTS = [
    {"CheckpointIdentifier": "3", "TimeStamp": "2024-05-14T09:00:20.000Z", "Tag": None},
    {"CheckpointIdentifier": "1", "TimeStamp": "2024-05-14T09:00:00.000Z", "Tag": None},
    {"CheckpointIdentifier": "2", "TimeStamp": "2024-05-14T09:00:10.000Z", "Tag": "before-patch"},
    {"CheckpointIdentifier": "4", "TimeStamp": "2024-05-14T09:00:30.000Z", "Tag": None},
]


# -- the request --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("operation", "edition"),
    [
        ("local_recovery", "remote"),
        ("failover", "local"),
        ("move", "local"),
        ("failback", "local"),
    ],
)
def test_operations_not_applicable_to_the_edition_are_refused(operation: str, edition: str) -> None:
    reason = refusal(operation, edition, "CHG1", ["vpg"], confirmed=True)
    assert reason is not None
    assert f"not applicable to the {edition} edition" in reason
    assert "Nothing was done" in reason


@pytest.mark.parametrize(
    ("operation", "edition"),
    [
        ("failover_test", "local"),
        ("failover_test", "remote"),
        ("local_recovery", "local"),
        ("failover", "remote"),
        ("move", "remote"),
        ("failback", "remote"),
    ],
)
def test_applicable_operations_with_a_request_reference_go_ahead(
    operation: str, edition: str
) -> None:
    assert refusal(operation, edition, "CHG1", ["vpg"], confirmed=True) is None


@pytest.mark.parametrize("ref", [None, "", "   "])
def test_a_request_reference_is_required(ref: str | None) -> None:
    reason = refusal("failover_test", "remote", ref, ["vpg"])
    assert reason is not None and "request reference" in reason and "request_ref" in reason


def test_the_edition_is_checked_before_the_request_reference() -> None:
    reason = refusal("local_recovery", "remote", "", ["vpg"])
    assert reason is not None and "not applicable" in reason


def test_vpgs_must_be_named() -> None:
    reason = refusal("move", "remote", "CHG1", ["", " "])
    assert reason is not None and "Name the VPGs" in reason


def test_a_failover_and_a_local_recovery_in_place_need_confirmation() -> None:
    assert needs_confirmation("failover")
    assert needs_confirmation("local_recovery", "in_place")
    assert not needs_confirmation("local_recovery", "new_vms")
    assert not needs_confirmation("move")
    reason = refusal("failover", "remote", "CHG1", ["vpg"], confirmed=False)
    assert reason is not None and "confirm" in reason
    assert refusal("local_recovery", "local", "CHG1", ["vpg"], False, "new_vms") is None


def test_unknown_operations_and_local_modes_are_refused() -> None:
    assert "Unknown operation" in (refusal("explode", "remote", "CHG1", ["v"]) or "")
    assert "local_mode" in (refusal("local_recovery", "local", "C", ["v"], True, "sideways") or "")


def test_the_filter_applies_the_same_rules() -> None:
    assert recovery_refusal("failover", "local", "CHG1", ["v"], True) == refusal(
        "failover", "local", "CHG1", ["v"], True
    )
    assert recovery_refusal("move", "remote", "CHG1", "single-vpg") == ""


# -- checkpoints and RPO ------------------------------------------------------------------
def test_the_latest_checkpoint_by_default() -> None:
    point = choose_checkpoint(CHECKPOINTS)
    assert (point.identifier, point.chosen_by) == ("4", "latest")


def test_the_latest_checkpoint_with_a_tag() -> None:
    point = choose_checkpoint(CHECKPOINTS, tag="before-patch")
    assert (point.identifier, point.tag) == ("2", "before-patch")


def test_a_missing_tag_is_refused_naming_the_tags_there_are() -> None:
    with pytest.raises(Refused, match="before-patch"):
        choose_checkpoint(CHECKPOINTS, tag="after-patch")


def test_a_point_in_time_takes_the_latest_checkpoint_at_or_before_it() -> None:
    assert choose_checkpoint(CHECKPOINTS, point_in_time="2024-05-14T09:00:15Z").identifier == "2"
    assert choose_checkpoint(CHECKPOINTS, point_in_time="2024-05-14T09:00:20Z").identifier == "3"
    # naive times are UTC
    assert choose_checkpoint(CHECKPOINTS, point_in_time="2024-05-14T09:00:05").identifier == "1"


def test_a_point_in_time_before_the_journal_is_refused() -> None:
    with pytest.raises(Refused, match="earliest in the journal is 2024-05-14T09:00:00"):
        choose_checkpoint(CHECKPOINTS, point_in_time="2024-05-14T08:00:00Z")


def test_an_empty_journal_is_refused() -> None:
    with pytest.raises(Refused, match="no checkpoint"):
        choose_checkpoint([])


def test_rpo_adds_the_age_of_an_older_checkpoint_to_the_actual_rpo() -> None:
    latest = choose_checkpoint(CHECKPOINTS)
    older = choose_checkpoint(CHECKPOINTS, tag="before-patch")
    assert rpo_at_start(4, CHECKPOINTS, latest) == 4
    assert rpo_at_start(4, CHECKPOINTS, older) == 24
    assert rpo_at_start(7, [], Point(None, None, "t", "tagged")) == 7
    assert rpo_at_start(None, CHECKPOINTS, latest) is None


# -- VPG state ----------------------------------------------------------------------------
def test_health_and_status_text() -> None:
    healthy = {"Status": 1, "StatusDescription": "MeetingSLA", "SubStatusDescription": "None"}
    cut = {"Status": 2, "SubStatus": 24, "SubStatusDescription": "DisconnectedFromPeer"}
    assert health_problem(healthy) is None
    assert status_text(healthy) == "MeetingSLA"
    assert status_text(cut) == "NotMeetingSLA (DisconnectedFromPeer)"
    problem = health_problem(cut)
    assert problem is not None and "peer site cannot be reached" in problem
    assert "RpoNotMeetingSLA" in (health_problem({"Status": 3}) or "")


def test_operations_in_progress_are_recognised() -> None:
    assert operation_running({"Status": 5}) == "failover"
    assert operation_running({"Status": 6}) == "move"
    running = {"Status": 1, "ActiveProcessesApi": {"RunningFailOverTestApi": {"Stage": "Running"}}}
    assert operation_running(running) == "failover test (Running)"
    assert operation_running({"Status": 1, "ActiveProcessesApi": {}}) is None


# -- recovered VMs ------------------------------------------------------------------------
def facts(name: str, moid: str, power: str = "poweredOn", **extra: object) -> dict:
    return {
        "name": name,
        "moid": moid,
        "power_state": power,
        "host": "esx1",
        "tools_status": None,
        "tools_running": "guestToolsNotRunning",
        "ip": None,
        "networks": ["bubble"],
        **extra,
    }


def test_a_test_vm_is_found_by_its_unique_name() -> None:
    found = [facts("app - testing recovery", "vm-9"), facts("app", "vm-1")]
    assert pick_recovered("app - testing recovery", found, None)["moid"] == "vm-9"  # type: ignore[index]
    assert pick_recovered("db - testing recovery", found, None) is None


def test_a_recovered_vm_is_the_new_one_not_the_one_that_ran_there_before() -> None:
    before = {"vm-1": "poweredOn"}  # the recovery site's own VM of the same name
    found = [facts("app", "vm-1"), facts("app", "vm-7")]
    assert pick_recovered("app", found, before)["moid"] == "vm-7"  # type: ignore[index]


def test_a_replica_reused_by_a_move_back_is_the_one_that_was_off() -> None:
    before = {"vm-1": "poweredOff", "vm-2": "poweredOn"}
    found = [facts("app", "vm-2"), facts("app", "vm-1")]
    assert pick_recovered("app", found, before)["moid"] == "vm-1"  # type: ignore[index]
    # nothing new, nothing that was off: not recovered
    assert pick_recovered("app", [facts("app", "vm-2")], {"vm-2": "poweredOn"}) is None


def test_a_vm_without_tools_passes_on_power_and_network() -> None:
    vm = check_vm("app - testing recovery", facts("app - testing recovery", "vm-9"), ["bubble"])
    assert vm["ok"] and vm["up"]
    results = {c["check"]: c["result"] for c in vm["checks"]}
    assert results == {
        "powered_on": "passed",
        "tools": "not_available",
        "address": "not_available",
        "network": "passed",
    }


def test_a_powered_off_vm_fails_and_says_so() -> None:
    vm = check_vm("app", facts("app", "vm-9", power="poweredOff"), ["bubble"])
    assert not vm["ok"] and not vm["up"]
    assert failed_checks(vm) == ["app: not powered on (poweredOff)"]


def test_tools_and_address_are_checked_where_tools_are_installed() -> None:
    running = facts("app", "vm-9", tools_status="toolsOk", tools_running="guestToolsRunning")
    assert not check_vm("app", running, ["bubble"])["up"]  # no address yet
    with_ip = {**running, "ip": "10.0.0.5"}
    assert check_vm("app", with_ip, ["bubble"])["ok"]
    stopped = {**running, "tools_running": "guestToolsNotRunning"}
    assert "VMware Tools not running" in " ".join(failed_checks(check_vm("app", stopped, ["b"])))


def test_a_vm_on_another_network_than_the_test_network_fails() -> None:
    leaky = facts("app", "vm-9", networks=["bubble", "prod"])
    vm = check_vm("app", leaky, ["bubble"])
    assert not vm["ok"] and vm["up"]  # up, but not isolated
    assert "on bubble, prod; expected bubble only" in failed_checks(vm)[0]


def test_a_missing_vm_fails() -> None:
    vm = check_vm("app", None, ["bubble"])
    assert not vm["ok"] and failed_checks(vm) == ["app: no VM named app at the recovery site"]


# -- joining the sites' answers, the checklist ---------------------------------------------
def test_the_site_that_acted_wins() -> None:
    source = [{"vpg": "a", "status": "skipped"}, {"vpg": "b", "status": "not_found"}]
    target = [{"vpg": "a", "status": "succeeded"}, {"vpg": "b", "status": "not_found"}]
    merged = {r["vpg"]: r["status"] for r in merge_results([source, target])}
    assert merged == {"a": "succeeded", "b": "not_found"}
    merged = {r["vpg"]: r["status"] for r in merge_results([target[::-1], source])}
    assert merged == {"a": "succeeded", "b": "not_found"}
    assert (
        merge_results([[{"vpg": "c", "status": "unchanged"}], [{"vpg": "c", "status": "skipped"}]])[
            0
        ]["status"]
        == "unchanged"
    )


def test_the_customer_checklist_names_the_vms_and_is_never_done_by_the_provider() -> None:
    result = {
        "status": "succeeded",
        "vms": [{"name": "app", "source": "app"}],
        "commit": "committed",
    }
    items = handoff_checklist("move", result)
    assert [i["owner"] for i in items] == ["customer", "customer"]
    assert all(i["status"] == "open" for i in items)
    assert "database and application recovery on app" in items[0]["task"]
    assert "Validate that app operate" in items[1]["task"]
    test_items = handoff_checklist("failover_test", result)
    assert "Review the test of app" in test_items[0]["task"]
    assert handoff_checklist("move", {"status": "skipped"}) == []
    pending = handoff_checklist(
        "failover", {**result, "commit": "left before commit", "reverse_protection": False}
    )
    assert any("commit or roll back" in i["task"] for i in pending)
    assert any("protect the VMs again" in i["task"] for i in pending)
