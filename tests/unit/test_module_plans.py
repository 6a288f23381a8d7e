"""Every state-changing module goes through the one plan → result edge (``_module.ensure``):
changed, the diff and the message come from the service's plan; check mode plans only; bad
input is refused before anything is read, naming the option. The modules run as Ansible runs
them (a process reading its arguments file); the plans are checked on their own too."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ansible_collections.vmrepl.core.plugins.module_utils._module import (
    check_ranges,
    ensure,
    not_applied,
)
from ansible_collections.vmrepl.core.plugins.module_utils.audit import AuditLine, read, record
from ansible_collections.vmrepl.core.plugins.module_utils.bubble_network import (
    HostPlan,
    NetworkPlan,
)
from ansible_collections.vmrepl.core.plugins.module_utils.clients.errors import (
    ConfigurationError,
    OperationFailed,
    TaskFailed,
)
from ansible_collections.vmrepl.core.plugins.module_utils.licenses import LicensePlan
from ansible_collections.vmrepl.core.plugins.module_utils.recovery.run import (
    Options,
    RecoveryPlan,
    Work,
)
from ansible_collections.vmrepl.core.plugins.module_utils.vras import (
    VRA_RANGES,
    Edit,
    Install,
    IpPool,
    Outcome,
    Plan,
    RolloutPlan,
    VraSettings,
    pending_plan,
    vra_create_body,
)

ROOT = Path(__file__).resolve().parents[2]
MODULES = ROOT / "collections/ansible_collections/vmrepl/core/plugins/modules"
#: Nothing listens there: a module that tried to connect would fail with ConnectionFailed.
NOWHERE = {"zvm_url": "https://127.0.0.1:1", "zvm_username": "u", "zvm_password": "Not-Used-4711"}
KEY = "ABCD-EFGH-IJKL-7Q2F"
POOL = IpPool("10.0.0.11", "10.0.0.20", "255.255.255.0", "10.0.0.1")


class FakeModule:
    def __init__(self, check_mode: bool = False, diff: bool = False) -> None:
        self.check_mode = check_mode
        self._diff = diff


def run_module(name: str, args: dict[str, Any], tmp: Path, check: bool = False) -> dict[str, Any]:
    flags = {"_ansible_check_mode": check, "_ansible_diff": True}
    (tmp / "args.json").write_text(json.dumps({"ANSIBLE_MODULE_ARGS": {**args, **flags}}))
    process = subprocess.run(
        [
            sys.executable,
            "-m",
            f"ansible_collections.vmrepl.core.plugins.modules.{name}",
            "args.json",
        ],
        check=False,
        cwd=tmp,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT / "collections")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    return dict(json.loads(process.stdout))


# -- the modules ------------------------------------------------------------------------------
def test_state_changing_modules_call_the_one_edge() -> None:
    """Each of them hands a plan to ``ensure`` (or ``ensure_with``, which opens the client and
    calls ``ensure``) and builds no diff of its own."""
    for name in (
        "vra",
        "vpg",
        "zvm_license",
        "bubble_network",
        "zvm_appliance",
        "site_pairing",
        "vpg_recovery",
        "audit_log",
        "backup_proxy",
    ):
        source = (MODULES / f"{name}.py").read_text()
        calls = {
            node.func.id
            for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        }
        assert calls & {"ensure", "ensure_with"}, name
        assert '"diff"' not in source and "_diff" not in source, name


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"memory_gb": 32}, "memory_gb must be 1 to 16, not 32"),
        ({"memory_gb": 0, "cpus": 5}, "memory_gb must be 1 to 16, not 0; cpus must be 1 to 4"),
        ({"cpus": 0}, "cpus must be 1 to 4, not 0"),
    ],
)
def test_vra_settings_out_of_range_are_refused_before_anything_is_read(
    tmp_path: Path, options: dict[str, Any], named: str
) -> None:
    args = {**NOWHERE, "hosts": ["esx1"], "datastore": "ds", "network": "net", **options}
    result = run_module("vra", args, tmp_path)
    assert result["failed"] and result["error"] == "ConfigurationError", result
    assert named in result["msg"] and "Nothing was changed" in result["msg"]


def test_vra_with_a_zvm_still_to_deploy_plans_every_host_in_check_mode_only(tmp_path: Path) -> None:
    args = {
        **NOWHERE,
        "hosts": ["esx1", "esx2"],
        "datastore": "ds",
        "network": "net",
        "ip_pool": {
            "start": "10.0.0.11",
            "end": "10.0.0.20",
            "subnet_mask": "255.255.255.0",
            "gateway": "10.0.0.1",
        },
        "zvm_pending": True,
    }
    result = run_module("vra", args, tmp_path, check=True)
    assert not result.get("failed"), result
    assert result["changed"] is True
    assert result["planned"] == [
        {"host": "esx1", "address": "10.0.0.11"},
        {"host": "esx2", "address": "10.0.0.12"},
    ]
    assert result["diff"] == {"before": {"vra_hosts": []}, "after": {"vra_hosts": ["esx1", "esx2"]}}
    assert result["msg"].startswith("VRAs: would install 2 (esx1 (10.0.0.11), esx2 (10.0.0.12))")
    refused = run_module("vra", args, tmp_path)
    assert refused["failed"] and "zvm_pending is for check mode only" in refused["msg"]


def test_zvm_license_with_a_zvm_still_to_deploy_says_what_it_would_apply(tmp_path: Path) -> None:
    args = {**NOWHERE, "license_key": KEY, "zvm_pending": True}
    result = run_module("zvm_license", args, tmp_path, check=True)
    assert not result.get("failed"), result
    assert result["changed"] is True
    assert result["msg"] == "Would apply licence key ********7Q2F (the ZVM has no licence yet)."
    assert result["diff"] == {
        "before": {"license_key": None},
        "after": {"license_key": "********7Q2F"},
    }
    assert KEY not in json.dumps(result)
    refused = run_module("zvm_license", args, tmp_path)
    assert refused["failed"] and "deploy the ZVM before licensing it" in refused["msg"]
    empty = run_module("zvm_license", {**args, "license_key": "  "}, tmp_path, check=True)
    assert empty["failed"] and "license_key is empty" in empty["msg"]


# -- the shared validation --------------------------------------------------------------------
def test_check_ranges_names_every_option_out_of_range_and_lets_unset_ones_pass() -> None:
    check_ranges({"memory_gb": 3, "cpus": None}, VRA_RANGES)
    with pytest.raises(ConfigurationError) as caught:
        check_ranges({"memory_gb": 17, "cpus": 0}, VRA_RANGES, "vra ")
    assert caught.value.details["problems"] == [
        "vra memory_gb must be 1 to 16, not 17",
        "vra cpus must be 1 to 4, not 0",
    ]


def test_the_vra_body_only_builds_the_ranges_are_checked_where_values_come_in() -> None:
    assert vra_create_body("h", "d", "n", memory_gb=16, cpus=4)["MemoryInGb"] == 16
    with pytest.raises(ConfigurationError, match="cpus must be 1 to 4, not 8"):
        VraSettings(datastore="ds", network="net", cpus=8)


def test_a_plan_for_check_mode_only_is_never_applied() -> None:
    with pytest.raises(AssertionError):
        not_applied()


# -- the plans --------------------------------------------------------------------------------
SETTINGS = VraSettings(datastore="ds", network="net", memory_gb=4, ip_pool=POOL)


class Rollout:
    """A rollout whose apply reports ``outcome`` (one host may fail)."""

    def __init__(self, outcome: Outcome) -> None:
        self.outcome = outcome
        self.applied: list[Plan] = []

    def apply(self, plan: Plan, settings: VraSettings) -> Outcome:
        self.applied.append(plan)
        return self.outcome


def rollout_plan(rollout: Any = None, **plan: Any) -> RolloutPlan:
    return RolloutPlan(Plan(**plan), SETTINGS, rollout)


def test_vra_plan_changes_are_the_hosts_and_the_edited_settings() -> None:
    plan = rollout_plan(
        installs=[Install("esx2", "h2", "10.0.0.11")],
        edits=[Edit("esx1", "vra-1", {"MemoryInGb": (3, 4)})],
        present=["esx1"],
        skipped={"esx3": "maintenance mode"},
    )
    result = ensure(FakeModule(check_mode=True, diff=True), plan, not_applied)  # type: ignore[arg-type]
    assert result["changed"] is True
    assert result["diff"] == {
        "before": {"vra_hosts": ["esx1"], "settings": {"esx1": {"MemoryInGb": 3}}},
        "after": {"vra_hosts": ["esx1", "esx2"], "settings": {"esx1": {"MemoryInGb": 4}}},
    }
    assert result["planned"] == [
        {"host": "esx2", "address": "10.0.0.11"},
        {"host": "esx1", "action": "edit", "changes": {"MemoryInGb": 4}},
    ]
    assert result["msg"] == (
        "VRAs: would install 1 (esx2 (10.0.0.11)), edit 1, uninstall 0; 1 present, 1 skipped."
    )
    assert (result["installed"], result["failed_hosts"]) == ([], {})


def test_vra_plan_without_changes_still_waits_for_installs_another_run_started() -> None:
    rollout = Rollout(Outcome())
    plan = rollout_plan(rollout, present=["esx1"], busy=["esx1"])
    assert plan.changes == {}
    result = ensure(FakeModule(diff=True), plan, plan.apply)  # type: ignore[arg-type]
    assert len(rollout.applied) == 1
    assert result["changed"] is False
    assert result["diff"] == {"before": {}, "after": {}}
    assert result["msg"] == "VRAs: 0 installed, 0 edited, 0 removed, 1 already present, 0 skipped."
    idle = rollout_plan(Rollout(Outcome()), present=["esx1"])
    assert (
        ensure(FakeModule(), idle, idle.apply)["msg"]
        == "VRAs: nothing to change; 1 present, 0 skipped."
    )  # type: ignore[arg-type]
    assert idle.rollout.applied == []  # type: ignore[union-attr]


def test_a_vra_host_that_fails_fails_the_run_with_what_did_get_done() -> None:
    outcome = Outcome(installed=["esx2"], failed={"esx3": "no datastore"})
    plan = rollout_plan(
        Rollout(outcome), installs=[Install("esx2", "h2", None), Install("esx3", "h3", None)]
    )
    with pytest.raises(TaskFailed) as caught:
        ensure(FakeModule(), plan, plan.apply)  # type: ignore[arg-type]
    assert "esx3: no datastore" in str(caught.value)
    assert caught.value.details["installed"] == ["esx2"]
    assert caught.value.details["changed"] is True


def test_the_pending_vra_plan_is_every_host_from_the_start_of_the_pool() -> None:
    plan = pending_plan(["esx1", "esx2"], SETTINGS, skipped={"esx2": "maintenance mode"})
    assert plan.rollout is None
    assert plan.changes == {"vra_hosts": ([], ["esx1"])}
    with pytest.raises(ConfigurationError, match="check mode only"):
        plan.apply()


def test_licence_plan_masks_the_key_and_changes_nothing_when_applied_already() -> None:
    current = {"LicenseKey": KEY, "LicenseType": "Enterprise", "MaxVms": 1000}
    same = LicensePlan(key=KEY, current=current)
    result = ensure(FakeModule(diff=True), same, not_applied)  # type: ignore[arg-type]
    assert result == {
        "changed": False,
        "license": {"key": "********7Q2F", "type": "Enterprise", "expiry": None, "max_vms": 1000},
        "previous_key": "********7Q2F",
        "diff": {"before": {}, "after": {}},
        "msg": "Licence key ********7Q2F (Enterprise, up to 1000 VMs) is applied already.",
    }
    other = LicensePlan(key="WXYZ-0000-0000-AAAA", current=current)
    check = ensure(FakeModule(check_mode=True, diff=True), other, not_applied)  # type: ignore[arg-type]
    assert check["diff"] == {
        "before": {"license_key": "********7Q2F"},
        "after": {"license_key": "********AAAA"},
    }
    assert check["msg"] == "Would apply licence key ********AAAA in place of ********7Q2F."
    assert KEY not in json.dumps(check) and "WXYZ-0000" not in json.dumps(check)


def test_bubble_network_plan_names_the_hosts_it_would_add_it_on() -> None:
    hosts = [HostPlan("esx1", False, False), HostPlan("esx2", True, True)]
    plan = NetworkPlan(object(), {}, hosts, "bubble")  # type: ignore[arg-type]
    result = ensure(FakeModule(check_mode=True, diff=True), plan, not_applied)  # type: ignore[arg-type]
    assert result == {
        "changed": True,
        "hosts": {"esx1": "present", "esx2": "would add"},
        "diff": {"before": {"hosts": ["esx1"]}, "after": {"hosts": ["esx1", "esx2"]}},
        "msg": "Test network bubble: would be added on esx2",
    }
    there = NetworkPlan(object(), {}, hosts[:1], "bubble")  # type: ignore[arg-type]
    assert ensure(FakeModule(), there, not_applied)["msg"] == "Test network bubble: present on esx1"  # type: ignore[arg-type]


class Recovery:
    """A recovery run whose act ends each planned VPG as ``ends`` says."""

    def __init__(self, ends: dict[str, tuple[str, str]]) -> None:
        self.ends = ends
        self.o = Options(operation="failover_test", request_ref="CHG-1")
        self.site_name = "site-b"
        self.acted: list[str] = []

    def act(self, works: list[Work]) -> list[dict[str, Any]]:
        for work in works:
            if work.result["status"] == "planned":
                self.acted.append(work.name)
                status, message = self.ends[work.name]
                work.result.update(status=status, message=message)
        return [w.result for w in works]


def work(name: str, status: str, changed: bool, message: str) -> Work:
    result = {"vpg": name, "status": status, "changed": changed, "message": message}
    return Work(name, {**result, "vpg_status": "MeetingSla"})


def test_a_recovery_plan_shows_the_vpgs_it_acts_on_and_acts_only_outside_check_mode() -> None:
    works = [
        work("app", "planned", True, "VPG app: would test at the latest checkpoint"),
        work("db", "skipped", False, "VPG db: recovers at site-a"),
    ]
    recovery = Recovery({"app": ("succeeded", "VPG app: test passed")})
    plan = RecoveryPlan(recovery, works)  # type: ignore[arg-type]
    check = ensure(FakeModule(check_mode=True, diff=True), plan, plan.apply)  # type: ignore[arg-type]
    assert recovery.acted == []
    assert check["changed"] is True and check["site"] == "site-b"
    assert check["diff"] == {
        "before": {"app": "MeetingSla"},
        "after": {"app": "VPG app: would test at the latest checkpoint"},
    }
    assert (
        check["msg"] == "VPG app: would test at the latest checkpoint; VPG db: recovers at site-a"
    )
    done = ensure(FakeModule(diff=True), plan, plan.apply)  # type: ignore[arg-type]
    assert recovery.acted == ["app"]
    assert done["diff"]["after"] == {"app": "VPG app: test passed"}
    assert done["msg"].startswith("VPG app: test passed")


def test_a_recovery_that_fails_for_a_vpg_fails_the_run_with_every_result() -> None:
    recovery = Recovery({"app": ("failed", "VPG app: VM web1 did not come up")})
    plan = RecoveryPlan(recovery, [work("app", "planned", True, "VPG app: would test")])  # type: ignore[arg-type]
    with pytest.raises(OperationFailed, match="web1 did not come up") as caught:
        ensure(FakeModule(), plan, plan.apply)  # type: ignore[arg-type]
    assert caught.value.details["vpgs"][0]["status"] == "failed"
    assert caught.value.details["changed"] is True


def test_an_audit_line_is_appended_outside_check_mode_only(tmp_path: Path) -> None:
    entry = record(
        operation="failover_test",
        vpgs=["app"],
        request_ref="CHG-1",
        result="succeeded",
        who={"user": "ops", "job_id": None},
        when="2026-12-01T00:00:00.000Z",
    )
    log = tmp_path / "audit.jsonl"
    line = AuditLine(str(log), entry)
    check = ensure(FakeModule(check_mode=True, diff=True), line, line.apply)  # type: ignore[arg-type]
    assert check["changed"] is True and not log.exists()
    assert check["diff"] == {"before": {"entry": None}, "after": {"entry": entry}}
    assert check["msg"] == "Audit: failover_test app (CHG-1) by ops: succeeded"
    ensure(FakeModule(), line, line.apply)  # type: ignore[arg-type]
    assert read(log) == [entry]


def test_bad_vpg_definitions_are_refused_before_any_site_is_reached(tmp_path: Path) -> None:
    vsphere = {"hostname": "127.0.0.1", "port": 1, "username": "u", "password": "Not-Used-4711"}
    args = {**NOWHERE, **vsphere, "definitions": [{"name": "app", "vms": ["a"], "colour": "x"}]}
    result = run_module("vpg", args, tmp_path)
    assert result["failed"] and result["error"] == "ConfigurationError", result
    assert "definitions[0]" in result["msg"] and "'colour'" in result["msg"]
    one = run_module(
        "vpg", {**NOWHERE, **vsphere, "name": "app", "journal_history_hours": 0}, tmp_path
    )
    assert one["failed"] and one["error"] == "ConfigurationError", one
    assert "journal_history_hours" in one["msg"]
