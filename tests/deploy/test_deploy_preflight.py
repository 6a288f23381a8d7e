"""Preflight refuses bad input before anything changes, names the field, and skips hosts that
cannot take a VRA now (picked up by a later run)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
from pyVmomi import vim

from ansible_collections.vmrepl.core.plugins.module_utils.clients.zvm import json_field
from tests.deploy.conftest import Lab, failure_messages, start_lab
from vmrepl.lab import manager
from vmrepl.results import summarise

pytestmark = pytest.mark.lab

LAB_VMS = {"DC0_C0_RP0_VM0", "DC0_C0_RP0_VM1"}


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    directory = tmp_path_factory.mktemp("preflight-lab")
    started = start_lab(directory)
    try:
        yield started
    finally:
        manager.down(directory)


def nothing_changed(lab: Lab) -> bool:
    vms = {site: [vm["name"] for vm in lab.vms(site)] for site in ("source", "target")}
    return all(not any(n.startswith(("Z-VRA-", "zvm-")) for n in names) for names in vms.values())


def test_a_missing_required_input_is_named(lab: Lab) -> None:
    result = lab.run("deploy_remote.yml", extravars={"vra_datastore": None})
    assert result.status == "failed"
    assert result.count("changed") == 0
    messages = " ".join(failure_messages(result))
    assert "vra_datastore" in messages, messages
    assert nothing_changed(lab)


def test_a_bad_address_pool_is_refused_before_any_change(lab: Lab) -> None:
    pool = {
        "start": "10.10.1.50",
        "end": "10.10.1.20",
        "subnet_mask": "255.255.255.0",
        "gateway": "10.10.1.1",
    }
    result = lab.run("deploy_remote.yml", extravars={"vra_ip_pool": pool})
    assert result.status == "failed"
    messages = " ".join(failure_messages(result))
    assert "ip_pool" in messages and "is after end" in messages, messages
    assert nothing_changed(lab)


def test_a_datastore_short_of_space_is_refused_with_the_figures(lab: Lab) -> None:
    result = lab.run("deploy_remote.yml", extravars={"preflight_min_free_percent": 100})
    assert result.status == "failed"
    messages = " ".join(failure_messages(result))
    assert "LocalDS_0 has" in messages and "% free" in messages and "at least 100%" in messages
    assert nothing_changed(lab)


def test_the_wrong_edition_is_refused(lab: Lab) -> None:
    result = lab.run("deploy_local.yml")
    assert result.status == "failed"
    messages = " ".join(failure_messages(result))
    assert "remote edition" in messages and "local edition" in messages, messages
    assert nothing_changed(lab)


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
    lab: Lab, playbook: str, extravars: dict[str, object]
) -> None:
    result = lab.run(playbook, extravars={"recovery_request_ref": "CHG1", **extravars})
    assert result.status == "failed"
    [name] = [k for k in extravars if k != "recovery_confirm"]
    messages = failure_messages(result)
    assert len(messages) == 2, messages  # each site, before any role runs
    for message in messages:
        assert message.startswith("refused: ") and f"remove -e {name}" in message, message
    assert nothing_changed(lab)


@pytest.mark.parametrize("playbook", ["deploy_local.yml", "failover_test.yml", "move.yml"])
def test_without_such_variables_the_check_lets_the_playbook_run(lab: Lab, playbook: str) -> None:
    """The other side of the test above: the check is not what stops these runs (they fail
    later, for reasons of their own on this lab)."""
    result = lab.run(playbook, extravars={"recovery_request_ref": "CHG1"})
    assert not any("is not an input" in m for m in failure_messages(result))
    started = {
        str(e["event_data"].get("role") or "")
        for e in result.events
        if e.get("event") == "playbook_on_task_start"
    }
    assert any(role.endswith(("preflight", "recovery")) for role in started), started


@pytest.mark.parametrize(
    ("extravars", "named"),
    [
        ({"vra_memory_gb": 32}, "vra_memory_gb is 32"),
        ({"vra_cpus": 0}, "vra_cpus is 0"),
        ({"default_vpg_journal_history_days": 45}, "default_vpg_journal_history_days is 45"),
        ({"default_vpg_recovery_host": "DC0_C0_H0"}, "(now both)"),
        ({"default_vpg_vms": [], "default_vpg_vm_folder": ""}, "the default VPG has no VMs"),
        ({"vmrepl_account_id": ""}, "vmrepl_account_id"),
        (
            {
                "vra_ip_pool": {
                    "start": "10.20.1.11",
                    "end": "10.20.1.42",
                    "subnet_mask": "255.255.255.0",
                    "gateway": "10.20.1.1",
                }
            },
            "share addresses from 10.20.1.11",
        ),
        ({"vmrepl_vcenter_ca_file": "/nonexistent/ca.pem"}, "vmrepl_vcenter_ca_file of"),
        ({"default_vpg_recovery_cluster": "DR_NOPE"}, "default_vpg_recovery_cluster DR_NOPE is"),
        ({"default_vpg_test_network": "bubble-nope"}, "default_vpg_test_network bubble-nope is"),
        ({"default_vpg_failover_network": "prod-nope"}, "default_vpg_failover_network prod-nope"),
    ],
)
def test_bad_input_is_refused_naming_the_variable_before_any_change(
    lab: Lab, extravars: dict[str, object], named: str
) -> None:
    result = lab.run("deploy_remote.yml", extravars=extravars)
    assert result.status == "failed"
    assert summarise(result.events, result.status).status == "refused"
    messages = " ".join(failure_messages(result))
    assert named in messages, messages
    assert nothing_changed(lab)


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
