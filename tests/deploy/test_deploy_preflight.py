"""Preflight refuses bad input before anything changes, names the field, and skips hosts that
cannot take a VRA now (picked up by a later run).

Every refused run is proved to have changed nothing at any site: the whole lab (each vCenter's
VMs, folders, networks and port groups, resource pools, custom attributes and tags; each ZVM's
VPGs, VRAs, peers, licence, settings objects and tasks) is read before and after the run
(tests/support/lab_snapshot.py). The refusals run on a bare pair (nothing deployed yet) and on
a pair that is deployed, paired and protecting its VMs, where a bad input meets everything a
run could change."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from pyVmomi import vim

from ansible_collections.vmrepl.core.plugins.module_utils.clients.zvm import json_field
from tests.deploy.conftest import Lab, failure_messages, start_lab, text_of
from tests.support.lab_snapshot import differences, lab_snapshot
from vmrepl.lab import manager
from vmrepl.lab.vcsim import REPO_ROOT
from vmrepl.results import EXIT_CODES, summarise
from vmrepl.runner import RunResult

pytestmark = pytest.mark.lab

LAB_VMS = {"DC0_C0_RP0_VM0", "DC0_C0_RP0_VM1"}
VPG = "100001-7-default"
LAB_INVENTORY = REPO_ROOT / "inventories" / "lab"
#: Quick enough for the lab, never asserted as wall times.
FAST = {"recovery_poll_interval": 0.2, "recovery_boot_timeout": 20, "recovery_sync_timeout": 60}


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """A bare pair: no ZVM answers until a deployment has deployed its appliance."""
    directory = tmp_path_factory.mktemp("preflight-lab")
    started = start_lab(directory)
    try:
        yield started
    finally:
        manager.down(directory)


@pytest.fixture(scope="module")
def paired(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """A pair deployed by deploy_remote.yml: VRAs, pairing, the default VPG protecting the
    customer's VMs."""
    directory = tmp_path_factory.mktemp("paired-lab")
    started = start_lab(directory, deployed=True)
    try:
        deployed = started.run("deploy_remote.yml")
        assert deployed.status == "successful", failure_messages(deployed)
        yield started
    finally:
        manager.down(directory)


def refused_run(lab: Lab, playbook: str, **kwargs: Any) -> RunResult:
    """Run a playbook that must be refused; assert that it was (exit 2) and that nothing
    changed at any site of the lab."""
    before = lab_snapshot(lab)
    result = lab.run(playbook, **kwargs)
    after = lab_snapshot(lab)
    assert result.status == "failed"
    assert result.count("changed") == 0
    summary = summarise(result.events, result.status)
    assert (summary.status, summary.exit_code) == ("refused", EXIT_CODES["refused"]), summary.reason
    assert differences(before, after) == []
    return result


def evidence(lab: Lab) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The recovery reports (oldest first) and the audit lines of the lab's runs."""
    folder = lab.directory / "reports"
    reports = [
        json.loads(p.read_text())
        for p in sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime)
    ]
    audit = lab.directory / "audit.jsonl"
    lines = audit.read_text().splitlines() if audit.exists() else []
    return reports, [json.loads(line) for line in lines if line.strip()]


def recovery_run(lab: Lab, playbook: str, **extravars: Any) -> RunResult:
    env = {"VMREPL_AUDIT_LOG": str(lab.directory / "audit.jsonl")}
    return refused_run(lab, playbook, extravars={**FAST, **extravars}, envvars=env)


def test_the_snapshot_sees_what_a_run_could_leave_behind(paired: Lab) -> None:
    """The proof above is only as good as the snapshot: a port group added to a host, a custom
    attribute defined and an open vpgSettings object are each seen, and gone once undone. (Not
    a VM's custom value: vcsim keeps it when its attribute is removed, so it cannot be
    undone here.)"""
    before = lab_snapshot(paired)
    with paired.vcenter("target") as vc:
        host = vc.find_by_name(vim.HostSystem, "DC0_C0_H1").ref
        vc.ensure_host_portgroup(host, "snapshot-probe")
        vc.ensure_custom_field("snapshot-probe", vim.VirtualMachine)
    with paired.zvm("source") as zvm:
        vpg_id = str(json_field(zvm.vpgs()[0], "VpgIdentifier"))
        settings = zvm.vpg_settings_create(vpg_id)
    try:
        found = "\n".join(differences(before, lab_snapshot(paired)))
    finally:
        with paired.zvm("source") as zvm:
            zvm.vpg_settings_delete(settings)
        with paired.vcenter("target") as vc:
            host = vc.find_by_name(vim.HostSystem, "DC0_C0_H1").ref
            host.configManager.networkSystem.RemovePortGroup(pgName="snapshot-probe")
            fields = vc.content.customFieldsManager
            [key] = [f.key for f in fields.field if f.name == "snapshot-probe"]
            fields.RemoveCustomFieldDef(key=key)
    assert "/target/vcenter/hosts/DC0_C0_H1/portgroups" in found, found
    assert "/target/vcenter/networks" in found, found
    assert "/target/vcenter/custom_attributes" in found, found
    assert f"/source/zvm/vpg_settings/{settings}: added" in found, found
    assert differences(before, lab_snapshot(paired)) == []


