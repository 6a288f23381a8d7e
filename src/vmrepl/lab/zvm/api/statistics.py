"""``/v1/vms``, ``/v1/statistics/vms`` and ``/v1/datastores``."""

from __future__ import annotations

from typing import Any

from vmrepl.lab.zvm.context import SiteContext
from vmrepl.lab.zvm.errors import NotFound
from vmrepl.lab.zvm.http.routing import Request, Router
from vmrepl.lab.zvm.site.statistics import StatisticsService


def register(router: Router, ctx: SiteContext, stats: StatisticsService) -> None:

    def list_vms(request: Request) -> Any:
        q = request.query
        local = stats.local_inventory()
        result = []
        for vpg, vm in stats.protected():
            if "vpgname" in q and vpg.name.lower() != q["vpgname"].lower():
                continue
            if "vmname" in q and vm.name.lower() != q["vmname"].lower():
                continue
            if "vmidentifier" in q and vm.vm != q["vmidentifier"]:
                continue
            mine = vpg.protected_site == ctx.site_identifier
            result.append(stats.vm_json(vpg, vm, local if mine else None))
        return result

    def get_vm(request: Request) -> Any:
        wanted = request.param("vmIdentifier")
        wanted_vpg = request.query.get("vpgidentifier")
        local = stats.local_inventory()
        for vpg, vm in stats.protected():
            if vm.vm == wanted and (not wanted_vpg or vpg.identifier == wanted_vpg):
                mine = vpg.protected_site == ctx.site_identifier
                return stats.vm_json(vpg, vm, local if mine else None)
        raise NotFound(f"Protected VM {wanted} was not found.")

    def list_datastores(request: Request) -> Any:
        local = stats.local_inventory("basic")
        return [stats.datastore_json(local, m) for m in sorted(local.datastores)]

    def get_datastore(request: Request) -> Any:
        local = stats.local_inventory("basic")
        moref = local.moref(request.param("datastoreIdentifier"))
        if moref is None or moref not in local.datastores:
            raise NotFound(f"Datastore {request.param('datastoreIdentifier')} was not found.")
        return stats.datastore_json(local, moref)

    router.add("GET", "/v1/vms", list_vms)
    router.add("GET", "/v1/vms/{vmIdentifier}", get_vm)
    router.add(
        "GET",
        "/v1/statistics/vms",
        lambda r: [stats.counters(vpg, vm) for vpg, vm in stats.protected()],
    )
    router.add("GET", "/v1/datastores", list_datastores)
    router.add("GET", "/v1/datastores/{datastoreIdentifier}", get_datastore)
