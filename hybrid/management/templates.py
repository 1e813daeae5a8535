"""Recurring order templates: what to open, how many units, how to execute, when, and on what conditions.

What to open, how many units and how to execute are an :class:`~hybrid.orders.intents.OpenIntent`, the same
contract the API accepts (catalogue strategy, strike rules with DTE windows, or custom legs; market, limit
or two-part). Each run submits that intent tagged ``source=recurring`` with the run's own idempotency key,
so a run re-submitted after a crash returns the order it already made.

When (all times are New York wall time, on NYSE trading days, inside the session):

- ``daily``: every trading day at ``at``;
- ``weekly``: on the chosen ``weekdays`` at ``at``;
- ``monthly_day``: on ``day`` of the month (a day past the month's end means its last day);
- ``monthly_weekday``: on the ``nth`` ``weekday`` (1-5, or -1 for the last); a month without a 5th one has
  no run;
- ``conditional``: every ``every_minutes`` from the open while the session lasts, the entry conditions
  deciding whether it fires.

For the monthly kinds, ``if_not_trading_day`` says what happens when the date is a weekend or holiday:
``next_trading_day`` (default), ``previous_trading_day`` or ``skip``. A time at or after a session's close
(e.g. 14:00 on a 13:00 half day) does not run that day; the open itself (09:30) does.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hybrid.calendar.exchange_time import require_aware, utc_text
from hybrid.management.entry_conditions import EntryConditions
from hybrid.orders.intents import OpenIntent

Weekday = Literal["mon", "tue", "wed", "thu", "fri"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri")
NotTradingDay = Literal["next_trading_day", "previous_trading_day", "skip"]
REGULAR_OPEN = dt.time(9, 30)
REGULAR_CLOSE = dt.time(16, 0)
RUN_METADATA = frozenset({"template_id", "scheduled_at"})  # client_metadata each run adds to its order
_ORDER_METADATA_KEYS = next(
    rule.max_length for rule in OpenIntent.model_fields["client_metadata"].metadata if hasattr(rule, "max_length")
)
MAX_TEMPLATE_METADATA = _ORDER_METADATA_KEYS - len(RUN_METADATA)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _AtTime(_Model):
    at: dt.time = Field(description="New York wall time, within 09:30-16:00", examples=["09:45"])

    @field_validator("at")
    @classmethod
    def _in_session(cls, at: dt.time) -> dt.time:
        if at.tzinfo is not None:
            raise ValueError("give a New York wall time without a time zone, e.g. 09:45")
        if not REGULAR_OPEN <= at < REGULAR_CLOSE:
            raise ValueError(f"must be within the regular session 09:30 to before 16:00 New York, got {at}")
        return at


class DailySchedule(_AtTime):
    kind: Literal["daily"] = "daily"


class WeeklySchedule(_AtTime):
    kind: Literal["weekly"] = "weekly"
    weekdays: tuple[Weekday, ...] = Field(min_length=1, max_length=5, examples=[["mon"]])

    @field_validator("weekdays")
    @classmethod
    def _distinct(cls, weekdays: tuple[Weekday, ...]) -> tuple[Weekday, ...]:
        if len(set(weekdays)) != len(weekdays):
            raise ValueError(f"each weekday at most once, got {list(weekdays)}")
        return weekdays


class MonthlyDaySchedule(_AtTime):
    kind: Literal["monthly_day"] = "monthly_day"
    day: int = Field(ge=1, le=31, description="day of the month; past the month's end means its last day")
    if_not_trading_day: NotTradingDay = "next_trading_day"


class MonthlyWeekdaySchedule(_AtTime):
    kind: Literal["monthly_weekday"] = "monthly_weekday"
    nth: Literal[1, 2, 3, 4, 5, -1] = Field(description="1st..5th, or -1 for the last")
    weekday: Weekday
    if_not_trading_day: NotTradingDay = "next_trading_day"


class ConditionalSchedule(_Model):
    kind: Literal["conditional"] = "conditional"
    every_minutes: int = Field(ge=1, le=390, description="check interval from the open while the session lasts")


Schedule = Annotated[
    DailySchedule | WeeklySchedule | MonthlyDaySchedule | MonthlyWeekdaySchedule | ConditionalSchedule,
    Field(discriminator="kind"),
]


class RecurringTemplate(_Model):
    """A template as a person defines it; the store adds its id and timestamps."""

    name: str = Field(min_length=1, max_length=64)
    order: OpenIntent
    schedule: Schedule
    conditions: EntryConditions = EntryConditions()
    enabled: bool = True
    grace_minutes: int = Field(
        30, ge=0, le=390, description="a run found late (after a restart) still fires within this many minutes"
    )

    @field_validator("order", mode="before")
    @classmethod
    def _recurring_by_default(cls, order: object) -> object:
        """A template's orders are recurring: ``source`` may be left out."""
        if isinstance(order, dict) and "source" not in order:
            return {**order, "source": "recurring"}
        if isinstance(order, OpenIntent) and "source" not in order.model_fields_set:
            return order.model_copy(update={"source": "recurring"})
        return order

    @field_validator("order")
    @classmethod
    def _template_order(cls, order: OpenIntent) -> OpenIntent:
        if order.source != "recurring":
            raise ValueError(f"source must be 'recurring' (or left out), got {order.source!r}")
        if order.idempotency_key is not None:
            raise ValueError("idempotency_key must be left out: every run gets its own key")
        reserved = RUN_METADATA.intersection(order.client_metadata)
        if reserved:
            raise ValueError(f"client_metadata keys {sorted(reserved)} are set by each run: use other names")
        if len(order.client_metadata) > MAX_TEMPLATE_METADATA:
            raise ValueError(
                f"client_metadata takes at most {MAX_TEMPLATE_METADATA} keys in a template (each run adds "
                f"{len(RUN_METADATA)})"
            )
        return order

    def intent_for_run(self, template_id: int, scheduled_at: dt.datetime) -> OpenIntent:
        """The order one run submits: tagged recurring, keyed by the run so a re-submission is idempotent."""
        metadata = {**self.order.client_metadata, "template_id": template_id, "scheduled_at": utc_text(scheduled_at)}
        return self.order.model_copy(
            update={"idempotency_key": run_key(template_id, scheduled_at), "client_metadata": metadata}
        )


def run_key_prefix(template_id: int) -> str:
    """What every run key of the template starts with (also the ids of the groups its runs open)."""
    return f"template-{template_id}-"


def run_key(template_id: int, scheduled_at: dt.datetime) -> str:
    """The idempotency key of one run, e.g. ``template-7-20240708T134500Z``."""
    at = require_aware(scheduled_at, "scheduled_at").astimezone(dt.UTC)
    return f"{run_key_prefix(template_id)}{at:%Y%m%dT%H%M%SZ}"
