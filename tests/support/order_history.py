"""Order histories made by hand: a cache filled the way the execution engine fills it, for cases a backtest
cannot be made to produce on demand (the group view's checkpoints, a fee model's partial fills)."""

from __future__ import annotations

import datetime as dt

from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import TestClock
from nautilus_trader.common.factories import OrderFactory
from nautilus_trader.core.uuid import UUID4
from nautilus_trader.model.currencies import USD
from nautilus_trader.model.enums import LiquiditySide, OmsType, OrderSide
from nautilus_trader.model.events import OrderAccepted, OrderCanceled, OrderFilled, OrderSubmitted
from nautilus_trader.model.identifiers import (
    AccountId,
    ClientOrderId,
    ExecAlgorithmId,
    InstrumentId,
    PositionId,
    StrategyId,
    TradeId,
    TraderId,
    VenueOrderId,
    is_generic_spread_id,
    new_generic_spread_id,
)
from nautilus_trader.model.instruments import OptionContract
from nautilus_trader.model.objects import Money, Price, Quantity
from nautilus_trader.model.orders import Order
from nautilus_trader.model.position import Position

from hybrid.options.instruments import make_option
from hybrid.tracking import GroupTags

T0 = 1_704_205_800_000_000_000  # 2024-01-02 14:30 UTC
MINUTE = 60_000_000_000
LONG = make_option("SPY", dt.date(2024, 2, 16), "C", 450)
SHORT = make_option("SPY", dt.date(2024, 2, 16), "C", 455)
SPREAD = new_generic_spread_id([(LONG.id, 1), (SHORT.id, -1)])
TAGS = GroupTags("g1", "manual", "bull_call_spread").to_tags()
TRADER, STRATEGY, ACCOUNT = TraderId("TESTER-001"), StrategyId("S-001"), AccountId("OPRA-001")
FEE = 0.65


class History:
    """A cache filled the way the execution engine fills it: orders with their events, positions with leg fills."""

    def __init__(self) -> None:
        self.cache = Cache()
        for option in (LONG, SHORT):
            self.cache.add_instrument(option)
        self.clock = TestClock()
        self.factory = OrderFactory(TRADER, STRATEGY, self.clock)
        self.trades = 0

    def order(
        self, instrument_id: InstrumentId, side: OrderSide, quantity: int, ts: int, algorithm: bool = False
    ) -> Order:
        self.clock.set_time(ts)
        order = self.factory.limit(
            instrument_id,
            side,
            Quantity.from_int(quantity),
            Price(1.0, 2),
            tags=TAGS,
            exec_algorithm_id=ExecAlgorithmId("TwoPart") if algorithm else None,
        )
        self.cache.add_order(order)
        order.apply(OrderSubmitted(TRADER, STRATEGY, instrument_id, order.client_order_id, ACCOUNT, UUID4(), ts, ts))
        venue_id = VenueOrderId(f"V-{order.client_order_id.value}")
        order.apply(
            OrderAccepted(TRADER, STRATEGY, instrument_id, order.client_order_id, venue_id, ACCOUNT, UUID4(), ts, ts),
        )
        self.cache.update_order(order)
        return order

    def fill(self, order: Order, quantity: int, price: float, ts: int, commission: float | None = None) -> None:
        """A fill of the order itself (the spread-level fill of a spread order); commission default FEE a contract."""
        event = self._filled(
            order, order.instrument_id, order.client_order_id.value, order.side, quantity, price, ts, commission
        )
        order.apply(event)
        self.cache.update_order(order)
        if not is_generic_spread_id(order.instrument_id):
            self._position(event)

    def spread_fill(self, order: Order, quantity: int, long_px: float, short_px: float, ts: int) -> None:
        """A spread fill at ``long_px - short_px`` with both of its leg fills, as the venue emits them."""
        opposite = OrderSide.SELL if order.side == OrderSide.BUY else OrderSide.BUY
        self.fill(order, quantity, round(long_px - short_px, 2), ts)
        self.leg_fill(order, LONG, order.side, quantity, long_px, ts)
        self.leg_fill(order, SHORT, opposite, quantity, short_px, ts)

    def leg_fill(self, order: Order, leg: OptionContract, side: OrderSide, qty: int, price: float, ts: int) -> None:
        """The venue's synthetic leg fill of a spread order: it reaches a position, never the order."""
        client_order_id = f"{order.client_order_id.value}-LEG-{leg.id.symbol.value}"
        self._position(self._filled(order, leg.id, client_order_id, side, qty, price, ts))

    def cancel(self, order: Order, ts: int) -> None:
        order.apply(
            OrderCanceled(
                TRADER,
                STRATEGY,
                order.instrument_id,
                order.client_order_id,
                order.venue_order_id,
                ACCOUNT,
                UUID4(),
                ts,
                ts,
            ),
        )
        self.cache.update_order(order)

    def _filled(
        self,
        order: Order,
        instrument_id: InstrumentId,
        client_order_id: str,
        side: OrderSide,
        quantity: int,
        price: float,
        ts: int,
        commission: float | None = None,
    ) -> OrderFilled:
        self.trades += 1
        return OrderFilled(
            trader_id=TRADER,
            strategy_id=STRATEGY,
            instrument_id=instrument_id,
            client_order_id=ClientOrderId(client_order_id),
            venue_order_id=order.venue_order_id,
            account_id=ACCOUNT,
            trade_id=TradeId(f"T-{self.trades}"),
            position_id=PositionId(f"{instrument_id}-{STRATEGY}"),
            order_side=side,
            order_type=order.order_type,
            last_qty=Quantity.from_int(quantity),
            last_px=Price(price, 2),
            currency=USD,
            commission=Money(FEE * quantity if commission is None else commission, USD),
            liquidity_side=LiquiditySide.MAKER,
            event_id=UUID4(),
            ts_event=ts,
            ts_init=ts,
        )

    def _position(self, fill: OrderFilled) -> None:
        position = self.cache.position(fill.position_id)
        if position is None:
            self.cache.add_position(Position(self.cache.instrument(fill.instrument_id), fill), OmsType.NETTING)
        else:
            position.apply(fill)
            self.cache.update_position(position)
