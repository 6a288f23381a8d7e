# Copyright: vmrepl contributors
# Apache License 2.0
"""Site pairing (remote edition): token from the target, pair from the source, verify Paired on
both sides. A no-op when paired; a half-done pairing is repaired; unpairing only on request."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.vmrepl.core.plugins.module_utils.errors import TaskFailed, VmreplError
from ansible_collections.vmrepl.core.plugins.module_utils.zvm import ZvmClient
from ansible_collections.vmrepl.core.plugins.module_utils.zvm import field as zf

PAIRED, PAIRING, UNPAIRED = 0, 1, 2
STATUS_NAMES = {PAIRED: "Paired", PAIRING: "Pairing", UNPAIRED: "Unpaired"}


def site_id(site: dict[str, Any]) -> str:
    """The identifier of a local or peer site object (``SiteIdentifier`` or its link)."""
    return str(zf(site, "SiteIdentifier") or zf(zf(site, "Link") or {}, "identifier") or "")


def find_peer(peers: list[dict[str, Any]], peer_id: str) -> dict[str, Any] | None:
    return next((p for p in peers if site_id(p) == peer_id), None)


@dataclass
class PairingState:
    """Both sides as they are: ``source_view`` is the target as the source lists it."""

    source_id: str
    target_id: str
    source_name: str
    target_name: str
    source_view: dict[str, Any] | None
    target_view: dict[str, Any] | None
    notes: list[str] = field(default_factory=list)

    @property
    def paired(self) -> bool:
        return all(
            view is not None and zf(view, "PairingStatus") == PAIRED
            for view in (self.source_view, self.target_view)
        )

    @property
    def pairing(self) -> bool:
        return any(
            view is not None and zf(view, "PairingStatus") == PAIRING
            for view in (self.source_view, self.target_view)
        )

    @property
    def absent(self) -> bool:
        return self.source_view is None and self.target_view is None

    def describe(self) -> dict[str, str]:
        def status(view: dict[str, Any] | None) -> str:
            return STATUS_NAMES.get(zf(view, "PairingStatus"), "?") if view else "not listed"

        return {"source": status(self.source_view), "target": status(self.target_view)}


class SitePairing:
    def __init__(self, source: ZvmClient, target: ZvmClient, timeout: float = 600.0) -> None:
        self.source = source
        self.target = target
        self.timeout = timeout

    def read(self) -> PairingState:
        src, tgt = self.source.local_site(), self.target.local_site()
        source_id, target_id = site_id(src), site_id(tgt)
        return PairingState(
            source_id=source_id,
            target_id=target_id,
            source_name=str(zf(src, "SiteName")),
            target_name=str(zf(tgt, "SiteName")),
            source_view=find_peer(list(self.source.peer_sites()), target_id),
            target_view=find_peer(list(self.target.peer_sites()), source_id),
        )

    def settle(self, state: PairingState) -> PairingState:
        """Wait while either side says Pairing (another run may be pairing right now)."""
        deadline = time.monotonic() + self.timeout
        while state.pairing and time.monotonic() < deadline:
            time.sleep(1.0)
            state = self.read()
        return state

    def pair(self, state: PairingState, host: str, port: int) -> PairingState:
        """Pair from the source with a fresh token of the target; repair a half pairing first."""
        notes = list(state.notes)
        if state.source_view is not None or state.target_view is not None:
            # Half-done: one side lists the other, not Paired on both. Start clean.
            self._unpair_sides(state, keep_target_disks=True)
            notes.append("repaired a half-done pairing: " + str(state.describe()))
        token = zf(self.target.generate_peer_token(), "Token")
        try:
            task = self.source.pair_site(host, port, str(token))
            self.source.wait_for_task(task, timeout=self.timeout)
        except VmreplError as first_error:
            # Another run may have paired the sites in the meantime: then that is success.
            after = self.settle(self.read())
            if after.paired:
                after.notes = [*notes, "paired by another run at the same time"]
                return after
            raise TaskFailed(
                f"Pairing {state.source_name} with {state.target_name} at {host}:{port} failed: "
                f"{first_error.message}",
                hint="Check that the source ZVM reaches the target on the pairing port "
                "(9071 appliance, 9081 Windows) and that no NAT is in between.",
            ) from first_error
        after = self.settle(self.read())
        if not after.paired:
            raise TaskFailed(
                f"After pairing, the sites are not Paired on both sides: {after.describe()}.",
                hint="Look at the ZVM alerts of both sites; a re-run repairs a half pairing.",
            )
        after.notes = notes
        return after

    def unpair(self, state: PairingState, keep_target_disks: bool) -> PairingState:
        self._unpair_sides(state, keep_target_disks)
        return self.read()

    def _unpair_sides(self, state: PairingState, keep_target_disks: bool) -> None:
        tasks = []
        if state.source_view is not None:
            tasks.append((self.source, self.source.unpair_site(state.target_id, keep_target_disks)))
        elif state.target_view is not None:
            tasks.append((self.target, self.target.unpair_site(state.source_id, keep_target_disks)))
        for client, task in tasks:
            if task:
                client.wait_for_task(task, timeout=self.timeout)