@pytest.fixture(params=["bare", "paired"])
def site_pair(request: pytest.FixtureRequest) -> Lab:
    """Each deployment refusal meets both: a bare pair and a deployed one."""
    return request.getfixturevalue("lab" if request.param == "bare" else "paired")


POOL_BACKWARDS = {
    "start": "10.10.1.50",
    "end": "10.10.1.20",
    "subnet_mask": "255.255.255.0",
    "gateway": "10.10.1.1",
}
POOL_OF_THE_OTHER_SITE = {
    "start": "10.20.1.11",
    "end": "10.20.1.42",
    "subnet_mask": "255.255.255.0",
    "gateway": "10.20.1.1",
}


@pytest.mark.parametrize(
    ("extravars", "named"),
    [
        pytest.param({"vra_datastore": None}, "vra_datastore", id="missing required input"),
        pytest.param({"vra_ip_pool": POOL_BACKWARDS}, "is after end", id="pool backwards"),
        pytest.param(
            {"preflight_min_free_percent": 100}, "at least 100%", id="datastore short of space"
        ),
        pytest.param({"vra_memory_gb": 32}, "vra_memory_gb is 32", id="vra_memory_gb"),
        pytest.param({"vra_cpus": 0}, "vra_cpus is 0", id="vra_cpus"),
        pytest.param(
            {"default_vpg_journal_history_days": 45},
            "default_vpg_journal_history_days is 45",
            id="history days",
        ),
        pytest.param(
            {"default_vpg_recovery_host": "DC0_C0_H0"}, "(now both)", id="host and cluster"
        ),
        pytest.param(
            {"default_vpg_vms": [], "default_vpg_vm_folder": ""},
            "the default VPG has no VMs",
            id="no VMs",
        ),
        pytest.param({"vmrepl_account_id": ""}, "vmrepl_account_id", id="no account"),
        pytest.param(
            {"vra_ip_pool": POOL_OF_THE_OTHER_SITE},
            "share addresses from 10.20.1.11",
            id="pools overlap across sites",
        ),
        pytest.param(
            {"vmrepl_vcenter_ca_file": "/nonexistent/ca.pem"},
            "vmrepl_vcenter_ca_file of",
            id="CA file missing",
        ),
        pytest.param(
            {"default_vpg_recovery_cluster": "DR_NOPE"},
            "default_vpg_recovery_cluster DR_NOPE is",
            id="recovery cluster unknown",
        ),
        pytest.param(
            {"default_vpg_test_network": "bubble-nope"},
            "default_vpg_test_network bubble-nope is",
            id="test network unknown",
        ),
        pytest.param(
            {"default_vpg_failover_network": "prod-nope"},
            "default_vpg_failover_network prod-nope",
            id="failover network unknown",
        ),
    ],
)
def test_bad_input_is_refused_naming_the_variable_before_any_change(
    site_pair: Lab, extravars: dict[str, object], named: str
) -> None:
    result = refused_run(site_pair, "deploy_remote.yml", extravars=extravars)
    messages = " ".join(failure_messages(result))
    assert named in messages, messages


def inventory_with(lab: Lab, folder: Path, site: str, **wrong: Any) -> str:
    """The lab's inventory, with ``wrong`` values for one site only (its host variables)."""
    folder.mkdir()
    (folder / "lab.vmrepl.yml").write_text((LAB_INVENTORY / "lab.vmrepl.yml").read_text())
    (folder / "group_vars").symlink_to(LAB_INVENTORY / "group_vars")
    (folder / "host_vars").mkdir()
    for name in ("source", "target"):
        values = yaml.safe_load((LAB_INVENTORY / "host_vars" / f"{name}.yml").read_text())
        values |= wrong if name == site else {}
        (folder / "host_vars" / f"{name}.yml").write_text(yaml.safe_dump(values))
    return str(folder)


@pytest.mark.parametrize(
    ("wrong", "named"),
    [
        pytest.param(
            {"vmrepl_vcenter_password": "not-the-password"},
            "refused the login",
            id="vCenter password",
        ),
        pytest.param({"vra_ip_pool": POOL_BACKWARDS}, "is after end", id="address pool"),
        pytest.param({"vra_cpus": 0}, "vra_cpus is 0", id="VRA size"),
    ],
)
def test_bad_input_at_the_target_only_stops_both_sites_before_any_change(
    site_pair: Lab, tmp_path: Path, wrong: dict[str, Any], named: str
) -> None:
    """The source is fine and would deploy; the target's inventory holds the bad value: the
    pair is planned as a whole, and neither site changes."""
    where = inventory_with(site_pair, tmp_path / "inventory", "target", **wrong)
    before = lab_snapshot(site_pair)
    result = site_pair.run("deploy_remote.yml", inventory=where)
    assert differences(before, lab_snapshot(site_pair)) == []
    assert result.status == "failed" and result.count("changed") == 0
    summary = summarise(result.events, result.status)
    assert (summary.status, summary.exit_code) == ("refused", 2), summary.reason
    messages = " ".join(failure_messages(result))
    assert named in messages, messages
    failed = {
        e["event_data"]["host"] for e in result.events if e.get("event") == "runner_on_failed"
    }
    assert "target" in failed, failed


