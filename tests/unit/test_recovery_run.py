"""A recovery run against a scripted ZVM and vCenter: VPGs in batches of ``concurrency`` with
their tasks polled together, the whole run refused before any change when one VPG cannot be
acted on, where a VPG stands deciding what is done, and a failed validation rolled back."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import pytest
from pyVmomi import vim

from ansible_collections.vmrepl.core.plugins.module_utils.clients.errors import Refused
from ansible_collections.vmrepl.core.plugins.module_utils.clients.vsphere import ManagedObject
from ansible_collections.vmrepl.core.plugins.module_utils.recovery.run import Options, RecoveryRun

HERE, PEER = "site-t", "site-s"
ACTIONS = {"failover_test", "failover", "move", "failover_commit", "failover_rollback"}
ACTIONS |= {"move_commit", "move_rollback", "failover_test_stop", "add_checkpoint"}


@dataclass
class Ref:
    _moId: str


@dataclass
class FakeVc:
    """The recovery site's vCenter: VMs as (name, power state, network)."""

    vms: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    boot_fails: set[str] = field(default_factory=set)

    def add(self, name: str, network: str) -> None:
        power = "poweredOff" if name.split(" - ", maxsplit=1)[0] in self.boot_fails else "poweredOn"
        self.vms[f"vm-{len(self.vms) + 100}"] = (name, power, network)

    def retrieve_many(self, specs: Any) -> dict[Any, list[ManagedObject]]:
        vms = [
            ManagedObject(
                moid,
                "VirtualMachine",
                {
                    "name": name,
                    "runtime.powerState": power,
                    "runtime.host": Ref("host-1"),
                    "guest.toolsStatus": "toolsNotInstalled",
                    "guest.toolsRunningStatus": "guestToolsNotRunning",
                    "guest.ipAddress": None,
                    "network": [Ref(net)],
                },
            )
            for moid, (name, power, net) in self.vms.items()
        ]
        networks = [ManagedObject(n, "Network", {"name": n}) for n in ("bubble", "prod")]
        hosts = [ManagedObject("host-1", "HostSystem", {"name": "esx1"})]
        return {vim.VirtualMachine: vms, vim.Network: networks, vim.HostSystem: hosts}


