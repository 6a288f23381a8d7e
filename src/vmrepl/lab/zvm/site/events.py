"""Events (``GET /v1/events``) and the date filters of alerts and tasks.

The event log holds what happened at the site, newest last: an alert turning on and off
(category ``Alerts``, with the alert among the related entities), and whatever other parts
record with :meth:`EventLog.record`. ``GET /v1/events`` filters by ``startDate``/``endDate``
(``OccurredOn`` within them), ``vpgIdentifier``, ``siteIdentifier``, ``siteName``,
``eventType``, ``entityType``, ``category`` (``All``, ``Events``, ``Alerts``; also the obsolete
``eventCategory``), ``userName`` and ``alertIdentifier``.

Not known from the vendor, so chosen here (see README.md): the ``EventType`` value of an alert's
event (0), and the order of ``EventEntityTypeApi`` 0-3 (taken as ZertoApiWrapper's list: VPG,
VRA, Unknown, Site).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from vmrepl.lab.zvm import clock
from vmrepl.lab.zvm.errors import BadRequest, NotFound
from vmrepl.lab.zvm.links import link

if TYPE_CHECKING:
    from vmrepl.lab.zvm.context import SiteContext
    from vmrepl.lab.zvm.store import AlertRecord

#: ``GET /v1/events/categories`` and ``/entities``
EVENT_CATEGORIES = ("All", "Events", "Alerts")
EVENT_ENTITIES = ("VPG", "VRA", "Unknown", "Site")
#: alert entity → event entity type
_ENTITY_OF_ALERT = {"Vpg": 0, "Vra": 1, "Zvm": 3}
#: the event type of an alert turning on or off (the vendor's value was not found)
ALERT_EVENT_TYPE = 0
#: the events kept (the oldest go first)
KEEP = 5000


@dataclass
class Event:
    identifier: str
    occurred: float
    event_type: int
    description: str
    success: bool = True
    category: str = "Events"
    entity_type: int = 2
    user: str = ""
    vpgs: list[str] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)


class EventLog:
    def __init__(self, ctx: SiteContext) -> None:
        self.ctx = ctx
        #: called before every query (app.py wires ``AlertService.evaluate``: the alerts record
        #: their changes here, so the log may not call them by name)
        self.before_query: list[Callable[[], object]] = []
        self._lock = threading.Lock()
        self.events: list[Event] = []

    def record(
        self,
        event_type: int,
        description: str,
        *,
        success: bool = True,
        category: str = "Events",
        entity_type: int = 2,
        user: str = "",
        vpgs: list[str] | None = None,
        hosts: list[str] | None = None,
        alerts: list[str] | None = None,
        occurred: float | None = None,
    ) -> Event:
        event = Event(
            str(uuid.uuid4()),
            clock.now() if occurred is None else occurred,
            event_type,
            description,
            success,
            category,
            entity_type,
            user,
            list(vpgs or []),
            list(hosts or []),
            list(alerts or []),
        )
        with self._lock:
            self.events.append(event)
            self.events.sort(key=lambda e: e.occurred)
            del self.events[:-KEEP]
        return event

    def alerts_changed(self, added: list[AlertRecord], removed: list[AlertRecord]) -> None:
        """Called by the alert service when alerts turn on (at their ``TurnedOn``) or off."""
        for alert in added:
            self._alert_event(alert, "turned on", alert.turned_on)
        for alert in removed:
            self._alert_event(alert, "turned off", clock.now())

    def _alert_event(self, alert: AlertRecord, what: str, when: float) -> None:
        self.record(
            ALERT_EVENT_TYPE,
            f"{alert.level} alert {alert.help_identifier} {what}: {alert.description}",
            success=what == "turned off",
            category="Alerts",
            entity_type=_ENTITY_OF_ALERT.get(alert.entity, 2),
            vpgs=alert.vpgs,
            alerts=[alert.identifier],
            occurred=when,
        )

    def find(self, identifier: str) -> Event:
        with self._lock:
            for event in self.events:
                if event.identifier == identifier:
                    return event
        raise NotFound(f"Event {identifier} was not found.")

    def to_json(self, event: Event) -> dict[str, Any]:
        base = self.ctx.url
        return {
            "Link": link(base, "events", event.identifier, "EventApi"),
            "Description": event.description,
            "OccurredOn": clock.iso(event.occurred),
            "EventType": event.event_type,
            "HelpLink": None,
            "EventCompletedSuccessfully": event.success,
            "EntityType": event.entity_type,
            "EventCategory": event.category,
            "UserName": event.user,
            "RelatedEntities": {
                "Vpgs": [link(base, "vpgs", v, "VpgApi") for v in event.vpgs],
                "Sites": [link(base, "localsite", None, "LocalSiteApi")],
                "Hosts": [link(base, "hosts", h, "HostApi") for h in event.hosts],
                "Zorgs": [],
                "Alerts": [link(base, "alerts", a, "AlertApi") for a in event.alerts],
                "FlrSessions": [],
                "Repositories": [],
            },
        }

    def query(self, q: dict[str, str]) -> list[Event]:
        """The events that match the (lower-cased) query of ``GET /v1/events``."""
        for hook in self.before_query:  # alerts that turned on or off since the last look
            hook()
        start, end = date_window(q, "startdate", "enddate")
        with self._lock:
            found = [e for e in self.events if start <= e.occurred <= end]
        if "vpgidentifier" in q:
            found = [e for e in found if q["vpgidentifier"] in e.vpgs]
        site = q.get("siteidentifier")
        if site and site != self.ctx.site_identifier:
            found = []
        name = q.get("sitename")
        if name and name.lower() != self.ctx.config.site_name.lower():
            found = []
        if "eventtype" in q:
            found = [e for e in found if str(e.event_type) == q["eventtype"]]
        if "entitytype" in q:
            wanted = q["entitytype"].lower()
            found = [
                e
                for e in found
                if wanted in (str(e.entity_type), EVENT_ENTITIES[e.entity_type].lower())
            ]
        category = (q.get("category") or q.get("eventcategory") or "all").lower()
        if category != "all":
            if category not in ("events", "alerts"):
                raise BadRequest("category must be All, Events or Alerts.")
            found = [e for e in found if e.category.lower() == category]
        if "username" in q:
            found = [e for e in found if e.user.lower() == q["username"].lower()]
        if "alertidentifier" in q:
            found = [e for e in found if q["alertidentifier"] in e.alerts]
        if "zorgidentifier" in q:
            found = []  # the lab has no ZORGs
        return found


def date_window(q: dict[str, str], start_key: str, end_key: str) -> tuple[float, float]:
    """The ``[start, end]`` of two date-time query parameters (absent: open); 400 when one is
    not an ISO 8601 date-time."""
    bounds = []
    for key, default in ((start_key, float("-inf")), (end_key, float("inf"))):
        text = q.get(key)
        if not text:
            bounds.append(default)
            continue
        try:
            bounds.append(clock.parse_iso(text))
        except ValueError as exc:
            raise BadRequest(f"{key} {text!r} is not an ISO 8601 date-time.") from exc
    return bounds[0], bounds[1]


def in_window(moment: float | None, window: tuple[float, float]) -> bool:
    return moment is not None and window[0] <= moment <= window[1]
