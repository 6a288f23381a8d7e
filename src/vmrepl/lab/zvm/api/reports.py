"""``/v1/reports``: recovery reports and the resources report."""

from __future__ import annotations

from typing import Any

from vmrepl.lab.zvm import clock
from vmrepl.lab.zvm.context import SiteContext
from vmrepl.lab.zvm.errors import BadRequest, NotFound
from vmrepl.lab.zvm.http.routing import Request, Router
from vmrepl.lab.zvm.site.reports import MAX_PAGE_SIZE, ReportService


def register(router: Router, ctx: SiteContext, service: ReportService) -> None:
    def list_reports(request: Request) -> Any:
        q = request.query
        with ctx.store.lock:
            reports = list(ctx.store.reports)
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
        return [service.to_json(r) for r in reports]

    def get_report(request: Request) -> Any:
        wanted = request.param("recoveryOperationIdentifier")
        with ctx.store.lock:
            for report in ctx.store.reports:
                if report.identifier == wanted:
                    return service.to_json(report)
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
        rows = service.resource_samples(start, end)
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
