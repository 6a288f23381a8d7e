"""Time: wall-clock seconds and the ISO 8601 strings the API prints."""

from __future__ import annotations

import datetime as dt
import time


def now() -> float:
    """Seconds since the epoch (all the simulator's timestamps are such floats)."""
    return time.time()


def iso(timestamp: float | None) -> str | None:
    """``2024-05-14T09:12:31.123Z`` (UTC, milliseconds), or None."""
    if timestamp is None:
        return None
    moment = dt.datetime.fromtimestamp(timestamp, dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_iso(text: str) -> float:
    """Seconds since the epoch of an ISO 8601 date-time (naive means UTC); ValueError if bad."""
    moment = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()
