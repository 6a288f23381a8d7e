"""The simulator's services on their own: a VPG service and the appliance's licence, given a
site context with an in-memory store and fake collaborators, and no vCenter at all.

These are what the explicit context buys (STRUCTURE.md, change 5): a service is built from the
parts it names, so a test can hand it fakes and see exactly what it asks of them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import pytest

from vmrepl.lab.zvm import clock
from vmrepl.lab.zvm.config import SimulatorConfig, VCenterConfig
from vmrepl.lab.zvm.context import SiteContext
from vmrepl.lab.zvm.enums import INITIALIZING, MEETING_SLA, NOT_MEETING_SLA, SUB, SUB_NONE
from vmrepl.lab.zvm.errors import BadRequest, NotFound
from vmrepl.lab.zvm.faults import Faults
from vmrepl.lab.zvm.http.routing import Request
from vmrepl.lab.zvm.site.appliance import ApplianceService
from vmrepl.lab.zvm.site.peering import PeeringService
from vmrepl.lab.zvm.site.tasks import TaskContext
from vmrepl.lab.zvm.site.vpgs import VpgService
from vmrepl.lab.zvm.store import PeerRecord, ProtectedVm, Store, TaskRecord, VpgRecord

HERE, PEER = "site-here", "site-peer"


class NoVCenter:
    """The backend of a site whose vCenter must not be touched."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the service called vCenter ({name})")


class FakeTasks:
    """Runs a task's work at once, in the caller's thread, and remembers the task."""

    def __init__(self) -> None:
        self.started: list[dict[str, Any]] = []

    def start(
        self, task_type: str, kind: str, work: Callable[[TaskContext], None], **kw: Any
    ) -> str:
        record = TaskRecord(
            identifier=f"{task_type}.{len(self.started)}",
            type=task_type,
            kind=kind,
            initiated_by=kw.get("initiated_by") or "",
            started=clock.now(),
            duration=0.0,
        )
        work(TaskContext(record))
        self.started.append({"type": task_type, "kind": kind, **kw})
        return record.identifier


class FakePeering:
    def __init__(self) -> None:
        self.up = True
        self.names = {HERE: "here", PEER: "there"}

    def link_up(self, site: str) -> bool:
        return site == HERE or self.up

    def site_name(self, site: str) -> str:
        return self.names.get(site, site)

    def outages(self, site: str) -> list[list[float | None]]:
        return []


class FakeMaintenance:
    version = "10.0.60.1310"
    display = "10.0 U6"


def _context(license_key: str = "LAB-KEY") -> SiteContext:
    config = SimulatorConfig(
        site_name="here",
        vcenter=VCenterConfig("https://vcenter.invalid/sdk", "user", "secret"),
        username="admin",
        password="secret",
        license_key=license_key,
    )
    return SiteContext(
        config=config,
        store=Store(),
        faults=Faults(0.0),
        backend=cast(Any, NoVCenter()),
        url="https://zvm.invalid:9669",
        site_identifier=HERE,
    )


def _vpg(ctx: SiteContext, *, recovery: str = PEER, synced: bool = True, vms: int = 1) -> VpgRecord:
    now = clock.now()
    done = now - 60 if synced else now + 3600
    record = VpgRecord(
        identifier=f"vpg-{len(ctx.store.vpgs)}",
        name=f"vpg{len(ctx.store.vpgs)}",
        protected_site=HERE,
        recovery_site=recovery,
        protected_site_name="here",
        recovery_site_name="there",
        settings={"Basic": {"RpoInSeconds": 300, "JournalHistoryInHours": 24}},
        vms=[ProtectedVm(vm=f"srv.vm-{i}", name=f"vm{i}", storage_mb=1024) for i in range(vms)],
        created=now - 120,
        sync_started=now - 120,
        sync_done=done,
        segments=[[done, None]],
    )
    ctx.store.vpgs[record.identifier] = record
    return record


@pytest.fixture
def site() -> tuple[SiteContext, FakeTasks, FakePeering, VpgService]:
    ctx = _context()
    tasks, peering = FakeTasks(), FakePeering()
    gateways = cast(Any, lambda site: pytest.fail(f"no gateway needed ({site})"))
    return ctx, tasks, peering, VpgService(ctx, cast(Any, tasks), cast(Any, peering), gateways)


def _request() -> Request:
    request = Request.build("POST", "/v1/vpgs/x/pause", {}, b"")
    request.principal = "admin"
    return request


def test_save_raises_the_revision_and_calls_the_saved_hooks(site: Any) -> None:
    ctx, _, _, vpgs = site
    record = _vpg(ctx)
    pushed: list[tuple[str, int]] = []
    vpgs.on_saved.append(lambda r: pushed.append((r.identifier, r.revision)))
    vpgs.save(record)
    vpgs.save(record)
    assert pushed == [(record.identifier, 2), (record.identifier, 3)]
    assert ctx.store.vpgs[record.identifier].updated > 0


