"""The rolling upgrade's planning (module_utils/upgrade.py): which VRAs are outdated, how they
are batched, the SLA gate between batches, and the roll against a fake ZVM (a unit test: the
lab tests drive the simulator)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.vmrepl.core.plugins.module_utils.clients.errors import (
    ConfigurationError,
    OperationFailed,
    Refused,
)
from ansible_collections.vmrepl.core.plugins.module_utils.upgrade import (
    RollingUpgrade,
    VraTarget,
    batches,
    checkpoint_name,
    outdated,
    parse_batch_size,
    sla_problems,
)

SUBSTATUSES = ["None", "InitialSync", "Creating", "VolumeInitialSync", "Sync", "RecoveryPossible",
               "DeltaSync"] + [f"S{i}" for i in range(7, 23)] + ["BitmapSync"]  # fmt: skip


def vra(host: str, version: str, ident: str | None = None) -> dict[str, Any]:
    return {
        "VraIdentifier": ident or f"id-{host}",
        "VraName": f"Z-VRA-{host}",
        "HostDisplayName": host,
        "HostIdentifier": f"h-{host}",
        "VraVersion": version,
    }


def test_outdated_is_older_than_the_site_version_in_host_order() -> None:
    found = outdated(
        [
            vra("H10", "10.0.60.1"),
            vra("H2", "10.0.60.1"),
            vra("H3", "10.0.70.1"),
            vra("H4", "10.0.80.1"),
        ],
        "10.0.70.1",
        {"h-H10": "C0", "h-H2": "C0"},
    )
    assert [t.host for t in found] == ["H2", "H10"]  # natural order, current and newer left out
    assert found[0].cluster == "C0"


def test_a_version_that_is_not_one_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="not a dotted version"):
        outdated([vra("H0", "1.0")], "latest", {})


def target(host: str, cluster: str = "") -> VraTarget:
    return VraTarget(f"id-{host}", f"Z-VRA-{host}", host, cluster, "1.0")


def test_batches_of_n_hosts() -> None:
    targets = [target(h) for h in ("H0", "H1", "H2", "H3", "H4")]
    assert [[t.host for t in b] for b in batches(targets, 2)] == [
        ["H0", "H1"],
        ["H2", "H3"],
        ["H4"],
    ]


def test_batches_per_cluster_standalone_hosts_alone() -> None:
    targets = [target("A1", "CA"), target("B0", "CB"), target("A0", "CA"), target("S0"),
               target("S1")]  # fmt: skip
    assert [[t.host for t in b] for b in batches(targets, "cluster")] == [
        ["S0"],
        ["S1"],
        ["A0", "A1"],
        ["B0"],
    ]


@given(
    st.lists(
        st.tuples(st.sampled_from(["", "C0", "C1"]), st.integers(0, 50)), unique_by=lambda h: h[1]
    ),
    st.one_of(st.integers(1, 7), st.just("cluster")),
)
def test_every_outdated_vra_is_in_exactly_one_batch(hosts: list, size: Any) -> None:
    targets = [target(f"H{n}", cluster) for cluster, n in hosts]
    found = batches(targets, size)
    flat = [t for b in found for t in b]
    assert sorted(flat, key=lambda t: t.host) == sorted(targets, key=lambda t: t.host)
    assert all(b for b in found)
    if size != "cluster":
        assert all(len(b) <= size for b in found)
    else:
        assert all(len({t.cluster or t.host for t in b}) == 1 for b in found)


@pytest.mark.parametrize("value", ["0", "-1", "two", "", "1.5"])
def test_a_bad_batch_size_is_refused_naming_the_variable(value: str) -> None:
    with pytest.raises(ConfigurationError, match="upgrade_batch_size"):
        parse_batch_size(value)


def test_batch_sizes() -> None:
    assert parse_batch_size("Cluster") == "cluster"
    assert parse_batch_size(3) == 3


@pytest.mark.parametrize("ref", ["", "  ", "has space", "x" * 64, "semi;colon"])
def test_the_reference_is_required_and_a_ticket_id(ref: str) -> None:
    with pytest.raises(ConfigurationError, match="upgrade_request_ref"):
        checkpoint_name(ref)
    assert checkpoint_name("CHG-0012.3") == "pre-upgrade-CHG-0012.3"


def test_the_gate_waits_for_meeting_sla_and_no_sync() -> None:
    vpgs = [
        {"VpgName": "ok", "Status": 1, "SubStatus": 0},
        {"VpgName": "bitmap", "Status": 1, "SubStatus": 23},
        {"VpgName": "down", "Status": 2, "SubStatus": 0},
        {"VpgName": "delta", "Status": 1, "SubStatus": 6},
        {"VpgName": "gone", "Status": 8, "SubStatus": 0},  # Recovered: not replicating
    ]
    assert sla_problems(vpgs, SUBSTATUSES) == [
        "bitmap: MeetingSLA/BitmapSync",
        "delta: MeetingSLA/DeltaSync",
        "down: NotMeetingSLA/None",
    ]


class FakeZvm:
    """Just enough of the ZVM client for the roll: VRAs that a task upgrades, VPGs that sync
    for ``sync_polls`` reads after each upgrade, a host whose upgrade fails."""

    def __init__(self, hosts: list[str], fail: str | None = None, sync_polls: int = 2) -> None:
        self.versions = dict.fromkeys(hosts, "1.0")
        self.fail = fail
        self.sync_polls = sync_polls
        self.syncing = 0
        self.calls: list[str] = []
        self.tags: list[str] = []

    def local_site(self) -> dict[str, Any]:
        return {"SiteIdentifier": "s1", "SiteName": "source", "Version": "2.0"}

    def vras(self) -> list[dict[str, Any]]:
        return [vra(h, v) for h, v in self.versions.items()]

    def site_objects(self, site: str, kind: str) -> list[dict[str, Any]]:
        return [{"VirtualizationClusterName": "C0", "AssociatedHosts": [
            {"HostIdentifier": f"h-{h}"} for h in self.versions]}]  # fmt: skip

    def vpgs(self) -> list[dict[str, Any]]:
        sub = 23 if self.syncing else 0
        self.syncing = max(0, self.syncing - 1)
        self.calls.append(f"vpgs:{sub}")
        return [{"VpgName": "vpg1", "VpgIdentifier": "v1", "Status": 1, "SubStatus": sub}]

    def vpg_substatuses(self) -> list[str]:
        return SUBSTATUSES

    def checkpoints(self, vpg_id: str) -> list[dict[str, Any]]:
        return [{"Tag": t} for t in self.tags]

    def add_checkpoint(self, vpg_id: str, name: str) -> str:
        self.tags.append(name)
        self.calls.append(f"tag:{name}")
        return f"task-tag-{vpg_id}"

    def upgrade_vra(self, vra_id: str) -> str:
        host = vra_id.removeprefix("id-")
        self.calls.append(f"upgrade:{host}")
        return f"task-{host}"

    def wait_for_tasks(self, ids: list[str], *args: Any, **kwargs: Any) -> dict[str, Any]:
        results = {}
        for task in ids:
            host = task.removeprefix("task-")
            if host == self.fail:
                results[task] = {"Status": {"State": 4}, "CompleteReason": "the VRA broke."}
                continue
            if host in self.versions:
                self.versions[host] = "2.0"
                self.syncing = self.sync_polls
            results[task] = {"Status": {"State": 6, "Progress": 100}}
        return results


def roll(zvm: FakeZvm, size: Any = 1) -> RollingUpgrade:
    return RollingUpgrade(
        zvm, request_ref="CHG-1", batch_size=size, interval=1, sleep=lambda s: None
    )


def test_the_roll_waits_for_the_vpgs_between_batches_and_a_rerun_has_nothing_to_do() -> None:
    zvm = FakeZvm(["H0", "H1", "H2"])
    upgrade = roll(zvm, 2)
    plan = upgrade.plan()
    assert [[t.host for t in b] for b in plan.batches] == [["H0", "H1"], ["H2"]]
    assert upgrade.apply(plan)["upgraded"] == ["H0", "H1", "H2"]
    # the next batch starts only after the VPGs were read back out of their bitmap sync
    second = zvm.calls.index("upgrade:H2")
    assert zvm.calls[second - 1] == "vpgs:0"
    assert "vpgs:23" in zvm.calls[: second - 1]
    assert zvm.calls.index("tag:pre-upgrade-CHG-1") < zvm.calls.index("upgrade:H0")
    again = roll(zvm).plan()
    assert not again.changes and not again.batches
    assert "nothing to upgrade" in again.summary(False)


def test_a_failure_stops_the_roll_naming_host_and_batch() -> None:
    zvm = FakeZvm(["H0", "H1", "H2"], fail="H1")
    upgrade = roll(zvm)
    with pytest.raises(OperationFailed) as stopped:
        upgrade.apply(upgrade.plan())
    assert "stopped at host H1, batch 2 of 3" in str(stopped.value)
    assert stopped.value.details["upgraded"] == ["H0"]
    assert stopped.value.details["left"] == ["H1", "H2"]
    assert "upgrade:H2" not in zvm.calls
    zvm.fail = None
    rerun = roll(zvm).plan()
    assert [t.host for t in rerun.targets] == ["H1", "H2"]
    assert not rerun.untagged  # the checkpoint of the change is not taken twice


def test_vpgs_that_never_come_back_stop_the_roll_after_the_batch() -> None:
    zvm = FakeZvm(["H0", "H1"], sync_polls=10**6)
    upgrade = RollingUpgrade(
        zvm, request_ref="CHG-1", sla_timeout=5, interval=1, sleep=lambda s: None,
        clock=iter(range(10**6)).__next__,
    )  # fmt: skip
    with pytest.raises(OperationFailed, match="stopped after batch 1 of 2"):
        upgrade.apply(upgrade.plan())
    assert "upgrade:H1" not in zvm.calls


def test_vpgs_out_of_sla_refuse_the_roll_before_any_change() -> None:
    zvm = FakeZvm(["H0"], sync_polls=10**6)
    zvm.syncing = 10**6
    upgrade = RollingUpgrade(
        zvm, request_ref="CHG-1", sla_timeout=3, interval=1, sleep=lambda s: None,
        clock=iter(range(10**6)).__next__,
    )  # fmt: skip
    with pytest.raises(Refused, match="Nothing was changed"):
        upgrade.apply(upgrade.plan())
    assert not [c for c in zvm.calls if c.startswith(("upgrade", "tag"))]
