"""Group book: the cost of one update and of one query, with 1,000 and with 100,000 orders in the book.

A NautilusTrader ``Cache`` and ``MessageBus`` hold a call spread, its two legs and their quotes, and the
kernel's :class:`hybrid.tracking.book.LiveGroupBook`. Orders reach them as the execution engine and the
simulated venue deliver them: ``OrderInitialized`` published before the order is cached (as
``Strategy.submit_order`` does), then ``OrderSubmitted``, ``OrderAccepted`` and ``OrderFilled`` applied to
the cached order and published, and for each spread fill one leg fill per leg (client order id
``<spread order id>-LEG-<leg symbol>``, belonging to no order). Each group is an opening market order and a
closing one of one unit; :data:`ACTIVE` groups are open at any time (each new group opens as the oldest
closes), as in a book of a long session: many closed groups, a steady number of open ones.
:func:`make_market` and :func:`trade` also feed the API view's tests (the stock's quote prices the Greeks).

Once the book holds ``N`` orders, :data:`SAMPLES` more orders are fed and timed:

- an update: publishing one order event on the bus, whose only subscriber is the book;
- a query: what a strategy's check does after an event, ``get(group)`` of the group that just changed
  (rebuilt from its own orders) and ``open_groups()`` (every active group re-marked at its legs' quotes).

Keys (``N`` = ``1k`` and ``100k``; ``quick``: 1k and 10k, keys named ``10k``):
  group_book_update_us_{N}     mean time of one update, microseconds
  group_book_query_us_{N}      mean time of one query, microseconds
  group_book_update_ratio      update time at the large size / at 1k (the goal is under 1.5)
  group_book_query_ratio       query time at the large size / at 1k (the goal is under 1.5)
  group_book_active_groups     open groups during the measurement
  group_book_load_seconds      feeding the large book (events built and published)
"""

from __future__ import annotations

import datetime as dt
import time
from collections import deque
from dataclasses import dataclass

from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import MessageBus, TestClock
from nautilus_trader.common.factories import OrderFactory
from nautilus_trader.core.uuid import UUID4
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.enums import LiquiditySide, OrderSide, OrderType
from nautilus_trader.model.events import OrderAccepted, OrderEvent, OrderFilled, OrderSubmitted
from nautilus_trader.model.identifiers import (
    AccountId,
    ClientOrderId,
    PositionId,
    StrategyId,
    TradeId,
    TraderId,
    VenueOrderId,
)
from nautilus_trader.model.instruments import Instrument, OptionContract
from nautilus_trader.model.objects import Money, Price, Quantity
from nautilus_trader.model.orders import Order

from hybrid.nautilus_compat.spreads import LEG_FILL_MARKER
from hybrid.nautilus_compat.topics import order_events
from hybrid.options.chain import make_option_spread
from hybrid.options.instruments import make_equity, make_option
from hybrid.tracking import GroupTags
from hybrid.tracking.book import group_book

ACTIVE = 50
SAMPLES = 200
TRADER, STRATEGY, ACCOUNT = TraderId("BENCH-001"), StrategyId("Book-000"), AccountId("SIM-001")
TOPIC = order_events(STRATEGY)
EXPIRY = dt.date(2024, 3, 15)


@dataclass
class Market:
    """A cache and message bus holding the spread, its legs and the stock, all quoted."""

    cache: Cache
    msgbus: MessageBus
    clock: TestClock
    factory: OrderFactory
    spread: Instrument
    legs: list[tuple[OptionContract, int]]
    published: int = 0
    publish_s: float = 0.0  # time spent publishing, the book's handling of every event

    def publish(self, event: OrderEvent) -> None:
        t = time.perf_counter()
        self.msgbus.publish(TOPIC, event)
        self.publish_s += time.perf_counter() - t
        self.published += 1


def make_market() -> Market:
    clock = TestClock()
    clock.set_time(1_700_000_000_000_000_000)
    cache, msgbus = Cache(), MessageBus(trader_id=TRADER, clock=clock)
    legs = [(make_option("SPY", EXPIRY, "call", 470), 1), (make_option("SPY", EXPIRY, "call", 480), -1)]
    spread = make_option_spread(legs)
    stock = make_equity("SPY")
    for instrument in (*(leg for leg, _ in legs), spread, stock):
        cache.add_instrument(instrument)
    for instrument, (bid, ask) in zip((leg for leg, _ in legs), (("5.10", "5.30"), ("1.20", "1.30"))):
        quote(cache, instrument, bid, ask)
    quote(cache, stock, "474.00", "474.02")
    return Market(cache, msgbus, clock, OrderFactory(TRADER, STRATEGY, clock), spread, legs)


