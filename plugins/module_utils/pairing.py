# Copyright: vmrepl contributors
# Apache License 2.0
"""Site pairing (remote edition): token from the target, pair from the source, verify Paired on
both sides. A no-op when paired; a half-done pairing is repaired; unpairing only on request.

Two runs may pair the same sites at the same moment (two pipelines). The run that meets a pairing
in progress waits for it rather than failing or undoing it. What tells "in progress" from "half
done and abandoned":

- in progress: a side says Pairing; a side lists a pairing that has no peer identifier yet (the
  source while it talks to the target); a PairSites or UnpairSites task of either ZVM has not
  ended; the source refuses a new pairing because one is "already in progress" (or the site is
  "already paired": the other run's pairing got there first);
- abandoned: one side lists the other and they are not Paired on both sides, with none of the
  above, and it stays so for ``grace`` seconds of watching. Only then is the half pairing undone.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.vmrepl.core.plugins.module_utils.clients.errors import (
    ConfigurationError,
    TaskFailed,
    TaskTimeout,
    VmreplError,
)
from ansible_collections.vmrepl.core.plugins.module_utils.clients.wait import poll_until
from ansible_collections.vmrepl.core.plugins.module_utils.clients.zvm import (
    PairingStatus,
    TaskState,
    ZvmClient,
    code_name,
    json_field,
    site_id,
)

#: ZVM task types that change a pairing; while one has not ended, a pairing is in progress.
PAIRING_TASK_TYPES = ("PairSites", "UnpairSites")
#: Task states that are an end (Failed, Stopped, Completed).
_TASK_ENDED = frozenset({TaskState.Failed, TaskState.Stopped, TaskState.Completed})
#: What the source answers when another pairing with the same target is under way.
_OTHER_RUN_REFUSAL = re.compile(r"already (in progress|paired)|in progress", re.IGNORECASE)

#: Seconds a half pairing must stay as it is, with nothing in progress, before it is undone.
DEFAULT_GRACE = 30.0


def find_peer(peers: list[dict[str, Any]], peer_id: str) -> dict[str, Any] | None:
    return next((p for p in peers if peer_id and site_id(p) == peer_id), None)


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
    #: Evidence that a pairing is being made or undone right now (by this run or another).
    busy: list[str] = field(default_factory=list)
    #: Another run made the change at the same time (this run changed nothing).
    raced: bool = False

    @property
    def paired(self) -> bool:
        return all(
            view is not None and json_field(view, "PairingStatus") == PairingStatus.Paired
            for view in (self.source_view, self.target_view)
        )

    @property
    def pairing(self) -> bool:
        """A pairing is in progress: a side says Pairing, or there is other evidence (busy)."""
        return bool(self.busy) or any(
            view is not None and json_field(view, "PairingStatus") == PairingStatus.Pairing
            for view in (self.source_view, self.target_view)
        )

    @property
    def absent(self) -> bool:
        return self.source_view is None and self.target_view is None

    @property
    def half(self) -> bool:
        """One side lists the other, and they are not Paired on both sides."""
        return not self.paired and not self.absent

    def describe(self) -> dict[str, str]:
        def status(view: dict[str, Any] | None) -> str:
            return (
                code_name(PairingStatus, json_field(view, "PairingStatus"))
                if view
                else "not listed"
            )

        return {"source": status(self.source_view), "target": status(self.target_view)}


#: The pairing status of both sides once paired, and once unpaired.
PAIRED_BOTH = {"source": "Paired", "target": "Paired"}
UNPAIRED_BOTH = {"source": "not listed", "target": "not listed"}


@dataclass
class PairingPlan:
    """Pair or unpair (``want_paired``), from ``state`` as read and settled."""

    state: PairingState
    want_paired: bool

    @property
    def before(self) -> dict[str, str]:
        return self.state.describe()

    @property
    def changes(self) -> dict[str, tuple[Any, Any]]:
        state = self.state
        if state.paired if self.want_paired else state.absent:
            return {}
        return {"pairing": (self.before, PAIRED_BOTH if self.want_paired else UNPAIRED_BOTH)}

    @property
    def facts(self) -> dict[str, Any]:
        return facts_of(self.state)

    def summary(self, check_mode: bool) -> str:
        return pairing_message(self.state, self.before, self.changes.get("pairing", (None,))[-1])


@dataclass
class PendingPairingPlan:
    """The plan against ZVMs that this run deploys first: they have no peer yet, so the plan
    is to pair (or nothing to unpair). Reads nothing; never applied (check mode only)."""

    want_paired: bool
    host: str
    port: int

    @property
    def changes(self) -> dict[str, tuple[Any, Any]]:
        return {"pairing": (UNPAIRED_BOTH, PAIRED_BOTH)} if self.want_paired else {}

    @property
    def facts(self) -> dict[str, Any]:
        return {"status": dict(UNPAIRED_BOTH), "notes": ["the ZVMs are not deployed yet"]}

    def summary(self, check_mode: bool) -> str:
        if self.want_paired:
            return (
                f"Would pair with the target at {self.host}:{self.port} once the ZVMs are deployed."
            )
        return "Nothing to unpair: the ZVMs are not deployed yet."


def peer_address(peer_host: str | None, peer_zvm_url: str, port: int) -> tuple[str, int]:
    """(host, port) the source pairs with: ``peer_host``, or the host of the target ZVM's URL;
    a port outside 1 to 65535 is refused before anything is read."""
    from urllib.parse import urlparse

    if not 1 <= port <= 65535:
        raise ConfigurationError(f"peer_port (pairing_port) must be 1 to 65535, not {port}.")
    return peer_host or urlparse(peer_zvm_url).hostname or "", port


def facts_of(state: PairingState) -> dict[str, Any]:
    return {
        "status": state.describe(),
        "source_site": {"identifier": state.source_id, "name": state.source_name},
        "target_site": {"identifier": state.target_id, "name": state.target_name},
        "notes": state.notes,
    }


def pairing_message(state: PairingState, before: dict[str, str], after: Any) -> str:
    """``A ↔ B: {before} → {after}``, or ``A ↔ B: already paired`` (``after`` None)."""
    names = f"{state.source_name} ↔ {state.target_name}: "
    return names + (
        f"{before} → {after}" if after is not None else f"already {before['source'].lower()}"
    )


class SitePairing:
    def __init__(
        self,
        source: ZvmClient,
        target: ZvmClient,
        timeout: float = 600.0,
        *,
        grace: float = DEFAULT_GRACE,
        interval: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source = source
        self.target = target
        self.timeout = timeout
        self.grace = grace
        self.interval = interval
        self._sleep = sleep
        self._clock = clock

    # -- reading ----------------------------------------------------------------------------
    def read(self) -> PairingState:
        src, tgt = self.source.local_site(), self.target.local_site()
        source_id, target_id = site_id(src), site_id(tgt)
        source_peers, target_peers = list(self.source.peer_sites()), list(self.target.peer_sites())
        busy = [
            *_unnamed_pairings("source", source_peers),
            *_unnamed_pairings("target", target_peers),
            *_tasks_in_progress("source", self.source),
            *_tasks_in_progress("target", self.target),
        ]
        return PairingState(
            source_id=source_id,
            target_id=target_id,
            source_name=str(json_field(src, "SiteName")),
            target_name=str(json_field(tgt, "SiteName")),
            source_view=find_peer(source_peers, target_id),
            target_view=find_peer(target_peers, source_id),
            busy=busy,
        )

    def plan(self, want_paired: bool) -> PairingPlan:
        """Read both sides, wait out a pairing in progress, and plan."""
        state = self.settle(self.read())
        if state.source_id == state.target_id:
            raise ConfigurationError(
                "zvm_url and peer_zvm_url are the same site; pairing needs two sites "
                "(the local edition has no pairing)."
            )
        return PairingPlan(state, want_paired)

    def apply(
        self, plan: PairingPlan, host: str, port: int, keep_target_disks: bool
    ) -> dict[str, Any]:
        """Pair or unpair as planned; the facts after, and ``changed`` false when another run
        made the change at the same time."""
        state = (
            self.pair(plan.state, host, port)
            if plan.want_paired
            else self.unpair(plan.state, keep_target_disks)
        )
        after = None if state.raced else state.describe()
        return {
            **facts_of(state),
            "changed": not state.raced,
            "msg": pairing_message(state, plan.before, after),
        }

    def settle(self, state: PairingState) -> PairingState:
        """Wait while a pairing is in progress (another run may be pairing right now); returns
        the first state with nothing in progress. TaskTimeout after ``timeout`` seconds."""
        return self._watch(state, quiet=0.0, absent_ends=True)

    def _watch(self, state: PairingState, *, quiet: float, absent_ends: bool) -> PairingState:
        """Read both sides until they are Paired, or (``absent_ends``) neither lists the other
        with nothing in progress, or they have stayed not Paired with nothing in progress for
        ``quiet`` seconds. Each sign of progress starts the quiet time again."""
        unread, last = [state], [state]
        quiet_since: list[float | None] = [None]

        def check() -> PairingState | None:
            current = unread.pop() if unread else self.read()
            current.notes = list(state.notes)
            last[0] = current
            if current.paired and not current.busy:
                return current
            if current.pairing:
                quiet_since[0] = None
                return None
            if current.absent and absent_ends:
                return current
            now = self._clock()
            since = quiet_since[0]
            if since is None:
                since = quiet_since[0] = now
            return current if now - since >= quiet else None

        def timed_out() -> TaskTimeout:
            current = last[0]
            evidence = "; ".join(current.busy) or "both sides say " + str(current.describe())
            return TaskTimeout(
                f"The pairing of {current.source_name} with {current.target_name} is still not "
                f"settled after {self.timeout:.0f} s ({evidence}).",
                hint="Another run or a ZVM task may still be pairing them: look at the task "
                "lists of both ZVMs, then run again (raise the timeout for slow sites).",
            )

        return poll_until(
            check,
            timeout=self.timeout,
            interval=self.interval,
            timeout_error=timed_out,
            sleep=self._sleep,
            clock=self._clock,
        )

    # -- changing ---------------------------------------------------------------------------
    def pair(self, state: PairingState, host: str, port: int) -> PairingState:
        """Pair from the source with a fresh token of the target. A pairing in progress is
        waited for; a half pairing is undone first, once it is known to be abandoned."""
        notes = list(state.notes)
        state = self.settle(state)
        if state.half:
            # Half-done, nothing in progress: watch it for the grace period before undoing it
            # (a pairing of another run may be between two of its steps).
            state = self._watch(state, quiet=self.grace, absent_ends=True)
            if state.half:
                self._unpair_sides(state, keep_target_disks=True)
                notes.append("repaired a half-done pairing: " + str(state.describe()))
        if state.paired:
            state.notes = [*notes, "paired by another run at the same time"]
            state.raced = True
            return state
        token = json_field(self.target.generate_peer_token(), "Token")
        try:
            task = self.source.pair_site(host, port, str(token))
            self.source.wait_for_task(task, timeout=self.timeout)
        except VmreplError as first_error:
            # "Already in progress" (or "already paired"): another run is pairing the sites
            # right now; wait for it to end Paired. Any other failure: it may still be that
            # another run paired them in the meantime, which is success too.
            other_run = bool(_OTHER_RUN_REFUSAL.search(first_error.message))
            after = self._watch(
                self.read(), quiet=self.grace if other_run else 0.0, absent_ends=not other_run
            )
            if after.paired:
                after.notes = [*notes, "paired by another run at the same time"]
                after.raced = True
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


def _unnamed_pairings(side: str, peers: list[dict[str, Any]]) -> list[str]:
    """Peers listed as Pairing without an identifier: a pairing the ZVM is still making."""
    return [
        f"the {side} is pairing with {json_field(p, 'HostName')}:{json_field(p, 'Port')}"
        for p in peers
        if not site_id(p) and json_field(p, "PairingStatus") == PairingStatus.Pairing
    ]


def _tasks_in_progress(side: str, zvm: ZvmClient) -> list[str]:
    """PairSites / UnpairSites tasks of one ZVM that have not ended. A ZVM that cannot list its
    tasks gives no evidence (its peer list still does)."""
    found = []
    for task_type in PAIRING_TASK_TYPES:
        try:
            tasks = zvm.tasks(task_type)
        except VmreplError:
            continue
        found += [
            f"the {side} has a {task_type} task running ({json_field(t, 'TaskIdentifier')})"
            for t in tasks
            if str(json_field(t, "Type") or task_type).lower() == task_type.lower()
            and json_field(t, "Status", "State") not in _TASK_ENDED
        ]
    return found
