"""The live execution engine's internals the paper venue needs (NautilusTrader 1.231).

Registered clients. ``ExecutionEngine`` keeps its clients in the Cython ``readonly`` attribute
``_clients`` (``nautilus_trader/execution/engine.pxd``); the public API gives only their ids
(``registered_clients``), and a client factory is not given the engine, so the node builder finds its
paper clients here (:func:`exec_clients`) to bind them to the engine.

Events of a submission applied at once. A spread order that is marketable on arrival fails in the
sandbox venue's ``_generate_spread_leg_fills`` (``nautilus_trader/backtest/engine.pyx``) with
``'NoneType' object has no attribute 'value'``: the venue accepts and fills it in one call, and the leg
fills need the venue order id, which the order gets only when the live engine applies ``OrderAccepted``,
later, from its queue (``LiveExecutionEngine.process`` in ``nautilus_trader/live/execution_engine.py``
enqueues). :func:`events_applied_at_once` therefore points the venue's event endpoint
(:data:`EXEC_ENDPOINT`) at the engine's own unqueued ``ExecutionEngine.process`` for the duration of a
submission, recording what the queued path records for reconciliation (``_record_local_activity``);
:func:`apply_at_once` is that handling for one event (the paper venue also restores its journalled book
through it).
Upstream: no issue found for the sandbox as of 1.231.0; the same race in the Interactive Brokers adapter
is issue #3949 ("Combo fills drop when execDetails arrives before openOrder").
``tests/nautilus_compat/test_exec_engine.py`` fails once the internals move or the venue stops failing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from nautilus_trader.common.component import MessageBus
from nautilus_trader.execution.client import ExecutionClient
from nautilus_trader.execution.engine import ExecutionEngine
from nautilus_trader.live.execution_engine import LiveExecutionEngine
from nautilus_trader.model.events import OrderEvent

EXEC_ENDPOINT = "ExecEngine.process"  # where a venue sends its order events (``ExecutionEngine.__init__``)


def exec_clients(engine: ExecutionEngine) -> list[ExecutionClient]:
    """The client objects registered with ``engine`` (its readonly ``_clients``; module docstring)."""
    return list(engine._clients.values())


def apply_at_once(engine: LiveExecutionEngine, event: OrderEvent) -> None:
    """Apply ``event`` through ``engine``'s own, unqueued handling (order, positions, portfolio), recording what
    the queued path records for reconciliation (``_record_local_activity``)."""
    engine._record_local_activity(event)
    ExecutionEngine.process(engine, event)


@contextmanager
def events_applied_at_once(msgbus: MessageBus, engine: LiveExecutionEngine) -> Iterator[None]:
    """While the block runs, order events sent to :data:`EXEC_ENDPOINT` bypass ``engine``'s queue."""
    queued = engine.process

    def apply(event: OrderEvent) -> None:
        apply_at_once(engine, event)

    msgbus.deregister(EXEC_ENDPOINT, queued)
    msgbus.register(EXEC_ENDPOINT, apply)
    try:
        yield
    finally:
        msgbus.deregister(EXEC_ENDPOINT, apply)
        msgbus.register(EXEC_ENDPOINT, queued)
