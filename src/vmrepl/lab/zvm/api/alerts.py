"""``/v1/alerts``: the alerts of this site, dismissing and undismissing them."""

from __future__ import annotations

from typing import Any

from vmrepl.lab.zvm.context import SiteContext
from vmrepl.lab.zvm.enums import ALERT_ENTITIES, ALERT_LEVELS
from vmrepl.lab.zvm.http.routing import Request, Response, Router
from vmrepl.lab.zvm.site.alerts import HELP_IDENTIFIERS, AlertService
from vmrepl.lab.zvm.site.events import date_window, in_window


def register(router: Router, ctx: SiteContext, alerts: AlertService) -> None:

    def list_alerts(request: Request) -> Any:
        q = request.query
        result = alerts.evaluate()
        window = date_window(q, "startdate", "enddate")
        result = [a for a in result if in_window(a.turned_on, window)]
        if q.get("siteidentifier") and q["siteidentifier"] != ctx.site_identifier:
            result = []
        if q.get("zorgidentifier"):
            result = []  # the lab has no ZORGs
        if "level" in q:
            result = [a for a in result if a.level.lower() == q["level"].lower()]
        if "entity" in q:
            result = [a for a in result if a.entity.lower() == q["entity"].lower()]
        if "helpidentifier" in q:
            result = [a for a in result if a.help_identifier.lower() == q["helpidentifier"].lower()]
        if "vpgidentifier" in q:
            result = [a for a in result if q["vpgidentifier"] in a.vpgs]
        if "isdismissed" in q:
            wanted = q["isdismissed"].lower() == "true"
            result = [a for a in result if a.dismissed == wanted]
        return [alerts.to_json(a) for a in result]

    def dismiss(request: Request, value: bool) -> Response:
        alert = alerts.find(request.param("alertIdentifier"))
        with ctx.store.lock:
            alert.dismissed = value
        return Response.empty()

    router.add("GET", "/v1/alerts", list_alerts)
    router.add("GET", "/v1/alerts/levels", lambda r: list(ALERT_LEVELS))
    router.add("GET", "/v1/alerts/entities", lambda r: list(ALERT_ENTITIES))
    router.add("GET", "/v1/alerts/helpidentifiers", lambda r: list(HELP_IDENTIFIERS))
    router.add(
        "GET",
        "/v1/alerts/{alertIdentifier}",
        lambda r: alerts.to_json(alerts.find(r.param("alertIdentifier"))),
    )
    router.add("POST", "/v1/alerts/{alertIdentifier}/dismiss", lambda r: dismiss(r, True))
    router.add("POST", "/v1/alerts/{alertIdentifier}/undismiss", lambda r: dismiss(r, False))
