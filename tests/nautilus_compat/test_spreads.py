"""Upstream facts behind :mod:`hybrid.nautilus_compat.spreads`; each test fails once upstream changes it."""

from __future__ import annotations

from decimal import Decimal

import pytest
from nautilus_trader.model.currencies import USD
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.events import OrderFilled
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.objects import Money, Quantity
from nautilus_trader.trading.config import StrategyConfig
from nautilus_trader.trading.strategy import Strategy

from bench.exec_simulation import SimMarketConfig, build_engine, make_market
from hybrid.nautilus_compat.spreads import LEG_FILL_MARKER, join_split_fills
from tests.nautilus_compat.conftest import SPREAD_UNITS, SpreadRun

pytestmark = pytest.mark.slow  # a backtest, a server or a subprocess per test


def _held(run: SpreadRun) -> dict[str, Decimal]:
    cache = run.engine.cache
    return {
        leg_id.value: sum((p.signed_decimal_qty() for p in cache.positions(instrument_id=leg_id)), Decimal(0))
        for leg_id, _ in run.spread.legs()
    }


def test_spread_fills_larger_than_the_displayed_size_still_leave_legs_short_so_the_leg_fill_bug_note_stays(
    spread_run: SpreadRun,
) -> None:
    """Leg balancing stays either way (it is the project's rule); once this fails, its cause is gone."""
    (order,) = spread_run.engine.cache.orders(instrument_id=spread_run.spread.id)
    assert order.filled_qty == SPREAD_UNITS
    expected = {leg_id.value: Decimal(ratio * SPREAD_UNITS) for leg_id, ratio in spread_run.spread.legs()}
    held = _held(spread_run)
    assert all(abs(held[leg]) < abs(expected[leg]) for leg in expected), held


def test_leg_fills_still_carry_the_leg_marker_in_their_client_order_id(spread_run: SpreadRun) -> None:
    (order,) = spread_run.engine.cache.orders(instrument_id=spread_run.spread.id)
    leg_fills = [
        fill
        for leg_id, _ in spread_run.spread.legs()
        for position in spread_run.engine.cache.positions(instrument_id=leg_id)
        for fill in position.events
        if isinstance(fill, OrderFilled)
    ]
    assert leg_fills
    assert all(f.client_order_id.value.startswith(f"{order.client_order_id.value}{LEG_FILL_MARKER}") for f in leg_fills)


class FlipConfig(StrategyConfig, frozen=True):
    instrument_id: str


class Flip(Strategy):
    """Buys 1 contract at market on its first quote, sells 3 on a later one: the sale flips the position."""

    def __init__(self, config: FlipConfig) -> None:
        super().__init__(config)
        self.instrument_id = InstrumentId.from_str(config.instrument_id)
        self.quotes = 0

    def on_start(self) -> None:
        self.subscribe_quote_ticks(self.instrument_id)

    def on_quote_tick(self, tick: QuoteTick) -> None:
        self.quotes += 1
        if self.quotes in (1, 10):
            side, quantity = (OrderSide.BUY, 1) if self.quotes == 1 else (OrderSide.SELL, 3)
            self.submit_order(self.order_factory.market(self.instrument_id, side, Quantity.from_int(quantity)))


def test_a_fill_that_flips_a_netting_position_is_still_split_in_two_so_join_split_fills_stays() -> None:
    """Once NautilusTrader keeps a flipping fill whole, join_split_fills has nothing to join and can go."""
    market = make_market(SimMarketConfig(seconds=5.0, min_size=5))  # every quote shows 5+: one fill of 3
    engine = build_engine(market, log_level="OFF")
    option = market.options[0]
    engine.add_strategy(Flip(FlipConfig(instrument_id=option.id.value)))
    engine.run()
    cache = engine.cache
    sells = [
        fill
        for position in [*cache.positions(instrument_id=option.id), *cache.position_snapshots()]
        for fill in position.events
        if fill.order_side == OrderSide.SELL
    ]
    engine.dispose()
    assert sorted(int(f.last_qty) for f in sells) == [1, 2] and len({f.trade_id for f in sells}) == 1
    (joined,) = join_split_fills(sells)
    assert joined.last_qty == Quantity.from_int(3) and joined.commission == Money(3 * 0.65, USD)
