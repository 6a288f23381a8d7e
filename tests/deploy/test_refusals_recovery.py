"""The lab refusal catalogue's recovery half: recovery requests, argument-spec refusals and bad
VPG definitions refused on a deployed pair, each proved to have changed nothing at any site
and to have left its evidence (or, for argument-spec refusals, to be recorded by the run
only). The deployment half is tests/deploy/test_deploy_preflight.py."""

from __future__ import annotations

from typing import Any

import pytest

from tests.deploy.conftest import Lab, failure_messages, text_of
from tests.deploy.refusals import (
    VPG,
    evidence,
    recovery_run,
)

pytestmark = pytest.mark.lab


#: Recovery requests refused on a deployed pair: the playbook, its variables, what the
#: message names (the variable and the vmrepl flag the user set).
RECOVERY_REFUSALS: list[Any] = [
    pytest.param(
        "failover.yml",
        {"recovery_request_ref": "CHG1", "recovery_vpgs": [VPG]},
        ["confirm it explicitly", "recovery_confirm (vmrepl --yes)"],
        id="failover without confirmation",
    ),
    pytest.param(
        "failover_test.yml",
        {"recovery_vpgs": [VPG]},
        ["request reference", "recovery_request_ref", "vmrepl --request-ref"],
        id="no request reference",
    ),
    pytest.param(
        "failover_test.yml",
        {"recovery_request_ref": "CHG1", "recovery_vpgs": []},
        ["Name the VPGs", "recovery_vpgs", "vmrepl --vpg"],
        id="no VPGs",
    ),
    pytest.param(
        "failover_test.yml",
        {"recovery_request_ref": "CHG1", "recovery_vpgs": ["123456-7-nope"]},
        ["123456-7-nope", "not found"],
        id="unknown VPG",
    ),
    pytest.param(
        "failover_test.yml",
        {
            "recovery_request_ref": "CHG1",
            "recovery_vpgs": [VPG],
            "recovery_point_in_time": "2099-01-01T00:00:00Z",
        },
        ["recovery_point_in_time (vmrepl --point-in-time)", "in the future"],
        id="point in time in the future",
    ),
    pytest.param(
        "failover_test.yml",
        {
            "recovery_request_ref": "CHG1",
            "recovery_vpgs": [VPG],
            "recovery_point_in_time": "yesterday",
        },
        ["recovery_point_in_time (vmrepl --point-in-time)", "not an ISO 8601"],
        id="point in time garbage",
    ),
    pytest.param(
        "failover_test.yml",
        {"recovery_request_ref": "CHG1", "recovery_vpgs": [VPG], "recovery_test_network": "a/b"},
        ["recovery_test_network (vmrepl --test-network)", "'/'"],
        id="unsafe test network",
    ),
    pytest.param(
        "failover_test.yml",
        {
            "recovery_request_ref": "CHG1",
            "recovery_vpgs": [VPG],
            "recovery_test_network": "n" * 300,
        },
        ["recovery_test_network (vmrepl --test-network)", "300 characters"],
        id="300-character test network",
    ),
    pytest.param(
        "failover_test.yml",
        {"recovery_request_ref": "x" * 101, "recovery_vpgs": [VPG]},
        ["recovery_request_ref (vmrepl --request-ref)", "at most 100"],
        id="long request reference",
    ),
    pytest.param(
        "move.yml",
        {
            "recovery_request_ref": "CHG1",
            "recovery_vpgs": [VPG],
            "recovery_checkpoint_tag": " ",
        },
        ["recovery_checkpoint_tag (vmrepl --checkpoint-tag)"],
        id="blank checkpoint tag",
    ),
]


