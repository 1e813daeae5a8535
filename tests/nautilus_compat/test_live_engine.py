"""Upstream facts behind :mod:`hybrid.nautilus_compat.live_engine`; each test fails once upstream changes it."""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable, Iterator

import nautilus_trader.common.component as component
import pytest
from nautilus_trader.common.component import LiveClock
from nautilus_trader.common.events import TimeEvent
from nautilus_trader.data.engine import DataEngine
from nautilus_trader.live.data_engine import LiveDataEngine


@pytest.fixture
def wrapped() -> Iterator[list[Callable]]:
    """Records what a ``LiveClock`` passes through the module's conversion wrapper (restored afterwards)."""
    native = component.create_pyo3_conversion_wrapper
    seen: list[Callable] = []

    def record(callback: Callable) -> Callable:
        seen.append(callback)
        return native(callback)

    component.create_pyo3_conversion_wrapper = record
    yield seen
    component.create_pyo3_conversion_wrapper = native


def test_live_clock_callbacks_still_run_off_the_calling_thread_so_timers_on_loop_stays() -> None:
    clock = LiveClock()
    fired = threading.Event()
    threads: list[int] = []

    def on_alert(_event: TimeEvent) -> None:
        threads.append(threading.get_ident())
        fired.set()

    clock.set_time_alert_ns("compat", clock.timestamp_ns() + 20_000_000, on_alert)
    assert fired.wait(5.0)
    assert threads != [threading.get_ident()]


def test_live_clock_callbacks_still_pass_through_the_module_conversion_wrapper_timers_on_loop_replaces(
    wrapped: list[Callable],
) -> None:
    clock = LiveClock()
    clock.set_time_alert_ns("compat", clock.timestamp_ns() + 60_000_000_000, lambda _event: None)
    clock.cancel_timers()
    assert len(wrapped) == 1


def test_live_data_engine_process_still_takes_no_historical_flag_so_accept_historical_flag_stays() -> None:
    assert list(inspect.signature(LiveDataEngine.process).parameters) == ["self", "data"]
    assert "historical" in inspect.signature(DataEngine.process).parameters  # what the aggregator passes
