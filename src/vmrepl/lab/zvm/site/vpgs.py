"""VPGs: creation from a committed settings object, their replication state, checkpoints,
pause/resume/force-sync, deletion, and the ``VpgApi`` JSON.

The state is derived from the record and the clock, so both sites of a VPG compute the same:
Initializing (InitialSync) until ``sync_done``, then MeetingSLA with a checkpoint every
``checkpoint_seconds`` and a journal history that fills up to ``JournalHistoryInHours`` at
``history_time_scale`` simulated seconds per real second. While the link to the other site is
down the VPG is NotMeetingSLA (DisconnectedFromPeer) and no checkpoints are taken.
"""

from __future__ import annotations

import math
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vmrepl.lab.zvm import clock
from vmrepl.lab.zvm.enums import (
    CHECKPOINT_AUTOMATIC,
    CHECKPOINT_TAGGED,
    DELETING,
    FAILING_OVER,
    INITIALIZING,
    MEETING_SLA,
    MOVING,
    NOT_MEETING_SLA,
    RECOVERED,
    RPO_NOT_MEETING_SLA,
    SUB,
    SUB_NONE,
    VPG_PRIORITIES,
    VPG_STATUSES,
    VPG_SUBSTATUSES,
)
from vmrepl.lab.zvm.errors import BadRequest, NotFound
from vmrepl.lab.zvm.http.routing import Request
from vmrepl.lab.zvm.links import link
from vmrepl.lab.zvm.site.tasks import TaskContext, TaskService
from vmrepl.lab.zvm.site.validation import validate
from vmrepl.lab.zvm.store import SettingsRecord, TaggedCheckpoint, VpgRecord

if TYPE_CHECKING:
    from vmrepl.lab.zvm.context import SiteContext
    from vmrepl.lab.zvm.site.gateway import Gateways
    from vmrepl.lab.zvm.site.peering import PeeringService

#: at most this many checkpoints are listed (the most recent)
MAX_LISTED_CHECKPOINTS = 2000

_STAGE_SUBSTATUS = {
    ("Failover", "BeforeCommit"): SUB["FailingOverBeforeCommit"],
    ("Failover", "Committing"): SUB["FailingOverCommitting"],
    ("Failover", "RollingBack"): SUB["FailingOverRollingBack"],
    ("Move", "BeforeCommit"): SUB["MovingBeforeCommit"],
    ("Move", "Committing"): SUB["MovingCommitting"],
    ("Move", "RollingBack"): SUB["MovingRollingBack"],
}


@dataclass
class Checkpoint:
    identifier: str
    timestamp: float
    tag: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "CheckpointIdentifier": self.identifier,
            "TimeStamp": clock.iso(self.timestamp),
            "Tag": self.tag,
            "Type": CHECKPOINT_TAGGED if self.tag else CHECKPOINT_AUTOMATIC,
        }


@dataclass
class VpgState:
    status: int
    substatus: int
    actual_rpo: int
    history_minutes: int
    configured_minutes: int
    link_up: bool
    progress: float


def _checkpoint_id(timestamp: float) -> str:
    return str(round(timestamp * 1000))


