"""Circuit breaker: stop new entries after a daily loss, a run of losing closes or a burst of rejections.

Fed by the strategy that owns it (closes with their P&L, rejections, marked equity samples), the
breaker trips on the first of:

- ``daily_loss_limit``: marked equity fell this many dollars below the day's first sample;
- ``max_consecutive_losses``: that many groups in a row closed with a loss;
- ``max_rejections`` within ``rejection_window_minutes``: orders rejected by the venue or denied by
  the risk engine.

Tripping hands ``state`` to the owner's ``respond`` (one of :data:`STATES`; what each does to the
book is the group trader's, :mod:`hybrid.trading.breaker_response`, and docs/management.md, "Circuit
breaker"): REDUCING (the default: no new exposure, every close, roll close, expiry close and leg repair
still runs), HALTED (REDUCING until every group is balanced with nothing working, then no order at all)
or FLATTEN (working entries cancelled, every group closed at the far touch, then HALTED). ``respond``
says what it did; the breaker keeps every trip as a :class:`Trip` for the report. While tripped,
:meth:`CircuitBreaker.allows_entry` is False. It resets by rule (``reset = "next_day"``: at the first
event of the next New York trading day) or by an operator (:meth:`CircuitBreaker.reset`, or a
:class:`ResetBreaker` sent to :func:`breaker_endpoint`); resetting asks for ACTIVE again.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, cast

from nautilus_trader.common.config import NautilusConfig

from hybrid.calendar.exchange_time import ns_new_york_date

RESETS = ("next_day", "operator")
BreakerState = Literal["REDUCING", "HALTED", "FLATTEN"]
STATES: tuple[BreakerState, ...] = ("REDUCING", "HALTED", "FLATTEN")


class CircuitBreakerConfig(NautilusConfig, frozen=True):
    """When to trip (None disables a condition), which trading state to ask for, and how to reset."""

    daily_loss_limit: float | None = None
    max_consecutive_losses: int | None = 3
    max_rejections: int | None = 5
    rejection_window_minutes: int = 60
    state: str = "REDUCING"  # a str, so that a bad value gets check_breaker's message naming the field
    reset: str = "next_day"

    def __post_init__(self) -> None:
        check_breaker(self)


def check_breaker(config: CircuitBreakerConfig) -> CircuitBreakerConfig:
    """``config`` itself, or a one-line ValueError naming the field and what is valid."""
    if config.state not in STATES:
        raise ValueError(f"breaker.state must be one of {', '.join(STATES)}, got {config.state!r}")
    if config.reset not in RESETS:
        raise ValueError(f"breaker.reset must be one of {', '.join(RESETS)}, got {config.reset!r}")
    if config.daily_loss_limit is not None and config.daily_loss_limit <= 0:
        raise ValueError(f"breaker.daily_loss_limit must be > 0 dollars or left out, got {config.daily_loss_limit}")
    for name in ("max_consecutive_losses", "max_rejections"):
        value = getattr(config, name)
        if value is not None and value < 1:
            raise ValueError(f"breaker.{name} must be >= 1 or left out, got {value}")
    if config.rejection_window_minutes < 1:
        raise ValueError(f"breaker.rejection_window_minutes must be >= 1, got {config.rejection_window_minutes}")
    return config


def breaker_endpoint(strategy_id: object) -> str:
    """Where an operator (the API) sends :class:`ResetBreaker` for the breaker of ``strategy_id``."""
    return f"hybrid.risk.{strategy_id}.breaker"


@dataclass(frozen=True)
class ResetBreaker:
    """An operator's reset of a tripped breaker."""

    requested_by: str


@dataclass
class Trip:
    """One trip as the report lists it: when, why, the state asked for, what the owner did about it, and
    when the halt took hold (HALTED and FLATTEN, once the book was quiet) and the trip was reset."""

    ts_ns: int
    reason: str
    state: BreakerState
    action: str
    halted_ns: int | None = None
    reset_ns: int | None = None
    reset_by: str | None = None

    def to_dict(self) -> dict:
        return {
            "ts_ns": self.ts_ns,
            "reason": self.reason,
            "state": self.state,
            "action": self.action,
            "halted_ns": self.halted_ns,
            "reset_ns": self.reset_ns,
            "reset_by": self.reset_by,
        }


Respond = Callable[[BreakerState, str], str]  # (state, reason) -> what was done
Reactivate = Callable[[str], None]  # (reason): back to ACTIVE


