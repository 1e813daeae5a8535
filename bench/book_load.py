"""A strategy that fills a live node's group book for the benchmark: ``groups`` groups of ``orders_per_group``
orders each, through the node's own venue.

Each group is one option contract: a market buy of ``orders_per_group`` contracts, then
``orders_per_group - 1`` market sells of one, so every group stays open with one contract and every order
is a real order of the node (risk engine, execution engine, paper venue, cache, message bus, group book).
Groups are spread over ``contracts`` two-sided quoted contracts of the latest expiries (none expires during
the benchmark), nearest the money first, and submitted
``batch`` orders per ``interval_ms``, never more than ``max_per_second`` in any second and never before the
engines have taken the previous batch. The risk engine denies more than 100 submits a second, counted as it
takes them off its queue: when the event loop is held up (a busy machine, a full garbage collection), the
timer's late ticks, or a backlog on that queue, would otherwise come through at once, over the limit, and
the denied orders' groups would never fill. When the last order has been submitted the strategy logs
:data:`DONE`.
"""

from __future__ import annotations

from collections import deque
from datetime import timedelta

from nautilus_trader.model.enums import OrderSide, OrderStatus
from nautilus_trader.model.events import OrderDenied, OrderRejected
from nautilus_trader.model.identifiers import InstrumentId, Symbol, Venue
from nautilus_trader.model.instruments import OptionContract
from nautilus_trader.model.objects import Quantity
from nautilus_trader.model.orders import Order
from nautilus_trader.trading.config import StrategyConfig
from nautilus_trader.trading.strategy import Strategy

from hybrid.tracking import GroupTags
from hybrid.valuation.marks import cache_mark

DONE = "book load: every order submitted"
SECOND_NS = 1_000_000_000


class BookLoadConfig(StrategyConfig, frozen=True):
    """How many groups and orders, over how many contracts, and how fast."""

    underlying: str = "SPY"
    venue: str = "OPRA"
    groups: int = 500
    orders_per_group: int = 20
    contracts: int = 50
    batch: int = 9
    interval_ms: int = 100
    max_per_second: int = 90  # the risk engine denies more than 100 in a second


class BookLoad(Strategy):
    """Submits the benchmark's orders in batches (module docstring)."""

    def __init__(self, config: BookLoadConfig) -> None:
        super().__init__(config)
        self._plan: list[tuple[str, InstrumentId, OrderSide, int]] = []
        self._next = 0
        self._sent: deque[int] = deque()  # when each order of the last second was submitted
        self._batch: list[Order] = []  # the orders of the last batch

    def on_start(self) -> None:
        self.clock.set_timer("book-load", timedelta(milliseconds=self.config.interval_ms), callback=self.on_batch)

    def on_batch(self, _event: object) -> None:
        if not self._plan and not self._make_plan():
            return  # no quoted chain yet
        if self._next >= len(self._plan):
            return  # a tick already queued when the timer was cancelled
        if any(order.status == OrderStatus.INITIALIZED for order in self._batch):
            return  # the risk engine has not taken the last batch yet (module docstring)
        now = self.clock.timestamp_ns()
        while self._sent and self._sent[0] <= now - SECOND_NS:
            self._sent.popleft()
        count = max(0, min(self.config.batch, self.config.max_per_second - len(self._sent)))
        self._batch = []
        for name, instrument_id, side, quantity in self._plan[self._next : self._next + count]:
            structure = "long_call" if instrument_id.symbol.value[12] == "C" else "long_put"  # OCC: C or P
            tags = GroupTags(name, "manual", structure).to_tags()
            order = self.order_factory.market(instrument_id, side, Quantity.from_int(quantity), tags=tags)
            self.submit_order(order)
            self._sent.append(now)
            self._batch.append(order)
        self._next += count
        if self._next >= len(self._plan):
            self.clock.cancel_timer("book-load")
            self.log.warning(DONE)

    def _make_plan(self) -> bool:
        config = self.config
        spot = cache_mark(self.cache, InstrumentId(Symbol(config.underlying), Venue(config.venue)))
        quoted = [
            instrument
            for instrument in self.cache.instruments(Venue(config.venue), underlying=config.underlying)
            if isinstance(instrument, OptionContract)
            and (quote := self.cache.quote_tick(instrument.id)) is not None
            and quote.bid_price.as_double() > 0
        ]
        if spot is None or len(quoted) < config.contracts:
            return False
        quoted.sort(key=lambda c: (-c.expiration_ns, abs(c.strike_price.as_double() - spot), c.id.value))
        contracts = [c.id for c in quoted[: config.contracts]]
        for n in range(config.groups):
            name, contract = f"LOAD-{n:04d}", contracts[n % len(contracts)]
            self._plan.append((name, contract, OrderSide.BUY, config.orders_per_group))
            self._plan += [(name, contract, OrderSide.SELL, 1)] * (config.orders_per_group - 1)
        return True

    def on_order_denied(self, event: OrderDenied) -> None:
        self.log.warning(f"book load: {event.client_order_id} denied: {event.reason}")

    def on_order_rejected(self, event: OrderRejected) -> None:
        self.log.warning(f"book load: {event.client_order_id} rejected: {event.reason}")

    def on_stop(self) -> None:
        """Nothing to release: the orders are the node's."""
