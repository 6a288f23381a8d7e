"""Planning a VPG reads only (check mode and preflight write nothing to the ZVM); the apply
compares on the settings object it opens; a VM's VPGs each recover to a different site; the
module's message says what check mode found. A scripted ZVM over HTTPS, the real client."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from ansible_collections.vmrepl.core.plugins.module_utils._module import ensure
from ansible_collections.vmrepl.core.plugins.module_utils.clients.errors import ConfigurationError
from ansible_collections.vmrepl.core.plugins.module_utils.clients.zvm import (
    ZvmClient,
    ZvmConnectionParams,
)
from ansible_collections.vmrepl.core.plugins.module_utils.vpgs import (
    Names,
    VpgManager,
    VpgPlan,
    VpgRun,
    VpgSpec,
    VpgState,
    observed,
    planned_differences,
    protectability,
)
from tests.unit.test_zvm_client import PASSWORD, USER, FakeZvm, Reply, Seen, test_tls

EXAMPLE = Path(__file__).parents[2] / "src/vmrepl/lab/zvm/openapi/vpg-settings-example.json"
LOCAL, PEER, THIRD = "site-local", "site-peer", "site-third"
SRV = "srv"
VPG_ID, SETTINGS_ID = "vpg-1", "settings-1"
NAME = "123456-7-default"


def ref(identifier: str) -> dict[str, Any]:
    return {"href": f"https://zvm/{identifier}", "identifier": identifier, "rel": None, "type": ""}


def protected(vm: str, vpg: str, site: str) -> dict[str, Any]:
    return {
        "VmIdentifier": f"{SRV}.{vm}",
        "VmName": vm,
        "VpgName": vpg,
        "RecoverySite": ref(site),
        "RecoverySiteName": {PEER: "dr-site", THIRD: "third-site", LOCAL: "home"}[site],
    }


class World:
    """What the scripted ZVM serves: one existing VPG (``NAME``, VM ``app1``, recovering to
    the peer) and the VMs' other VPGs."""

    def __init__(self) -> None:
        self.vpg = {
            "VpgIdentifier": VPG_ID,
            "VpgName": NAME,
            "Link": ref(VPG_ID),
            "Priority": 1,
            "ConfiguredRpoSeconds": 300,
            "HistoryStatusApi": {"ConfiguredHistoryInMinutes": 168 * 60},
            "RecoverySite": ref(PEER),
        }
        self.protected = [
            protected("app1", NAME, PEER),
            protected("db1", "123456-7-db", PEER),  # to the same site: not protectable here
            protected("web1", "a", THIRD),
            protected("web1", "b", LOCAL),
            protected("web2", "a", THIRD),
        ]
        settings = json.loads(EXAMPLE.read_text())[0]
        settings["Basic"].update(
            {"Name": NAME, "JournalHistoryInHours": 168, "RpoInSeconds": 300, "Priority": "Medium"}
        )
        settings["Networks"]["FailoverTest"]["Hypervisor"]["DefaultNetworkIdentifier"] = (
            f"{SRV}.network-bubble"
        )
        settings["Vms"] = [{**settings["Vms"][0], "VmIdentifier": f"{SRV}.app1"}]
        self.settings = settings
        self.put: dict[str, Any] | None = None

    def serve(self, fake: FakeZvm) -> None:
        peer = {"PeerSiteName": "dr-site", "Link": ref(PEER), "PairingStatus": 0}
        objects = {
            "hosts": [{"VirtualizationHostName": "dr-esx1", "HostIdentifier": f"{SRV}.host-1"}],
            "hostclusters": [],
            "datastores": [{"DatastoreName": "dr-ds1", "DatastoreIdentifier": f"{SRV}.ds-1"}],
            "folders": [],
            "networks": [
                {
                    "VirtualizationNetworkName": "bubble",
                    "NetworkIdentifier": f"{SRV}.network-bubble",
                },
                {"VirtualizationNetworkName": "other", "NetworkIdentifier": f"{SRV}.network-other"},
            ],
        }
        unprotected = [{"VmName": n, "VmIdentifier": f"{SRV}.{n}"} for n in ("app2", "db1")]
        routes = {
            ("GET", "/v1/localsite"): lambda s: Reply(200, {"SiteIdentifier": LOCAL}),
            ("GET", "/v1/peersites"): lambda s: Reply(200, [peer]),
            ("GET", "/v1/vras"): lambda s: Reply(200, [{"HostDisplayName": "esx1", "Status": 0}]),
            ("GET", "/v1/vpgs"): lambda s: Reply(200, [self.vpg]),
            ("GET", "/v1/vms"): self._vms,
            ("GET", f"/v1/virtualizationsites/{LOCAL}/vms"): lambda s: Reply(200, unprotected),
            ("POST", "/v1/vpgSettings"): lambda s: Reply(200, SETTINGS_ID),
            ("GET", f"/v1/vpgSettings/{SETTINGS_ID}"): lambda s: Reply(200, self.settings),
            ("PUT", f"/v1/vpgSettings/{SETTINGS_ID}"): self._put,
            ("POST", f"/v1/vpgSettings/{SETTINGS_ID}/vms"): lambda s: Reply(200),
            ("POST", f"/v1/vpgSettings/{SETTINGS_ID}/commit"): lambda s: Reply(200, "task-1"),
            ("DELETE", f"/v1/vpgSettings/{SETTINGS_ID}"): lambda s: Reply(200),
            ("GET", "/v1/tasks/task-1"): lambda s: Reply(
                200, {"TaskIdentifier": "task-1", "Status": {"State": 6, "Progress": 100}}
            ),
        }
        for kind, rows in objects.items():
            routes[("GET", f"/v1/virtualizationsites/{PEER}/{kind}")] = lambda s, rows=rows: Reply(
                200, rows
            )
        fake.routes.update(routes)

    def _vms(self, seen: Seen) -> Reply:
        wanted = seen.query.get("vpgName")
        return Reply(200, [v for v in self.protected if wanted in (None, v["VpgName"])])

    def _put(self, seen: Seen) -> Reply:
        self.put = seen.body
        return Reply(200)


