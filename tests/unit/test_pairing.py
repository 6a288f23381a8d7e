"""Site pairing decisions against fake ZVMs (unit tests: the lab tests pair real simulators).

The fake sites follow a timeline (what each side lists, and its pairing tasks, from a given
second on) read at a fake clock, so that a pairing of another run can be in progress while the
run under test reads, waits and decides."""

from __future__ import annotations

from typing import Any

import pytest

from ansible_collections.vmrepl.core.plugins.module_utils.clients.errors import (
    ApiError,
    TaskFailed,
    TaskTimeout,
)
from ansible_collections.vmrepl.core.plugins.module_utils.clients.zvm import PairingStatus
from ansible_collections.vmrepl.core.plugins.module_utils.pairing import (
    SitePairing,
)
from tests.support.clock import FakeClock

PENDING = "pending"  # the source lists a pairing with no identifier yet (it talks to the target)


class World:
    """Each side's view of the other, as a timeline: ``[(from second, {side: status})]``; a
    snapshot's ``tasks`` lists a side's running pairing tasks (``{"source": ["PairSites"]}``)."""

    def __init__(self, clock: FakeClock, *timeline: tuple[float, dict[str, Any]]) -> None:
        self.clock = clock
        self.timeline = list(timeline) or [(0.0, {})]
        self.calls: list[str] = []
        self.pair_refusal: str | None = None

    def now(self) -> dict[str, Any]:
        return [snap for start, snap in self.timeline if start <= self.clock.now][-1]

    def set_from_now(self, **snapshot: Any) -> None:
        self.timeline.append((self.clock.now, snapshot))


class FakeZvm:
    """Just what SitePairing calls."""

    def __init__(self, name: str, world: World) -> None:
        self.name = name
        self.world = world

    def local_site(self) -> dict[str, Any]:
        return {"SiteName": self.name, "Link": {"identifier": f"id-{self.name}"}}

    def peer_sites(self) -> list[dict[str, Any]]:
        status = self.world.now().get(self.name)
        if status is None:
            return []
        if status == PENDING:
            return [
                {
                    "SiteIdentifier": None,
                    "Link": {"identifier": None},
                    "PairingStatus": PairingStatus.Pairing,
                    "HostName": "zvm-b",
                    "Port": 9071,
                }
            ]
        peer = "target" if self.name == "source" else "source"
        return [
            {"PeerSiteName": peer, "PairingStatus": status, "Link": {"identifier": f"id-{peer}"}}
        ]

    def tasks(self, task_type: str | None = None) -> list[dict[str, Any]]:
        running = self.world.now().get("tasks", {}).get(self.name, [])
        return [
            {"TaskIdentifier": f"{t}.1", "Type": t, "Status": {"State": 1, "Progress": 40}}
            for t in running
            if task_type in (None, t)
        ]

    def generate_peer_token(self) -> dict[str, Any]:
        self.world.calls.append(f"{self.name} token")
        return {"Token": "t0k3n"}

    def pair_site(self, host: str, port: int, token: str) -> str:
        self.world.calls.append(f"{self.name} pair {host}:{port} {token}")
        if self.world.pair_refusal:
            raise ApiError(self.world.pair_refusal, status=400)
        self.world.set_from_now(source=PairingStatus.Paired, target=PairingStatus.Paired)
        return "task-pair"

    def unpair_site(self, site_id: str, keep_target_disks: bool) -> str:
        self.world.calls.append(f"{self.name} unpair {site_id}")
        self.world.set_from_now()
        return "task-unpair"

    def wait_for_task(self, task: str, timeout: float = 0) -> dict[str, Any]:
        return {"Status": {"State": 6}}


def pairing(
    *timeline: tuple[float, dict[str, Any]], timeout: float = 600, grace: float = 30
) -> tuple[SitePairing, World, FakeClock]:
    clock = FakeClock()
    world = World(clock, *timeline)
    source, target = FakeZvm("source", world), FakeZvm("target", world)
    p = SitePairing(
        source,  # type: ignore[arg-type]
        target,  # type: ignore[arg-type]
        timeout=timeout,
        grace=grace,
        sleep=clock.sleep,
        clock=clock.clock,
    )
    return p, world, clock


def unpairs(world: World) -> list[str]:
    return [c for c in world.calls if " unpair " in c]


def test_fresh_sites_are_paired_with_a_token_from_the_target() -> None:
    p, world, _ = pairing()
    state = p.read()
    assert state.absent and not state.paired and not state.pairing
    after = p.pair(state, "zvm-b.example", 9071)
    assert after.paired
    assert world.calls == ["target token", "source pair zvm-b.example:9071 t0k3n"]


def test_paired_sites_need_nothing() -> None:
    p, _, _ = pairing((0, {"source": PairingStatus.Paired, "target": PairingStatus.Paired}))
    state = p.read()
    assert state.paired and state.describe() == {"source": "Paired", "target": "Paired"}


@pytest.mark.parametrize(
    "world",
    [
        {"source": PairingStatus.Unpaired},
        {"target": PairingStatus.Paired},
        {"source": PairingStatus.Paired, "target": PairingStatus.Unpaired},
    ],
)
def test_an_abandoned_half_pairing_is_undone_after_the_grace_period(world: dict) -> None:
    p, fake, clock = pairing((0, world), grace=30)
    state = p.read()
    assert state.half and not state.pairing
    after = p.pair(state, "zvm-b", 9071)
    assert after.paired
    assert len(unpairs(fake)) == 1
    assert any("repaired a half-done pairing" in note for note in after.notes)
    assert clock.now >= 30  # watched for the whole grace period before undoing anything


