"""On a live clock the end of an instant is a real future time: no alert of :class:`InstantEnd` or of the
strategies' :class:`LegBalancer` is set in the past, which the clock's core logs as a warning ("Timer ...
alert time ... was in the past, adjusted to current time for immediate firing") for every order sent."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import cast

import pytest
from nautilus_trader.common.component import LiveClock
from nautilus_trader.trading.strategy import Strategy

from hybrid.execution.balancing import LegBalancer
from hybrid.nautilus_compat.instant_end import LIVE_INSTANT_NS, InstantEnd


@pytest.fixture
def clock() -> Iterator[LiveClock]:
    clock = LiveClock()
    yield clock
    clock.cancel_timers()


def _alert_after(clock: LiveClock, set_alert: Callable[[], None]) -> int:
    """How long after the call began the one alert it set is due (ns)."""
    before = clock.timestamp_ns()
    set_alert()
    (name,) = clock.timer_names
    return clock.next_time_ns(name) - before


def test_sent_arms_its_alert_in_the_future(clock: LiveClock) -> None:
    instant = InstantEnd(clock, "probe")
    assert _alert_after(clock, instant.sent) >= LIVE_INSTANT_NS


def test_work_after_the_instant_runs_at_a_future_alert(clock: LiveClock) -> None:
    instant = InstantEnd(clock, "probe")
    assert _alert_after(clock, lambda: instant.after(lambda: None)) >= LIVE_INSTANT_NS


def test_deferred_work_runs_at_a_future_alert(clock: LiveClock) -> None:
    instant = InstantEnd(clock, "probe")
    assert _alert_after(clock, lambda: instant.defer(lambda: None)) >= LIVE_INSTANT_NS


def test_a_group_balance_check_is_set_in_the_future(clock: LiveClock) -> None:
    balancer = LegBalancer(cast(Strategy, SimpleNamespace(clock=clock)))
    assert _alert_after(clock, lambda: balancer.on_group_event("G-1")) >= LIVE_INSTANT_NS
