"""Circuit breaker: stop new entries after a daily loss, a run of losing closes or a burst of rejections.

Fed by the strategy that owns it (closes with their P&L, rejections, marked equity samples), the
breaker trips on the first of:

- ``daily_loss_limit``: marked equity fell this many dollars below the day's first sample;
- ``max_consecutive_losses``: that many groups in a row closed with a loss;
- ``max_rejections`` within ``rejection_window_minutes``: orders rejected by the venue or denied by
  the risk engine.

Tripping asks the RiskEngine for ``state`` (REDUCING by default, HALTED to stop every order) through
:mod:`hybrid.risk.trading_state`, and logs why. While tripped, :meth:`CircuitBreaker.allows_entry`
is False. It resets by rule (``reset = "next_day"``: at the first event of the next New York trading
day) or by an operator (:meth:`CircuitBreaker.reset`, or a :class:`ResetBreaker` sent to
:func:`breaker_endpoint`); resetting sets the trading state back to ACTIVE.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from nautilus_trader.common.config import NautilusConfig
from nautilus_trader.model.enums import TradingState, trading_state_from_str

from hybrid.calendar.exchange_time import ns_new_york_date

RESETS = ("next_day", "operator")
STATES = ("REDUCING", "HALTED")


class CircuitBreakerConfig(NautilusConfig, frozen=True):
    """When to trip (None disables a condition), which trading state to ask for, and how to reset."""

    daily_loss_limit: float | None = None
    max_consecutive_losses: int | None = 3
    max_rejections: int | None = 5
    rejection_window_minutes: int = 60
    state: str = "REDUCING"
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


StateRequest = Callable[[TradingState, str], None]


class CircuitBreaker:
    """The breaker's state and rules; ``request_state(state, reason)`` applies a trading state."""

    def __init__(self, config: CircuitBreakerConfig, request_state: StateRequest, log: Callable[[str], None]) -> None:
        self.config = check_breaker(config)
        self.request_state = request_state
        self.log = log
        self.tripped_reason: str | None = None
        self.trips: list[tuple[int, str]] = []
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
        """Stop new entries: ask for the configured trading state and log why (once per trip)."""
        if self.tripped:
            return
        self.tripped_reason = reason
        self.trips.append((ts_ns, reason))
        self.log(f"circuit breaker tripped: {reason}; trading state -> {self.config.state}, reset: {self.config.reset}")
        self.request_state(trading_state_from_str(self.config.state), f"circuit breaker: {reason}")

    def reset(self, by: str) -> None:
        """Clear the trip (operator or rule) and set the trading state back to ACTIVE."""
        if not self.tripped:
            return
        self.log(f"circuit breaker reset by {by} (was: {self.tripped_reason})")
        self.tripped_reason = None
        self.consecutive_losses = 0
        self.rejections.clear()
        self.request_state(TradingState.ACTIVE, f"circuit breaker reset by {by}")

    def _roll_day(self, ts_ns: int) -> None:
        day = ns_new_york_date(ts_ns)
        if day == self.day:
            return
        self.day = day
        self.day_start_equity = None
        if self.config.reset == "next_day":
            self.reset("rule: next trading day")
