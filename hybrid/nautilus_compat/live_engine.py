"""Two fixes for NautilusTrader 1.231 in a live node, applied by :func:`hybrid.live.node.build_node`.

Upstream: no issue found as of 1.231.0 for either. The timers' thread is the Rust runtime's
``LiveClock`` (``nautilus_trader/common/component.pyx``: ``LiveClock.register_default_handler`` /
``set_timer_ns`` pass callbacks through ``create_pyo3_conversion_wrapper``); the clock design in upstream
issue #1924 ("Clocks and Timers v2") and #743 ("LiveClock in live trading get thread timer", closed for
1.151) intends one thread. The one-argument override is ``LiveDataEngine.process`` in
``nautilus_trader/live/data_engine.py`` against ``DataEngine.process(data, historical)`` in
``nautilus_trader/data/engine.pyx``. ``tests/nautilus_compat/test_live_engine.py`` fails once either is fixed.

Timers off the event loop. A live clock's timer and time-alert callbacks run on the Rust runtime's
thread, not on the node's asyncio loop (measured: ``threading.get_ident()`` differs), so a strategy's or
actor's timer handler interleaves with the loop's event handling wherever the GIL switches: e.g. a leg
balance check scheduled "at the end of the instant" can read a spread fill whose leg fills the loop is
still applying, and repair legs that were never missing. :func:`timers_on_loop` makes every live clock
callback run on the loop thread instead (posted with ``call_soon_threadsafe``; run at once when already on
it), so engine handlers, timers and the API's handlers all take turns on one thread. It wraps
``nautilus_trader.common.component.create_pyo3_conversion_wrapper``, the module function every
``LiveClock`` passes its callbacks through (a backtest's ``TestClock`` does not use it).

Spread quote aggregation. ``subscribe_quote_ticks(spread_id, aggregate_spread_quotes=True)`` for an
``OptionSpread`` already in the cache starts the engine's ``SpreadQuoteAggregator``, whose quotes go to
``DataEngine.process(quote, historical)``. ``LiveDataEngine`` overrides ``process`` with a one-argument
method (it queues the data), so the first aggregated quote raises ``TypeError: LiveDataEngine.process()
takes 2 positional arguments but 3 were given`` in the data queue and shuts the node down.
:func:`accept_historical_flag` gives the engine instance a ``process`` that takes the flag: live data is
queued as before, historical data (request replies) goes to the engine's own unqueued handling, as in a
backtest. :class:`hybrid.trading.GroupTrader` subscribes to its spreads that way; with this fix the
aggregator quotes a spread that was cached first, and the replay client (:mod:`hybrid.live.replay`) one
whose subscription reached it first.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable

import nautilus_trader.common.component as component
from nautilus_trader.common.events import TimeEvent
from nautilus_trader.core.data import Data
from nautilus_trader.data.engine import DataEngine
from nautilus_trader.live.data_engine import LiveDataEngine

_NATIVE_WRAPPER = component.create_pyo3_conversion_wrapper


def timers_on_loop(loop: asyncio.AbstractEventLoop, loop_thread: int | None = None) -> None:
    """Run every live clock callback created from now on on ``loop``, whose thread is ``loop_thread``
    (default: the calling thread). Replaces any earlier installation (one node per process)."""
    thread = threading.get_ident() if loop_thread is None else loop_thread

    def on_loop(callback: Callable[[TimeEvent], None]) -> Callable:
        def post(event: TimeEvent) -> None:
            if threading.get_ident() == thread:
                callback(event)
            else:
                with contextlib.suppress(RuntimeError):  # the loop closed at shutdown: nothing left to run it
                    loop.call_soon_threadsafe(callback, event)

        return _NATIVE_WRAPPER(post)

    component.create_pyo3_conversion_wrapper = on_loop


def accept_historical_flag(engine: LiveDataEngine) -> None:
    """Let ``engine.process`` take the ``historical`` flag its Cython callers pass (module docstring)."""
    queued = engine.process

    def process(data: Data, historical: bool = False) -> None:
        if historical:
            DataEngine.process(engine, data, True)
        else:
            queued(data)

    # An instance attribute: Cython's cpdef dispatch looks it up first (mypy: assigning to a method).
    engine.process = process  # type: ignore[method-assign]