def test_the_wrong_edition_is_refused(site_pair: Lab) -> None:
    result = refused_run(site_pair, "deploy_local.yml")
    messages = " ".join(failure_messages(result))
    assert "remote edition" in messages and "local edition" in messages, messages


@pytest.mark.parametrize(
    ("playbook", "extravars"),
    [
        ("deploy_local.yml", {"vmrepl_playbook_edition": "remote"}),
        ("failover_test.yml", {"recovery_operation": "failover", "recovery_confirm": True}),
        ("failover.yml", {"recovery_operation": "failover_test"}),
        ("move.yml", {"recovery_operation": "failback"}),
        ("failback.yml", {"recovery_operation": "move"}),
        ("local_recovery.yml", {"recovery_operation": "failover"}),
    ],
)
def test_what_a_playbook_decides_is_not_an_input(
    paired: Lab, playbook: str, extravars: dict[str, object]
) -> None:
    """On a deployed pair, where the overridden operation could really run."""
    result = refused_run(
        paired,
        playbook,
        extravars={"recovery_request_ref": "CHG1", "recovery_vpgs": [VPG], **extravars},
    )
    [name] = [k for k in extravars if k != "recovery_confirm"]
    messages = failure_messages(result)
    assert len(messages) == 2, messages  # each site, before any role runs
    for message in messages:
        assert message.startswith("refused: ") and f"remove -e {name}" in message, message


@pytest.mark.parametrize("playbook", ["deploy_local.yml", "failover_test.yml", "move.yml"])
def test_without_such_variables_the_check_lets_the_playbook_run(lab: Lab, playbook: str) -> None:
    """The other side of the test above: the check is not what stops these runs (they fail
    later, for reasons of their own on this bare lab)."""
    result = lab.run(playbook, extravars={"recovery_request_ref": "CHG1"})
    assert not any("is not an input" in m for m in failure_messages(result))
    started = {
        str(e["event_data"].get("role") or "")
        for e in result.events
        if e.get("event") == "playbook_on_task_start"
    }
    assert any(role.endswith(("preflight", "recovery")) for role in started), started


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


def test_a_host_in_maintenance_mode_is_skipped_then_picked_up(lab: Lab) -> None:
    with lab.vcenter("source") as vc:
        host = vc.find_by_name(vim.HostSystem, "DC0_C0_H1").ref
        vc.wait_for_task(host.EnterMaintenanceMode_Task(timeout=0))
    vms_on_h1 = [vm["name"] for vm in lab.vms("source") if vm["host"] == "DC0_C0_H1"]
    assert vms_on_h1  # vcsim does not move VMs off a host entering maintenance mode

    result = lab.run("deploy_remote.yml")
    # The last result per site is the real run (the first is preflight's plan).
    vra = {e["host"]: e["res"] for e in result.results("Install a VRA") if "res" in e}
    assert vra["source"]["skipped_hosts"] == {"DC0_C0_H1": "in maintenance mode"}
    assert Counter(v["host"] for v in lab.vms("source") if v["name"].startswith("Z-VRA-")) == {
        "DC0_C0_H0": 1
    }
    # Everything else is done: the VMs that can be protected are; those on DC0_C0_H1 wait
    # for a later run, and the run ends as incomplete, naming them.
    assert result.status == "failed"  # as ansible-runner sees it
    summary = summarise(result.events, result.status)
    assert summary.status == "incomplete", summary.reason
    assert summary.reported["left"]["source"]["hosts"] == {"DC0_C0_H1": "in maintenance mode"}
    assert sorted(summary.reported["left"]["source"]["vms"]) == sorted(vms_on_h1)
    messages = " ".join(failure_messages(result))
    assert (
        messages.startswith("incomplete: ") and "host DC0_C0_H1 is in maintenance mode" in messages
    )
    assert f"VM {vms_on_h1[0]} runs on host DC0_C0_H1, in maintenance mode" in messages, messages
    others = sorted(LAB_VMS - set(vms_on_h1))
    with lab.zvm("source") as zvm:
        protected = sorted(str(json_field(v, "VmName")) for v in zvm.vms())
    assert protected == others

    with lab.vcenter("source") as vc:
        host = vc.find_by_name(vim.HostSystem, "DC0_C0_H1").ref
        vc.wait_for_task(host.ExitMaintenanceMode_Task(timeout=0))
    again = lab.run("deploy_remote.yml")
    assert again.status == "successful", failure_messages(again)
    assert Counter(v["host"] for v in lab.vms("source") if v["name"].startswith("Z-VRA-")) == {
        "DC0_C0_H0": 1,
        "DC0_C0_H1": 1,
    }
    with lab.zvm("source") as zvm:
        assert sorted(str(json_field(v, "VmName")) for v in zvm.vms()) == sorted(LAB_VMS)
