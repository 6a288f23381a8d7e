"""``/v1/vpgs``: the VPGs, their checkpoints, pause/resume/force-sync, deletion, and the names
of their enumerations."""

from __future__ import annotations

from typing import Any

from vmrepl.lab.zvm import clock
from vmrepl.lab.zvm.context import SiteContext
from vmrepl.lab.zvm.enums import (
    COMMIT_POLICIES,
    SHUTDOWN_POLICIES,
    VPG_ENTITY_TYPES,
    VPG_PRIORITIES,
    VPG_RETENTION_POLICIES,
    VPG_STATUSES,
    VPG_SUBSTATUSES,
)
from vmrepl.lab.zvm.errors import BadRequest
from vmrepl.lab.zvm.http.routing import Request, Router
from vmrepl.lab.zvm.site.vpgs import MAX_LISTED_CHECKPOINTS, VpgService


def _matches(value: int, wanted: str, names: tuple[str, ...]) -> bool:
    wanted = wanted.lower()
    return wanted == str(value) or (0 <= value < len(names) and wanted == names[value].lower())


def _names_handler(names: tuple[str, ...]) -> Any:
    return lambda request: list(names)


def register(router: Router, ctx: SiteContext, vpgs: VpgService) -> None:

    def list_vpgs(request: Request) -> Any:
        q = request.query
        result = [vpgs.to_json(r) for r in sorted(ctx.store.live_vpgs(), key=lambda r: r.created)]
        if "name" in q:
            result = [r for r in result if r["VpgName"].lower() == q["name"].lower()]
        if "status" in q:
            result = [r for r in result if _matches(r["Status"], q["status"], VPG_STATUSES)]
        if "substatus" in q:
            result = [
                r for r in result if _matches(r["SubStatus"], q["substatus"], VPG_SUBSTATUSES)
            ]
        if "priority" in q:
            result = [r for r in result if _matches(r["Priority"], q["priority"], VPG_PRIORITIES)]
        for param, key in (
            ("protectedsiteidentifier", "ProtectedSite"),
            ("sourcesite", "ProtectedSite"),
            ("recoverysiteidentifier", "RecoverySite"),
            ("targetsite", "RecoverySite"),
        ):
            if param in q:
                result = [r for r in result if r[key]["identifier"] == q[param]]
        return result

    def checkpoints(request: Request) -> Any:
        record = vpgs.get(request.param("vpgIdentifier"))
        points = vpgs.checkpoints(record)
        start, end = request.query.get("startdate"), request.query.get("enddate")
        try:
            if start:
                points = [p for p in points if p.timestamp >= clock.parse_iso(start)]
            if end:
                points = [p for p in points if p.timestamp <= clock.parse_iso(end)]
        except ValueError as exc:
            raise BadRequest(f"startDate/endDate must be ISO 8601 date-times: {exc}") from exc
        return [p.to_json() for p in points[-MAX_LISTED_CHECKPOINTS:]]

    def stats(request: Request) -> Any:
        points = vpgs.checkpoints(vpgs.get(request.param("vpgIdentifier")))
        return {
            "Earliest": points[0].to_json() if points else None,
            "Latest": points[-1].to_json() if points else None,
        }

    def vid(request: Request) -> str:
        return request.param("vpgIdentifier")

    router.add("GET", "/v1/vpgs", list_vpgs)
    router.add("GET", "/v1/vpgs/{vpgIdentifier}", lambda r: vpgs.to_json(vpgs.get(vid(r))))
    router.add("DELETE", "/v1/vpgs/{vpgIdentifier}", lambda r: vpgs.delete(r, vid(r)))
    router.add("GET", "/v1/vpgs/{vpgIdentifier}/checkpoints", checkpoints)
    router.add(
        "POST", "/v1/vpgs/{vpgIdentifier}/checkpoints", lambda r: vpgs.tag_checkpoint(r, vid(r))
    )
    router.add("GET", "/v1/vpgs/{vpgIdentifier}/checkpoints/stats", stats)
    router.add("POST", "/v1/vpgs/{vpgIdentifier}/pause", lambda r: vpgs.pause(r, vid(r)))
    router.add("POST", "/v1/vpgs/{vpgIdentifier}/resume", lambda r: vpgs.resume(r, vid(r)))
    router.add("POST", "/v1/vpgs/{vpgIdentifier}/forcesync", lambda r: vpgs.forcesync(r, vid(r)))
    for path, names in (
        ("statuses", VPG_STATUSES),
        ("substatuses", VPG_SUBSTATUSES),
        ("priorities", VPG_PRIORITIES),
        ("entitytypes", VPG_ENTITY_TYPES),
        ("retentionpolicies", VPG_RETENTION_POLICIES),
        ("failovercommitpolicies", COMMIT_POLICIES),
        ("failovershutdownpolicies", SHUTDOWN_POLICIES),
    ):
        router.add("GET", f"/v1/vpgs/{path}", _names_handler(names))
