# Copyright: vmrepl contributors
# Apache License 2.0
"""One run of a testing or recovery operation over some VPGs, for any number of VPGs at once
(in batches of ``concurrency``, their ZVM tasks polled together):

plan (read each VPG, its checkpoints and settings; refuse the whole run before anything changes
when one VPG cannot be acted on) → act (start the ZVM operation) → wait (its task) → validate
(each recovered VM at the recovery site's vCenter: powered on, VMware Tools and an address where
Tools are installed, on the expected network; the RTO is the time until all were up) → finish
(stop the test with success or failure; commit, roll back or leave a recovery before commit, as
the commit policy says).

A run acts on the VPGs whose recovery site is the site of its ZVM; in the remote edition the
play runs it at each site and :func:`recovery.merge_results` joins the answers. The rules it
follows are the pure functions of :mod:`recovery`.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from ansible_collections.vmrepl.core.plugins.module_utils.clients.errors import (
    ConfigurationError,
    NotFound,
    OperationFailed,
    Refused,
    VmreplError,
)
from ansible_collections.vmrepl.core.plugins.module_utils.clients.wait import poll_until
from ansible_collections.vmrepl.core.plugins.module_utils.clients.zvm import (
    CommitPolicy,
    ShutdownPolicy,
    TaskState,
    VpgStatus,
    ZvmClient,
    get_path,
    json_field,
    set_path,
    site_id,
)
from ansible_collections.vmrepl.core.plugins.module_utils.recovery.rules import (
    TEST_VM_SUFFIX,
    USER_NAMES,
    VM_PROPERTIES,
    Point,
    check_inputs,
    check_vm,
    choose_checkpoint,
    failed_checks,
    health_problem,
    iso,
    label,
    operation_running,
    outcome_error,
    peer_unreachable,
    pick_recovered,
    point_from,
    rpo_at_start,
    site_ids,
    status_text,
    verb,
)
from ansible_collections.vmrepl.core.plugins.module_utils.vpgs import (
    SettingsLedger,
    clean_up_settings,
    open_settings,
)


class _BootWaitOver(Exception):
    """Internal: the boot timeout passed before every recovered VM was up (not an error: the
    validation then says which did not come up)."""


# -- the run ----------------------------------------------------------------------------------
#: The shutdown policies of a recovery by the names the module takes.
SHUTDOWN_POLICIES = {
    "none": ShutdownPolicy.NONE,
    "shutdown": ShutdownPolicy.SHUTDOWN,
    "force_shutdown": ShutdownPolicy.FORCE_SHUTDOWN,
}


@dataclass
class Options:
    operation: str
    request_ref: str
    checkpoint_tag: str | None = None
    point_in_time: str | None = None
    commit_policy: str = "commit"
    rollback_on_failure: bool = True
    shutdown_policy: ShutdownPolicy = ShutdownPolicy.SHUTDOWN
    reverse_protection: bool = True
    force: bool = False
    test_network: str | None = None
    local_mode: str = "in_place"
    home_site: str | None = None
    boot_timeout: float = 300.0
    sync_timeout: float = 600.0
    timeout: float = 1800.0
    poll_interval: float = 2.0
    concurrency: int = 4
    #: Refuse the run when a VPG is not known here (this is the only site of the run).
    require_all: bool = False

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> Options:
        """The options of the module ``vpg_recovery`` (its option names; the shutdown policy by
        its name in :data:`SHUTDOWN_POLICIES`; times and counts held to their least)."""
        p = params
        return cls(
            operation=p["operation"],
            request_ref=p["request_ref"],
            checkpoint_tag=p["checkpoint_tag"] or None,
            point_in_time=p["point_in_time"] or None,
            commit_policy=p["commit_policy"],
            rollback_on_failure=p["rollback_on_failure"],
            shutdown_policy=SHUTDOWN_POLICIES[p["shutdown_policy"]],
            reverse_protection=p["reverse_protection"],
            force=p["force"],
            test_network=p["test_network"] or None,
            local_mode=p["local_mode"],
            home_site=p["home_site"] or None,
            boot_timeout=max(0, p["boot_timeout"]),
            sync_timeout=max(0, p["sync_timeout"]),
            timeout=max(1, p["timeout"]),
            poll_interval=max(0.05, p["poll_interval"]),
            concurrency=max(1, p["concurrency"]),
            require_all=p["require_all"],
        )

    @property
    def is_test(self) -> bool:
        return self.operation == "failover_test"

    @property
    def reverse(self) -> bool:
        """Reverse protection at commit: a failback always restores protection in the original
        direction; a local recovery in place keeps protecting the recovered VMs."""
        if self.operation == "failback":
            return True
        if self.operation == "local_recovery":
            return self.local_mode == "in_place"
        return self.reverse_protection


@dataclass
class Work:
    """One VPG through a run."""

    name: str
    result: dict[str, Any]
    vpg: dict[str, Any] = field(default_factory=dict)
    vpg_id: str = ""
    vms: list[tuple[str, str]] = field(default_factory=list)  # (name, identifier)
    point: Point | None = None
    expected: dict[str, list[str]] = field(default_factory=dict)  # VM name → network names
    test_network_id: str | None = None
    restore: dict[str, Any] | None = None
    #: What an interrupted run of ours could not give back (vpgs.SettingsLedger).
    pending_restore: dict[str, Any] | None = None
    before: dict[str, str] | None = None
    task: str | None = None
    started_at: float = 0.0
    up_at: float | None = None
    in_progress: bool = False  # a test running / a recovery before commit, to finish
    failed: bool = False

    def error(self, message: str) -> None:
        self.failed = True
        self.result["errors"].append(message)


def _new_result(name: str, operation: str, site: str) -> dict[str, Any]:
    return {
        "vpg": name,
        "vpg_id": None,
        "operation": operation,
        "site": site,
        "status": "not_found",
        "changed": False,
        "message": "",
        "protected_site": None,
        "recovery_site": None,
        "vpg_status": None,
        "checkpoint": None,
        "rpo_seconds": None,
        "rto_seconds": None,
        "started": None,
        "ended": None,
        "test_network": None,
        "recovery_hosts": [],
        "commit": None,
        "reverse_protection": None,
        "vms": [],
        "steps": [],
        "notes": [],
        "errors": [],
    }


class RecoveryRun:
    """One run of an operation over some VPGs, at the site of ``zvm`` (its recovery site) and
    ``vc`` (that site's vCenter). ``sleep``, ``clock`` and ``now`` are injectable."""

    def __init__(
        self,
        zvm: ZvmClient,
        vc: Any,
        options: Options,
        *,
        check_mode: bool = False,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], float] = time.time,
        ledger: SettingsLedger | None = None,
    ) -> None:
        self.zvm = zvm
        self.ledger = ledger or SettingsLedger()
        self.vc = vc
        self.o = options
        self.check_mode = check_mode
        self._sleep = sleep
        self._clock = clock
        self._now = now
        site = zvm.local_site()
        self.site_id = site_id(site)
        self.site_name = str(json_field(site, "SiteName") or self.site_id)
        self._objects: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._home_id: str | None = None

    # -- plan -------------------------------------------------------------------------------
    def plan(self, names: Sequence[str]) -> list[Work]:
        """Read every VPG and decide what to do with it; raises Refused (details: the results)
        when one of them cannot be acted on, before anything changed."""
        if not str(self.o.request_ref or "").strip():
            raise Refused(
                f"A {label(self.o.operation)} is initiated by the customer: give the customer's "
                f"request reference ({USER_NAMES['request_ref']}). Nothing was done."
            )
        check_inputs(
            request_ref=self.o.request_ref,
            point_in_time=self.o.point_in_time,
            checkpoint_tag=self.o.checkpoint_tag,
            test_network=self.o.test_network,
            now=self._now(),
        )
        # What an interrupted run of ours left at this site (see vpgs.SettingsLedger).
        if not self.check_mode:
            clean_up_settings(self.zvm, self.site_id, self.ledger)
        by_name = {str(json_field(v, "VpgName")): v for v in self.zvm.vpgs()}
        works = []
        for name in dict.fromkeys(names):
            work = Work(name, _new_result(name, self.o.operation, self.site_name))
            works.append(work)
            vpg = by_name.get(name)
            if vpg is None:
                work.result["message"] = f"VPG {name} is not known to the ZVM of {self.site_name}"
                if self.o.require_all:
                    work.result["status"] = "refused"
                continue
            try:
                self._plan_one(work, vpg)
            except Refused as exc:
                work.result.update(status="refused", message=f"VPG {name}: {exc.message}")
            except NotFound as exc:
                work.result.update(status="refused", message=f"VPG {name}: {exc}")
        refused = [w for w in works if w.result["status"] == "refused"]
        if refused:
            for work in works:
                if work.result["status"] == "planned":
                    work.result.update(
                        status="not_run",
                        changed=False,
                        message=f"VPG {work.name}: not started"
                        " - the run was refused before anything changed",
                    )
            what = label(self.o.operation)
            raise Refused(
                f"The {what} was refused before anything changed: "
                + "; ".join(w.result["message"] for w in refused),
                details={"vpgs": [w.result for w in works], "site": self.site_name},
            )
        return works

    def _home(self) -> str:
        """The site the VMs belong to (where failover and move take them from, and failback
        brings them back to): ``home_site`` by name or identifier; by default this site for a
        failback, and the peer site for a failover or a move (both run at the recovery site)."""
        if self._home_id is not None:
            return self._home_id
        wanted = self.o.home_site
        if wanted in (None, "") and self.o.operation == "failback":
            self._home_id = self.site_id
            return self._home_id
        if wanted in (self.site_id, self.site_name):
            self._home_id = self.site_id
            return self._home_id
        # A peer still pairing has no identifier yet: it is no home site.
        peers = [
            (site_id(p), json_field(p, "PeerSiteName")) for p in self.zvm.peer_sites() if site_id(p)
        ]
        matches = [i for i, n in peers if not wanted or wanted in (i, n)]
        if len(matches) != 1:
            raise ConfigurationError(
                f"Cannot tell the home site of the VMs at {self.site_name} (peers: "
                f"{', '.join(str(n) for _, n in peers) or 'none'}).",
                hint="Give home_site: the name of the site the VMs belong to.",
            )
        self._home_id = matches[0]
        return self._home_id

    def _placement(self, work: Work, protected: str, recovery: str, status: Any) -> bool:
        """Decide from where the VPG stands whether this run acts on it (True), or records it
        as unchanged or skipped (False); raises Refused when it cannot be acted on."""
        op, result, name = self.o.operation, work.result, work.name
        local_vpg = protected == recovery
        here = self.site_id
        if op in ("failover_test", "local_recovery"):
            if recovery != here:
                result.update(
                    status="skipped",
                    message=f"VPG {name} recovers at {result['recovery_site']}, not "
                    f"{self.site_name}: the run at that site acts on it",
                )
                return False
            if op == "local_recovery" and not local_vpg:
                raise Refused("it replicates to another site: local recovery is for local VPGs")
            return True
        if local_vpg:
            raise Refused(f"it replicates within one site: a {label(op)} needs a site pair")
        home = self._home()
        if op in ("failover", "move"):
            if status == VpgStatus.Recovered:
                result.update(
                    status="unchanged",
                    message=f"VPG {name} was recovered at {result['recovery_site']} already "
                    "(without reverse protection) - nothing to do",
                )
                return False
            if protected != home:
                result.update(
                    status="unchanged",
                    message=f"VPG {name}: its VMs run at {result['protected_site']} already, "
                    f"protected back to {result['recovery_site']} - nothing to do "
                    "(failback.yml brings them home)",
                )
                return False
        else:  # failback
            if status == VpgStatus.Recovered:
                raise Refused(
                    "it was recovered without reverse protection; a failback needs the VPG "
                    "reverse-protected (a failover or move with reverse protection)"
                )
            if protected == home:
                result.update(
                    status="unchanged",
                    message=f"VPG {name} is protected in the original direction already "
                    f"({result['protected_site']} → {result['recovery_site']}) - nothing to do",
                )
                return False
            if recovery != home:
                raise Refused(
                    f"it is protected from {result['protected_site']} to "
                    f"{result['recovery_site']}, neither of them its home site"
                )
        if recovery != here:
            result.update(
                status="skipped",
                message=f"VPG {name} recovers at {result['recovery_site']}: the run at that "
                "site acts on it",
            )
            return False
        return True

    def _plan_one(self, work: Work, vpg: dict[str, Any]) -> None:
        o, result = self.o, work.result
        work.vpg, work.vpg_id = vpg, str(json_field(vpg, "VpgIdentifier"))
        protected, recovery = site_ids(vpg)
        result.update(
            vpg_id=work.vpg_id,
            protected_site=json_field(vpg, "ProtectedSiteName"),
            recovery_site=json_field(vpg, "RecoverySiteName"),
            vpg_status=status_text(vpg),
        )
        status = json_field(vpg, "Status")
        op = o.operation
        if not self._placement(work, protected, recovery, status):
            return
        running = operation_running(vpg)
        if running:
            raise Refused(
                f"it is in a {running} started outside this run; finish that first (commit, "
                "roll back or stop it in the ZVM)"
            )
        if status == VpgStatus.Deleting:
            raise Refused("it is being deleted")
        if status == VpgStatus.Recovered:
            raise Refused("it was recovered without reverse protection and protects nothing")
        if status == VpgStatus.Initializing:
            vpg = self._wait_for_sync(work)
        syncing = (
            json_field(vpg, "Status") == VpgStatus.Initializing
        )  # only in check mode: the run waits
        if not o.is_test and not syncing:
            problem = health_problem(vpg)
            if problem and not o.force:
                raise Refused(
                    f"{problem}. Check its alerts; to {verb(op)} anyway (for example when the "
                    "protected site is down) give force=true (recovery_force=true)"
                )
            if problem:
                result["notes"].append(f"forced although {problem}")
            if peer_unreachable(vpg) and o.reverse:
                raise Refused(
                    "reverse protection needs the protected site, which cannot be reached: "
                    "set reverse_protection=false"
                )
        work.vms = [
            (str(json_field(v, "VmName")), str(json_field(v, "VmIdentifier")))
            for v in self.zvm.vms(vpg_name=work.name)
            if str(json_field(v, "VpgIdentifier") or work.vpg_id) == work.vpg_id
        ]
        if not work.vms:
            raise Refused("it protects no VMs")
        checkpoints = self.zvm.checkpoints(work.vpg_id)
        if op in ("move", "failback"):
            work.point = Point(None, None, self._tag(), "tagged at the start of the move")
            result["rpo_seconds"] = rpo_at_start(json_field(vpg, "ActualRPO"), [], None)
        else:
            work.point = choose_checkpoint(checkpoints, o.checkpoint_tag, o.point_in_time)
            result["rpo_seconds"] = rpo_at_start(
                json_field(vpg, "ActualRPO"), checkpoints, work.point
            )
        result["checkpoint"] = work.point.as_dict()
        self._plan_settings(work)
        result["reverse_protection"] = None if o.is_test else o.reverse
        result.update(status="planned", changed=True, message=self._plan_message(work))

    def _wait_for_sync(self, work: Work) -> dict[str, Any]:
        if self.check_mode or self.o.sync_timeout <= 0:
            if self.check_mode:
                work.result["notes"].append("the VPG is in its initial sync; the run waits for it")
                return work.vpg
            raise Refused(f"it is {status_text(work.vpg)}: no recovery before the sync completes")
        unread = [work.vpg]  # the first round looks at the VPG as read; later rounds read it
        seen = [work.vpg]

        def synced() -> dict[str, Any] | None:
            seen[0] = unread.pop() if unread else self.zvm.vpg(work.vpg_id)
            return seen[0] if json_field(seen[0], "Status") != VpgStatus.Initializing else None

        vpg = poll_until(
            synced,
            timeout=self.o.sync_timeout,
            interval=self.o.poll_interval,
            timeout_error=lambda: Refused(
                f"it is still {status_text(seen[0])} after {self.o.sync_timeout:.0f} s: no "
                "recovery before the sync completes; run again later"
            ),
            sleep=self._sleep,
            clock=self._clock,
        )
        work.vpg = vpg
        work.result["vpg_status"] = status_text(vpg)
        return vpg

    def _tag(self) -> str:
        return f"vmrepl {label(self.o.operation)} {self.o.request_ref}"[:100]

    def _site_objects(self, site: str, kind: str) -> list[dict[str, Any]]:
        key = (site, kind)
        if key not in self._objects:
            self._objects[key] = self.zvm.site_objects(site, kind)
        return self._objects[key]

    def _network_names(self) -> dict[str, str]:
        return {
            str(json_field(n, "NetworkIdentifier")): str(json_field(n, "VirtualizationNetworkName"))
            for n in self._site_objects(self.site_id, "networks")
        }

    def _open(self, vpg_id: str, purpose: str) -> Any:
        return open_settings(
            self.zvm, self.site_id, vpg_id, f"vmrepl {purpose} {self.o.request_ref}", self.ledger
        )

    def _read_settings(self, vpg_id: str) -> dict[str, Any]:
        with self._open(vpg_id, "read") as opened:
            return self.zvm.vpg_settings_get(opened.id)

    def _plan_settings(self, work: Work) -> None:
        """Recovery hosts, expected networks, and the test network switch, from the settings."""
        settings = self._read_settings(work.vpg_id)
        hosts = {
            str(json_field(h, "HostIdentifier")): str(json_field(h, "VirtualizationHostName"))
            for h in self._site_objects(self.site_id, "hosts")
        }
        clusters = {
            str(json_field(c, "ClusterIdentifier")): [
                str(json_field(h, "VirtualizationHostName"))
                for h in json_field(c, "AssociatedHosts") or []
            ]
            for c in self._site_objects(self.site_id, "hostclusters")
        }
        entries = json_field(settings, "Vms") or []
        recovery_hosts: set[str] = set()
        for node in [json_field(settings, "Recovery") or {}] + [
            json_field(e, "Recovery") or {} for e in entries
        ]:
            host = json_field(node, "DefaultHostIdentifier") or json_field(node, "HostIdentifier")
            cluster = json_field(node, "DefaultHostClusterIdentifier") or json_field(
                node, "HostClusterIdentifier"
            )
            if host and str(host) in hosts:
                recovery_hosts.add(hosts[str(host)])
            if cluster:
                recovery_hosts.update(clusters.get(str(cluster), []))
        work.result["recovery_hosts"] = sorted(recovery_hosts)
        kind = "FailoverTest" if self.o.is_test else "Failover"
        names = self._network_names()
        default = get_path(settings, ("Networks", kind, "Hypervisor", "DefaultNetworkIdentifier"))
        by_id = {str(json_field(e, "VmIdentifier")): e for e in entries}
        wanted = self.o.test_network if self.o.is_test else None
        for vm_name, vm_id in work.vms:
            nics = json_field(by_id.get(vm_id) or {}, "Nics") or []
            ids = [json_field(n, kind, "Hypervisor", "NetworkIdentifier") or default for n in nics]
            ids = [i for i in ids if i] or ([default] if default else [])
            expected = [wanted] if wanted else [names.get(str(i), str(i)) for i in ids]
            work.expected[vm_name] = sorted(set(expected))
        if not self.o.is_test:
            return
        if not self.check_mode:
            work.pending_restore = self.ledger.pending_restore(self.site_id, work.vpg_id)
        if work.pending_restore is not None:
            work.result["notes"].append(
                "an interrupted run left the VPG's test network switched: this run gives it back"
            )
        if not wanted:
            work.result["test_network"] = names.get(str(default), default)
            return
        work.result["test_network"] = wanted
        by_name = {name: ident for ident, name in names.items()}
        if wanted not in by_name:
            if self.check_mode:
                work.result["notes"].append(
                    f"test network {wanted} is not known to the ZVM yet (created by this run)"
                )
                return
            raise Refused(
                f"its test network {wanted} is not known at {self.site_name}: create it on the "
                "recovery hosts first (vmrepl.core.bubble_network)"
            )
        work.test_network_id = by_name[wanted]

    def _plan_message(self, work: Work) -> str:
        o, point = self.o, work.point
        at = ""
        if point is not None and point.identifier:
            at = f" at checkpoint {point.time} ({point.chosen_by})"
        elif point is not None:
            at = f" at a new checkpoint tagged {point.tag!r}"
        action = verb(o.operation)
        if o.operation == "local_recovery":
            action += f" ({o.local_mode.replace('_', ' ')})"
        where = f" to {self.site_name}" if not o.is_test else f" at {self.site_name}"
        prefix = "would " if self.check_mode else ""
        return f"VPG {work.name}: {prefix}{action} {len(work.vms)} VM(s){where}{at}"

    # -- act --------------------------------------------------------------------------------
    def run(self, names: Sequence[str]) -> list[dict[str, Any]]:
        """Plan, then (unless in check mode) act on the VPGs in batches of ``concurrency``."""
        works = self.plan(names)
        if self.check_mode:
            return [w.result for w in works]
        return self.act(works)

    def act(self, works: Sequence[Work]) -> list[dict[str, Any]]:
        """Act on the planned VPGs in batches of ``concurrency``; every VPG's result."""
        todo = [w for w in works if w.result["status"] == "planned"]
        size = max(1, self.o.concurrency)
        for start in range(0, len(todo), size):
            self._batch(todo[start : start + size])
        return [w.result for w in works]

    def recovery_plan(self, names: Sequence[str]) -> RecoveryPlan:
        """:meth:`plan` for the module's edge (``_module.ensure``): see :class:`RecoveryPlan`."""
        return RecoveryPlan(self, self.plan(names))

    def _batch(self, batch: list[Work]) -> None:
        for work in batch:
            work.result["started"] = iso(self._now())
        try:
            self._prepare(batch)
            self._start(batch)
            self._validate(batch)
        finally:
            self._finish(batch)
            self._clean_up(batch)
            for work in batch:
                self._conclude(work)

    def _step(self, work: Work, description: str, action: Callable[[], Any]) -> Any:
        begin, started = self._clock(), iso(self._now())
        entry: dict[str, Any] = {
            "step": description,
            "started": started,
            "seconds": None,
            "result": "ok",
        }
        work.result["steps"].append(entry)
        try:
            return action()
        except VmreplError as exc:
            entry["result"] = "failed"
            work.error(f"{description}: {exc}")
            return None
        finally:
            entry["seconds"] = round(self._clock() - begin, 2)

    def _wait(self, works: Sequence[Work], what: str) -> None:
        """Wait for the works' pending tasks together; a failed task fails its VPG."""
        pending = {w.task: w for w in works if w.task}
        if not pending:
            return
        begin, started = self._clock(), iso(self._now())
        try:
            tasks = self.zvm.wait_for_tasks(
                list(pending),
                timeout=self.o.timeout,
                interval=self.o.poll_interval,
                raise_on_error=False,
                accept_waiting=True,
            )
        except VmreplError as exc:
            for work in pending.values():
                work.error(f"{what}: {exc}")
                work.task = None
            return
        for task_id, work in pending.items():
            task = tasks.get(task_id, {})
            state = json_field(task, "Status", "State")
            entry = {
                "step": f"Wait for the ZVM: {what}",
                "started": started,
                "seconds": round(self._clock() - begin, 2),
                "result": "ok",
            }
            if state in (TaskState.Failed, TaskState.Stopped):
                entry["result"] = "failed"
                work.error(f"{what}: {json_field(task, 'CompleteReason') or 'the ZVM task failed'}")
            elif json_field(task, "CompleteReason"):
                work.result["notes"].append(f"{what}: {json_field(task, 'CompleteReason')}")
            work.result["steps"].append(entry)
            work.task = None

    def _prepare(self, batch: list[Work]) -> None:
        o = self.o
        switching = [w for w in batch if o.is_test and w.test_network_id]
        for work in switching:
            work.task = self._step(
                work,
                f"Point the VPG's test network at {o.test_network}",
                partial(self._switch_test_network, work),
            )
        self._wait([w for w in switching if w.task], "the test network setting")
        if o.operation in ("move", "failback"):
            for work in batch:
                if not work.failed:
                    work.task = self._step(
                        work,
                        f"Tag a checkpoint {self._tag()!r}",
                        partial(self.zvm.add_checkpoint, work.vpg_id, self._tag()),
                    )
            self._wait_tolerant(batch, "the tagged checkpoint")
            for work in batch:
                if not work.failed:
                    self._step(work, "Read the tagged checkpoint", partial(self._tagged, work))
        if not o.is_test:
            for work in batch:
                if not work.failed:
                    self._step(
                        work, "Note the VMs at the recovery site", partial(self._before, work)
                    )

    def _wait_tolerant(self, works: Sequence[Work], what: str) -> None:
        """Like :meth:`_wait`, for calls that may answer an identifier that is not a task."""
        pending = [w for w in works if w.task]
        for work in pending:
            try:
                self.zvm.task(str(work.task))
            except NotFound:
                work.task = None
        self._wait(pending, what)

    def _tagged(self, work: Work) -> None:
        tag = self._tag()
        tagged = [c for c in self.zvm.checkpoints(work.vpg_id) if json_field(c, "Tag") == tag]
        if not tagged:
            raise OperationFailed(f"the ZVM lists no checkpoint tagged {tag!r}")
        work.point = point_from(tagged[-1], "tagged at the start of the move")
        work.result["checkpoint"] = work.point.as_dict()

    def _switch_test_network(self, work: Work) -> str | None:
        with self._open(work.vpg_id, "failover test network") as opened:
            settings = self.zvm.vpg_settings_get(opened.id)
            path = ("Networks", "FailoverTest", "Hypervisor", "DefaultNetworkIdentifier")
            nic_path = ("FailoverTest", "Hypervisor", "NetworkIdentifier")
            found: dict[str, Any] = {"default": get_path(settings, path), "nics": {}}
            changed = found["default"] != work.test_network_id
            set_path(settings, path, work.test_network_id)
            for entry in json_field(settings, "Vms") or []:
                for nic in json_field(entry, "Nics") or []:
                    key = f"{json_field(entry, 'VmIdentifier')}/{json_field(nic, 'NicIdentifier')}"
                    found["nics"][key] = get_path(nic, nic_path)
                    changed = changed or found["nics"][key] != work.test_network_id
                    set_path(nic, nic_path, work.test_network_id)
            if not changed:
                return None  # deleted on the way out
            # What the VPG had before any run of ours switched it (an interrupted run may
            # have left it switched): kept in the ledger until it is given back.
            restore = work.pending_restore or found
            with contextlib.suppress(OSError):
                self.ledger.save_restore(self.site_id, work.vpg_id, restore)
            self.zvm.vpg_settings_put(opened.id, settings)
            task = opened.commit()
        work.restore = restore
        work.result["changed"] = True
        return task

    def _restore_test_network(self, work: Work) -> str:
        restore = work.restore or work.pending_restore
        assert restore is not None
        with self._open(work.vpg_id, "restore test network") as opened:
            settings = self.zvm.vpg_settings_get(opened.id)
            path = ("Networks", "FailoverTest", "Hypervisor", "DefaultNetworkIdentifier")
            set_path(settings, path, restore["default"])
            for entry in json_field(settings, "Vms") or []:
                for nic in json_field(entry, "Nics") or []:
                    key = f"{json_field(entry, 'VmIdentifier')}/{json_field(nic, 'NicIdentifier')}"
                    if key in restore["nics"]:
                        set_path(
                            nic,
                            ("FailoverTest", "Hypervisor", "NetworkIdentifier"),
                            restore["nics"][key],
                        )
            self.zvm.vpg_settings_put(opened.id, settings)
            return opened.commit()

    def _before(self, work: Work) -> None:
        names = {name for name, _ in work.vms}
        work.before = {
            str(f["moid"]): str(f["power_state"]) for f in self._vm_facts() if f["name"] in names
        }

    def _start(self, batch: list[Work]) -> None:
        o = self.o
        for work in batch:
            if work.failed:
                continue
            work.started_at = self._clock()
            work.task = self._step(
                work, f"Start the {label(o.operation)}", partial(self._start_one, work)
            )
            work.in_progress = work.task is not None
            if work.task:
                work.result["changed"] = True
        self._wait([w for w in batch if w.task], f"the {label(o.operation)}")
        for work in batch:
            # A start that failed left nothing to stop, commit or roll back.
            work.in_progress = work.in_progress and not work.failed

    def _start_one(self, work: Work) -> str:
        o, point = self.o, work.point
        checkpoint = point.identifier if point is not None else None
        if o.is_test:
            return self.zvm.failover_test(work.vpg_id, checkpoint_id=checkpoint)
        if o.operation in ("failover", "local_recovery"):
            shutdown = o.shutdown_policy
            if o.operation == "local_recovery":
                shutdown = (
                    ShutdownPolicy.SHUTDOWN if o.local_mode == "in_place" else (ShutdownPolicy.NONE)
                )
            return self.zvm.failover(
                work.vpg_id,
                commit_policy=CommitPolicy.NONE,
                shutdown_policy=shutdown,
                time_to_wait_before_shutdown=300,
                reverse_protection=o.reverse,
                checkpoint_id=checkpoint,
            )
        return self.zvm.move(
            work.vpg_id,
            commit_policy=CommitPolicy.NONE,
            force_shutdown=o.shutdown_policy == ShutdownPolicy.FORCE_SHUTDOWN,
            reverse_protection=o.reverse,
        )

    def _expected_name(self, vm: str) -> str:
        return vm + TEST_VM_SUFFIX if self.o.is_test else vm

    def _vm_facts(self) -> list[dict[str, Any]]:
        from ansible_collections.vmrepl.core.plugins.module_utils.clients.vsphere import moid, vim

        found = self.vc.retrieve_many(
            [
                (vim.VirtualMachine, VM_PROPERTIES),
                (vim.Network, ["name"]),
                (vim.HostSystem, ["name"]),
            ]
        )
        networks = {n.moid: n["name"] for n in found[vim.Network]}
        hosts = {h.moid: h["name"] for h in found[vim.HostSystem]}
        facts = []
        for vm in found[vim.VirtualMachine]:
            host = vm["runtime.host"]
            facts.append(
                {
                    "name": vm["name"],
                    "moid": vm.moid,
                    "power_state": str(vm["runtime.powerState"]),
                    "host": hosts.get(moid(host)) if host is not None else None,
                    "tools_status": vm["guest.toolsStatus"] and str(vm["guest.toolsStatus"]),
                    "tools_running": vm["guest.toolsRunningStatus"],
                    "ip": vm["guest.ipAddress"],
                    "networks": sorted(networks.get(moid(n), moid(n)) for n in vm["network"] or []),
                }
            )
        return facts

    def _checks(self, work: Work, facts: list[dict[str, Any]]) -> list[dict[str, Any]]:
        checked = []
        for vm_name, _ in work.vms:
            name = self._expected_name(vm_name)
            chosen = pick_recovered(name, facts, None if self.o.is_test else work.before or {})
            result = check_vm(name, chosen, work.expected.get(vm_name, []))
            result["source"] = vm_name
            checked.append(result)
        return checked

    def _validate(self, batch: list[Work]) -> None:
        """Read the recovered VMs until all are up or ``boot_timeout`` has passed."""
        active = [w for w in batch if w.in_progress and not w.failed]
        if not active:
            return
        begin, started = self._clock(), iso(self._now())
        unreadable: list[Exception] = []

        def all_up() -> bool | None:
            try:
                facts = self._vm_facts()
            except Exception as exc:  # a test must not be stopped as passed unchecked
                unreadable.append(exc)
                return False
            now = self._clock()
            for work in active:
                checks = self._checks(work, facts)
                work.result["vms"] = checks
                if work.up_at is None and all(vm["up"] for vm in checks):
                    work.up_at = now
            return True if all(w.up_at is not None for w in active) else None

        with contextlib.suppress(_BootWaitOver):
            poll_until(
                all_up,
                timeout=self.o.boot_timeout,
                interval=self.o.poll_interval,
                timeout_error=_BootWaitOver,
                sleep=self._sleep,
                clock=self._clock,
            )
        if unreadable:
            for work in active:
                work.error(
                    f"the recovered VMs could not be read at {self.site_name}: {unreadable[0]}"
                )
            return
        for work in active:
            seconds = round(self._clock() - begin, 2)
            problems = [p for vm in work.result["vms"] for p in failed_checks(vm)]
            ok = not problems and work.up_at is not None
            work.result["steps"].append(
                {
                    "step": f"Validate {len(work.vms)} VM(s) at {self.site_name}",
                    "started": started,
                    "seconds": seconds,
                    "result": "ok" if ok else "failed",
                }
            )
            if work.up_at is not None:
                work.result["rto_seconds"] = round(work.up_at - work.started_at, 1)
            if not ok:
                waited = f" (waited {self.o.boot_timeout:g} s)" if work.up_at is None else ""
                work.error(
                    "validation failed"
                    + waited
                    + ": "
                    + "; ".join(problems or ["the VMs did not come up"])
                )

    def _finish(self, batch: list[Work]) -> None:
        o = self.o
        for work in batch:
            if not work.in_progress:
                continue
            if o.is_test:
                success = not work.failed
                summary = self._summary(work)
                work.task = self._step(
                    work,
                    f"Stop the test ({'passed' if success else 'failed'})",
                    partial(
                        self.zvm.failover_test_stop, work.vpg_id, success=success, summary=summary
                    ),
                )
                work.result["commit"] = "test stopped"
                continue
            decision = self._decision(work)
            work.result["commit"] = decision
            if decision == "committed":
                work.task = self._step(
                    work,
                    "Commit" + (" with reverse protection" if o.reverse else ""),
                    partial(self._commit, work),
                )
            elif decision == "rolled back":
                work.task = self._step(work, "Roll back", partial(self._rollback, work))
        self._wait([w for w in batch if w.task], "finishing")
        for work in batch:
            if work.in_progress and work.result["commit"] == "committed" and not work.failed:
                vpg = self.zvm.vpg(work.vpg_id)
                work.result.update(
                    protected_site=json_field(vpg, "ProtectedSiteName"),
                    recovery_site=json_field(vpg, "RecoverySiteName"),
                    vpg_status=status_text(vpg),
                )

    def _decision(self, work: Work) -> str:
        policy = self.o.commit_policy
        if policy == "none":
            return "left before commit"
        if policy == "rollback":
            return "rolled back"
        if work.failed and self.o.rollback_on_failure:
            return "rolled back"
        if work.failed:
            return "left before commit"
        return "committed"

    def _commit(self, work: Work) -> str:
        if self.o.operation in ("failover", "local_recovery"):
            return self.zvm.failover_commit(work.vpg_id, reverse_protection=self.o.reverse)
        return self.zvm.move_commit(work.vpg_id, reverse_protection=self.o.reverse)

    def _rollback(self, work: Work) -> str:
        if self.o.operation in ("failover", "local_recovery"):
            return self.zvm.failover_rollback(work.vpg_id)
        return self.zvm.move_rollback(work.vpg_id)

    def _summary(self, work: Work) -> str:
        problems = [p for vm in work.result["vms"] for p in failed_checks(vm)]
        head = f"vmrepl {self.o.request_ref}: "
        if not work.failed:
            rto = work.result["rto_seconds"]
            return (
                head + f"passed - {len(work.vms)} VM(s) up in {rto} s, RPO at start "
                f"{work.result['rpo_seconds']} s"
            )
        return (head + "failed - " + "; ".join(problems or work.result["errors"]))[:1000]

    def _clean_up(self, batch: list[Work]) -> None:
        restoring = [w for w in batch if w.restore is not None or w.pending_restore is not None]
        for work in restoring:
            what = "Restore the VPG's test network" + (
                " (left switched by an interrupted run)" if work.restore is None else ""
            )
            work.task = self._step(work, what, partial(self._restore_test_network, work))
            if work.task is None:
                continue
            work.result["changed"] = True
        failed_before = {id(w): len(w.result["errors"]) for w in restoring}
        self._wait([w for w in restoring if w.task], "restoring the test network")
        for work in restoring:
            restored = len(work.result["errors"]) == failed_before[id(work)]
            if restored and not any("Restore the VPG" in e for e in work.result["errors"]):
                with contextlib.suppress(OSError):
                    self.ledger.clear_restore(self.site_id, work.vpg_id)

    def _conclude(self, work: Work) -> None:
        o, result = self.o, work.result
        result["ended"] = iso(self._now())
        if work.failed:
            result["status"] = "failed"
            what = result["commit"] or "not finished"
            result["message"] = (
                f"VPG {work.name}: the {label(o.operation)} failed ({what}): "
                + "; ".join(result["errors"])
            )
            return
        result["status"] = "succeeded"
        parts = [f"VPG {work.name}: {label(o.operation)} passed"]
        if result["rto_seconds"] is not None:
            parts.append(f"RTO {result['rto_seconds']} s")
        if result["rpo_seconds"] is not None:
            parts.append(f"RPO {result['rpo_seconds']} s")
        if not o.is_test:
            parts.append(str(result["commit"]))
            if result["commit"] == "committed" and o.reverse:
                parts.append(
                    f"now protected {result['protected_site']} → {result['recovery_site']}"
                )
        result["message"] = ", ".join(parts)