class VpgService:
    def __init__(
        self, ctx: SiteContext, tasks: TaskService, peering: PeeringService, gateways: Gateways
    ) -> None:
        self.ctx = ctx
        self.tasks = tasks
        self.peering = peering
        self.gateways = gateways
        #: called with every record saved here (app.py wires ``PeeringService.push``: the record
        #: goes to the VPG's other site)
        self.on_saved: list[Callable[[VpgRecord], object]] = []

    # -- records ----------------------------------------------------------------------------
    def get(self, identifier: str) -> VpgRecord:
        with self.ctx.store.lock:
            record = self.ctx.store.vpgs.get(identifier)
            if record is None or record.deleted:
                raise NotFound(f"VPG {identifier} was not found.")
            return record

    def save(self, record: VpgRecord) -> None:
        """Store a changed record (next revision) and send it to the other site."""
        with self.ctx.store.lock:
            record.revision += 1
            record.updated = clock.now()
            self.ctx.store.vpgs[record.identifier] = record
        for hook in self.on_saved:
            hook(record)

    def other_site(self, record: VpgRecord) -> str:
        me = self.ctx.site_identifier
        return record.recovery_site if record.protected_site == me else record.protected_site

    def recovery_hosts(self, record: VpgRecord) -> set[str]:
        hosts = set()
        default = (record.settings.get("Recovery") or {}).get("DefaultHostIdentifier")
        if default:
            hosts.add(default)
        for entry in record.settings.get("Vms") or []:
            host = (entry.get("Recovery") or {}).get("HostIdentifier")
            if host:
                hosts.add(host)
        return hosts

    def protected_vm_ids(self, site: str) -> set[str]:
        """Identifiers of the VMs of a site that a VPG protects (identifiers are only unique
        within one vCenter, so always per site)."""
        return {
            vm.vm
            for vpg in self.ctx.store.live_vpgs()
            if vpg.protected_site == site
            for vm in vpg.vms
        }

    # -- commit -----------------------------------------------------------------------------
    def commit(self, settings: SettingsRecord, principal: str | None) -> str:
        editing = self.get(settings.vpg_identifier) if settings.vpg_identifier else None
        if editing is not None and editing.operation is not None:
            raise BadRequest(
                f"VPG {editing.name} cannot be edited during a {editing.operation.kind}."
            )
        plan = validate(self.ctx, self.gateways, self.peering, settings.data, editing)
        now = clock.now()
        commit_seconds = self.ctx.faults.task_seconds("vpg_commit")
        sync_seconds = self.ctx.faults.task_seconds("initial_sync")
        if editing is None:
            record = VpgRecord(
                identifier=str(uuid.uuid4()),
                name=plan.name,
                protected_site=plan.protected_site,
                recovery_site=plan.recovery_site,
                protected_site_name=self.peering.site_name(plan.protected_site),
                recovery_site_name=self.peering.site_name(plan.recovery_site),
                settings=plan.settings,
                vms=plan.vms,
                created=now,
                sync_started=now,
                sync_done=now + commit_seconds + sync_seconds,
                segments=[[now + commit_seconds + sync_seconds, None]],
                revision=0,
            )
            task_type = "CreateProtectionGroup"
        else:
            record = editing
            added = {vm.vm for vm in plan.vms} - {vm.vm for vm in editing.vms}
            with self.ctx.store.lock:
                record.name = plan.name
                record.settings = plan.settings
                record.vms = plan.vms
                if added and record.sync_done < now:
                    record.sync_started = now
                    record.sync_done = now + commit_seconds + sync_seconds
                    record.sync_kind = "InitialSync"
            task_type = "UpdateProtectionGroup"
        self.save(record)

        def work(ctx: TaskContext) -> None:
            ctx.wait(1.0)

        return self.tasks.start(
            task_type,
            "vpg_commit",
            work,
            initiated_by=principal,
            vpgs=[record.identifier],
            sites=[record.protected_site, record.recovery_site],
        )

    # -- replication state ------------------------------------------------------------------
    def _intervals(self, record: VpgRecord, now: float) -> list[tuple[float, float]]:
        """The periods in which the VPG replicated (checkpoints are taken in them)."""
        periods = [
            (float(s or 0.0), float(e) if e is not None else now) for s, e in record.segments
        ]
        periods = [(s, min(e, now)) for s, e in periods if s < now]
        if not record.is_local:
            for start, end in self.peering.outages(self.other_site(record)):
                cut_start = float(start) if start is not None else now
                cut_end = float(end) if end is not None else now
                split = []
                for s, e in periods:
                    if cut_end <= s or cut_start >= e:
                        split.append((s, e))
                        continue
                    if s < cut_start:
                        split.append((s, cut_start))
                    if cut_end < e:
                        split.append((cut_end, e))
                periods = split
        return periods

    def retention_seconds(self, record: VpgRecord) -> float:
        hours = (record.settings.get("Basic") or {}).get("JournalHistoryInHours") or 24
        return float(hours) * 3600.0 / max(self.ctx.config.history_time_scale, 1e-9)

    def checkpoints(self, record: VpgRecord, now: float | None = None) -> list[Checkpoint]:
        """Every checkpoint still in the journal, oldest first."""
        now = clock.now() if now is None else now
        step = max(self.ctx.config.checkpoint_seconds, 0.01)
        oldest = now - self.retention_seconds(record)
        points: list[Checkpoint] = []
        for start, end in self._intervals(record, now):
            first = max(start, oldest)
            k = max(0, math.ceil((first - start) / step - 1e-9))
            while start + k * step <= end:
                ts = start + k * step
                points.append(Checkpoint(_checkpoint_id(ts), ts))
                k += 1
        points += [
            Checkpoint(t.identifier, t.timestamp, t.tag)
            for t in record.tagged
            if t.timestamp >= oldest
        ]
        points.sort(key=lambda c: c.timestamp)
        return points

    def find_checkpoint(self, record: VpgRecord, identifier: str) -> Checkpoint:
        for checkpoint in self.checkpoints(record):
            if checkpoint.identifier == identifier:
                return checkpoint
        raise BadRequest(
            f"Checkpoint {identifier} was not found in the journal of VPG {record.name}."
        )

    def latest_checkpoint(self, record: VpgRecord) -> Checkpoint | None:
        points = self.checkpoints(record)
        return points[-1] if points else None

    def _last_replicated(self, record: VpgRecord, now: float) -> float:
        """When the latest checkpoint was taken (or replication began), whatever the journal
        still holds: the base of the actual RPO."""
        step = max(self.ctx.config.checkpoint_seconds, 0.01)
        last = record.sync_done
        for start, end in self._intervals(record, now):
            last = max(last, start + math.floor((end - start) / step + 1e-9) * step)
        for tagged in record.tagged:
            last = max(last, tagged.timestamp)
        return last

    def state(self, record: VpgRecord) -> VpgState:
        now = clock.now()
        basic = record.settings.get("Basic") or {}
        configured_minutes = int(basic.get("JournalHistoryInHours") or 24) * 60
        rpo_target = int(basic.get("RpoInSeconds") or 300)
        link_up = record.is_local or self.peering.link_up(self.other_site(record))
        syncing = now < record.sync_done
        replicated = max(0.0, now - record.sync_done)
        history = min(configured_minutes, int(replicated * self.ctx.config.history_time_scale / 60))
        rpo = 0 if syncing else max(1, math.ceil(now - self._last_replicated(record, now)))
        progress = 0.0
        if syncing:
            total = max(record.sync_done - record.sync_started, 1e-6)
            progress = round(min(99.0, (now - record.sync_started) / total * 100), 1)
        op = record.operation
        if record.deleting:
            status, sub = DELETING, SUB["Deleting"]
        elif record.recovered:
            status, sub, rpo, history = RECOVERED, SUB_NONE, 0, 0
        elif op is not None and op.kind in ("Failover", "Move"):
            status = FAILING_OVER if op.kind == "Failover" else MOVING
            sub = _STAGE_SUBSTATUS.get((op.kind, op.stage), SUB_NONE)
        elif not record.vms:  # committed without VMs: nothing to replicate yet
            status, sub, rpo, history = NOT_MEETING_SLA, SUB["EmptyProtectionGroup"], 0, 0
        elif syncing:
            status, sub = INITIALIZING, SUB[record.sync_kind]
        elif not link_up:
            status, sub = NOT_MEETING_SLA, SUB["DisconnectedFromPeer"]
        elif record.vra_down:  # see maintenance.py: changes are tracked in a bitmap meanwhile
            status, sub = NOT_MEETING_SLA, SUB["BitmapSync"]
        elif rpo > rpo_target:
            status = RPO_NOT_MEETING_SLA
            if record.paused:
                sub = SUB["ReplicationPausedUserInitiated"]
            else:
                sub = SUB["BitmapSync"] if record.bitmap_sync_until > now else SUB_NONE
        else:
            status = MEETING_SLA
            if record.paused:
                sub = SUB["ReplicationPausedUserInitiated"]
            elif record.forcesync_until > now:
                sub = SUB["Sync"]
            elif record.bitmap_sync_until > now:
                sub = SUB["BitmapSync"]
            else:
                sub = SUB_NONE
        return VpgState(status, sub, rpo, history, configured_minutes, link_up, progress)

    # -- JSON -------------------------------------------------------------------------------
    def to_json(self, record: VpgRecord) -> dict[str, Any]:
        state = self.state(record)
        basic = record.settings.get("Basic") or {}
        points = self.checkpoints(record) if state.status != INITIALIZING else []
        storage = sum(vm.storage_mb for vm in record.vms)
        replicating = state.status in (MEETING_SLA, RPO_NOT_MEETING_SLA) and not record.paused
        seed = zlib.crc32(record.identifier.encode())
        priority = str(basic.get("Priority") or "Medium").lower()
        if state.status == NOT_MEETING_SLA:
            alert = 2
        elif state.status == RPO_NOT_MEETING_SLA or record.paused:
            alert = 1
        else:
            alert = 0
        op = record.operation
        test = {"Stage": op.stage} if op is not None and op.kind == "FailoverTest" else None
        base = self.ctx.url
        return {
            "VpgIdentifier": record.identifier,
            "Link": link(base, "vpgs", record.identifier, "VpgApi"),
            "VpgName": record.name,
            "VpgDescription": None,
            "VpgType": basic.get("VpgType") or "Remote",
            "Status": state.status,
            "StatusDescription": VPG_STATUSES[state.status],
            "SubStatus": state.substatus,
            "SubStatusDescription": VPG_SUBSTATUSES[state.substatus],
            "ProgressPercentage": state.progress,
            "Priority": [p.lower() for p in VPG_PRIORITIES].index(priority)
            if priority in ("low", "medium", "high")
            else 1,
            "VmsCount": len(record.vms),
            "ProvisionedStorageInMB": storage,
            "UsedStorageInMB": storage,
            "IoPs": (seed % 40 + 10) if replicating else 0,
            "ThroughputInMB": round((seed % 50) / 10 + 0.5, 2) if replicating else 0.0,
            "ActualRPO": state.actual_rpo,
            "ConfiguredRpoSeconds": int(basic.get("RpoInSeconds") or 300),
            "LastTest": clock.iso(record.last_test),
            "ProtectedSiteName": record.protected_site_name,
            "ProtectedSite": link(base, "peersites", record.protected_site, "SiteApi"),
            "RecoverySiteName": record.recovery_site_name,
            "RecoverySite": link(base, "peersites", record.recovery_site, "SiteApi"),
            "Entities": {"Protected": 0, "Recovery": 0},
            "ActiveProcessesApi": {"RunningFailOverTestApi": test},
            "ServiceProfile": None,
            "Zorg": None,
            "BackupEnabled": False,
            "FailSafeHistory": {"ActualFailSafeHistory": 0, "ConfiguredFailSafeHistory": 0},
            "HistoryStatusApi": {
                "ActualHistoryInMinutes": state.history_minutes,
                "ConfiguredHistoryInMinutes": state.configured_minutes,
                "EarliestCheckpoint": points[0].to_json() if points else None,
            },
            "AlertStatus": alert,
        }

    # -- operations -------------------------------------------------------------------------
    def _require_idle(self, record: VpgRecord, action: str) -> None:
        if record.operation is not None:
            raise BadRequest(f"Cannot {action} VPG {record.name} during a {record.operation.kind}.")
        if record.deleting:
            raise BadRequest(f"VPG {record.name} is being deleted.")

    def _simple(
        self, request: Request, record: VpgRecord, task_type: str, kind: str, change: Any
    ) -> str:
        def work(ctx: TaskContext) -> None:
            ctx.wait(0.5)
            with self.ctx.store.lock:
                current = self.get(record.identifier)
                change(current)
            self.save(current)

        return self.tasks.start(
            task_type,
            kind,
            work,
            initiated_by=request.principal,
            vpgs=[record.identifier],
            sites=[record.protected_site, record.recovery_site],
        )

    def pause(self, request: Request, identifier: str) -> str:
        record = self.get(identifier)
        self._require_idle(record, "pause")
        if record.paused:
            raise BadRequest(f"VPG {record.name} is already paused.")

        def change(r: VpgRecord) -> None:
            r.paused = True
            now = clock.now()
            for segment in r.segments:
                if segment[1] is None:
                    segment[1] = max(now, float(segment[0] or now))

        return self._simple(request, record, "PauseProtectionGroup", "pause", change)

    def resume(self, request: Request, identifier: str) -> str:
        record = self.get(identifier)
        if not record.paused:
            raise BadRequest(f"VPG {record.name} is not paused.")

        def change(r: VpgRecord) -> None:
            r.paused = False
            r.segments.append([max(clock.now(), r.sync_done), None])

        return self._simple(request, record, "ResumeProtectionGroup", "resume", change)

    def forcesync(self, request: Request, identifier: str) -> str:
        record = self.get(identifier)
        self._require_idle(record, "force-sync")
        if clock.now() < record.sync_done:
            raise BadRequest(f"VPG {record.name} is still in its initial sync.")
        seconds = self.ctx.faults.task_seconds("forcesync")

        def change(r: VpgRecord) -> None:
            r.forcesync_until = clock.now() + seconds

        return self._simple(request, record, "ForceSync", "forcesync", change)

    def tag_checkpoint(self, request: Request, identifier: str) -> str:
        record = self.get(identifier)
        name = request.fields().text("CheckpointName")
        if not name:
            raise BadRequest("CheckpointName is required.")
        if clock.now() < record.sync_done:
            raise BadRequest(f"VPG {record.name} is still in its initial sync.")
        stamp = clock.now()

        def change(r: VpgRecord) -> None:
            r.tagged.append(TaggedCheckpoint(_checkpoint_id(stamp), stamp, name))

        return self._simple(request, record, "InsertTaggedCheckpoint", "checkpoint", change)

    def delete(self, request: Request, identifier: str) -> str:
        record = self.get(identifier)
        body = request.fields()
        force = bool(body.boolean("Force", default=False))
        keep = bool(body.boolean("KeepRecoveryVolumes", default=False))
        if record.operation is not None and record.operation.kind != "FailoverTest" and not force:
            raise BadRequest(
                f"VPG {record.name} is in a {record.operation.kind}; commit or roll it back, "
                "or delete with Force."
            )
        if record.deleting:
            raise BadRequest(f"VPG {record.name} is already being deleted.")
        with self.ctx.store.lock:
            record.deleting = True
        self.save(record)

        def work(ctx: TaskContext) -> None:
            ctx.wait(0.5)
            current = self.get(identifier)
            op = current.operation
            if op is not None and op.kind == "FailoverTest":
                self.gateways(current.recovery_site).destroy([c.vm for c in op.created])
            if current.replicas and not keep:
                self.gateways(current.recovery_site).destroy(list(current.replicas.values()))
            with self.ctx.store.lock:
                current.deleted = True
                current.deleting = False
            self.save(current)

        def failed(reason: str) -> None:
            with self.ctx.store.lock:
                current = self.ctx.store.vpgs.get(identifier)
                if current is None:
                    return
                current.deleting = False
            self.save(current)

        return self.tasks.start(
            "RemoveProtectionGroup",
            "vpg_delete",
            work,
            initiated_by=request.principal,
            vpgs=[identifier],
            sites=[record.protected_site, record.recovery_site],
            on_failure=failed,
        )
