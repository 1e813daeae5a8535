"""NYSE (XNYS) trading calendar and US equity-option expiry dates.

A thin wrapper over ``exchange_calendars`` so every part of the system (data generation, recurring
schedules, expiry handling) agrees on trading days, session times and expiry dates. Dates are plain
``datetime.date`` in New York; session times are UTC ``pandas.Timestamp``.

Expiries follow the listed-options convention: a weekly expiry every Friday and a monthly on the third
Friday of the month; when that Friday is not a trading day (e.g. Good Friday) the expiry moves to the
previous trading day of the same week (usually the Thursday). Every monthly expiry is therefore also
a weekly expiry date: ``weekly_expiries`` lists all expiry dates, ``is_monthly_expiry`` tells them apart.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import exchange_calendars as xcals
import pandas as pd

from hybrid.calendar.exchange_time import ns_new_york_date

EXCHANGE = "XNYS"
FIRST_DAY = dt.date(2000, 1, 1)
LAST_DAY = dt.date(2035, 12, 31)
_FRIDAY = 4


@lru_cache(maxsize=1)
def _calendar() -> xcals.ExchangeCalendar:
    return xcals.get_calendar(EXCHANGE, start=FIRST_DAY.isoformat(), end=LAST_DAY.isoformat())


def _check_range(day: dt.date, name: str) -> None:
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValueError(f"{name} must be between {FIRST_DAY} and {LAST_DAY}, got {day}")


def _to_dates(index: pd.DatetimeIndex) -> list[dt.date]:
    return [ts.date() for ts in index]


def is_trading_day(day: dt.date) -> bool:
    """True when NYSE holds a (full or half) session on ``day``."""
    _check_range(day, "day")
    return bool(_calendar().is_session(pd.Timestamp(day)))


def trading_days(start: dt.date, end: dt.date) -> list[dt.date]:
    """NYSE sessions from ``start`` to ``end``, both inclusive."""
    _check_range(start, "start")
    _check_range(end, "end")
    if end < start:
        return []
    return _to_dates(_calendar().sessions_in_range(pd.Timestamp(start), pd.Timestamp(end)))


def next_sessions(day: dt.date, count: int) -> list[dt.date]:
    """The first ``count`` sessions on or after ``day``."""
    _check_range(day, "day")
    if count < 1:
        raise ValueError(f"count must be >= 1, got {count}")
    cal = _calendar()
    first = cal.date_to_session(pd.Timestamp(day), direction="next")
    return _to_dates(cal.sessions_window(first, count))


def previous_sessions(day: dt.date, count: int) -> list[dt.date]:
    """The ``count`` sessions strictly before ``day``, oldest first."""
    _check_range(day, "day")
    if count < 1:
        raise ValueError(f"count must be >= 1, got {count}")
    return list(_previous_sessions(day, count))


@lru_cache(maxsize=1024)
def _previous_sessions(day: dt.date, count: int) -> tuple[dt.date, ...]:
    """Cached: the group trader asks for every group it opens (a pandas lookup each time)."""
    cal = _calendar()
    last = cal.date_to_session(pd.Timestamp(day - dt.timedelta(days=1)), direction="previous")
    return tuple(_to_dates(cal.sessions_window(last, -count)))


@lru_cache(maxsize=1024)
def session_open_close(day: dt.date) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Open and close of the session on ``day`` in UTC (close is 13:00 New York on half days). Cached (the
    timestamps are immutable): the group trader asks for every group it opens."""
    if not is_trading_day(day):
        raise ValueError(f"{day} is not an NYSE trading day")
    cal = _calendar()
    session = pd.Timestamp(day)
    return cal.session_open(session), cal.session_close(session)


@lru_cache(maxsize=1024)
def session_bounds_ns(day: dt.date) -> tuple[int, int] | None:
    """Open and close of the session on ``day`` in UNIX nanoseconds; None when ``day`` has no session
    (or lies outside the calendar's range). Cached: leg balancing asks on every check."""
    if not FIRST_DAY <= day <= LAST_DAY or not is_trading_day(day):
        return None
    open_, close = session_open_close(day)
    return open_.value, close.value


def in_session(ns: int) -> bool:
    """True while NYSE is open at the engine instant ``ns`` (open inclusive, close exclusive)."""
    bounds = session_bounds_ns(ns_new_york_date(ns))
    return bounds is not None and bounds[0] <= ns < bounds[1]


def is_half_day(day: dt.date) -> bool:
    """True for an early-close session (13:00 New York)."""
    open_, close = session_open_close(day)
    return (close - open_).total_seconds() < 6.5 * 3600


def _expiry_for_friday(friday: dt.date) -> dt.date | None:
    """The friday if it trades, else the latest trading day earlier in the same week."""
    for back in range(5):
        day = friday - dt.timedelta(days=back)
        if is_trading_day(day):
            return day
    return None


def _fridays(start: dt.date, end: dt.date) -> list[dt.date]:
    first = start + dt.timedelta(days=(_FRIDAY - start.weekday()) % 7)
    weeks = (end - first).days // 7 + 1 if first <= end else 0
    return [first + dt.timedelta(weeks=w) for w in range(weeks)]


def _third_friday(year: int, month: int) -> dt.date:
    first = dt.date(year, month, 1)
    return first + dt.timedelta(days=(_FRIDAY - first.weekday()) % 7 + 14)


def weekly_expiries(start: dt.date, end: dt.date) -> list[dt.date]:
    """Weekly expiry dates (every Friday, holiday-adjusted) between ``start`` and ``end`` inclusive."""
    _check_range(start, "start")
    _check_range(end, "end")
    days = (_expiry_for_friday(f) for f in _fridays(start, end + dt.timedelta(days=4)))
    return [d for d in days if d is not None and start <= d <= end]


def monthly_expiry(year: int, month: int) -> dt.date:
    """The standard monthly expiry: third Friday of the month, holiday-adjusted."""
    day = _expiry_for_friday(_third_friday(year, month))
    if day is None:
        raise ValueError(f"no trading day in the week of the third Friday of {year}-{month:02d}")
    return day


def monthly_expiries(start: dt.date, end: dt.date) -> list[dt.date]:
    """Monthly expiry dates between ``start`` and ``end`` inclusive."""
    _check_range(start, "start")
    _check_range(end, "end")
    months = pd.period_range(start=pd.Period(start, "M"), end=pd.Period(end, "M"), freq="M")
    days = (monthly_expiry(p.year, p.month) for p in months)
    return [d for d in days if start <= d <= end]


def is_monthly_expiry(day: dt.date) -> bool:
    """True when ``day`` is the (holiday-adjusted) third-Friday expiry of its month."""
    return monthly_expiry(day.year, day.month) == day