@pytest.fixture
def world() -> Iterator[tuple[World, FakeZvm, ZvmClient]]:
    fake = FakeZvm().start()
    state = World()
    state.serve(fake)
    client = ZvmClient(
        ZvmConnectionParams(url=fake.url, username=USER, password=PASSWORD, ca_file=test_tls()[1])
    )
    try:
        yield state, fake, client
    finally:
        client.close()
        fake.stop()


def vm(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "host": "esx1", "disks": [{}], "custom_attributes": {}, **extra}


def spec(vms: list[str], **fields: Any) -> VpgSpec:
    return VpgSpec(name=NAME, vms=vms, fields=fields, recovery_site=PEER)


def writes(fake: FakeZvm) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in fake.api() if r.method != "GET"]


def test_planning_an_edit_reads_only(world: tuple[World, FakeZvm, ZvmClient]) -> None:
    _, fake, client = world
    manager = VpgManager(client)
    plan = manager.plan(
        spec(["app1", "app2"], journal_history_hours=24, priority="medium", test_network="bubble"),
        [vm("app1"), vm("app2")],
        "vmrepl.domain_controller",
    )
    assert plan.changes == {
        "journal_history_hours": {"before": 168, "after": 24},
        "vms": {"before": ["app1"], "after": ["app1", "app2"]},
    }
    assert plan.unverified == ["test_network"]  # only a settings object shows it
    assert fake.api(), "the plan did read the ZVM"
    assert writes(fake) == []


def test_planning_a_new_vpg_reads_only(world: tuple[World, FakeZvm, ZvmClient]) -> None:
    state, fake, client = world
    state.vpg = {**state.vpg, "VpgName": "someone-else"}
    plan = VpgManager(client).plan(
        spec(["app2"], test_network="bubble"), [vm("app2")], "vmrepl.domain_controller"
    )
    assert plan.changes["vpg"] == {"before": None, "after": NAME}
    assert plan.changes["test_network"] == {"before": None, "after": "bubble"}
    assert plan.unverified == []
    assert writes(fake) == []