def quote(cache: Cache, instrument: Instrument, bid: str, ask: str, ts_ns: int = 0) -> None:
    """A new top of book of ``instrument`` in the cache, 50 on each side."""
    size = Quantity.from_int(50)
    cache.add_quote_tick(QuoteTick(instrument.id, Price.from_str(bid), Price.from_str(ask), size, size, ts_ns, ts_ns))


def _publish(market: Market, order: Order, event: OrderEvent) -> None:
    order.apply(event)
    market.cache.update_order(order)
    market.publish(event)


def _fill(
    market: Market, order: Order, instrument: Instrument, client_order_id: ClientOrderId, side: OrderSide, px: str
) -> OrderFilled:
    now = market.clock.timestamp_ns()
    return OrderFilled(
        TRADER,
        STRATEGY,
        instrument.id,
        client_order_id,
        order.venue_order_id,
        ACCOUNT,
        TradeId(UUID4().value),
        PositionId(f"{instrument.id}-{STRATEGY}"),
        side,
        OrderType.MARKET,
        Quantity.from_int(1),
        Price.from_str(px),
        instrument.quote_currency,
        Money(0.65, instrument.quote_currency),
        LiquiditySide.TAKER,
        UUID4(),
        now,
        now,
    )


def trade(market: Market, group_id: str, side: OrderSide) -> None:
    """One spread order of one unit, filled at once, with its leg fills."""
    tags = GroupTags(group_id, "manual", "bull_call_spread").to_tags()
    order = market.factory.market(market.spread.id, side, Quantity.from_int(1), tags=tags)
    market.publish(order.init_event)
    market.cache.add_order(order)
    now = market.clock.timestamp_ns()
    _publish(
        market,
        order,
        OrderSubmitted(TRADER, STRATEGY, order.instrument_id, order.client_order_id, ACCOUNT, UUID4(), now, now),
    )
    venue_id = VenueOrderId(order.client_order_id.value)
    accepted = OrderAccepted(
        TRADER, STRATEGY, order.instrument_id, order.client_order_id, venue_id, ACCOUNT, UUID4(), now, now
    )
    _publish(market, order, accepted)
    _publish(market, order, _fill(market, order, market.spread, order.client_order_id, side, "4.00"))
    for leg, ratio in market.legs:
        leg_side = side if ratio > 0 else (OrderSide.SELL if side == OrderSide.BUY else OrderSide.BUY)
        leg_id = ClientOrderId(f"{order.client_order_id}{LEG_FILL_MARKER}{leg.id.symbol}")
        market.publish(_fill(market, order, leg, leg_id, leg_side, "5.20" if ratio > 0 else "1.20"))
    market.clock.advance_time(market.clock.timestamp_ns() + 1_000_000)


class _Load:
    """Feeds groups of two orders each, keeping :data:`ACTIVE` of them open."""

    def __init__(self, market: Market) -> None:
        self.market = market
        self.opened: deque[str] = deque()
        self.orders = 0
        self.count = 0

    def step(self) -> str:
        """One order: close the oldest group when :data:`ACTIVE` are open, else open a new one."""
        if len(self.opened) >= ACTIVE and self.orders % 2:
            group_id = self.opened.popleft()
            trade(self.market, group_id, OrderSide.SELL)
        else:
            group_id = f"G-{self.count:06d}"
            self.count += 1
            self.opened.append(group_id)
            trade(self.market, group_id, OrderSide.BUY)
        self.orders += 1
        return group_id


def _measure(size: int) -> tuple[float, float, float]:
    """(update us, query us, load seconds) with ``size`` orders in the book."""
    market = make_market()
    book = group_book(market.cache, market.msgbus)
    load = _Load(market)
    t0 = time.perf_counter()
    while load.orders < size:
        load.step()
        if load.orders % 1000 == 0:
            book.open_groups()  # a check now and then, as the strategies make them
    loaded = time.perf_counter() - t0
    market.published, market.publish_s = 0, 0.0
    query_s = 0.0
    for _ in range(SAMPLES):
        group_id = load.step()
        t1 = time.perf_counter()
        book.get(group_id)
        book.open_groups()
        query_s += time.perf_counter() - t1
    return market.publish_s / market.published * 1e6, query_s / SAMPLES * 1e6, loaded


def run(quick: bool = False) -> dict:
    large, label = (10_000, "10k") if quick else (100_000, "100k")
    small_update, small_query, _ = _measure(1_000)
    large_update, large_query, loaded = _measure(large)
    return {
        "group_book_update_us_1k": round(small_update, 1),
        "group_book_query_us_1k": round(small_query, 1),
        f"group_book_update_us_{label}": round(large_update, 1),
        f"group_book_query_us_{label}": round(large_query, 1),
        "group_book_update_ratio": round(large_update / small_update, 3),
        "group_book_query_ratio": round(large_query / small_query, 3),
        "group_book_active_groups": ACTIVE,
        "group_book_load_seconds": round(loaded, 2),
    }
