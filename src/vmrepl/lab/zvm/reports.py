"""Recovery reports: one per failover test, failover and move, written when the operation
ends (test stopped, committed or rolled back), as ``GET /v1/reports/recovery`` lists them."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from vmrepl.lab.zvm import clock
from vmrepl.lab.zvm.errors import BadRequest, NotFound
from vmrepl.lab.zvm.routing import Request, Router
from vmrepl.lab.zvm.store import OperationRecord, ReportRecord, VpgRecord

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

    router.add("GET", "/v1/reports/recovery", list_reports)
    router.add("GET", "/v1/reports/recovery/{recoveryOperationIdentifier}", get_report)
