"""``/v1/virtualizationsites``: the vCenter inventory of this site and of its paired sites (the
peer is asked for its own), read live, with ZVM identifiers ``<vCenter UUID>.<moref>``.
``.../vms`` lists only the VMs that are not protected (nor the appliance's own VMs)."""

from __future__ import annotations

from typing import Any

from vmrepl.lab.zvm.context import SiteContext
from vmrepl.lab.zvm.enums import PAIRED
from vmrepl.lab.zvm.errors import BadRequest, NotFound
from vmrepl.lab.zvm.http.routing import Request, Router
from vmrepl.lab.zvm.inventory import (
    APPLIANCE_ROLES,
    Inventory,
    cluster_native,
    datastore_native,
    folder_native,
    host_native,
    network_native,
    pool_native,
    vm_native,
)
from vmrepl.lab.zvm.site.gateway import Gateways
from vmrepl.lab.zvm.site.peering import PeeringService
from vmrepl.lab.zvm.site.vpgs import VpgService
from vmrepl.lab.zvm.vcenter import Detail


def register(
    router: Router,
    ctx: SiteContext,
    peering: PeeringService,
    gateways: Gateways,
    vpgs: VpgService,
) -> None:
    def site_json(site: str) -> dict[str, Any]:
        return {"SiteIdentifier": site, "VirtualizationSiteName": peering.site_name(site)}

    def known(site: str) -> str:
        if site != ctx.site_identifier and not peering.is_paired(site):
            raise NotFound(f"Site {site} was not found.")
        return site

    def inventory(request: Request, detail: Detail = "none") -> Inventory:
        site = known(request.param("siteIdentifier"))
        if site != ctx.site_identifier and not peering.link_up(site):
            raise BadRequest(
                f"The connection to site {peering.site_name(site)} is down; "
                "its inventory cannot be read now."
            )
        return gateways(site).inventory(detail)

    def sites(request: Request) -> Any:
        ids = [ctx.site_identifier] + [
            p.site_identifier for p in peering.peers() if p.status == PAIRED
        ]
        return [site_json(s) for s in ids]

    def vms(request: Request) -> Any:
        inv = inventory(request, "full")
        protected = vpgs.protected_vm_ids(request.param("siteIdentifier"))
        return [
            vm_native(inv, vm)
            for vm in sorted(inv.vms.values(), key=lambda v: v.name)
            if not vm.template
            and vm.role not in APPLIANCE_ROLES
            and inv.ident(vm.moref) not in protected
        ]

    def host(request: Request) -> Any:
        inv = inventory(request)
        found = inv.host(request.param("hostIdentifier"))
        if found is None:
            raise NotFound(f"Host {request.param('hostIdentifier')} was not found.")
        return host_native(inv, found)

    def listing(kind: str) -> Any:
        def handler(request: Request) -> Any:
            inv = inventory(request)
            if kind == "hosts":
                return [host_native(inv, h) for h in inv.hosts.values()]
            if kind == "hostclusters":
                return [cluster_native(inv, c) for c in inv.clusters.values()]
            if kind == "datastores":
                return [datastore_native(inv, d) for d in inv.datastores.values()]
            if kind == "networks":
                return [network_native(inv, n) for n in inv.networks.values()]
            if kind == "folders":
                return [folder_native(inv, f) for f in inv.folders.values() if f.holds_vms]
            if kind == "resourcepools":
                return [pool_native(inv, p) for p in inv.pools.values()]
            return []

        return handler

    base = "/v1/virtualizationsites/{siteIdentifier}"
    router.add("GET", "/v1/virtualizationsites", sites)
    router.add("GET", base, lambda r: site_json(known(r.param("siteIdentifier"))))
    router.add("GET", base + "/vms", vms)
    router.add("GET", base + "/hosts/{hostIdentifier}", host)
    for kind in (
        "hosts",
        "hostclusters",
        "datastores",
        "networks",
        "folders",
        "resourcepools",
        "datastoreclusters",
        "devices",
        "repositories",
    ):
        router.add("GET", f"{base}/{kind}", listing(kind))