def test_apply_compares_the_unverified_fields_and_discards_when_equal(
    world: tuple[World, FakeZvm, ZvmClient],
) -> None:
    _, fake, client = world
    manager = VpgManager(client)
    plan = manager.plan(spec(["app1"], test_network="bubble"), [vm("app1")], "dc")
    assert plan.changes == {} and plan.needs_apply
    assert manager.apply(plan) == {}
    assert writes(fake) == [
        ("POST", "/v1/vpgSettings"),
        ("DELETE", f"/v1/vpgSettings/{SETTINGS_ID}"),
    ]


def test_apply_commits_what_the_settings_object_shows_differs(
    world: tuple[World, FakeZvm, ZvmClient],
) -> None:
    state, fake, client = world
    manager = VpgManager(client)
    plan = manager.plan(spec(["app1"], test_network="other"), [vm("app1")], "dc")
    assert plan.changes == {} and plan.unverified == ["test_network"]
    assert manager.apply(plan) == {"test_network": {"before": "bubble", "after": "other"}}
    assert state.put is not None
    assert state.put["Networks"]["FailoverTest"]["Hypervisor"]["DefaultNetworkIdentifier"] == (
        f"{SRV}.network-other"
    )
    assert writes(fake)[-1] == ("POST", f"/v1/vpgSettings/{SETTINGS_ID}/commit")


def test_a_vm_already_recovered_to_that_site_is_refused_before_any_write(
    world: tuple[World, FakeZvm, ZvmClient],
) -> None:
    _, fake, client = world
    with pytest.raises(ConfigurationError) as info:
        VpgManager(client).plan(spec(["app1", "db1"]), [vm("app1"), vm("db1")], "dc")
    message = str(info.value)
    assert "db1 is already recovered to site dr-site by VPG 123456-7-db" in message
    assert info.value.details["refused"].keys() == {"db1"}
    assert writes(fake) == []


def test_a_vm_in_vpgs_to_other_sites_can_join(world: tuple[World, FakeZvm, ZvmClient]) -> None:
    _, fake, client = world
    plan = VpgManager(client).plan(spec(["app1", "web1"]), [vm("app1"), vm("web1")], "dc")
    assert plan.changes["vms"]["after"] == ["app1", "web1"]
    assert writes(fake) == []


@pytest.mark.parametrize(
    ("memberships", "reason"),
    [
        ({}, None),
        ({"a": (THIRD, "third-site"), "b": (LOCAL, "home")}, None),
        ({"a": (PEER, "dr-site")}, "already recovered to site dr-site by VPG a"),
        ({"a": (PEER, "")}, f"already recovered to site {PEER} by VPG a"),
        (
            {"a": ("s1", "one"), "b": ("s2", "two"), "c": ("s3", "three")},
            "already in 3 VPGs (a, b, c)",
        ),
    ],
)
def test_at_most_three_vpgs_each_to_a_different_site(
    memberships: dict[str, tuple[str, str]], reason: str | None
) -> None:
    result = protectability({"disks": [{}]}, memberships, PEER, dc_marked=False)
    assert result == reason if reason is None else reason in (result or "")


def test_what_get_vpgs_shows_is_compared_and_the_rest_is_unverified() -> None:
    vpg = {"Priority": 2, "ConfiguredRpoSeconds": 60, "HistoryStatusApi": {}}
    assert observed(vpg) == {"priority": "High", "rpo_alert_seconds": 60}
    desired = {"priority": "high", "rpo_alert_seconds": 300, "journal_history_hours": 24}
    diff, unverified = planned_differences(vpg, desired, {"v1"}, {"v1"})
    assert diff == {"rpo_alert_seconds": (60, 300)}
    assert unverified == ["journal_history_hours"]


def module(check_mode: bool, diff: bool = False) -> Any:
    return SimpleNamespace(params={"name": NAME}, check_mode=check_mode, _diff=diff)


class Applying:
    """A manager whose apply finds what the planned changes did not show (``found``)."""

    def __init__(self, found: dict[str, Any]) -> None:
        self.found = found

    def apply(self, plan: VpgPlan) -> dict[str, Any]:
        return self.found

    def find(self, name: str) -> dict[str, Any]:
        return {"VpgName": name, "after": True}


