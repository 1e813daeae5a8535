"""Instants the rules take (engine clock, timezone-aware) and the exchange's New York wall time.

Rules never read a clock themselves: every instant comes in as an argument and must be timezone-aware,
so a naive datetime (ambiguous across DST) is refused instead of silently misread.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

NEW_YORK = ZoneInfo("America/New_York")


def require_aware(at: dt.datetime, name: str = "now") -> dt.datetime:
    """``at`` itself; a naive datetime is an error naming the argument."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (UTC from the engine clock), got {at!r}")
    return at


def new_york_date(now: dt.datetime) -> dt.date:
    """The exchange's calendar date at ``now``."""
    return require_aware(now).astimezone(NEW_YORK).date()


def ns_new_york(ns: int) -> dt.datetime:
    """New York wall time (timezone-aware) at a UNIX-nanosecond engine timestamp."""
    return dt.datetime.fromtimestamp(ns / 1e9, tz=NEW_YORK)


def ns_new_york_date(ns: int) -> dt.date:
    """The exchange's calendar date at a UNIX-nanosecond engine timestamp."""
    return ns_new_york(ns).date()


def new_york_instant(day: dt.date, at: dt.time) -> dt.datetime:
    """``at`` New York wall time on ``day``, as a UTC instant (DST handled by the time zone rules)."""
    return dt.datetime.combine(day, at, tzinfo=NEW_YORK).astimezone(dt.UTC)


def utc_text(at: dt.datetime, name: str = "time") -> str:
    """Fixed-width UTC ISO text of an instant, so that text order is time order in SQLite."""
    return require_aware(at, name).astimezone(dt.UTC).isoformat(timespec="microseconds")
