"""The appliance itself: ``/v1/localsite`` (and its login banner), ``/v1/license`` and
``/v1/serverDateTime``."""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from vmrepl.lab.zvm import clock
from vmrepl.lab.zvm.enums import PAIRING_STATUSES
from vmrepl.lab.zvm.errors import BadRequest
from vmrepl.lab.zvm.links import link
from vmrepl.lab.zvm.routing import Request, Response, Router

if TYPE_CHECKING:
    from vmrepl.lab.zvm.app import Simulator

MAX_LICENSED_VMS = 1000
#: The lab's licences expire a year after they were entered (a real term comes with the key).
LICENCE_TERM_SECONDS = 365 * 86400


def local_site_json(sim: Simulator) -> dict[str, Any]:
    enabled, banner = sim.store.login_banner
    return {
        "SiteIdentifier": sim.site_identifier,
        "Link": {
            **link(sim.url, "localsite", None, "LocalSiteApi"),
            "identifier": sim.site_identifier,
        },
        "SiteName": sim.config.site_name,
        "Location": sim.config.location,
        "Version": sim.maintenance.version,
        "DisplayVersion": sim.maintenance.display,
        "ZvmApiVersion": "1.0",
        "ContactEmail": "lab@vmrepl.invalid",
        "ContactName": "vmrepl lab",
        "ContactPhone": "",
        "IsReplicationToSelfEnabled": True,
        "UtcOffsetInMinutes": 0,
        "SiteType": "VCenter",
        "IpAddress": urlsplit(sim.url).hostname,
        "BandwidthThrottlingInMBs": -1.0,
        "SiteTypeVersion": "6.5",
        "PlatformInformation": {"Azure": None, "VCenter": {"Ip": sim.config.vcenter.host}},
        "IsLoginBannerEnabled": enabled,
        "LoginBanner": banner,
    }


def license_json(sim: Simulator) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for vpg in sim.store.live_vpgs():
        counts[vpg.protected_site] = counts.get(vpg.protected_site, 0) + len(vpg.vms)
    key = sim.store.license_key
    return {
        "Details": None
        if key is None
        else {
            "LicenseKey": key,
            "LicenseType": "Enterprise",
            "ExpiryTime": clock.iso(
                (sim.store.license_entered or clock.now()) + LICENCE_TERM_SECONDS
            ),
            "MaxVms": MAX_LICENSED_VMS,
        },
        "Usage": {
            "SitesUsage": [
                {
                    "SiteIdentifier": site,
                    "SiteName": sim.peering.site_name(site),
                    "ProtectedVmsCount": count,
                }
                for site, count in sorted(counts.items())
            ],
            "TotalVmsCount": sum(counts.values()),
        },
    }


def register(router: Router, sim: Simulator) -> None:
    def put_license(request: Request) -> Response:
        key = request.fields().text("LicenseKey")
        if not key or not key.strip():
            raise BadRequest("LicenseKey is required.")
        if not hmac.compare_digest(key.strip(), sim.config.license_key):
            raise BadRequest("The license key is not valid.")
        with sim.store.lock:
            if sim.store.license_key != key.strip():  # the same key again: the same term
                sim.store.license_entered = clock.now()
            sim.store.license_key = key.strip()
        return Response.empty()

    def delete_license(request: Request) -> Response:
        with sim.store.lock:
            sim.store.license_key = None
        return Response.empty()

    def get_banner(request: Request) -> Any:
        enabled, banner = sim.store.login_banner
        return {"IsLoginBannerEnabled": enabled, "LoginBanner": banner}

    def put_banner(request: Request) -> Response:
        body = request.fields()
        enabled = bool(body.boolean("IsLoginBannerEnabled", default=False))
        with sim.store.lock:
            sim.store.login_banner = (enabled, body.text("LoginBanner") or "")
        return Response.empty()

    def date_argument(request: Request) -> Any:
        value = request.query.get("datetime")
        if not value:
            raise BadRequest("dateTime is required.")
        try:
            return clock.iso(clock.parse_iso(value))
        except ValueError as exc:
            raise BadRequest(f"dateTime {value!r} is not an ISO 8601 date-time.") from exc

    router.add("GET", "/v1/localsite", lambda r: local_site_json(sim))
    router.add("GET", "/v1/localsite/pairingstatuses", lambda r: list(PAIRING_STATUSES))
    router.add("POST", "/v1/localsite/billing/sendUsage", lambda r: Response.empty())
    router.add("GET", "/v1/localsite/settings/loginBanner", get_banner)
    router.add("PUT", "/v1/localsite/settings/loginBanner", put_banner)
    router.add("GET", "/v1/license", lambda r: license_json(sim))
    router.add("PUT", "/v1/license", put_license)
    router.add("DELETE", "/v1/license", delete_license)
    router.add("GET", "/v1/serverDateTime/serverDateTimeUtc", lambda r: clock.iso(clock.now()))
    router.add("GET", "/v1/serverDateTime/serverDateTimeLocal", lambda r: clock.iso(clock.now()))
    router.add("GET", "/v1/serverDateTime/dateTimeArgument", date_argument)
