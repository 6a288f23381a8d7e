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

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from vmrepl.lab.zvm.errors import BadRequest
from vmrepl.lab.zvm.routing import Request, Response, Router

if TYPE_CHECKING:
    from vmrepl.lab.zvm.app import Simulator


def register(router: Router, sim: Simulator) -> None:
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
        sim.faults.apply(body)
        if body.get("expire_tokens"):
            sim.auth.expire_all()
        if body.get("expire_pairing_tokens"):
            sim.peering.expire_tokens()
        return sim.faults.to_json()

    def vra_release(request: Request) -> Any:
        body = request.json() if request.body.strip() else {}
        if not isinstance(body, dict) or set(body) - {"version"}:
            raise BadRequest('POST /lab/vra-release takes {"version": "<dotted version>"} or {}.')
        version = body.get("version")
        if version is not None and not isinstance(version, str):
            raise BadRequest("version must be a string such as 10.0.70.1310.")
        return sim.maintenance.release(version)

    def state(request: Request) -> Any:
        with sim.store.lock:
            peers = [{**asdict(p), "key": "***"} for p in sim.store.peers.values()]
            return {
                "site": {
                    "identifier": sim.site_identifier,
                    "name": sim.config.site_name,
                    "url": sim.url,
                    "vcenter": sim.config.vcenter.url,
                    "vcenter_server_id": sim.server_id,
                },
                "faults": sim.faults.to_json(),
                "peers": peers,
                "links": {
                    p["site_identifier"]: sim.peering.link_up(p["site_identifier"]) for p in peers
                },
                "vpgs": [v.to_wire() for v in sim.store.vpgs.values()],
                "settings": [asdict(s) for s in sim.store.settings.values()],
                "tasks": [asdict(t) for t in sim.store.tasks.values()],
                "vra_activity": [asdict(a) for a in sim.store.vra_activity.values()],
                "alerts": [asdict(a) for a in sim.store.alerts.values()],
                "release": sim.maintenance.release_json(),
                "reports": len(sim.store.reports),
            }

    def reset(request: Request) -> Response:
        sim.faults.apply({"clear": True})
        sim.faults.default_task_seconds = sim.config.task_seconds
        sim.store.reset()
        sim.contract.clear()
        return Response.empty()

    def clear_contract(request: Request) -> Response:
        sim.contract.clear()
        return Response.empty()

    router.add("GET", "/lab/faults", lambda r: sim.faults.to_json(), kind="admin")
    router.add("POST", "/lab/faults", set_faults, kind="admin")
    router.add("GET", "/lab/vra-release", lambda r: sim.maintenance.release_json(), kind="admin")
    router.add("POST", "/lab/vra-release", vra_release, kind="admin")
    router.add("GET", "/lab/state", state, kind="admin")
    router.add("POST", "/lab/reset", reset, kind="admin")
    router.add(
        "GET",
        "/lab/contract",
        lambda r: {**sim.contract.report(), "implemented": sim.implemented_operations()},
        kind="admin",
    )
    router.add("DELETE", "/lab/contract", clear_contract, kind="admin")