@dataclass
class FakeZvm:
    """A ZVM at the recovery site HERE, paired with PEER; VPGs protect one VM each."""

    vc: FakeVc
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)
    waits: list[list[str]] = field(default_factory=list)

    def add_vpg(self, name: str, protected: str = PEER, recovery: str = HERE, status: int = 1):
        self.records[name] = {
            "VpgIdentifier": f"id-{name}",
            "VpgName": name,
            "Status": status,
            "ActualRPO": 5,
            "ProtectedSite": {"identifier": protected},
            "RecoverySite": {"identifier": recovery},
            "ProtectedSiteName": protected,
            "RecoverySiteName": recovery,
        }

    def _by_id(self, vpg_id: str) -> dict[str, Any]:
        return next(r for r in self.records.values() if r["VpgIdentifier"] == vpg_id)

    def _action(self, what: str, vpg_id: str) -> str:
        self.calls.append((what, vpg_id))
        return f"task-{len(self.calls)}"

    # reads
    def local_site(self) -> dict[str, Any]:
        return {"SiteIdentifier": HERE, "SiteName": HERE}

    def peer_sites(self) -> list[dict[str, Any]]:
        return [{"SiteIdentifier": PEER, "PeerSiteName": PEER}]

    def vpgs(self) -> list[dict[str, Any]]:
        return list(self.records.values())

    def vpg(self, vpg_id: str) -> dict[str, Any]:
        return self._by_id(vpg_id)

    def vms(self, vpg_name: str | None = None) -> list[dict[str, Any]]:
        record = self.records[str(vpg_name)]
        vm = f"app-{vpg_name}"
        return [
            {
                "VmName": vm,
                "VmIdentifier": f"vm-{vpg_name}",
                "VpgIdentifier": record["VpgIdentifier"],
            }
        ]

    def checkpoints(self, vpg_id: str) -> list[dict[str, Any]]:
        points = [{"CheckpointIdentifier": "cp1", "TimeStamp": "2024-05-14T09:00:00Z", "Tag": None}]
        for tag in self._by_id(vpg_id).get("tags", []):
            points.append(
                {"CheckpointIdentifier": "cp2", "TimeStamp": "2024-05-14T09:00:05Z", "Tag": tag}
            )
        return points

    def site_objects(self, site: str, kind: str) -> list[dict[str, Any]]:
        if kind == "networks":
            return [
                {"NetworkIdentifier": "n-bubble", "VirtualizationNetworkName": "bubble"},
                {"NetworkIdentifier": "n-prod", "VirtualizationNetworkName": "prod"},
            ]
        if kind == "hosts":
            return [{"HostIdentifier": "h1", "VirtualizationHostName": "esx1"}]
        return []

    def vpg_settings_create(self, vpg_id: str) -> str:
        return f"settings-{vpg_id}"

    def vpg_settings_get(self, settings_id: str) -> dict[str, Any]:
        return {
            "Recovery": {"DefaultHostIdentifier": "h1"},
            "Networks": {
                "Failover": {"Hypervisor": {"DefaultNetworkIdentifier": "n-prod"}},
                "FailoverTest": {"Hypervisor": {"DefaultNetworkIdentifier": "n-bubble"}},
            },
            "Vms": [],
        }

    def vpg_settings_delete(self, settings_id: str) -> None:
        pass

    def task(self, task_id: str) -> dict[str, Any]:
        return {"Status": {"State": 6, "Progress": 100}}

    def wait_for_tasks(self, task_ids: list[str], **kwargs: Any) -> dict[str, Any]:
        self.waits.append(list(task_ids))
        return {t: {"Status": {"State": 6, "Progress": 100}} for t in task_ids}

    # actions
    def failover_test(self, vpg_id: str, checkpoint_id: str | None = None) -> str:
        name = self._by_id(vpg_id)["VpgName"]
        self.vc.add(f"app-{name} - testing recovery", "bubble")
        return self._action("failover_test", vpg_id)

    def failover_test_stop(self, vpg_id: str, success: bool = True, summary: str = "") -> str:
        return self._action("failover_test_stop", vpg_id)

    def failover(self, vpg_id: str, **kwargs: Any) -> str:
        self.vc.add(f"app-{self._by_id(vpg_id)['VpgName']}", "prod")
        return self._action("failover", vpg_id)

    def move(self, vpg_id: str, **kwargs: Any) -> str:
        self.vc.add(f"app-{self._by_id(vpg_id)['VpgName']}", "prod")
        return self._action("move", vpg_id)

    def failover_commit(self, vpg_id: str, reverse_protection: bool = False) -> str:
        return self._action("failover_commit", vpg_id)

    def failover_rollback(self, vpg_id: str) -> str:
        return self._action("failover_rollback", vpg_id)

    def move_commit(self, vpg_id: str, reverse_protection: bool = True) -> str:
        return self._action("move_commit", vpg_id)

    def move_rollback(self, vpg_id: str) -> str:
        return self._action("move_rollback", vpg_id)

    def add_checkpoint(self, vpg_id: str, name: str) -> str:
        self._by_id(vpg_id).setdefault("tags", []).append(name)
        return self._action("add_checkpoint", vpg_id)


def recovery(zvm: FakeZvm, operation: str, **options: Any) -> RecoveryRun:
    opts = Options(operation=operation, request_ref="CHG1", poll_interval=0.01, **options)
    return RecoveryRun(zvm, zvm.vc, opts, sleep=lambda s: None)


def test_vpgs_go_in_batches_of_concurrency_with_their_tasks_polled_together() -> None:
    zvm = FakeZvm(FakeVc())
    for name in ("a", "b", "c"):
        zvm.add_vpg(name)
    results = recovery(zvm, "failover_test", concurrency=2, boot_timeout=1).run(["a", "b", "c"])
    assert [r["status"] for r in results] == ["succeeded"] * 3
    # a and b together (started, waited for together, stopped together), then c
    assert zvm.calls == [
        ("failover_test", "id-a"),
        ("failover_test", "id-b"),
        ("failover_test_stop", "id-a"),
        ("failover_test_stop", "id-b"),
        ("failover_test", "id-c"),
        ("failover_test_stop", "id-c"),
    ]
    assert [len(w) for w in zvm.waits] == [2, 2, 1, 1]
    assert all(r["rto_seconds"] is not None for r in results)


def test_one_vpg_that_cannot_be_acted_on_refuses_the_run_before_any_change() -> None:
    zvm = FakeZvm(FakeVc())
    zvm.add_vpg("a")
    zvm.add_vpg("b", status=2)  # NotMeetingSLA
    with pytest.raises(Refused) as refused:
        recovery(zvm, "move").run(["a", "b"])
    assert "VPG b: it is NotMeetingSLA, not MeetingSLA" in refused.value.message
    assert {r["vpg"]: r["status"] for r in refused.value.details["vpgs"]} == {
        "a": "not_run",
        "b": "refused",
    }
    assert not [c for c in zvm.calls if c[0] in ACTIONS]


