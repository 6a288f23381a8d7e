"""``/v1/vras``: install, edit, upgrade, uninstall, and the change of recovery VRA."""

from __future__ import annotations

from typing import Any

from vmrepl.lab.zvm.enums import VRA_IP_CONFIGURATION_TYPES, VRA_STATUSES
from vmrepl.lab.zvm.http.routing import Request, Router
from vmrepl.lab.zvm.site.vras import VraService


def register(router: Router, vras: VraService) -> None:

    def list_vras(request: Request) -> Any:
        inv, views = vras.views()
        return [vras.to_json(inv, v) for v in views]

    def get_vra(request: Request) -> Any:
        inv, view = vras.find(request.param("vraIdentifier"))
        return vras.to_json(inv, view)

    router.add("GET", "/v1/vras", list_vras)
    router.add("POST", "/v1/vras", vras.install)
    router.add("GET", "/v1/vras/statuses", lambda r: list(VRA_STATUSES))
    router.add("GET", "/v1/vras/ipconfigurationtypes", lambda r: list(VRA_IP_CONFIGURATION_TYPES))
    router.add("GET", "/v1/vras/{vraIdentifier}", get_vra)
    router.add("PUT", "/v1/vras/{vraIdentifier}", lambda r: vras.edit(r, r.param("vraIdentifier")))
    router.add(
        "DELETE", "/v1/vras/{vraIdentifier}", lambda r: vras.uninstall(r, r.param("vraIdentifier"))
    )
    router.add(
        "POST",
        "/v1/vras/{vraIdentifier}/upgrade",
        lambda r: vras.upgrade(r, r.param("vraIdentifier")),
    )
    router.add(
        "GET",
        "/v1/vras/{vraIdentifier}/changerecoveryvra/potentials",
        lambda r: vras.change_potentials(r, r.param("vraIdentifier")),
    )
    router.add(
        "POST",
        "/v1/vras/{vraIdentifier}/changerecoveryvra/validate",
        lambda r: vras.change_validate(r, r.param("vraIdentifier")),
    )
    router.add(
        "POST",
        "/v1/vras/{vraIdentifier}/changerecoveryvra/execute",
        lambda r: vras.change_execute(r, r.param("vraIdentifier")),
    )
