"""When a recurring template fires: its fire times on the exchange calendar, deterministic and pure.

Only trading days count and a time fires only inside that day's session (open inclusive, close
exclusive): a daily 09:45 fires on a 13:00 half day, a daily 14:00 does not (that day has no run).
Weekends, holidays, month ends and DST are handled here so the Actor only sets a timer for the next
time (NautilusTrader's daily timers also fire on weekends and holidays). See :mod:`.templates` for the
schedule kinds and the rule for monthly dates that are not trading days.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from hybrid.calendar import nyse
from hybrid.calendar.exchange_time import new_york_date, new_york_instant, require_aware
from hybrid.management.templates import (
    WEEKDAYS,
    ConditionalSchedule,
    MonthlyDaySchedule,
    MonthlyWeekdaySchedule,
    RecurringTemplate,
    Schedule,
    WeeklySchedule,
)


class TradingCalendar(Protocol):
    """The exchange calendar the schedules need; the :mod:`data.calendar` module is one."""

    def trading_days(self, start: dt.date, end: dt.date) -> list[dt.date]: ...

    def is_trading_day(self, day: dt.date) -> bool: ...

    def next_sessions(self, day: dt.date, count: int) -> list[dt.date]: ...

    def previous_sessions(self, day: dt.date, count: int) -> list[dt.date]: ...

    def session_open_close(self, day: dt.date) -> tuple[dt.datetime, dt.datetime]: ...


def _month_end(year: int, month: int) -> dt.date:
    first_of_next = dt.date(year + month // 12, month % 12 + 1, 1)
    return first_of_next - dt.timedelta(days=1)


def _monthly_date(schedule: MonthlyDaySchedule | MonthlyWeekdaySchedule, year: int, month: int) -> dt.date | None:
    """The calendar date a monthly schedule names in one month, before the trading-day rule."""
    last = _month_end(year, month)
    if isinstance(schedule, MonthlyDaySchedule):
        return last.replace(day=min(schedule.day, last.day))
    weekday = WEEKDAYS.index(schedule.weekday)
    if schedule.nth == -1:
        return last - dt.timedelta(days=(last.weekday() - weekday) % 7)
    first = dt.date(year, month, 1)
    day = first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (schedule.nth - 1))
    return day if day.month == month else None


def _monthly_days(
    schedule: MonthlyDaySchedule | MonthlyWeekdaySchedule, start: dt.date, end: dt.date, calendar: TradingCalendar
) -> list[dt.date]:
    days: set[dt.date] = set()
    # a month's date may move up to a few days into the next or previous month: look a week around
    cursor = (start - dt.timedelta(days=7)).replace(day=1)
    while cursor <= end + dt.timedelta(days=7):
        day = _monthly_date(schedule, cursor.year, cursor.month)
        if day is not None and not calendar.is_trading_day(day):
            if schedule.if_not_trading_day == "next_trading_day":
                day = calendar.next_sessions(day, 1)[0]
            elif schedule.if_not_trading_day == "previous_trading_day":
                day = calendar.previous_sessions(day, 1)[0]
            else:
                day = None
        if day is not None and start <= day <= end:
            days.add(day)
        cursor = _month_end(cursor.year, cursor.month) + dt.timedelta(days=1)
    return sorted(days)


def scheduled_days(schedule: Schedule, start: dt.date, end: dt.date, calendar: TradingCalendar) -> list[dt.date]:
    """The trading days from ``start`` to ``end`` (inclusive) on which ``schedule`` has a run."""
    if isinstance(schedule, MonthlyDaySchedule | MonthlyWeekdaySchedule):
        return _monthly_days(schedule, start, end, calendar)
    days = calendar.trading_days(start, end)
    if isinstance(schedule, WeeklySchedule):
        return [day for day in days if WEEKDAYS[day.weekday()] in schedule.weekdays]
    return days


def _utc(instant: dt.datetime) -> dt.datetime:
    """A plain UTC datetime from any aware datetime-like (the calendar gives pandas Timestamps)."""
    return dt.datetime.fromtimestamp(instant.timestamp(), tz=dt.UTC)


def times_on(schedule: Schedule, day: dt.date, calendar: TradingCalendar) -> list[dt.datetime]:
    """The UTC fire times of ``schedule`` on the trading day ``day`` that fall inside its session."""
    open_, close = (_utc(t) for t in calendar.session_open_close(day))
    if isinstance(schedule, ConditionalSchedule):
        step = dt.timedelta(minutes=schedule.every_minutes)
        count = -(-(close - open_) // step)  # ceil: every open + k x step before the close
        return [open_ + k * step for k in range(count)]
    at = new_york_instant(day, schedule.at)
    return [at] if open_ <= at < close else []


def fire_times_between(
    schedule: Schedule, after: dt.datetime, until: dt.datetime, calendar: TradingCalendar = nyse
) -> list[dt.datetime]:
    """Fire times in ``(after, until]``, oldest first."""
    require_aware(after, "after")
    require_aware(until, "until")
    days = scheduled_days(schedule, new_york_date(after), new_york_date(until), calendar)
    return [t for day in days for t in times_on(schedule, day, calendar) if after < t <= until]


def next_fire_times(
    template: RecurringTemplate | Schedule, after: dt.datetime, n: int, calendar: TradingCalendar = nyse
) -> list[dt.datetime]:
    """The next ``n`` fire times strictly after ``after`` (UTC), whether or not the template is enabled."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    schedule = template.schedule if isinstance(template, RecurringTemplate) else template
    found: list[dt.datetime] = []
    horizon, span = new_york_date(require_aware(after, "after")), 7
    while len(found) < n:
        horizon, span = horizon + dt.timedelta(days=span), span * 2
        until = new_york_instant(horizon, dt.time(23, 59, 59))  # after any session's close
        found += fire_times_between(schedule, after, until, calendar)
        after = until
    return found[:n]
