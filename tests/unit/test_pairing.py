"""Site pairing decisions against fake ZVMs (unit tests: the lab tests pair real simulators)."""

from __future__ import annotations

from typing import Any

import pytest

from ansible_collections.vmrepl.core.plugins.module_utils.errors import ApiError, TaskFailed
from ansible_collections.vmrepl.core.plugins.module_utils.pairing import (
    PAIRED,
    PAIRING,
    UNPAIRED,
    SitePairing,
)


class FakeZvm:
    """Just what SitePairing calls; a shared ``world`` holds each side's view of the other."""

    def __init__(self, name: str, world: dict[str, Any]) -> None:
        self.name = name
        self.world = world
        self.calls: list[str] = []

    def local_site(self) -> dict[str, Any]:
        return {"SiteName": self.name, "Link": {"identifier": f"id-{self.name}"}}

    def peer_sites(self) -> list[dict[str, Any]]:
        status = self.world.get(self.name)
        if status is None:
            return []
        peer = "target" if self.name == "source" else "source"
        return [
            {"PeerSiteName": peer, "PairingStatus": status, "Link": {"identifier": f"id-{peer}"}}
        ]

    def generate_peer_token(self) -> dict[str, Any]:
        self.calls.append("token")
        return {"Token": "t0k3n"}

    def pair_site(self, host: str, port: int, token: str) -> str:
        self.calls.append(f"pair {host}:{port} {token}")
        if self.world.get("pair_fails"):
            if self.world.get("other_run_pairs"):
                self.world.update(source=PAIRED, target=PAIRED)
            raise ApiError("Sites already paired", status=400)
        self.world.update(source=PAIRED, target=PAIRED)
        return "task-pair"

    def unpair_site(self, site_id: str, keep_target_disks: bool) -> str:
        self.calls.append(f"unpair {site_id}")
        self.world.pop("source", None)
        self.world.pop("target", None)
        return "task-unpair"

    def wait_for_task(self, task: str, timeout: float = 0) -> dict[str, Any]:
        return {"Status": {"State": 6}}


def pairing(world: dict[str, Any]) -> tuple[SitePairing, FakeZvm, FakeZvm]:
    source, target = FakeZvm("source", world), FakeZvm("target", world)
    return SitePairing(source, target, timeout=0), source, target  # type: ignore[arg-type]


def test_fresh_sites_are_paired_with_a_token_from_the_target() -> None:
    p, source, target = pairing({})
    state = p.read()
    assert state.absent and not state.paired
    after = p.pair(state, "zvm-b.example", 9071)
    assert after.paired
    assert target.calls == ["token"]
    assert source.calls == ["pair zvm-b.example:9071 t0k3n"]


def test_paired_sites_need_nothing() -> None:
    p, _, _ = pairing({"source": PAIRED, "target": PAIRED})
    state = p.read()
    assert state.paired and state.describe() == {"source": "Paired", "target": "Paired"}


@pytest.mark.parametrize(
    "world",
    [{"source": UNPAIRED}, {"target": PAIRED}, {"source": PAIRED, "target": UNPAIRED}],
)
def test_a_half_pairing_is_undone_then_paired(world: dict[str, Any]) -> None:
    p, source, target = pairing(dict(world))
    state = p.read()
    assert not state.paired and not state.absent
    after = p.pair(state, "zvm-b", 9071)
    assert after.paired
    assert any(c.startswith("unpair") for c in source.calls + target.calls)
    assert any("repaired a half-done pairing" in note for note in after.notes)


def test_another_run_pairing_at_the_same_moment_counts_as_success() -> None:
    p, _, _ = pairing({"pair_fails": True, "other_run_pairs": True})
    after = p.pair(p.read(), "zvm-b", 9071)
    assert after.paired
    assert after.notes == ["paired by another run at the same time"]


def test_a_real_pairing_failure_names_both_sites_and_the_port() -> None:
    p, _, _ = pairing({"pair_fails": True})
    with pytest.raises(TaskFailed, match=r"Pairing source with target at zvm-b:9071 failed") as err:
        p.pair(p.read(), "zvm-b", 9071)
    assert "9071 appliance, 9081 Windows" in str(err.value)


def test_pairing_in_progress_is_reported() -> None:
    p, _, _ = pairing({"source": PAIRING, "target": PAIRING})
    state = p.settle(p.read())  # timeout 0: no waiting
    assert state.pairing and not state.paired
