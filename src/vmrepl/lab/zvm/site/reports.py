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
from vmrepl.lab.zvm.site.statistics import StatisticsService, write_rate_mb
from vmrepl.lab.zvm.store import OperationRecord, ProtectedVm, ReportRecord, VpgRecord

#: The lab's resources-report sampling period, seconds.
RESOURCE_SAMPLE_SECONDS = 60
MAX_PAGE_SIZE = 1000

if TYPE_CHECKING:
    from vmrepl.lab.zvm.context import SiteContext


class ReportService:
    def __init__(self, ctx: SiteContext, statistics: StatisticsService) -> None:
        self.ctx = ctx
        self.statistics = statistics

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
        with self.ctx.store.lock:
            self.ctx.store.reports.append(report)
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

    def resource_samples(self, start: float, end: float) -> list[dict[str, Any]]:
        """The resources report's samples in [start, end], by time, then VPG and VM."""
        rows: list[tuple[float, str, str, dict[str, Any]]] = []
        for vpg, vm in self.statistics.protected():
            if vpg.protected_site != self.ctx.site_identifier:
                continue
            first = max(start, vpg.sync_started)
            tick = (int(first) // RESOURCE_SAMPLE_SECONDS + 1) * RESOURCE_SAMPLE_SECONDS
            while tick <= end:
                sample = _resource_sample(vpg, vm, tick, write_rate_mb)
                rows.append((tick, vpg.name, vm.name, sample))
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
