"""The appliance itself: its local site (and login banner) and its licence."""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from vmrepl.lab.zvm import clock
from vmrepl.lab.zvm.errors import BadRequest
from vmrepl.lab.zvm.links import link

if TYPE_CHECKING:
    from vmrepl.lab.zvm.context import SiteContext
    from vmrepl.lab.zvm.site.maintenance import MaintenanceService
    from vmrepl.lab.zvm.site.peering import PeeringService

MAX_LICENSED_VMS = 1000
#: The lab's licences expire a year after they were entered (a real term comes with the key).
LICENCE_TERM_SECONDS = 365 * 86400


class ApplianceService:
    def __init__(
        self, ctx: SiteContext, maintenance: MaintenanceService, peering: PeeringService
    ) -> None:
        self.ctx = ctx
        self.maintenance = maintenance
        self.peering = peering

    def local_site_json(self) -> dict[str, Any]:
        ctx = self.ctx
        enabled, banner = ctx.store.login_banner
        return {
            "SiteIdentifier": ctx.site_identifier,
            "Link": {
                **link(ctx.url, "localsite", None, "LocalSiteApi"),
                "identifier": ctx.site_identifier,
            },
            "SiteName": ctx.config.site_name,
            "Location": ctx.config.location,
            "Version": self.maintenance.version,
            "DisplayVersion": self.maintenance.display,
            "ZvmApiVersion": "1.0",
            "ContactEmail": "lab@vmrepl.invalid",
            "ContactName": "vmrepl lab",
            "ContactPhone": "",
            "IsReplicationToSelfEnabled": True,
            "UtcOffsetInMinutes": 0,
            "SiteType": "VCenter",
            "IpAddress": urlsplit(ctx.url).hostname,
            "BandwidthThrottlingInMBs": -1.0,
            "SiteTypeVersion": "6.5",
            "PlatformInformation": {"Azure": None, "VCenter": {"Ip": ctx.config.vcenter.host}},
            "IsLoginBannerEnabled": enabled,
            "LoginBanner": banner,
        }

    # -- the licence ------------------------------------------------------------------------
    def license_json(self) -> dict[str, Any]:
        store = self.ctx.store
        counts: dict[str, int] = {}
        for vpg in store.live_vpgs():
            counts[vpg.protected_site] = counts.get(vpg.protected_site, 0) + len(vpg.vms)
        key = store.license_key
        return {
            "Details": None
            if key is None
            else {
                "LicenseKey": key,
                "LicenseType": "Enterprise",
                "ExpiryTime": clock.iso(
                    (store.license_entered or clock.now()) + LICENCE_TERM_SECONDS
                ),
                "MaxVms": MAX_LICENSED_VMS,
            },
            "Usage": {
                "SitesUsage": [
                    {
                        "SiteIdentifier": site,
                        "SiteName": self.peering.site_name(site),
                        "ProtectedVmsCount": count,
                    }
                    for site, count in sorted(counts.items())
                ],
                "TotalVmsCount": sum(counts.values()),
            },
        }

    def enter_license(self, key: str | None) -> None:
        """``PUT /v1/license``: only the site's own key is accepted."""
        if not key or not key.strip():
            raise BadRequest("LicenseKey is required.")
        if not hmac.compare_digest(key.strip(), self.ctx.config.license_key):
            raise BadRequest("The license key is not valid.")
        store = self.ctx.store
        with store.lock:
            if store.license_key != key.strip():  # the same key again: the same term
                store.license_entered = clock.now()
            store.license_key = key.strip()

    def remove_license(self) -> None:
        with self.ctx.store.lock:
            self.ctx.store.license_key = None

    # -- the login banner -------------------------------------------------------------------
    def banner_json(self) -> dict[str, Any]:
        enabled, banner = self.ctx.store.login_banner
        return {"IsLoginBannerEnabled": enabled, "LoginBanner": banner}

    def set_banner(self, enabled: bool, banner: str) -> None:
        with self.ctx.store.lock:
            self.ctx.store.login_banner = (enabled, banner)
