"""Leg fill prices in a real backtest: the venue's own break the rule of :mod:`hybrid.nautilus_compat.leg_prices`
(the test that fails once upstream meets it), the re-priced ones keep it, and positions and the account book them.

A small sub-second market (bench.exec_simulation) and four spreads (a debit and a credit vertical, a butterfly,
a 1x2), each bought and then sold at market, one unit at a time, so every match fills whole and the run ends flat.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

import pytest
from nautilus_trader.backtest.engine import BacktestEngine
from nautilus_trader.common.events import TimeEvent
from nautilus_trader.model.currencies import USD
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.events import OrderFilled
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.instruments import OptionSpread
from nautilus_trader.trading.config import StrategyConfig
from nautilus_trader.trading.strategy import Strategy

from bench.exec_simulation import SECOND_NS, SimMarketConfig, build_engine, make_market
from hybrid.options.chain import make_option_spread
from tests.nautilus_compat.conftest import BuySpread, BuySpreadConfig
from tests.support.leg_fills import LegFillAudit, breaches

pytestmark = pytest.mark.slow  # a backtest, a server or a subprocess per test

ROUND_TRIPS = 4  # per spread


class RoundTripsConfig(StrategyConfig, frozen=True):
    spread_ids: tuple[str, ...]
    every_seconds: float = 3.0


class RoundTrips(Strategy):
    """Every ``every_seconds``: the next spread in turn, bought at market if flat, else sold (one unit)."""

    def __init__(self, config: RoundTripsConfig) -> None:
        super().__init__(config)
        self.spread_ids = [InstrumentId.from_str(s) for s in config.spread_ids]
        self.sent = 0

    def on_start(self) -> None:
        for spread_id in self.spread_ids:
            params = {"disable_vega_pricing": True, "update_interval_seconds": None}  # the legs' natural, always fresh
            self.subscribe_quote_ticks(spread_id, aggregate_spread_quotes=True, params=params)
        self.clock.set_timer("trade", dt.timedelta(seconds=self.config.every_seconds), callback=self.on_due)

    def on_due(self, _event: TimeEvent) -> None:
        if self.sent == 2 * ROUND_TRIPS * len(self.spread_ids):
            return
        spread_id = self.spread_ids[self.sent % len(self.spread_ids)]
        side = OrderSide.BUY if (self.sent // len(self.spread_ids)) % 2 == 0 else OrderSide.SELL
        spread = self.cache.instrument(spread_id)
        self.submit_order(self.order_factory.market(spread_id, side, spread.make_qty(1)))
        self.sent += 1


@dataclass
class Run:
    engine: BacktestEngine
    spreads: list[OptionSpread]
    audit: LegFillAudit


def _run(leg_prices: bool) -> Run:
    market = make_market(SimMarketConfig(seconds=120.0, min_size=2))  # the 1x2 shows at least one unit
    calls = market.options
    spreads = [
        market.vertical(0, 1),
        make_option_spread([(calls[0], -1), (calls[1], 1)]),  # a credit vertical
        make_option_spread([(calls[0], 1), (calls[1], -2), (calls[2], 1)]),
        make_option_spread([(calls[1], 1), (calls[2], -2)]),
    ]
    engine = build_engine(market, spreads=tuple(spreads), log_level="OFF", leg_prices=leg_prices)
    audit = LegFillAudit()
    engine.add_actor(audit)
    engine.add_strategy(RoundTrips(RoundTripsConfig(spread_ids=tuple(s.id.value for s in spreads))))
    engine.run(end=market.start_ns + 110 * SECOND_NS)
    return Run(engine, spreads, audit)


@pytest.fixture(scope="module")
def priced() -> Iterator[Run]:
    run = _run(leg_prices=True)
    yield run
    run.engine.dispose()


def test_the_venue_still_prices_legs_outside_their_quotes_so_the_leg_prices_workaround_stays() -> None:
    """Once this fails, NautilusTrader's own leg prices keep the rule: delete hybrid.nautilus_compat.leg_prices."""
    run = _run(leg_prices=False)
    try:
        assert len(run.audit.matches) == 2 * ROUND_TRIPS * len(run.spreads)
        assert breaches(run.audit.matches)
    finally:
        run.engine.dispose()


def test_every_leg_fill_lies_inside_its_quote_and_the_legs_sum_to_the_spread_fill(priced: Run) -> None:
    matches = priced.audit.matches
    assert len(matches) == 2 * ROUND_TRIPS * len(priced.spreads)
    assert all(len(m.legs) == len(m.ratios) for m in matches)
    assert any(m.spread_fill.last_px.as_double() < 0 for m in matches)  # the credit vertical
    assert all(m.excess == 0 for m in matches)  # takers at the natural: every leg can lie inside
    assert breaches(matches) == []


