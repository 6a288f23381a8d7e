"""Preflight refuses bad input before anything changes, names the field, and skips hosts that
cannot take a VRA now (picked up by a later run).

Every refused run is proved to have changed nothing at any site: the whole lab (each vCenter's
VMs, folders, networks and port groups, resource pools, custom attributes and tags; each ZVM's
VPGs, VRAs, peers, licence, settings objects and tasks) is read before and after the run
(tests/support/lab_snapshot.py). The refusals run on a bare pair (nothing deployed yet) and on
a pair that is deployed, paired and protecting its VMs, where a bad input meets everything a
run could change."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from pyVmomi import vim

from ansible_collections.vmrepl.core.plugins.module_utils.clients.zvm import json_field
from tests.deploy.conftest import Lab, failure_messages, start_lab
from tests.deploy.refusals import (
    LAB_INVENTORY,
    LAB_VMS,
    VPG,
    refused_run,
)
from tests.support.lab_snapshot import differences, lab_snapshot
from vmrepl.lab import manager
from vmrepl.results import summarise

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """A bare pair: no ZVM answers until a deployment has deployed its appliance."""
    directory = tmp_path_factory.mktemp("preflight-lab")
    started = start_lab(directory)
    try:
        yield started
    finally:
        manager.down(directory)


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
