"""The appliance itself: ``/v1/localsite`` (and its login banner), ``/v1/license`` and
``/v1/serverDateTime``."""

from __future__ import annotations

from typing import Any

from vmrepl.lab.zvm import clock
from vmrepl.lab.zvm.enums import PAIRING_STATUSES
from vmrepl.lab.zvm.errors import BadRequest
from vmrepl.lab.zvm.http.routing import Request, Response, Router
from vmrepl.lab.zvm.site.appliance import ApplianceService


def register(router: Router, appliance: ApplianceService) -> None:
    def put_license(request: Request) -> Response:
        appliance.enter_license(request.fields().text("LicenseKey"))
        return Response.empty()

    def delete_license(request: Request) -> Response:
        appliance.remove_license()
        return Response.empty()

    def put_banner(request: Request) -> Response:
        body = request.fields()
        enabled = bool(body.boolean("IsLoginBannerEnabled", default=False))
        appliance.set_banner(enabled, body.text("LoginBanner") or "")
        return Response.empty()

    def date_argument(request: Request) -> Any:
        value = request.query.get("datetime")
        if not value:
            raise BadRequest("dateTime is required.")
        try:
            return clock.iso(clock.parse_iso(value))
        except ValueError as exc:
            raise BadRequest(f"dateTime {value!r} is not an ISO 8601 date-time.") from exc

    router.add("GET", "/v1/localsite", lambda r: appliance.local_site_json())
    router.add("GET", "/v1/localsite/pairingstatuses", lambda r: list(PAIRING_STATUSES))
    router.add("POST", "/v1/localsite/billing/sendUsage", lambda r: Response.empty())
    router.add("GET", "/v1/localsite/settings/loginBanner", lambda r: appliance.banner_json())
    router.add("PUT", "/v1/localsite/settings/loginBanner", put_banner)
    router.add("GET", "/v1/license", lambda r: appliance.license_json())
    router.add("PUT", "/v1/license", put_license)
    router.add("DELETE", "/v1/license", delete_license)
    router.add("GET", "/v1/serverDateTime/serverDateTimeUtc", lambda r: clock.iso(clock.now()))
    router.add("GET", "/v1/serverDateTime/serverDateTimeLocal", lambda r: clock.iso(clock.now()))
    router.add("GET", "/v1/serverDateTime/dateTimeArgument", date_argument)
