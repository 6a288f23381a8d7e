"""``/v1/events``: the event log."""

from __future__ import annotations

from vmrepl.lab.zvm.http.routing import Router
from vmrepl.lab.zvm.site.events import EVENT_CATEGORIES, EVENT_ENTITIES, EventLog


def register(router: Router, log: EventLog) -> None:
    router.add("GET", "/v1/events", lambda r: [log.to_json(e) for e in log.query(r.query)])
    router.add("GET", "/v1/events/categories", lambda r: list(EVENT_CATEGORIES))
    router.add("GET", "/v1/events/entities", lambda r: list(EVENT_ENTITIES))
    router.add(
        "GET",
        "/v1/events/{eventIdentifier}",
        lambda r: log.to_json(log.find(r.param("eventIdentifier"))),
    )
