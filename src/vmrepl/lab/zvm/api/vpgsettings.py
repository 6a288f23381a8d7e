"""``/v1/vpgSettings``: settings objects, whole, by section, by VM, by NIC and volume."""

from __future__ import annotations

import copy
from typing import Any

from vmrepl.lab.zvm.context import SiteContext
from vmrepl.lab.zvm.http.routing import Request, Router
from vmrepl.lab.zvm.site.settings import SettingsService
from vmrepl.lab.zvm.site.vpgsettings import SECTIONS


def register(router: Router, ctx: SiteContext, svc: SettingsService) -> None:
    base = "/v1/vpgSettings/{vpgSettingsIdentifier}"

    def sid(request: Request) -> str:
        return request.param("vpgSettingsIdentifier")

    def list_settings(request: Request) -> Any:
        svc.expire()
        with ctx.store.lock:
            return [svc.to_json(r) for r in ctx.store.settings.values()]

    router.add("POST", "/v1/vpgSettings", svc.create)
    router.add("GET", "/v1/vpgSettings", list_settings)
    router.add("GET", base, lambda r: svc.to_json(svc.get(sid(r))))
    router.add("PUT", base, lambda r: svc.replace(sid(r), r))
    router.add("DELETE", base, lambda r: svc.delete(sid(r)))
    router.add("POST", base + "/commit", lambda r: svc.commit(sid(r), r))

    def section_routes(name: str) -> None:
        router.add("GET", f"{base}/{name}", lambda r: svc.section(sid(r), name))
        router.add("PUT", f"{base}/{name}", lambda r: svc.put_section(sid(r), name, r))
        router.add("DELETE", f"{base}/{name}", lambda r: svc.reset_section(sid(r), name))

    for name in SECTIONS:
        section_routes(name)
    router.add("POST", f"{base}/ltr", lambda r: svc.put_section(sid(r), "ltr", r))

    vm = base + "/vms/{vmIdentifier}"

    def vm_id(request: Request) -> str:
        return request.param("vmIdentifier")

    def entry(request: Request) -> dict[str, Any]:
        return svc.entry_of(svc.get(sid(request)), vm_id(request))

    router.add("POST", base + "/vms", lambda r: svc.add_vm(sid(r), r))
    router.add("GET", base + "/vms", lambda r: copy.deepcopy(svc.entries(svc.get(sid(r)))))
    router.add("GET", vm, lambda r: copy.deepcopy(entry(r)))
    router.add("PUT", vm, lambda r: svc.put_vm(sid(r), vm_id(r), r))
    router.add("DELETE", vm, lambda r: svc.delete_vm(sid(r), vm_id(r)))

    def item_routes(kind: str, segment: str, param: str, key: str) -> None:
        item = f"{vm}/{segment}/{{{param}}}"
        router.add("GET", f"{vm}/{segment}", lambda r: copy.deepcopy(entry(r).get(kind) or []))
        router.add("GET", item, lambda r: svc.item(entry(r), kind, key, r.param(param)))
        router.add("PUT", item, lambda r: svc.put_item(sid(r), vm_id(r), kind, r.param(param), r))
        if kind == "Nics":
            router.add(
                "DELETE", item, lambda r: svc.delete_item(sid(r), vm_id(r), kind, r.param(param))
            )

    item_routes("Nics", "nics", "nicIdentifier", "NicIdentifier")
    item_routes("Volumes", "volumes", "volumeIdentifier", "VolumeIdentifier")