def test_a_half_pairing_that_completes_within_the_grace_period_is_left_alone() -> None:
    # The target accepted, the source has not written its side yet (between two steps of
    # another run's pairing, with no sign of it): it becomes Paired by itself.
    p, world, _ = pairing(
        (0, {"target": PairingStatus.Paired}),
        (5, {"source": PairingStatus.Paired, "target": PairingStatus.Paired}),
    )
    after = p.pair(p.read(), "zvm-b", 9071)
    assert after.paired
    assert unpairs(world) == [] and "source pair" not in " ".join(world.calls)
    assert after.notes == ["paired by another run at the same time"]


def test_a_half_pairing_with_a_pairing_task_running_is_waited_for_not_undone() -> None:
    # Past the grace period, but the source's PairSites task has not ended: in progress.
    p, world, clock = pairing(
        (0, {"target": PairingStatus.Paired, "tasks": {"source": ["PairSites"]}}),
        (90, {"source": PairingStatus.Paired, "target": PairingStatus.Paired}),
        grace=30,
    )
    state = p.read()
    assert state.pairing and state.busy == ["the source has a PairSites task running (PairSites.1)"]
    after = p.settle(state)
    assert after.paired and clock.now >= 90
    assert unpairs(world) == []


def test_a_pairing_the_source_is_still_making_is_waited_for() -> None:
    # The source lists the pairing without an identifier (talking to the target) while the
    # target already lists the source as Paired: old code saw "half done" and unpaired it.
    p, world, _ = pairing(
        (0, {"source": PENDING, "target": PairingStatus.Paired}),
        (3, {"source": PairingStatus.Pairing, "target": PairingStatus.Paired}),
        (8, {"source": PairingStatus.Paired, "target": PairingStatus.Paired}),
    )
    state = p.read()
    assert state.busy == ["the source is pairing with zvm-b:9071"]
    after = p.pair(state, "zvm-b", 9071)
    assert after.paired and after.notes == ["paired by another run at the same time"]
    assert world.calls == []  # no token, no pairing, no unpairing


def test_already_in_progress_refusal_means_wait_for_the_other_run() -> None:
    # Both runs found the sites unpaired; the other run's pairing started first.
    p, world, _ = pairing()
    world.pair_refusal = "Pairing with zvm-b:9071 is already in progress."
    state = p.read()
    world.timeline += [
        (0.5, {"source": PENDING, "tasks": {"source": ["PairSites"]}}),
        (
            2,
            {
                "source": PairingStatus.Pairing,
                "target": PairingStatus.Paired,
                "tasks": {"source": ["PairSites"]},
            },
        ),
        (12, {"source": PairingStatus.Paired, "target": PairingStatus.Paired}),
    ]
    world.clock.now = 0.5
    after = p.pair(state, "zvm-b", 9071)
    assert after.paired and after.notes == ["paired by another run at the same time"]
    assert unpairs(world) == []


def test_already_in_progress_without_other_evidence_still_waits_the_grace_period() -> None:
    # A ZVM that cannot list its tasks and lists nothing yet: the refusal alone says "wait".
    p, world, clock = pairing(grace=30)
    world.pair_refusal = "Pairing with zvm-b:9071 is already in progress."
    world.timeline.append((20, {"source": PairingStatus.Paired, "target": PairingStatus.Paired}))
    after = p.pair(p.read(), "zvm-b", 9071)
    assert after.paired and clock.now >= 20


def test_another_run_pairing_at_the_same_moment_counts_as_success() -> None:
    p, world, _ = pairing()
    world.pair_refusal = "Sites already paired"
    world.timeline.append((0, {"source": PairingStatus.Paired, "target": PairingStatus.Paired}))
    after = p.pair(p.read(), "zvm-b", 9071)
    assert after.paired
    assert after.notes == ["paired by another run at the same time"]


def test_a_real_pairing_failure_names_both_sites_and_the_port() -> None:
    p, world, clock = pairing()
    world.pair_refusal = "The peer site could not be reached at zvm-b:9071."
    with pytest.raises(TaskFailed, match=r"Pairing source with target at zvm-b:9071 failed") as err:
        p.pair(p.read(), "zvm-b", 9071)
    assert "9071 appliance, 9081 Windows" in str(err.value)
    assert clock.now == 0  # nothing in progress: no waiting for a pairing that is not coming


def test_a_pairing_in_progress_past_the_timeout_is_a_timeout_naming_the_evidence() -> None:
    p, _, clock = pairing(
        (
            0,
            {
                "source": PairingStatus.Pairing,
                "target": PairingStatus.Paired,
                "tasks": {"target": ["UnpairSites"]},
            },
        ),
        timeout=60,
    )
    with pytest.raises(TaskTimeout, match="still not settled after 60 s") as err:
        p.settle(p.read())
    assert "UnpairSites task running" in str(err.value)
    assert clock.now == 60


def test_a_zvm_that_cannot_list_tasks_gives_no_evidence() -> None:
    p, _, _ = pairing((0, {"source": PairingStatus.Paired, "target": PairingStatus.Paired}))

    def refuse(task_type: str | None = None) -> list[dict[str, Any]]:
        raise ApiError("GET /v1/tasks: 403 Forbidden", status=403)

    p.source.tasks = refuse  # type: ignore[method-assign]
    assert p.read().paired and p.read().busy == []