def test_positions_hold_the_re_priced_leg_fills(priced: Run) -> None:
    booked = {
        fill.trade_id: fill.last_px
        for position in priced.engine.cache.position_snapshots() + priced.engine.cache.positions()
        for fill in position.events
        if isinstance(fill, OrderFilled)
    }
    legs = [leg for m in priced.audit.matches for leg in m.legs]
    assert legs
    assert all(booked[leg.fill.trade_id] == leg.fill.last_px for leg in legs)


def test_the_account_moves_by_the_spread_fills_to_the_cent(priced: Run) -> None:
    """Flat at the end: balance less commissions = the spread fills' cash, as the legs now sum to them."""
    cache = priced.engine.cache
    assert not cache.positions_open()
    multiplier = priced.spreads[0].multiplier.as_decimal()
    cash = sum(
        (
            (1 if m.spread_fill.order_side == OrderSide.SELL else -1)
            * m.spread_fill.last_px.as_decimal()
            * m.spread_fill.last_qty.as_decimal()
            * multiplier
            for m in priced.audit.matches
        ),
        Decimal(0),
    )
    account = priced.engine.portfolio.account(priced.spreads[0].id.venue)
    start = account.starting_balances()[USD].as_decimal()
    change = account.balance_total(USD).as_decimal() - start
    assert change + account.commission(USD).as_decimal() == cash


def test_legs_of_an_order_larger_than_the_displayed_size_sum_to_its_first_fill() -> None:
    """The venue builds a match's legs from its first fill; the later ones (slipped a tick) have none."""
    market = make_market(SimMarketConfig(seconds=20.0))
    spread = market.vertical(0, 1)
    engine = build_engine(market, spreads=(spread,), log_level="OFF")
    audit = LegFillAudit()
    engine.add_actor(audit)
    engine.add_strategy(BuySpread(BuySpreadConfig(spread_id=spread.id.value)))
    try:
        engine.run()
        (order,) = engine.cache.orders(instrument_id=spread.id)
        fills = [e for e in order.events if isinstance(e, OrderFilled)]
        assert len({f.last_px for f in fills}) > 1  # the match slipped past the touch
        (match,) = audit.matches
        assert match.spread_fill == fills[0]
        assert breaches(audit.matches) == []
    finally:
        engine.dispose()


class RestingBidsConfig(StrategyConfig, frozen=True):
    spread_id: str
    every_seconds: float = 2.0


class RestingBids(Strategy):
    """Every ``every_seconds``: cancel what rests, then bid for the spread one tick under its natural ask if flat
    (sell it at market if long), so the legs' market often moves through a resting spread limit."""

    def __init__(self, config: RestingBidsConfig) -> None:
        super().__init__(config)
        self.spread_id = InstrumentId.from_str(config.spread_id)

    def on_start(self) -> None:
        params = {"disable_vega_pricing": True, "update_interval_seconds": None}
        self.subscribe_quote_ticks(self.spread_id, aggregate_spread_quotes=True, params=params)
        self.clock.set_timer("bid", dt.timedelta(seconds=self.config.every_seconds), callback=self.on_due)

    def on_due(self, _event: TimeEvent) -> None:
        self.cancel_all_orders(self.spread_id)
        spread = self.cache.instrument(self.spread_id)
        quote = self.cache.quote_tick(self.spread_id)
        if quote is None:
            return
        if self.portfolio.is_flat(spread.legs()[0][0]):
            price = spread.make_price(quote.ask_price.as_double() - 0.01)
            self.submit_order(self.order_factory.limit(self.spread_id, OrderSide.BUY, spread.make_qty(1), price))
        else:
            self.submit_order(self.order_factory.market(self.spread_id, OrderSide.SELL, spread.make_qty(1)))


def test_a_resting_spread_limit_the_legs_market_moves_through_fills_at_the_legs_natural() -> None:
    """The venue fills such a limit at the limit itself, worse than its legs' natural, so no leg prices inside
    their quotes can sum to it; it is booked at the natural instead (never worse than the limit)."""
    market = make_market(SimMarketConfig(seconds=300.0, step_ticks=2.0))
    spread = market.vertical(0, 1)
    engine = build_engine(market, spreads=(spread,), log_level="OFF", prob_fill_on_touch=0.0)
    audit = LegFillAudit()
    engine.add_actor(audit)
    engine.add_strategy(RestingBids(RestingBidsConfig(spread_id=spread.id.value)))
    try:
        engine.run()
        resting = [m for m in audit.matches if m.spread_fill.liquidity_side.name == "MAKER"]
        assert resting, "no resting limit filled: the scenario no longer exercises the case"
        limits = {o.client_order_id: o.price for o in engine.cache.orders(instrument_id=spread.id) if o.has_price}
        assert all(m.excess == 0 for m in audit.matches)
        assert breaches(audit.matches) == []
        assert all(m.spread_fill.last_px <= limits[m.spread_fill.client_order_id] for m in resting)
        assert any(m.spread_fill.last_px < limits[m.spread_fill.client_order_id] for m in resting), "none moved through"
    finally:
        engine.dispose()