def trips_key(strategy_id: object) -> str:
    """The cache key under which a strategy leaves its breaker's trips (JSON) for the backtest report."""
    return f"hybrid.risk.{strategy_id}.breaker_trips"


class CircuitBreaker:
    """The breaker's state and rules; ``respond(state, reason)`` acts on a trip, ``reactivate`` on a reset."""

    def __init__(
        self, config: CircuitBreakerConfig, respond: Respond, reactivate: Reactivate, log: Callable[[str], None]
    ) -> None:
        self.config = check_breaker(config)
        self.respond = respond
        self.reactivate = reactivate
        self.log = log
        self.tripped_reason: str | None = None
        self.trips: list[Trip] = []
        self.consecutive_losses = 0
        self.rejections: deque[int] = deque()
        self.day: dt.date | None = None
        self.day_start_equity: float | None = None

    @property
    def tripped(self) -> bool:
        return self.tripped_reason is not None

    def allows_entry(self, ts_ns: int) -> bool:
        """False while tripped (after applying the next-day reset rule at ``ts_ns``)."""
        self._roll_day(ts_ns)
        return not self.tripped

    def record_equity(self, equity: float, ts_ns: int) -> None:
        """A marked-equity sample: the first of a day is its reference for the daily loss limit."""
        self._roll_day(ts_ns)
        if self.day_start_equity is None:
            self.day_start_equity = equity
            return
        limit = self.config.daily_loss_limit
        loss = self.day_start_equity - equity
        if limit is not None and loss >= limit:
            self.trip(f"daily loss {loss:.2f} reached the limit {limit:.2f}", ts_ns)

    def record_close(self, pnl: float | None, ts_ns: int) -> None:
        """A group closed with ``pnl`` dollars (None: not valued, not counted)."""
        self._roll_day(ts_ns)
        if pnl is None:
            return
        self.consecutive_losses = self.consecutive_losses + 1 if pnl < 0 else 0
        limit = self.config.max_consecutive_losses
        if limit is not None and self.consecutive_losses >= limit:
            self.trip(f"{self.consecutive_losses} losing closes in a row (limit {limit})", ts_ns)

    def record_rejection(self, reason: str, ts_ns: int) -> None:
        """An order rejected or denied; ``max_rejections`` of them within the window trip the breaker."""
        self._roll_day(ts_ns)
        window = self.config.rejection_window_minutes * 60_000_000_000
        self.rejections.append(ts_ns)
        while self.rejections and self.rejections[0] <= ts_ns - window:
            self.rejections.popleft()
        limit = self.config.max_rejections
        if limit is not None and len(self.rejections) >= limit:
            self.trip(
                f"{len(self.rejections)} rejections within {self.config.rejection_window_minutes} min (limit {limit}); "
                f"last: {reason}",
                ts_ns,
            )

    def trip(self, reason: str, ts_ns: int) -> None:
        """Stop new entries: hand the configured state to ``respond`` and log why and what it did (once per trip)."""
        if self.tripped:
            return
        self.tripped_reason = reason
        state = cast(BreakerState, self.config.state)  # checked by check_breaker
        trip = Trip(ts_ns, reason, state, action="")
        self.trips.append(trip)
        trip.action = self.respond(state, f"circuit breaker: {reason}")
        self.log(f"circuit breaker tripped: {reason}; {state}: {trip.action}; reset: {self.config.reset}")

    def halted(self, ts_ns: int) -> None:
        """The owner's book was quiet and the HALTED state took hold (recorded on the current trip)."""
        if self.tripped and self.trips[-1].halted_ns is None:
            self.trips[-1].halted_ns = ts_ns

    def reset(self, by: str, ts_ns: int) -> None:
        """Clear the trip (operator or rule) and ask for ACTIVE again."""
        if not self.tripped:
            return
        self.log(f"circuit breaker reset by {by} (was: {self.tripped_reason})")
        self.tripped_reason = None
        self.trips[-1].reset_ns, self.trips[-1].reset_by = ts_ns, by
        self.consecutive_losses = 0
        self.rejections.clear()
        self.reactivate(f"circuit breaker reset by {by}")

    def _roll_day(self, ts_ns: int) -> None:
        day = ns_new_york_date(ts_ns)
        if day == self.day:
            return
        self.day = day
        self.day_start_equity = None
        if self.config.reset == "next_day":
            self.reset("rule: next trading day", ts_ns)
