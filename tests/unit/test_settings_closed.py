"""Every settings object a run opens is closed on every path - committed, or deleted when the
ZVM refuses the commit or the link fails mid-test - and a later run cleans up (only) what an
interrupted run of ours left, and gives back a test network it left switched."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ansible_collections.vmrepl.core.plugins.module_utils.clients.errors import ApiError
from ansible_collections.vmrepl.core.plugins.module_utils.recovery.run import Options, RecoveryRun
from ansible_collections.vmrepl.core.plugins.module_utils.vpgs import (
    SettingsLedger,
    clean_up_settings,
    open_settings,
)
from tests.unit.test_recovery_run import HERE, FakeVc
from tests.unit.test_recovery_run import FakeZvm as BaseZvm


class SettingsZvm(BaseZvm):
    """The recovery-run fake with settings objects that live until committed or deleted, a
    test network that a commit really changes, and faults to inject."""

    def __init__(self) -> None:
        super().__init__(FakeVc())
        self.open: dict[str, str] = {}  # settings id → VPG id
        self.test_network: dict[str, str] = {}
        self.pending: dict[str, str] = {}
        self.refuse_commit_after = 10**6  # commits accepted before the ZVM refuses
        self.commits = 0
        self.counter = 0

    def vpg_settings_create(self, vpg_id: str | None = None) -> str:
        if vpg_id in self.open.values():
            raise ApiError(f"VPG {vpg_id} is already being edited.", status=400)
        self.counter += 1
        sid = f"s{self.counter}"
        self.open[sid] = str(vpg_id)
        return sid

    def vpg_settings_get(self, settings_id: str) -> dict[str, Any]:
        vpg = self.open[settings_id]
        net = self.test_network.get(vpg, "n-prod")
        return {
            "Recovery": {"DefaultHostIdentifier": "h1"},
            "Networks": {
                "Failover": {"Hypervisor": {"DefaultNetworkIdentifier": "n-prod"}},
                "FailoverTest": {"Hypervisor": {"DefaultNetworkIdentifier": net}},
            },
            "Vms": [],
        }

    def vpg_settings_put(self, settings_id: str, body: dict[str, Any]) -> None:
        net = body["Networks"]["FailoverTest"]["Hypervisor"]["DefaultNetworkIdentifier"]
        self.pending[settings_id] = net

    def vpg_settings_commit(self, settings_id: str) -> str:
        if self.commits >= self.refuse_commit_after:
            raise ApiError("The peer site cannot be reached.", status=503)
        self.commits += 1
        vpg = self.open.pop(settings_id)
        if settings_id in self.pending:
            self.test_network[vpg] = self.pending.pop(settings_id)
        return self._action("commit", vpg)

    def vpg_settings_delete(self, settings_id: str) -> None:
        self.open.pop(settings_id, None)


def run_test(zvm: SettingsZvm, ledger: SettingsLedger, **options: Any) -> list[dict[str, Any]]:
    opts = Options(
        operation="failover_test",
        request_ref="CHG1",
        poll_interval=0.01,
        boot_timeout=1,
        test_network="bubble",
        **options,
    )
    return RecoveryRun(zvm, zvm.vc, opts, sleep=lambda s: None, ledger=ledger).run(["a"])


@pytest.fixture
def ledger(tmp_path: Path) -> SettingsLedger:
    return SettingsLedger(tmp_path / "ledger.json")


def test_a_link_cut_while_restoring_leaves_no_settings_and_the_next_run_gives_the_network_back(
    ledger: SettingsLedger,
) -> None:
    zvm = SettingsZvm()
    zvm.add_vpg("a")
    zvm.refuse_commit_after = 1  # the switch commits; the restore is refused (link cut)
    first = run_test(zvm, ledger)
    assert first[0]["status"] == "failed"
    assert zvm.open == {}, "no orphaned settings object"
    assert zvm.test_network["id-a"] == "n-bubble"  # left switched
    assert ledger.pending_restore(HERE, "id-a") is not None
    zvm.refuse_commit_after = 10**6  # the link is back
    second = run_test(zvm, ledger)
    assert second[0]["status"] == "succeeded", second[0]["message"]
    assert zvm.open == {}
    assert zvm.test_network["id-a"] == "n-prod"  # given back as it was before the first run
    assert ledger.pending_restore(HERE, "id-a") is None


def test_a_refused_commit_of_the_switch_deletes_its_settings(ledger: SettingsLedger) -> None:
    zvm = SettingsZvm()
    zvm.add_vpg("a")
    zvm.refuse_commit_after = 0
    result = run_test(zvm, ledger)
    assert result[0]["status"] == "failed"
    assert zvm.open == {}
    assert zvm.test_network.get("id-a", "n-prod") == "n-prod"
    assert not [c for c in zvm.calls if c[0] == "failover_test"]


def _dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_a_later_run_deletes_only_settings_an_ended_run_of_ours_left(
    ledger: SettingsLedger,
) -> None:
    zvm = SettingsZvm()
    zvm.add_vpg("a")
    ours_dead = zvm.vpg_settings_create("id-a")
    ours_alive = zvm.vpg_settings_create("id-b")
    someone_elses = zvm.vpg_settings_create("id-c")
    ledger.add(HERE, ours_dead, "id-a", "test")
    ledger.add(HERE, ours_alive, "id-b", "test")
    entries = json.loads(ledger.path.read_text())
    entries[0]["pid"] = _dead_pid()
    entries[1]["pid"] = os.getpid()
    ledger.path.write_text(json.dumps(entries))
    assert clean_up_settings(zvm, HERE, ledger) == [ours_dead]
    assert set(zvm.open) == {ours_alive, someone_elses}
    # the VPG whose abandoned settings were deleted can be edited again
    with open_settings(zvm, HERE, "id-a", "test", ledger) as opened:
        assert opened.id in zvm.open
    assert set(zvm.open) == {ours_alive, someone_elses}
