"""Recovery operations (``POST /v1/vpgs/{id}/<op>``, each answering a task id).

- ``FailoverTest``: test copies ``"<vm> - testing recovery"`` are created at the recovery site
  on the recovery host, attached to the VPG's FailoverTest network and powered on (a test VM
  named in the ``fail_boot_vms`` fault stays off); ``FailoverTestStop`` deletes them.
- ``Failover`` / ``Move``: the source VMs are powered off (a failover skips that when the
  protected site cannot be reached, or with ShutdownPolicy None), the recovered VMs are created
  at the recovery site on the Failover network and powered on, and the VPG waits Before Commit
  (or commits / rolls back at once by CommitPolicy).
- ``FailoverCommit`` / ``MoveCommit``: with reverse protection the VPG then protects the
  recovered VMs back to the original site, where the original VMs (powered off, marked
  ``replica``) become the replicas: a later move back powers them on again. Without it the VPG is
  Recovered; a move deletes the source VMs unless KeepSourceVms.
- ``FailoverRollback`` / ``moveRollback``: the recovered VMs are deleted and the sources
  powered on again.

A move or a test needs the link to the other site; a failover does not (run it from the
recovery site when the protected site is gone).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from vmrepl.lab.zvm import clock
from vmrepl.lab.zvm.enums import COMMIT_POLICIES, SHUTDOWN_POLICIES
from vmrepl.lab.zvm.errors import BadRequest, OperationFailed
from vmrepl.lab.zvm.http.routing import Request
from vmrepl.lab.zvm.inventory import ROLE, ROLE_RECOVERED, ROLE_REPLICA, ROLE_TEST, Inventory
from vmrepl.lab.zvm.site.tasks import TaskContext, TaskService
from vmrepl.lab.zvm.site.vpgsettings import DEFAULT_BOOT_GROUP, default_section
from vmrepl.lab.zvm.store import OperationRecord, ProtectedVm, RecoveredVm, VpgRecord
from vmrepl.lab.zvm.vcenter import VmSpec

if TYPE_CHECKING:
    from vmrepl.lab.zvm.context import SiteContext
    from vmrepl.lab.zvm.site.gateway import Gateways
    from vmrepl.lab.zvm.site.peering import PeeringService
    from vmrepl.lab.zvm.site.reports import ReportService
    from vmrepl.lab.zvm.site.vpgs import VpgService

VPG_MARK = "zerto.vmrepl.vpg"
SOURCE_MARK = "zerto.vmrepl.source"
TEST_SUFFIX = " - testing recovery"
COMMIT, ROLLBACK, NO_POLICY = 1, 0, 2


def _dig(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


class RecoveryService:
    def __init__(
        self,
        ctx: SiteContext,
        tasks: TaskService,
        peering: PeeringService,
        vpgs: VpgService,
        gateways: Gateways,
        reports: ReportService,
    ) -> None:
        self.ctx = ctx
        self.tasks = tasks
        self.peering = peering
        self.vpgs = vpgs
        self.gateways = gateways
        self.reports = reports

    # -- shared -----------------------------------------------------------------------------
    def _record(self, identifier: str) -> VpgRecord:
        return self.vpgs.get(identifier)

    def _site_reachable(self, site: str) -> bool:
        return self.peering.link_up(site)

    def _check_ready(self, record: VpgRecord, what: str, needs_link: bool) -> None:
        if record.deleting:
            raise BadRequest(f"VPG {record.name} is being deleted.")
        if record.recovered:
            raise BadRequest(
                f"VPG {record.name} was recovered without reverse protection; "
                f"a {what} is not possible."
            )
        if clock.now() < record.sync_done:
            raise BadRequest(
                f"VPG {record.name} is in its initial sync; no recovery operation is possible "
                "until it completes."
            )
        other = self.vpgs.other_site(record)
        if needs_link and not record.is_local and not self._site_reachable(other):
            raise BadRequest(
                f"The connection to site {self.peering.site_name(other)} is down: a {what} "
                "needs both sites. Only a failover is possible."
            )
        remote_recovery = record.recovery_site != self.ctx.site_identifier
        if (
            not record.is_local
            and remote_recovery
            and not self._site_reachable(record.recovery_site)
        ):
            raise BadRequest(
                f"The recovery site {record.recovery_site_name} cannot be reached from here; "
                "run the operation at the recovery site."
            )

    def _vm_subset(self, record: VpgRecord, wanted: list[str]) -> list[ProtectedVm]:
        if not wanted:
            return list(record.vms)
        known = {vm.vm: vm for vm in record.vms}
        missing = [v for v in wanted if v not in known]
        if missing:
            raise BadRequest(f"VM(s) {', '.join(missing)} are not in VPG {record.name}.")
        return [known[v] for v in wanted]

    def _begin(
        self,
        record: VpgRecord,
        kind: str,
        principal: str | None,
        vms: list[ProtectedVm],
        checkpoint: str | None,
        options: dict[str, Any],
    ) -> OperationRecord:
        point = None
        if checkpoint:
            point = self.vpgs.find_checkpoint(record, checkpoint).timestamp
        else:
            latest = self.vpgs.latest_checkpoint(record)
            point = latest.timestamp if latest else None
        with self.ctx.store.lock:
            current = self._record(record.identifier)
            if current.operation is not None:
                raise BadRequest(
                    f"VPG {current.name} is already in a {current.operation.kind}; finish it first."
                )
            op = OperationRecord(
                kind=kind,
                stage="Initializing",
                started=clock.now(),
                initiated_by=principal or "",
                task="",
                checkpoint=checkpoint,
                point_in_time=point,
                vms=[vm.vm for vm in vms],
                options=options,
            )
            current.operation = op
        self.vpgs.save(current)
        return op

    def _update(self, identifier: str, change: Callable[[VpgRecord], None]) -> VpgRecord:
        with self.ctx.store.lock:
            record = self._record(identifier)
            change(record)
        self.vpgs.save(record)
        return record

    def _step(self, identifier: str, description: str, action: Callable[[], Any]) -> Any:
        start = clock.now()
        result = "Succeeded"
        try:
            return action()
        except Exception:
            result = "Failed"
            raise
        finally:
            end = clock.now()
            step = {
                "Description": description,
                "Result": result,
                "StartTime": clock.iso(start),
                "EndTime": clock.iso(end),
                "ExecutionTime": f"{end - start:.3f}s",
            }

            def add(record: VpgRecord) -> None:
                if record.operation is not None:
                    record.operation.steps.append(step)

            # the VPG may be gone (deleted meanwhile): the step is then moot
            with contextlib.suppress(Exception):
                self._update(identifier, add)

    def _start(
        self,
        request: Request,
        record: VpgRecord,
        task_type: str,
        kind: str,
        work: Callable[[TaskContext], None],
        on_failure: Callable[[str], None] | None = None,
    ) -> str:
        task = self.tasks.start(
            task_type,
            kind,
            work,
            initiated_by=request.principal,
            vpgs=[record.identifier],
            sites=[record.protected_site, record.recovery_site],
            on_failure=on_failure,
        )

        def remember(current: VpgRecord) -> None:
            if current.operation is not None and not current.operation.task:
                current.operation.task = task

        self._update(record.identifier, remember)
        return task

    # -- placing VMs at the recovery site ---------------------------------------------------
    def _specs(
        self, record: VpgRecord, vms: list[ProtectedVm], test: bool, inv: Inventory
    ) -> list[tuple[ProtectedVm, VmSpec, RecoveredVm]]:
        settings = record.settings
        recovery = settings.get("Recovery") or {}
        network_kind = "FailoverTest" if test else "Failover"
        default_net = _dig(
            settings, "Networks", network_kind, "Hypervisor", "DefaultNetworkIdentifier"
        )
        entries = {e.get("VmIdentifier"): e for e in settings.get("Vms") or []}
        result = []
        for pvm in vms:
            entry = entries.get(pvm.vm) or {}
            vm_rec = entry.get("Recovery") or {}
            host_id = vm_rec.get("HostIdentifier") or recovery.get("DefaultHostIdentifier")
            host = inv.host(host_id)
            if host is None:
                cluster = inv.cluster(
                    vm_rec.get("HostClusterIdentifier")
                    or recovery.get("DefaultHostClusterIdentifier")
                )
                host = inv.hosts.get(cluster.hosts[0]) if cluster and cluster.hosts else None
            if host is None:
                raise OperationFailed(f"The recovery host of VM {pvm.name} no longer exists.")
            ds_id = vm_rec.get("DatastoreIdentifier") or recovery.get("DefaultDatastoreIdentifier")
            datastore = inv.datastore(ds_id)
            if datastore is None:
                raise OperationFailed(f"The recovery datastore of VM {pvm.name} no longer exists.")
            folder = inv.folder(
                vm_rec.get("FolderIdentifier") or recovery.get("DefaultFolderIdentifier")
            )
            pool = inv.pool(
                vm_rec.get("ResourcePoolIdentifier") or recovery.get("ResourcePoolIdentifier")
            )
            nics = entry.get("Nics") or []
            net_id = (
                _dig(nics[0], network_kind, "Hypervisor", "NetworkIdentifier") if nics else None
            ) or default_net
            network = inv.network(net_id)
            if network is None:
                raise OperationFailed(
                    f"The {network_kind} network of VM {pvm.name} no longer exists."
                )
            name = pvm.name + TEST_SUFFIX if test else pvm.name
            spec = VmSpec(
                name=name,
                host=host.moref,
                datastore=datastore.moref,
                folder=folder.moref if folder else inv.vm_folder,
                pool=pool.moref if pool else host.pool,
                network=network.moref,
                memory_mb=pvm.memory_mb or 1024,
                cpus=pvm.cpus or 1,
                marks={
                    ROLE: ROLE_TEST if test else ROLE_RECOVERED,
                    VPG_MARK: record.identifier,
                    SOURCE_MARK: pvm.vm,
                },
            )
            placed = RecoveredVm(
                source=pvm.vm,
                vm="",
                name=name,
                host=inv.ident(host.moref),
                datastore=inv.ident(datastore.moref),
                folder=inv.ident(spec.folder),
                network=inv.ident(network.moref),
                host_name=host.name,
                datastore_name=datastore.name,
                folder_name=(inv.folders[spec.folder].name if spec.folder in inv.folders else ""),
                network_name=network.name,
            )
            result.append((pvm, spec, placed))
        return result

    def _bring_up(self, record: VpgRecord, vms: list[ProtectedVm], test: bool) -> list[RecoveredVm]:
        """Create (or, for a move back, reuse) the VMs at the recovery site and power them on."""
        gateway = self.gateways(record.recovery_site)
        inv = gateway.inventory()
        placed: list[RecoveredVm] = []
        to_create: list[tuple[VmSpec, RecoveredVm]] = []
        for pvm, spec, recovered in self._specs(record, vms, test, inv):
            replica = record.replicas.get(pvm.vm)
            existing = inv.vm(replica) if replica and not test else None
            if existing is not None:
                recovered.vm, recovered.reused, recovered.name = str(replica), True, existing.name
                recovered.host = inv.ident(existing.host)
                recovered.host_name = (
                    inv.hosts[existing.host].name if existing.host in inv.hosts else ""
                )
                placed.append(recovered)
            else:
                to_create.append((spec, recovered))
        created = gateway.create_vms([spec for spec, _ in to_create])
        for (_, recovered), identifier in zip(to_create, created, strict=True):
            recovered.vm = identifier
            placed.append(recovered)
        reused = [r.vm for r in placed if r.reused]
        if reused:
            gateway.mark(reused, {ROLE: ROLE_RECOVERED, VPG_MARK: record.identifier})
        failed = set(gateway.power_on([r.vm for r in placed], self.ctx.faults.fail_boot_names()))
        for recovered in placed:
            recovered.powered_on = recovered.vm not in failed
        return placed

    def _tear_down(self, record: VpgRecord, placed: list[RecoveredVm]) -> None:
        """Undo :meth:`_bring_up`: delete created VMs, turn reused replicas back into replicas."""
        gateway = self.gateways(record.recovery_site)
        reused = [r.vm for r in placed if r.reused]
        if reused:
            gateway.power_off(reused)
            gateway.mark(reused, {ROLE: ROLE_REPLICA})
        gateway.destroy([r.vm for r in placed if not r.reused])

    # -- failover test ----------------------------------------------------------------------
    def failover_test(self, request: Request, identifier: str) -> str:
        record = self._record(identifier)
        body = request.fields()
        self._check_ready(record, "failover test", needs_link=True)
        vms = self._vm_subset(record, body.texts("VmIdentifiers"))
        self._begin(
            record, "FailoverTest", request.principal, vms, body.text("CheckpointIdentifier"), {}
        )

        def work(ctx: TaskContext) -> None:
            placed = self._step(
                identifier,
                "Create and power on the test VMs",
                lambda: self._bring_up(self._record(identifier), vms, test=True),
            )

            def running(current: VpgRecord) -> None:
                assert current.operation is not None
                current.operation.created = placed
                current.operation.stage = "Running"

            self._update(identifier, running)
            down = [p.name for p in placed if not p.powered_on]
            if down:
                ctx.record.complete_reason = (
                    f"Test VM(s) {', '.join(down)} failed to power on at the recovery site."
                )

        def failed(reason: str) -> None:
            self._update(identifier, lambda r: setattr(r, "operation", None))

        return self._start(request, record, "FailoverTest", "failover_test", work, failed)

    def stop_test(self, request: Request, identifier: str) -> str:
        record = self._record(identifier)
        body = request.fields()
        success = body.boolean("FailoverTestSuccess", default=True)
        summary = body.text("FailoverTestSummary") or ""
        op = record.operation
        if op is None or op.kind != "FailoverTest":
            raise BadRequest(f"VPG {record.name} has no failover test running.")
        if op.stage != "Running":
            raise BadRequest(f"The failover test of VPG {record.name} is still {op.stage}.")

        def work(ctx: TaskContext) -> None:
            self._update(identifier, lambda r: setattr(r.operation, "stage", "Stopping"))
            current = self._record(identifier)
            assert current.operation is not None
            created = current.operation.created
            self._step(
                identifier,
                "Delete the test VMs",
                lambda: self.gateways(current.recovery_site).destroy([c.vm for c in created]),
            )
            current = self._record(identifier)
            assert current.operation is not None
            self.reports.add(current, current.operation, "Passed" if success else "Failed", summary)

            def done(r: VpgRecord) -> None:
                r.operation = None
                r.last_test = clock.now()

            self._update(identifier, done)

        return self._start(request, record, "StopFailoverTest", "failover_test_stop", work)

    # -- failover and move ------------------------------------------------------------------
    def failover(self, request: Request, identifier: str) -> str:
        record = self._record(identifier)
        body = request.fields()
        commit = body.choice("CommitPolicy", COMMIT_POLICIES, NO_POLICY)
        shutdown = body.choice("ShutdownPolicy", SHUTDOWN_POLICIES, 0)
        body.integer("TimeToWaitBeforeShutdownInSec", low=300, high=86400)
        reverse = bool(body.boolean("IsReverseProtection", default=False))
        self._check_ready(record, "failover", needs_link=False)
        if record.operation is not None and record.operation.kind == "FailoverTest":
            raise BadRequest(f"A failover test of VPG {record.name} is running; stop it first.")
        vms = self._vm_subset(record, body.texts("VmIdentifiers"))
        if reverse and len(vms) < len(record.vms):
            raise BadRequest(
                "Reverse protection needs every VM of the VPG; fail over all of them or "
                "without reverse protection."
            )
        options = {"CommitPolicy": commit, "ShutdownPolicy": shutdown, "ReverseProtection": reverse}
        self._begin(
            record, "Failover", request.principal, vms, body.text("CheckpointIdentifier"), options
        )
        power_off = bool(shutdown) or reverse
        return self._start(
            request,
            record,
            "Failover",
            "failover",
            self._recover_work(identifier, vms, power_off, commit, 0),
            self._abort(identifier),
        )

    def move(self, request: Request, identifier: str) -> str:
        record = self._record(identifier)
        body = request.fields()
        commit = body.choice("CommitPolicy", COMMIT_POLICIES, NO_POLICY)
        timeout = body.integer("CommitPolicyTimeout", default=0, low=0, high=86400) or 0
        reverse = bool(body.boolean("ReverseProtection", default=False))
        keep = bool(body.boolean("KeepSourceVms", default=False))
        body.boolean("ForceShutdown")
        body.boolean("ContinueOnPreScriptFailure")
        if keep and reverse:
            raise BadRequest("KeepSourceVms requires reverse protection to be off.")
        self._check_ready(record, "move", needs_link=True)
        if record.operation is not None and record.operation.kind == "FailoverTest":
            raise BadRequest(f"A failover test of VPG {record.name} is running; stop it first.")
        options = {"CommitPolicy": commit, "ReverseProtection": reverse, "KeepSourceVms": keep}
        self._begin(record, "Move", request.principal, list(record.vms), None, options)
        return self._start(
            request,
            record,
            "MoveProtectionGroup",
            "move",
            self._recover_work(identifier, list(record.vms), True, commit, timeout),
            self._abort(identifier),
        )

    def _abort(self, identifier: str) -> Callable[[str], None]:
        def failed(reason: str) -> None:
            current = self._record(identifier)
            op = current.operation
            if op is None:
                return
            try:
                self._tear_down(current, op.created)
                if op.powered_off and self._site_reachable(current.protected_site):
                    self.gateways(current.protected_site).power_on(op.powered_off)
            finally:
                self._update(identifier, lambda r: setattr(r, "operation", None))

        return failed

    def _recover_work(
        self, identifier: str, vms: list[ProtectedVm], power_off: bool, commit: int, timeout: int
    ) -> Callable[[TaskContext], None]:
        def work(ctx: TaskContext) -> None:
            record = self._record(identifier)
            protected = record.protected_site
            if power_off and self._site_reachable(protected):
                ids = [vm.vm for vm in vms]
                self._step(
                    identifier,
                    "Power off the protected VMs",
                    lambda: self.gateways(protected).power_off(ids),
                )
                self._update(identifier, lambda r: setattr(r.operation, "powered_off", ids))
            ctx.wait(0.3)
            placed = self._step(
                identifier,
                "Create and power on the recovered VMs",
                lambda: self._bring_up(self._record(identifier), vms, test=False),
            )

            def before_commit(current: VpgRecord) -> None:
                assert current.operation is not None
                current.operation.created = placed
                current.operation.stage = "BeforeCommit"

            self._update(identifier, before_commit)
            ctx.wait(0.9)
            if commit == NO_POLICY:
                return
            if timeout:
                self._later(identifier, timeout, commit)
            elif commit == COMMIT:
                self._finish(identifier, None, None)
            else:
                self._roll_back(identifier)

        return work

    def _later(self, identifier: str, seconds: float, commit: int) -> None:
        """The commit policy: commit or roll back after the timeout unless a user did."""
        started = self._record(identifier).operation

        def run() -> None:
            time.sleep(seconds)
            try:
                current = self._record(identifier)
            except Exception:
                return
            op = current.operation
            if op is None or started is None or op.started != started.started:
                return
            if op.stage != "BeforeCommit":
                return
            try:
                if commit == COMMIT:
                    self._finish(identifier, None, None)
                else:
                    self._roll_back(identifier)
            except OperationFailed:
                pass

        threading.Thread(target=run, name=f"commit-policy-{identifier}", daemon=True).start()

    def _require_before_commit(self, record: VpgRecord, kind: str) -> None:
        op = record.operation
        if op is None or op.kind != kind:
            raise BadRequest(f"VPG {record.name} is not in a {kind}.")
        if op.stage != "BeforeCommit":
            raise BadRequest(f"The {kind} of VPG {record.name} is {op.stage}, not Before Commit.")

    def commit(self, request: Request, identifier: str, kind: str) -> str:
        record = self._record(identifier)
        body = request.fields()
        self._require_before_commit(record, kind)
        if kind == "Failover":
            reverse = body.boolean("IsReverseProtection")
            keep = None
        else:
            reverse = body.boolean("ReverseProtection")
            keep = body.boolean("KeepSourceVms")
        assert record.operation is not None
        options = record.operation.options
        reverse = bool(options.get("ReverseProtection")) if reverse is None else reverse
        keep = bool(options.get("KeepSourceVms")) if keep is None else keep
        if keep and reverse:
            raise BadRequest("KeepSourceVms requires reverse protection to be off.")
        if reverse and len(record.operation.vms) < len(record.vms):
            raise BadRequest(
                "Reverse protection needs every VM of the VPG; this failover recovered "
                f"{len(record.operation.vms)} of {len(record.vms)}."
            )
        if reverse and not self._site_reachable(record.protected_site):
            raise BadRequest(
                f"Reverse protection needs the protected site {record.protected_site_name}, "
                "which cannot be reached; commit without it."
            )
        self._update(identifier, lambda r: setattr(r.operation, "stage", "Committing"))

        def work(ctx: TaskContext) -> None:
            ctx.wait(0.5)
            self._finish(identifier, reverse, keep)

        def failed(reason: str) -> None:
            self._update(identifier, lambda r: setattr(r.operation, "stage", "BeforeCommit"))

        task_type = "FailoverCommit" if kind == "Failover" else "MoveCommit"
        task_kind = "failover_commit" if kind == "Failover" else "move_commit"
        return self._start(request, record, task_type, task_kind, work, failed)

    def rollback(self, request: Request, identifier: str, kind: str) -> str:
        record = self._record(identifier)
        self._require_before_commit(record, kind)
        self._update(identifier, lambda r: setattr(r.operation, "stage", "RollingBack"))

        def work(ctx: TaskContext) -> None:
            ctx.wait(0.5)
            self._roll_back(identifier)

        def failed(reason: str) -> None:
            self._update(identifier, lambda r: setattr(r.operation, "stage", "BeforeCommit"))

        task_type = "FailoverRollback" if kind == "Failover" else "MoveRollback"
        task_kind = "failover_rollback" if kind == "Failover" else "move_rollback"
        return self._start(request, record, task_type, task_kind, work, failed)

    def _roll_back(self, identifier: str) -> None:
        record = self._record(identifier)
        op = record.operation
        assert op is not None
        self._step(
            identifier, "Delete the recovered VMs", lambda: self._tear_down(record, op.created)
        )
        if op.powered_off and self._site_reachable(record.protected_site):
            self._step(
                identifier,
                "Power on the protected VMs",
                lambda: self.gateways(record.protected_site).power_on(op.powered_off),
            )
        record = self._record(identifier)
        assert record.operation is not None
        self.reports.add(record, record.operation, "RolledBack")
        self._update(identifier, lambda r: setattr(r, "operation", None))

    def _finish(self, identifier: str, reverse: bool | None, keep: bool | None) -> None:
        """Commit: reverse the protection, or end Recovered (a move drops its sources)."""
        record = self._record(identifier)
        op = record.operation
        assert op is not None
        reverse = bool(op.options.get("ReverseProtection")) if reverse is None else reverse
        keep = bool(op.options.get("KeepSourceVms")) if keep is None else keep
        protected = record.protected_site
        reachable = self._site_reachable(protected)
        sources = [vm.vm for vm in record.vms if vm.vm in op.vms]
        if reverse:
            if not reachable:
                raise OperationFailed(
                    f"Reverse protection needs the protected site {record.protected_site_name}, "
                    "which cannot be reached."
                )
            self._step(
                identifier,
                "Keep the protected VMs as replicas for reverse protection",
                lambda: self.gateways(protected).mark(sources, {ROLE: ROLE_REPLICA}),
            )
        elif op.kind == "Move" and not keep and reachable:
            self._step(
                identifier,
                "Delete the source VMs",
                lambda: self.gateways(protected).destroy(sources),
            )
        record = self._record(identifier)
        assert record.operation is not None
        self.reports.add(record, record.operation, "Committed")
        if reverse:
            self._update(identifier, self._reversed)
        else:

            def recovered(r: VpgRecord) -> None:
                r.operation = None
                r.recovered = True

            self._update(identifier, recovered)

    def _reversed(self, record: VpgRecord) -> None:
        """Turn a committed VPG around: the recovered VMs are protected back to the original
        site, with the original VMs as their replicas."""
        op = record.operation
        assert op is not None
        by_source = {c.source: c for c in op.created}
        old = {vm.vm: vm for vm in record.vms}
        new_vms: list[ProtectedVm] = []
        replicas: dict[str, str] = {}
        entries = []
        for source, placed in by_source.items():
            original = old.get(source)
            if original is None:
                continue
            new_vms.append(
                ProtectedVm(
                    vm=placed.vm,
                    name=original.name,
                    host=placed.host,
                    datastore=placed.datastore,
                    folder=placed.folder,
                    network=placed.network,
                    cpus=original.cpus,
                    memory_mb=original.memory_mb,
                    storage_mb=original.storage_mb,
                    nics=list(original.nics),
                    volumes=list(original.volumes),
                )
            )
            replicas[placed.vm] = source
            entries.append(self._reverse_entry(placed.vm, original))
        first = next(iter(old.values()))
        settings = dict(record.settings)
        basic = dict(settings.get("Basic") or {})
        basic["ProtectedSiteIdentifier"], basic["RecoverySiteIdentifier"] = (
            record.recovery_site,
            record.protected_site,
        )
        settings["Basic"] = basic
        recovery = default_section("Recovery", record.recovery_site)
        recovery.update(
            DefaultHostIdentifier=first.host,
            DefaultDatastoreIdentifier=first.datastore,
            DefaultFolderIdentifier=first.folder,
        )
        settings["Recovery"] = recovery
        networks = default_section("Networks", record.recovery_site)
        networks["Failover"]["Hypervisor"]["DefaultNetworkIdentifier"] = first.network
        networks["FailoverTest"]["Hypervisor"]["DefaultNetworkIdentifier"] = first.network
        settings["Networks"] = networks
        journal = dict(settings.get("Journal") or {})
        journal["DatastoreIdentifier"] = first.datastore
        settings["Journal"] = journal
        settings["Vms"] = entries
        now = clock.now()
        sync = self.ctx.faults.task_seconds("initial_sync")
        record.protected_site, record.recovery_site = record.recovery_site, record.protected_site
        record.protected_site_name, record.recovery_site_name = (
            record.recovery_site_name,
            record.protected_site_name,
        )
        record.settings = settings
        record.vms = new_vms
        record.replicas = replicas
        record.sync_kind = "DeltaSync"
        record.sync_started = now
        record.sync_done = now + sync
        record.segments = [[now + sync, None]]
        record.tagged = []
        record.paused = False
        record.operation = None

    @staticmethod
    def _reverse_entry(vm_identifier: str, original: ProtectedVm) -> dict[str, Any]:
        def nic(label: str) -> dict[str, Any]:
            network = {
                "Hypervisor": {
                    "NetworkIdentifier": original.network,
                    "ShouldReplaceMacAddress": False,
                    "DnsSuffix": None,
                    "IpConfig": None,
                    "ShouldReplaceIpConfiguration": False,
                },
                "VCD": None,
                "PublicCloud": None,
            }
            return {"NicIdentifier": label, "FailoverTest": network, "Failover": dict(network)}

        return {
            "VmIdentifier": vm_identifier,
            "Recovery": {
                "HostIdentifier": original.host,
                "HostClusterIdentifier": None,
                "DatastoreIdentifier": original.datastore,
                "DatastoreClusterIdentifier": None,
                "FolderIdentifier": original.folder,
                "ResourcePoolIdentifier": None,
                "VCD": None,
                "PublicCloud": None,
            },
            "BootGroupIdentifier": DEFAULT_BOOT_GROUP,
            "Journal": {
                "Limitation": default_section("Journal", "")["Limitation"],
                "DatastoreIdentifier": original.datastore,
                "DatastoreClusterIdentifier": None,
            },
            "Scratch": {
                "Limitation": default_section("Scratch", "")["Limitation"],
                "DatastoreIdentifier": original.datastore,
                "DatastoreClusterIdentifier": None,
            },
            "Volumes": [
                {
                    "VolumeIdentifier": volume,
                    "VCD": None,
                    "Preseed": None,
                    "RDM": None,
                    "Datastore": {
                        "DatastoreClusterIdentifier": None,
                        "DatastoreIdentifier": original.datastore,
                        "IsThin": True,
                    },
                    "VolumeSyncSettings": "ContinuousSync",
                }
                for volume in original.volumes
            ],
            "Nics": [nic(label) for label in original.nics],
        }
