"""Paper execution: NautilusTrader's sandbox venue, with its events of a submission applied at once.

The sandbox (``SandboxExecutionClient``) runs a ``SimulatedExchange`` behind a live node, one client per
venue, with the account and fee settings of the run config. One bug of 1.231 is worked around here
(the engine-facing part, and its upstream reference, in :mod:`hybrid.nautilus_compat.exec_engine`):

A spread order that is marketable on arrival fails in the venue's ``_generate_spread_leg_fills`` with
``'NoneType' object has no attribute 'value'``: the venue accepts and fills the order in one call, and
the leg fills need the order's venue order id, which the order only gets when the live execution engine
applies the ``OrderAccepted`` event, later, from its queue. (In a backtest the engine applies events at
once, which is why it works there.) :class:`PaperExecutionClient` therefore applies the events the venue
emits *while it handles a submission* at once, as a backtest does, in the order the venue emits them
(submitted, accepted, filled, leg fills); every other event (fills of resting orders at later quotes,
cancels) takes the live engine's queue as usual. Spread orders are sent unchanged: market and marketable
limit orders fill at once like any other order, resting limits fill at later quotes.

The node builder calls :meth:`PaperExecutionClient.bind_engine` once the node is built (a client factory
is not given the execution engine); unbound, the client refuses spread orders that would fail.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

from nautilus_trader.adapters.sandbox.config import SandboxExecutionClientConfig
from nautilus_trader.adapters.sandbox.execution import SandboxExecutionClient
from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import LiveClock, MessageBus
from nautilus_trader.execution.messages import SubmitOrder, SubmitOrderList
from nautilus_trader.live.execution_engine import LiveExecutionEngine
from nautilus_trader.live.factories import LiveExecClientFactory
from nautilus_trader.portfolio.base import PortfolioFacade

from hybrid.nautilus_compat.exec_engine import events_applied_at_once


class PaperExecutionClient(SandboxExecutionClient):
    """The sandbox venue whose submission events are applied at once (see the module docstring)."""

    _engine: LiveExecutionEngine | None = None  # until bind_engine

    def bind_engine(self, engine: LiveExecutionEngine) -> None:
        """The node's execution engine, whose queued ``process`` is bypassed during a submission."""
        self._engine = engine

    def submit_order(self, command: SubmitOrder) -> None:
        with self._events_applied_at_once():
            super().submit_order(command)

    def submit_order_list(self, command: SubmitOrderList) -> None:
        with self._events_applied_at_once():
            super().submit_order_list(command)

    @contextmanager
    def _events_applied_at_once(self) -> Iterator[None]:
        if self._engine is None:
            raise RuntimeError("PaperExecutionClient.bind_engine(node.kernel.exec_engine) was not called")
        with events_applied_at_once(self._msgbus, self._engine):
            yield


class SandboxLiveExecClientFactory(LiveExecClientFactory):
    """Builds a :class:`PaperExecutionClient` from a ``SandboxExecutionClientConfig`` (one per venue).

    Named like NautilusTrader's own sandbox factory on purpose: ``TradingNodeBuilder`` hands the portfolio
    (which the simulated venue needs) only to a factory of that name.
    """

    @staticmethod
    def create(  # type: ignore[override]
        loop: asyncio.AbstractEventLoop,
        name: str,
        config: SandboxExecutionClientConfig,
        portfolio: PortfolioFacade,
        msgbus: MessageBus,
        cache: Cache,
        clock: LiveClock,
    ) -> PaperExecutionClient:
        return PaperExecutionClient(
            loop=loop, portfolio=portfolio, msgbus=msgbus, cache=cache, clock=clock, config=config
        )
