"""Tasks: every action runs asynchronously for a configurable time and is polled through
``GET /v1/tasks/{id}`` (``Status.State`` 1 InProgress → 6 Completed, or 4 Failed with a
``CompleteReason``; ``Status.Progress`` 0-100)."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from vmrepl.lab.zvm import clock
from vmrepl.lab.zvm.enums import TASK_COMPLETED, TASK_FAILED, TASK_IN_PROGRESS
from vmrepl.lab.zvm.errors import NotFound, OperationFailed
from vmrepl.lab.zvm.links import link
from vmrepl.lab.zvm.store import TaskRecord

if TYPE_CHECKING:
    from vmrepl.lab.zvm.context import SiteContext

LOG = logging.getLogger(__name__)

#: the task types this simulator runs (``GET /v1/tasks/types``)
TASK_TYPES = (
    "PairSites",
    "UnpairSites",
    "InstallVra",
    "UninstallVra",
    "EditVra",
    "UpgradeVra",
    "CreateProtectionGroup",
    "UpdateProtectionGroup",
    "RemoveProtectionGroup",
    "InsertTaggedCheckpoint",
    "PauseProtectionGroup",
    "ResumeProtectionGroup",
    "ForceSync",
    "FailoverTest",
    "StopFailoverTest",
    "Failover",
    "FailoverCommit",
    "FailoverRollback",
    "MoveProtectionGroup",
    "MoveCommit",
    "MoveRollback",
)


class TaskContext:
    """Handed to a task's work: the record, and pacing over the task's duration."""

    def __init__(self, record: TaskRecord) -> None:
        self.record = record

    def wait(self, fraction: float) -> None:
        """Sleep until ``fraction`` (0-1) of the task's duration has passed."""
        target = self.record.started + self.record.duration * max(0.0, min(1.0, fraction))
        delay = target - clock.now()
        if delay > 0:
            time.sleep(delay)


Work = Callable[[TaskContext], None]


class TaskService:
    def __init__(self, ctx: SiteContext) -> None:
        self.ctx = ctx
        self._generation = 0

    def start(
        self,
        task_type: str,
        kind: str,
        work: Work,
        *,
        initiated_by: str | None,
        vpgs: Iterable[str] = (),
        sites: Iterable[str] = (),
        hosts: Iterable[str] = (),
        on_failure: Callable[[str], None] | None = None,
    ) -> str:
        """Run ``work`` in the background for the kind's duration; returns the task id.

        ``work`` raising :class:`OperationFailed` fails the task with that reason (and calls
        ``on_failure`` with it); the task completes no sooner than its duration.
        """
        with self.ctx.store.lock:
            self._generation += 1
            record = TaskRecord(
                identifier=f"{task_type}.{uuid.uuid4()}",
                type=task_type,
                kind=kind,
                initiated_by=initiated_by or "",
                started=clock.now(),
                duration=self.ctx.faults.task_seconds(kind),
                vpgs=list(vpgs),
                sites=list(sites) or [self.ctx.site_identifier],
                hosts=list(hosts),
                generation=self._generation,
            )
            self.ctx.store.tasks[record.identifier] = record
        thread = threading.Thread(
            target=self._run, args=(record, work, on_failure), name=record.identifier, daemon=True
        )
        thread.start()
        return record.identifier

    def _run(
        self, record: TaskRecord, work: Work, on_failure: Callable[[str], None] | None
    ) -> None:
        context = TaskContext(record)
        reason: str | None = None
        try:
            work(context)
            context.wait(1.0)
        except OperationFailed as exc:
            reason = exc.reason
        except Exception as exc:  # a simulator bug must not leave a task InProgress forever
            LOG.exception("task %s failed", record.identifier)
            reason = f"Internal error of the simulator: {exc}"
        if reason is not None and on_failure is not None:
            try:
                on_failure(reason)
            except Exception:
                LOG.exception("cleanup of task %s failed", record.identifier)
        with self.ctx.store.lock:
            record.completed = clock.now()
            if reason is None:
                record.state, record.progress = TASK_COMPLETED, 100
            else:
                record.state, record.complete_reason = TASK_FAILED, reason
                record.progress = self._progress(record)
            self._generation += 1
            record.generation = self._generation

    @staticmethod
    def _progress(record: TaskRecord) -> int:
        if record.state == TASK_COMPLETED:
            return 100
        if record.state != TASK_IN_PROGRESS:
            return record.progress
        if record.duration <= 0:
            return 99
        elapsed = clock.now() - record.started
        return max(0, min(99, int(elapsed / record.duration * 100)))

    def get(self, identifier: str) -> TaskRecord:
        with self.ctx.store.lock:
            record = self.ctx.store.tasks.get(identifier)
        if record is None:
            raise NotFound(f"Task {identifier} was not found.")
        return record

    # -- JSON -------------------------------------------------------------------------------
    def to_json(self, record: TaskRecord) -> dict[str, Any]:
        base = self.ctx.url
        return {
            "TaskIdentifier": record.identifier,
            "Link": link(base, "tasks", record.identifier, "TaskApi"),
            "Type": record.type,
            "Status": {"State": record.state, "Progress": self._progress(record)},
            "InitiatedBy": record.initiated_by,
            "Started": clock.iso(record.started),
            "Completed": clock.iso(record.completed),
            "CompleteReason": record.complete_reason,
            "IsCancellable": False,
            "RelatedEntities": {
                "Vpgs": [link(base, "vpgs", v, "VpgApi") for v in record.vpgs],
                "Sites": [link(base, "peersites", s, "SiteApi") for s in record.sites],
                "Hosts": [link(base, "hosts", h, "HostApi") for h in record.hosts],
                "FlrSessions": [],
            },
            "Generation": record.generation,
        }