def test_force_acts_on_an_unhealthy_vpg_and_notes_it() -> None:
    zvm = FakeZvm(FakeVc())
    zvm.add_vpg("b", status=2)
    [result] = recovery(zvm, "failover", force=True).run(["b"])
    assert result["status"] == "succeeded"
    assert any("forced although" in n for n in result["notes"])


def test_a_failed_validation_rolls_the_failover_back() -> None:
    zvm = FakeZvm(FakeVc(boot_fails={"app-a"}))
    zvm.add_vpg("a")
    [result] = recovery(zvm, "failover", boot_timeout=0).run(["a"])
    assert (result["status"], result["commit"]) == ("failed", "rolled back")
    assert ("failover_rollback", "id-a") in zvm.calls
    assert ("failover_commit", "id-a") not in zvm.calls


def test_commit_policy_none_leaves_the_recovery_before_commit() -> None:
    zvm = FakeZvm(FakeVc())
    zvm.add_vpg("a")
    [result] = recovery(zvm, "move", commit_policy="none").run(["a"])
    assert (result["status"], result["commit"]) == ("succeeded", "left before commit")
    assert [what for what, _ in zvm.calls] == ["add_checkpoint", "move"]
    assert result["checkpoint"]["tag"] == "vmrepl move CHG1"


def test_where_a_vpg_stands_decides_what_a_run_does() -> None:
    zvm = FakeZvm(FakeVc())
    zvm.add_vpg("moved", protected=HERE, recovery=PEER)  # reverse-protected after a move
    zvm.add_vpg("recovered", status=8)
    assert {r["vpg"]: r["status"] for r in recovery(zvm, "move").run(["moved", "recovered"])} == {
        "moved": "unchanged",
        "recovered": "unchanged",
    }
    home = FakeZvm(FakeVc())
    home.add_vpg("home", protected=HERE, recovery=PEER)
    [result] = recovery(home, "failback").run(["home"])
    assert (result["status"], result["changed"]) == ("unchanged", False)
    assert "original direction already" in result["message"]
    assert not home.calls
    with pytest.raises(Refused, match="recovered without reverse protection"):
        recovery(zvm, "failback").run(["recovered"])


def test_a_vpg_recovering_elsewhere_is_left_to_that_site_and_an_unknown_one_reported() -> None:
    zvm = FakeZvm(FakeVc())
    zvm.add_vpg("there", protected=HERE, recovery=PEER)
    results = recovery(zvm, "failover_test").run(["there", "ghost"])
    assert [r["status"] for r in results] == ["skipped", "not_found"]
    assert not zvm.calls


def test_check_mode_plans_without_acting() -> None:
    zvm = FakeZvm(FakeVc())
    zvm.add_vpg("a")
    opts = Options(operation="failover", request_ref="CHG1")
    [result] = RecoveryRun(zvm, zvm.vc, opts, check_mode=True).run(["a"])
    assert (result["status"], result["changed"]) == ("planned", True)
    assert result["message"].startswith("VPG a: would fail over 1 VM(s) to site-t at checkpoint")
    assert not zvm.calls


def test_a_vpg_in_its_initial_sync_is_waited_for_and_planned_in_check_mode() -> None:
    zvm = FakeZvm(FakeVc())
    # moved away from HERE (its home), now protected back: the reverse protection's sync
    zvm.add_vpg("a", status=0)
    opts = Options(operation="failback", request_ref="CHG1")
    [planned] = RecoveryRun(zvm, zvm.vc, opts, check_mode=True).run(["a"])
    assert planned["status"] == "planned"
    assert "the run waits for it" in " ".join(planned["notes"])
    reads = itertools.chain([0, 0], itertools.repeat(1))  # in sync for two reads

    def vpg(vpg_id: str) -> dict[str, Any]:
        return {**zvm.records["a"], "Status": next(reads)}

    zvm.vpg = vpg  # type: ignore[method-assign]
    [done] = recovery(zvm, "failback", sync_timeout=60).run(["a"])
    assert done["status"] == "succeeded"
    with pytest.raises(Refused, match="no recovery before the sync completes"):
        recovery(zvm, "failback", sync_timeout=0).run(["a"])


def test_the_only_site_of_a_run_refuses_a_vpg_it_does_not_know() -> None:
    zvm = FakeZvm(FakeVc())
    zvm.add_vpg("a")
    with pytest.raises(Refused, match="VPG ghost is not known to the ZVM of site-t"):
        recovery(zvm, "move", require_all=True).run(["a", "ghost"])
    assert not zvm.calls
