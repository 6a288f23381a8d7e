"""Recovery reports: one per failover test, failover and move, written when the operation
ends (test stopped, committed or rolled back), as ``GET /v1/reports/recovery`` lists them; and
the resources report (``GET /v1/reports/resources``): one sample per protected VM every
:data:`RESOURCE_SAMPLE_SECONDS` since its protection began, paged (``pageSize`` at most 1000).

The real ZVM samples the resources report on a site setting (hourly or daily); the lab samples
every minute so that a test sees samples minutes after a deployment (see README.md)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from vmrepl.lab.zvm import clock
from vmrepl.lab.zvm.errors import BadRequest, NotFound
from vmrepl.lab.zvm.routing import Request, Router
from vmrepl.lab.zvm.store import OperationRecord, ProtectedVm, ReportRecord, VpgRecord

#: The lab's resources-report sampling period, seconds.
RESOURCE_SAMPLE_SECONDS = 60
MAX_PAGE_SIZE = 1000

if TYPE_CHECKING:
    from vmrepl.lab.zvm.app import Simulator


class ReportService:
    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    def add(
        self,
        record: VpgRecord,
        op: OperationRecord,
        status: str,
        notes: str = "",
        protected_site_name: str | None = None,
        recovery_site_name: str | None = None,
    ) -> ReportRecord:
        recovery = record.settings.get("Recovery") or {}
        first = op.created[0] if op.created else None
        report = ReportRecord(
            identifier=str(uuid.uuid4()),
            vpg_identifier=record.identifier,
            vpg_name=record.name,
            recovery_type=op.kind,
            protected_site_name=protected_site_name or record.protected_site_name,
            recovery_site_name=recovery_site_name or record.recovery_site_name,
            started=op.started,
            ended=clock.now(),
            point_in_time=op.point_in_time,
            status=status,
            initiated_by=op.initiated_by,
            notes=notes,
            vpg_settings={
                "DefaultHostName": first.host_name
                if first
                else recovery.get("DefaultHostIdentifier"),
                "DefaultDatastoreName": first.datastore_name if first else None,
                "DefaultNetworkName": first.network_name if first else None,
            },
            vms=[
                {
                    "VmName": c.name,
                    "HostName": c.host_name,
                    "DatastoreName": c.datastore_name,
                    "FolderName": c.folder_name,
                    "NetworkNames": [c.network_name] if c.network_name else [],
                    "Volumes": [],
                }
                for c in op.created
            ],
            steps=list(op.steps),
        )
        with self.sim.store.lock:
            self.sim.store.reports.append(report)
        return report

    def to_json(self, report: ReportRecord) -> dict[str, Any]:
        return {
            "RecoveryOperationIdentifier": report.identifier,
            "General": {
                "VpgIdentifier": report.vpg_identifier,
                "VpgName": report.vpg_name,
                "RecoveryType": report.recovery_type,
                "ProtectedSiteName": report.protected_site_name,
                "RecoverySiteName": report.recovery_site_name,
                "StartTime": clock.iso(report.started),
                "EndTime": clock.iso(report.ended),
                "PointInTime": clock.iso(report.point_in_time),
                "RtoInSeconds": str(int(report.ended - report.started)),
                "Status": report.status,
                "InitiatedBy": report.initiated_by,
                "Notes": report.notes,
            },
            "RecoverySettings": {
                "Vpg": report.vpg_settings,
                "Vms": report.vms,
                "Steps": report.steps,
            },
        }


def resource_samples(sim: Simulator, start: float, end: float) -> list[dict[str, Any]]:
    """The resources report's samples in [start, end], by time, then VPG and VM."""
    from vmrepl.lab.zvm.statistics import write_rate_mb

    rows: list[tuple[float, str, str, dict[str, Any]]] = []
    for vpg, vm in sim.statistics.protected():
        if vpg.protected_site != sim.site_identifier:
            continue
        first = max(start, vpg.sync_started)
        tick = (int(first) // RESOURCE_SAMPLE_SECONDS + 1) * RESOURCE_SAMPLE_SECONDS
        while tick <= end:
            rows.append((tick, vpg.name, vm.name, _resource_sample(vpg, vm, tick, write_rate_mb)))
            tick += RESOURCE_SAMPLE_SECONDS
    return [row for *_, row in sorted(rows, key=lambda r: r[:3])]


def _resource_sample(vpg: VpgRecord, vm: ProtectedVm, at: float, rate_of: Any) -> dict[str, Any]:
    rate = rate_of(vm.vm)  # MB/s, as statistics.py writes it
    entry: dict[str, Any] = next(
        (e for e in vpg.settings.get("Vms") or [] if e.get("VmIdentifier") == vm.vm), {}
    )
    limits = (entry.get("Journal") or {}).get("Limitation") or {}
    hard_mb = int(limits.get("HardLimitInMB") or 153600)
    history = int((vpg.settings.get("Basic") or {}).get("JournalHistoryInHours") or 24) * 3600
    elapsed = min(max(0.0, at - vpg.sync_started), history)
    journal_mb = min(hard_mb, int(rate * elapsed / 50))  # statistics.py's journal model
    storage_gb = vm.storage_mb / 1024
    return {
        "sampleTime": clock.iso(at),
        "performance": {"bandwidthInBps": rate * 0.6 * 1e6, "throughputInBps": rate * 1e6},
        "vpg": {
            "crmIdentifier": None,
            "serviceProfileName": None,
            "vpgName": vpg.name,
            "protectedAndRecoveryType": "VcToVc",
            "zorgName": None,
        },
        "protectedSite": {
            "compute": {
                "clusterName": None,
                "hostName": vm.host,
                "vraName": None,
                "orgVdcName": None,
                "resourcePoolName": None,
            },
            "storage": {
                "numberOfVolumes": len(vm.volumes),
                "volumesProvisionedStorageInGB": storage_gb,
                "volumesUsedStorageInGB": storage_gb,
            },
            "vmInfo": {
                "hardwareVersion": "vmx-13",
                "vmIdentifier": vm.vm,
                "vmName": vm.name,
                "cpu": {
                    "cpuLimitationInMhz": -1,
                    "cpuReservedInMhz": 0,
                    "numberOfvCpus": vm.cpus,
                    "cpuUsedInMhz": 0,
                },
                "memory": {
                    "activeGuestMemoryInMB": 0,
                    "consumedHostMemoryInMB": vm.memory_mb,
                    "memoryInMB": vm.memory_mb,
                    "memoryLimitationInMB": -1,
                    "memoryReservedInMB": 0,
                },
            },
            "siteName": vpg.protected_site_name,
            "vcdOrgName": None,
        },
        "recoverySite": {
            "compute": {
                "failoverOrMoveInstanceType": None,
                "failoverOrMoveInstanceFamily": None,
                "failoverTestInstanceType": None,
                "failoverTestInstanceFamily": None,
                "clusterName": None,
                "hostName": None,
                "vraName": None,
                "orgVdcName": None,
                "resourcePoolName": None,
            },
            "storage": {
                "journalProvisionedStorageInGB": hard_mb / 1024,
                "journalUsedStorageInGB": journal_mb / 1024,
                "datastoreName": None,
                "storagePolicyName": None,
                "volumesProvisionedStorageInGB": storage_gb,
                "volumesUsedStorageInGB": storage_gb,
            },
            "siteName": vpg.recovery_site_name,
            "vcdOrgName": None,
        },
    }


def register(router: Router, sim: Simulator) -> None:
    def list_reports(request: Request) -> Any:
        q = request.query
        with sim.store.lock:
            reports = list(sim.store.reports)
        try:
            if "starttime" in q:
                reports = [r for r in reports if r.started >= clock.parse_iso(q["starttime"])]
            if "endtime" in q:
                reports = [r for r in reports if r.ended <= clock.parse_iso(q["endtime"])]
        except ValueError as exc:
            raise BadRequest(f"startTime/endTime must be ISO 8601 date-times: {exc}") from exc
        if "vpgname" in q:
            reports = [r for r in reports if r.vpg_name.lower() == q["vpgname"].lower()]
        if "recoverytype" in q:
            reports = [r for r in reports if r.recovery_type.lower() == q["recoverytype"].lower()]
        if "state" in q:
            reports = [r for r in reports if r.status.lower() == q["state"].lower()]
        size = q.get("pagesize")
        if size and size.isdigit() and int(size) > 0:
            page = int(q.get("pagenumber", "1") or 1) if q.get("pagenumber", "1").isdigit() else 1
            reports = reports[(page - 1) * int(size) : page * int(size)]
        return [sim.reports.to_json(r) for r in reports]

    def get_report(request: Request) -> Any:
        wanted = request.param("recoveryOperationIdentifier")
        with sim.store.lock:
            for report in sim.store.reports:
                if report.identifier == wanted:
                    return sim.reports.to_json(report)
        raise NotFound(f"Recovery report {wanted} was not found.")

    def list_resources(request: Request) -> Any:
        q = request.query
        now = clock.now()
        try:
            start = clock.parse_iso(q["starttime"]) if "starttime" in q else 0.0
            end = min(now, clock.parse_iso(q["endtime"])) if "endtime" in q else now
        except ValueError as exc:
            raise BadRequest(f"startTime/endTime must be ISO 8601 date-times: {exc}") from exc
        size_text, page_text = q.get("pagesize", str(MAX_PAGE_SIZE)), q.get("pagenumber", "1")
        if not size_text.isdigit() or not 1 <= int(size_text) <= MAX_PAGE_SIZE:
            raise BadRequest(f"pageSize must be 1 to {MAX_PAGE_SIZE}, not {size_text!r}.")
        if not page_text.isdigit() or int(page_text) < 1:
            raise BadRequest(f"pageNumber must be 1 or more, not {page_text!r}.")
        rows = resource_samples(sim, start, end)
        if "vpgname" in q:
            rows = [r for r in rows if r["vpg"]["vpgName"].lower() == q["vpgname"].lower()]
        if "vmname" in q:
            rows = [
                r
                for r in rows
                if r["protectedSite"]["vmInfo"]["vmName"].lower() == q["vmname"].lower()
            ]
        size, page = int(size_text), int(page_text)
        return rows[(page - 1) * size : page * size]

    router.add("GET", "/v1/reports/resources", list_resources)
    router.add("GET", "/v1/reports/recovery", list_reports)
    router.add("GET", "/v1/reports/recovery/{recoveryOperationIdentifier}", get_report)