def vpg_run(
    check_mode: bool,
    changes: dict[str, Any],
    vpg: dict[str, Any] | None = None,
    unverified: list[str] | None = None,
    manager: Any = None,
    deferred: dict[str, str] | None = None,
) -> VpgRun:
    plan = VpgPlan(
        VpgSpec(NAME, ["app1"], {}),
        VpgState(vpg, {}),
        {},
        {},
        Names(),
        changes,
        unverified or [],
        deferred or {},
    )
    return VpgRun(NAME, manager, check_mode, plan=plan)


def run_of(check_mode: bool, diff: bool = False, **plan: Any) -> dict[str, Any]:
    the_plan = vpg_run(check_mode, **plan)
    return ensure(module(check_mode, diff), the_plan, the_plan.apply)


def test_check_mode_with_nothing_to_change_says_so() -> None:
    result = run_of(True, changes={}, vpg={"VpgName": NAME})
    assert result["changed"] is False
    assert result["msg"] == f"VPG {NAME}: no change"
    assert result["unverified"] == []
    unverified = run_of(True, changes={}, unverified=["test_network"])
    assert unverified["changed"] is False
    assert unverified["msg"] == f"VPG {NAME}: no change; test_network would be checked at apply"


def test_check_mode_with_changes_says_what_would_change() -> None:
    changes = {"journal_history_hours": {"before": 168, "after": 24}}
    result = run_of(True, diff=True, changes=copy.deepcopy(changes))
    assert result["changed"] is True
    assert result["msg"] == f"VPG {NAME}: would change (journal_history_hours)"
    assert result["diff"] == {
        "before": {"journal_history_hours": 168},
        "after": {"journal_history_hours": 24},
    }
    assert result["changes"] == changes
    real = run_of(False, changes={}, vpg={"VpgName": NAME})
    assert (real["changed"], real["msg"]) == (False, f"VPG {NAME}: no change")
    assert "unverified" not in real


def test_the_apply_reports_and_diffs_the_changes_it_made() -> None:
    """A field only the settings object shows is found at apply: changed, the diff and the
    message follow what the apply made, not the plan (which had nothing to show)."""
    made = {"test_network": {"before": "a", "after": "b"}}
    result = run_of(
        False,
        diff=True,
        changes={},
        vpg={"VpgName": NAME},
        unverified=["test_network"],
        manager=Applying(made),
        deferred={"web2": "runs on host esx2, in maintenance mode"},
    )
    assert result["changed"] is True
    assert result["changes"] == made
    assert result["diff"] == {"before": {"test_network": "a"}, "after": {"test_network": "b"}}
    assert result["vpg"] == {"VpgName": NAME, "after": True}
    assert result["msg"] == (
        f"VPG {NAME}: updated (test_network); left for a later run: web2 runs on host esx2, "
        "in maintenance mode"
    )
    quiet = run_of(False, changes={}, unverified=["x"], vpg={"VpgName": NAME}, manager=Applying({}))
    assert (quiet["changed"], quiet["msg"]) == (False, f"VPG {NAME}: no change")
    assert "diff" not in quiet


def test_deleting_a_vpg_is_planned_and_applied_through_the_same_edge() -> None:
    deleted: list[Any] = []

    class Deleting:
        def delete(self, state: VpgState, keep: bool) -> None:
            deleted.append((state.vpg, keep))

    gone = VpgRun(NAME, Deleting(), False, delete=VpgState(None, {}))  # type: ignore[arg-type]
    result = ensure(module(False, True), gone, gone.apply)
    assert result == {
        "changed": False,
        "changes": {},
        "vms": [],
        "vpg": None,
        "diff": {"before": {}, "after": {}},
        "msg": f"VPG {NAME}: absent already",
    }
    there = VpgRun(NAME, Deleting(), True, delete=VpgState({"VpgName": NAME}, {}))  # type: ignore[arg-type]
    check = ensure(module(True, True), there, there.apply)
    assert (check["changed"], check["msg"]) == (True, f"VPG {NAME}: would be deleted")
    assert check["diff"] == {"before": {"vpg": NAME}, "after": {"vpg": None}}
    assert deleted == []
    there.check_mode = False
    assert ensure(module(False), there, there.apply)["msg"] == f"VPG {NAME}: deleted"
    assert deleted == [({"VpgName": NAME}, False)]