def _diff(results: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per VPG acted on: its status before, and what the run does (or did) to it."""
    acted = [r for r in results if r["changed"]]
    return {
        "before": {r["vpg"]: r["vpg_status"] for r in acted},
        "after": {r["vpg"]: r["message"] for r in acted},
    }


@dataclass
class RecoveryPlan:
    """A recovery run as the module's edge takes it. An operation is an action, not a desired
    state: ``changes`` are the VPGs the run acts on (their status before, what the operation
    does to them); :meth:`apply` carries it out and reports what it did, with the diff, and
    OperationFailed naming the VPGs that failed (with every result in its details)."""

    recovery: RecoveryRun
    works: list[Work]

    @property
    def results(self) -> list[dict[str, Any]]:
        return [w.result for w in self.works]

    @property
    def changes(self) -> dict[str, tuple[Any, Any]]:
        diff = _diff(self.results)
        return {name: (diff["before"][name], diff["after"][name]) for name in diff["before"]}

    @property
    def facts(self) -> dict[str, Any]:
        return {"vpgs": self.results, "site": self.recovery.site_name}

    def summary(self, check_mode: bool) -> str:
        return "; ".join(r["message"] for r in self.results) or "No VPG."

    def apply(self) -> dict[str, Any]:
        results = self.recovery.act(self.works)
        changed = any(r["changed"] for r in results)
        problem = outcome_error(results, self.recovery.o.operation)
        if problem:
            raise OperationFailed(
                problem,
                details={"vpgs": results, "site": self.recovery.site_name, "changed": changed},
            )
        return {
            "changed": changed,
            "vpgs": results,
            "msg": "; ".join(r["message"] for r in results) or "No VPG.",
            "diff": _diff(results),
        }
