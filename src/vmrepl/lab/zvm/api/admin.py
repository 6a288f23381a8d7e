"""The lab's control endpoints (outside ``/v1``, no token needed):

- ``GET /lab/faults`` — the current faults and knobs;
- ``POST /lab/faults`` — set some of them (any subset of the keys)::

    {
      "task_seconds": 0.3,                        # every task kind, or per kind:
      "task_seconds": {"default": 0.3, "vra_install": 2, "initial_sync": 1},
      "fail_vra_install": ["DC0_C0_H0"],          # host names (or identifiers): install fails
      "fail_vra_upgrade": ["DC0_C0_H1"],          # host names (or identifiers): upgrade fails
      "unavailable_calls": 3,                      # the next 3 calls of /v1 answer 503
      "expire_tokens": true,                       # every token and session expires now
      "expire_pairing_tokens": true,               # every pairing token expires now
      "peer_link": "cut",                          # or "up": the link to the peer site(s)
      "fail_boot_vms": ["DC0_C0_RP0_VM0"],        # their test copies stay powered off (set
                                                   # where the test runs or at the recovery site)
      "clear": true                                # first reset every fault
    }

- ``GET /lab/vra-release`` — the site's version; ``POST /lab/vra-release`` ``{"version":
  "10.0.70.1310"}`` (or ``{}``: the next update) makes it the site's version: a newer VRA version
  is available and the VRAs at the old one report outdated (see ``maintenance.py``);
- ``GET /lab/state`` — everything the simulator holds, for debugging;
- ``POST /lab/reset`` — clear faults, tasks, settings objects, alerts, reports and the contract
  (VPGs, VRAs and pairings stay: they live in vCenter and at the peer too);
- ``GET /lab/contract`` — the recorded schema violations (``violations``: direction, operation,
  path, status, location, message), the operations whose requests and responses were checked,
  and the operations of the schema the simulator implements; ``DELETE /lab/contract`` clears.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from vmrepl.lab.zvm.context import SiteContext
from vmrepl.lab.zvm.errors import BadRequest
from vmrepl.lab.zvm.http.contract import ContractRecorder
from vmrepl.lab.zvm.http.routing import Request, Response, Router
from vmrepl.lab.zvm.site.auth import AuthService
from vmrepl.lab.zvm.site.maintenance import MaintenanceService
from vmrepl.lab.zvm.site.peering import PeeringService


def register(
    router: Router,
    ctx: SiteContext,
    *,
    auth: AuthService,
    peering: PeeringService,
    maintenance: MaintenanceService,
    contract: ContractRecorder,
    implemented: Callable[[], list[str]],
) -> None:
    def set_faults(request: Request) -> Any:
        body = request.json()
        if not isinstance(body, dict):
            raise BadRequest("POST /lab/faults takes a JSON object.")
        known = {
            "task_seconds",
            "fail_vra_install",
            "fail_vra_upgrade",
            "unavailable_calls",
            "expire_tokens",
            "expire_pairing_tokens",
            "peer_link",
            "fail_boot_vms",
            "clear",
        }
        unknown = sorted(set(body) - known)
        if unknown:
            raise BadRequest(
                f"Unknown fault keys: {', '.join(unknown)}; known: {', '.join(sorted(known))}."
            )
        ctx.faults.apply(body)
        if body.get("expire_tokens"):
            auth.expire_all()
        if body.get("expire_pairing_tokens"):
            peering.expire_tokens()
        return ctx.faults.to_json()

    def vra_release(request: Request) -> Any:
        body = request.json() if request.body.strip() else {}
        if not isinstance(body, dict) or set(body) - {"version"}:
            raise BadRequest('POST /lab/vra-release takes {"version": "<dotted version>"} or {}.')
        version = body.get("version")
        if version is not None and not isinstance(version, str):
            raise BadRequest("version must be a string such as 10.0.70.1310.")
        return maintenance.release(version)

    def state(request: Request) -> Any:
        with ctx.store.lock:
            peers = [{**asdict(p), "key": "***"} for p in ctx.store.peers.values()]
            return {
                "site": {
                    "identifier": ctx.site_identifier,
                    "name": ctx.config.site_name,
                    "url": ctx.url,
                    "vcenter": ctx.config.vcenter.url,
                    "vcenter_server_id": ctx.server_id,
                },
                "faults": ctx.faults.to_json(),
                "peers": peers,
                "links": {
                    p["site_identifier"]: peering.link_up(p["site_identifier"]) for p in peers
                },
                "vpgs": [v.to_wire() for v in ctx.store.vpgs.values()],
                "settings": [asdict(s) for s in ctx.store.settings.values()],
                "tasks": [asdict(t) for t in ctx.store.tasks.values()],
                "vra_activity": [asdict(a) for a in ctx.store.vra_activity.values()],
                "alerts": [asdict(a) for a in ctx.store.alerts.values()],
                "release": maintenance.release_json(),
                "reports": len(ctx.store.reports),
            }

    def reset(request: Request) -> Response:
        ctx.faults.apply({"clear": True})
        ctx.faults.default_task_seconds = ctx.config.task_seconds
        ctx.store.reset()
        contract.clear()
        return Response.empty()

    def clear_contract(request: Request) -> Response:
        contract.clear()
        return Response.empty()

    router.add("GET", "/lab/faults", lambda r: ctx.faults.to_json(), kind="admin")
    router.add("POST", "/lab/faults", set_faults, kind="admin")
    router.add("GET", "/lab/vra-release", lambda r: maintenance.release_json(), kind="admin")
    router.add("POST", "/lab/vra-release", vra_release, kind="admin")
    router.add("GET", "/lab/state", state, kind="admin")
    router.add("POST", "/lab/reset", reset, kind="admin")
    router.add(
        "GET",
        "/lab/contract",
        lambda r: {**contract.report(), "implemented": implemented()},
        kind="admin",
    )
    router.add("DELETE", "/lab/contract", clear_contract, kind="admin")
