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

The book survives restarts, as a broker account does. With ``database`` set (the node sets it to its SQLite
file) the client journals the book (:mod:`hybrid.live.paper_book`) and restores it when it connects, which the
kernel waits for before reconciliation, the portfolio's initialisation and the strategies' start:

1. the journalled instruments the cache lacks are added (spreads are built on demand, and a contract may no
   longer be listed), in the cache and the simulated venue;
2. each order is re-created from its ``OrderInitialized`` (``OrderUnpacker.from_init``, as NautilusTrader's own
   cache database loads orders) and added to the cache, and every later event is applied through the execution
   engine's own handling in the order it was published, so NautilusTrader rebuilds the positions (leg fills
   included), the NETTING snapshots and, through the portfolio, the account's balance from the venue's
   starting balance exactly as in the first run; the group book reads the same orders and fills;
3. the balance rebuilt is checked against the last journalled ``AccountState``; should they differ (a
   change of starting balance or fee model between runs), the journalled state is what the venue reports;
4. orders still working (accepted, partially filled, pending, or an execution algorithm's primary) are
   **cancelled**, each with an ``OrderCanceled`` applied at once and journalled, and a warning naming it:
   the simulated venue's matching engine is rebuilt empty, and resting a Friday's limit again on Monday's
   market would fill it at prices its owner never saw (as a broker's day orders expire at the close). What
   they filled stays held. The queue drainer then journals the API order of each such order ``cancelled``
   with the reason (:mod:`hybrid.live.drainer`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager

from nautilus_trader.adapters.sandbox.config import SandboxExecutionClientConfig
from nautilus_trader.adapters.sandbox.execution import SandboxExecutionClient
from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import LiveClock, MessageBus
from nautilus_trader.execution.messages import SubmitOrder, SubmitOrderList
from nautilus_trader.live.execution_engine import LiveExecutionEngine
from nautilus_trader.live.factories import LiveExecClientFactory
from nautilus_trader.model.events import AccountState, OrderEvent, OrderInitialized
from nautilus_trader.model.identifiers import InstrumentId, generic_spread_id_to_list, is_generic_spread_id
from nautilus_trader.model.objects import AccountBalance
from nautilus_trader.model.orders.unpacker import OrderUnpacker
from nautilus_trader.portfolio.base import PortfolioFacade

from hybrid.live.paper_book import JournalledBook, PaperBook
from hybrid.live.stores import shared_database
from hybrid.nautilus_compat.exec_engine import apply_at_once, events_applied_at_once
from hybrid.nautilus_compat.topics import ALL_ACCOUNT_EVENTS, ALL_ORDER_EVENTS


class PaperExecutionClientConfig(SandboxExecutionClientConfig, frozen=True, kw_only=True):
    """The sandbox's settings plus ``database``: the SQLite file the book is journalled in and restored from
    (None: nothing is kept, the venue starts empty every run)."""

    database: str | None = None


class PaperExecutionClient(SandboxExecutionClient):
    """The sandbox venue whose submission events are applied at once (see the module docstring)."""

    _engine: LiveExecutionEngine | None = None  # until bind_engine
    _book: PaperBook | None = None  # the journal, from connect on (with a database)

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        portfolio: PortfolioFacade,
        msgbus: MessageBus,
        cache: Cache,
        clock: LiveClock,
        config: SandboxExecutionClientConfig,
    ) -> None:
        super().__init__(loop=loop, portfolio=portfolio, msgbus=msgbus, cache=cache, clock=clock, config=config)
        self.database = config.database if isinstance(config, PaperExecutionClientConfig) else None

    def bind_engine(self, engine: LiveExecutionEngine) -> None:
        """The node's execution engine, whose queued ``process`` is bypassed during a submission."""
        self._engine = engine

    def connect(self) -> None:
        super().connect()
        if self.database is None or self._book is not None:
            return
        self._book = PaperBook(shared_database(self.database))
        self._restore(self._book.load())
        self._msgbus.subscribe(ALL_ORDER_EVENTS, self._journal_event)
        self._msgbus.subscribe(ALL_ACCOUNT_EVENTS, self._journal_account)
        self._cancel_working()

    def disconnect(self) -> None:
        if self._book is not None:
            self._msgbus.unsubscribe(ALL_ORDER_EVENTS, self._journal_event)
            self._msgbus.unsubscribe(ALL_ACCOUNT_EVENTS, self._journal_account)
            self._book = None
        super().disconnect()

    def submit_order(self, command: SubmitOrder) -> None:
        with self._events_applied_at_once():
            super().submit_order(command)

    def submit_order_list(self, command: SubmitOrderList) -> None:
        with self._events_applied_at_once():
            super().submit_order_list(command)

    # -- the book across restarts (module docstring) ----------------------------------------------

    def _restore(self, book: JournalledBook) -> None:
        if not book:
            return
        engine = self._bound_engine()
        for instrument in book.instruments:
            if self._cache.instrument(instrument.id) is None:
                self._cache.add_instrument(instrument)
                self.exchange.add_instrument(instrument)
        for event in book.events:
            if isinstance(event, OrderInitialized):
                self._cache.add_order(OrderUnpacker.from_init(event), client_id=self.id)
            else:
                apply_at_once(engine, event)
        account = self._cache.account(self.account_id)
        saved = book.account
        if (
            account is not None
            and saved is not None
            and _totals(account.balances().values()) != _totals(saved.balances)
        ):
            self._log.warning(f"the rebuilt balance {account.balances()} differs from the journal's: reporting {saved}")
            self.generate_account_state(saved.balances, saved.margins, True, self._clock.timestamp_ns())
        orders = sum(isinstance(e, OrderInitialized) for e in book.events)
        self._log.info(f"restored the paper book: {orders} orders, {len(book.events) - orders} order events")

    def _cancel_working(self) -> None:
        working = [o for o in self._cache.orders(venue=self.venue) if not o.is_closed]
        if not working:
            return
        now = self._clock.timestamp_ns()
        with self._events_applied_at_once():
            for order in working:
                self._log.warning(
                    f"cancelled {order.client_order_id} ({order.status_string()}): the paper venue restarted"
                )
                self.generate_order_canceled(
                    order.strategy_id, order.instrument_id, order.client_order_id, order.venue_order_id, now
                )

    def _journal_event(self, event: OrderEvent) -> None:
        book = self._book
        if book is None:
            return
        if isinstance(event, OrderInitialized):
            for instrument_id in _traded(event):
                instrument = self._cache.instrument(instrument_id)
                if instrument is not None:
                    book.record_instrument(instrument)
        book.record_event(event).add_done_callback(self._journalled)

    def _journal_account(self, state: AccountState) -> None:
        if self._book is not None and state.account_id == self.account_id:
            self._book.record_account(state).add_done_callback(self._journalled)

    def _journalled(self, done: Future[None]) -> None:
        error = done.exception()
        if error is not None:
            self._log.error(f"journaling the paper book failed: {error}")

    def _bound_engine(self) -> LiveExecutionEngine:
        if self._engine is None:
            raise RuntimeError("PaperExecutionClient.bind_engine(node.kernel.exec_engine) was not called")
        return self._engine

    @contextmanager
    def _events_applied_at_once(self) -> Iterator[None]:
        with events_applied_at_once(self._msgbus, self._bound_engine()):
            yield


def _traded(event: OrderInitialized) -> list[InstrumentId]:
    """The instruments an order trades: its own and, for a spread, its legs (whose fills it generates)."""
    instrument_id = event.instrument_id
    if not is_generic_spread_id(instrument_id):
        return [instrument_id]
    return [instrument_id, *(leg for leg, _ in generic_spread_id_to_list(instrument_id))]


def _totals(balances: Iterable[AccountBalance]) -> dict[str, str]:
    return {balance.currency.code: str(balance.total) for balance in balances}


class SandboxLiveExecClientFactory(LiveExecClientFactory):
    """Builds a :class:`PaperExecutionClient` from a ``SandboxExecutionClientConfig`` (one per venue).

    Named like NautilusTrader's own sandbox factory on purpose: ``TradingNodeBuilder`` hands the portfolio
    (which the simulated venue needs) only to a factory of that name.
    """

    @staticmethod
    def create(  # type: ignore[override]
        loop: asyncio.AbstractEventLoop,
        name: str,
        config: PaperExecutionClientConfig,
        portfolio: PortfolioFacade,
        msgbus: MessageBus,
        cache: Cache,
        clock: LiveClock,
    ) -> PaperExecutionClient:
        return PaperExecutionClient(
            loop=loop, portfolio=portfolio, msgbus=msgbus, cache=cache, clock=clock, config=config
        )