@pytest.mark.parametrize(("playbook", "extravars", "named"), RECOVERY_REFUSALS)
def test_a_refused_recovery_changes_nothing_and_leaves_its_evidence(
    paired: Lab, playbook: str, extravars: dict[str, Any], named: list[str]
) -> None:
    reports_before, audit_before = evidence(paired)
    result = recovery_run(paired, playbook, **extravars)
    messages = " ".join(failure_messages(result))
    for text in named:
        assert text in messages, messages
    reports, audit = evidence(paired)
    [report] = reports[len(reports_before) :]
    [line] = audit[len(audit_before) :]
    assert report["result"] == "refused", report
    assert line["result"].startswith("refused: ") and named[-1] in line["result"], line


#: Values that the recovery role's argument spec refuses: Ansible's validate_argument_spec, the
#: role's implicit first task, before any task of the role.
ARGUMENT_SPEC_REFUSALS: list[Any] = [
    pytest.param(
        "failover_test.yml",
        {"recovery_commit_policy": "sometimes"},
        "recovery_commit_policy",
        id="commit policy not a choice",
    ),
    pytest.param(
        "failover.yml",
        {"recovery_confirm": True, "recovery_concurrency": "many"},
        "recovery_concurrency",
        id="concurrency not a number",
    ),
    pytest.param(
        "move.yml",
        {"recovery_shutdown_policy": "pull-the-plug"},
        "recovery_shutdown_policy",
        id="shutdown policy not a choice",
    ),
]


@pytest.mark.parametrize(("playbook", "extravars", "named"), ARGUMENT_SPEC_REFUSALS)
def test_an_argument_spec_refusal_changes_nothing_and_is_recorded_by_the_run_only(
    paired: Lab, playbook: str, extravars: dict[str, Any], named: str
) -> None:
    """Refused (exit 2) naming the variable, nothing changed. The role has not started (its
    argument spec is Ansible's implicit first task), so it writes no report and no audit line,
    unlike the refusals above: the run's own record, ansible-runner's events in its artifacts
    (the job in Automation Platform), holds it."""
    reports_before, audit_before = evidence(paired)
    result = recovery_run(
        paired, playbook, recovery_request_ref="CHG1", recovery_vpgs=[VPG], **extravars
    )
    messages = " ".join(failure_messages(result))
    assert named in messages, messages
    failed = [e for e in result.events if e.get("event") == "runner_on_failed"]
    assert {str(e["event_data"].get("task_action")) for e in failed} == {
        "ansible.builtin.validate_argument_spec"
    }
    assert evidence(paired) == (reports_before, audit_before)
    assert named in text_of(result)  # the run's artifacts


@pytest.mark.parametrize(
    ("extravars", "named"),
    [
        pytest.param(
            {
                "vpg_definitions": [
                    {"name": VPG, "vms": ["DC0_C0_RP0_VM0"], "journal_history_hour": 1}
                ]
            },
            "journal_history_hour",
            id="misspelled key",
        ),
        pytest.param(
            {"vpg_definitions": [{"name": "a/b", "vms": ["DC0_C0_RP0_VM0"]}]},
            "'/'",
            id="unsafe name",
        ),
        pytest.param(
            {
                "vpg_definitions": [
                    {"name": "123456-7-app", "vms": ["DC0_C0_RP0_VM0"]},
                    {"name": "123456-7-app", "vms": ["DC0_C0_RP0_VM1"]},
                ]
            },
            "defined twice",
            id="duplicate names",
        ),
        pytest.param(
            {
                "vpg_definitions": [
                    {"name": VPG, "vms": ["DC0_C0_RP0_VM0"], "journal_history_hours": 721}
                ]
            },
            "journal_history_hours must be 1 to 720",
            id="history out of range",
        ),
    ],
)
def test_bad_vpg_definitions_change_nothing_and_leave_an_audit_line(
    paired: Lab, extravars: dict[str, Any], named: str
) -> None:
    _, audit_before = evidence(paired)
    result = recovery_run(paired, "vpg.yml", vpg_request_ref="CHG1", **extravars)
    messages = " ".join(failure_messages(result))
    assert named in messages, messages
    _, audit = evidence(paired)
    assert audit[len(audit_before) :], "no audit line"
    assert all(line["result"].startswith("refused: ") for line in audit[len(audit_before) :])