def test_the_state_follows_the_sync_the_link_and_the_vms(site: Any) -> None:
    ctx, _, peering, vpgs = site
    syncing, synced, empty = _vpg(ctx, synced=False), _vpg(ctx), _vpg(ctx, vms=0)
    assert (vpgs.state(syncing).status, vpgs.state(syncing).substatus) == (
        INITIALIZING,
        SUB["InitialSync"],
    )
    state = vpgs.state(synced)
    assert (state.status, state.substatus, state.link_up) == (MEETING_SLA, SUB_NONE, True)
    assert 1 <= state.actual_rpo <= 300
    assert vpgs.state(empty).substatus == SUB["EmptyProtectionGroup"]
    peering.up = False
    state = vpgs.state(synced)
    assert (state.status, state.substatus, state.link_up) == (
        NOT_MEETING_SLA,
        SUB["DisconnectedFromPeer"],
        False,
    )
    local = _vpg(ctx, recovery=HERE)  # a VPG within one site needs no link
    assert vpgs.state(local).status == MEETING_SLA


def test_pause_runs_a_task_that_pauses_and_is_refused_twice(site: Any) -> None:
    ctx, tasks, _, vpgs = site
    record = _vpg(ctx)
    saved: list[str] = []
    vpgs.on_saved.append(lambda r: saved.append(r.identifier))
    task = vpgs.pause(_request(), record.identifier)
    assert task.startswith("PauseProtectionGroup.")
    assert tasks.started == [
        {
            "type": "PauseProtectionGroup",
            "kind": "pause",
            "initiated_by": "admin",
            "vpgs": [record.identifier],
            "sites": [HERE, PEER],
        }
    ]
    assert record.paused and record.segments[-1][1] is not None
    assert saved == [record.identifier]
    assert vpgs.state(record).substatus == SUB["ReplicationPausedUserInitiated"]
    with pytest.raises(BadRequest, match="already paused"):
        vpgs.pause(_request(), record.identifier)
    vpgs.resume(_request(), record.identifier)
    assert not record.paused and record.segments[-1][1] is None
    with pytest.raises(NotFound):
        vpgs.pause(_request(), "no-such-vpg")


def test_the_licence_takes_only_the_sites_key_and_counts_protected_vms() -> None:
    ctx = _context("LAB-RIGHT")
    peering = FakePeering()
    appliance = ApplianceService(ctx, cast(Any, FakeMaintenance()), cast(Any, peering))
    assert appliance.license_json()["Details"] is None
    assert not ctx.licensed
    with pytest.raises(BadRequest, match="needs a licensed ZVM"):
        ctx.require_license("installing a VRA")
    with pytest.raises(BadRequest, match="not valid"):
        appliance.enter_license("LAB-WRONG")
    with pytest.raises(BadRequest, match="required"):
        appliance.enter_license("  ")
    assert not ctx.licensed
    _vpg(ctx, vms=2)
    _vpg(ctx, vms=3)
    appliance.enter_license(" LAB-RIGHT ")
    ctx.require_license("installing a VRA")
    answer = appliance.license_json()
    details = answer["Details"]
    assert details["LicenseKey"] == "LAB-RIGHT"
    entered = ctx.store.license_entered
    assert entered is not None
    assert clock.parse_iso(details["ExpiryTime"]) == pytest.approx(entered + 365 * 86400, abs=1)
    assert answer["Usage"] == {
        "SitesUsage": [{"SiteIdentifier": HERE, "SiteName": "here", "ProtectedVmsCount": 5}],
        "TotalVmsCount": 5,
    }
    appliance.enter_license("LAB-RIGHT")  # the same key again keeps its term
    assert ctx.store.license_entered == entered
    appliance.remove_license()
    assert appliance.license_json()["Details"] is None


def test_a_vpg_record_that_crosses_an_unpairing_is_not_taken_back() -> None:
    """A peer's push authenticated just before this site forgot the peer brings nothing back:
    only records between this site and sites it is paired with now are merged."""
    ctx = _context()
    peering = PeeringService(ctx, cast(Any, FakeTasks()))
    ctx.store.peers[PEER] = PeerRecord(
        PEER, "there", "peer.invalid", 9071, "https://peer.invalid:9071", "10.0", "", 0, "key"
    )
    record = _vpg(_context())
    peering.merge([record])
    assert set(ctx.store.vpgs) == {record.identifier}
    peering.forget(PEER)
    assert ctx.store.vpgs == {} and ctx.store.peers == {}
    record.revision += 1
    peering.merge([record])  # the push that crossed the unpairing
    assert ctx.store.vpgs == {}
