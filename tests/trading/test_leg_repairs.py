"""The strategy's own leg repairs are what the balancing module says: IOC orders at the touch (a zero bid
sold at 0.00), never resting, and the group in ratio at the end."""

from __future__ import annotations

import pytest
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.enums import TimeInForce
from nautilus_trader.model.identifiers import is_generic_spread_id
from nautilus_trader.model.objects import Price, Quantity
from nautilus_trader.model.orders import Order
from nautilus_trader.trading.strategy import Strategy

from bench.exec_simulation import SECOND_NS, SimMarket, SimMarketConfig, build_engine
from hybrid.execution.balancing import holdings, plan_repairs
from hybrid.options.instruments import make_option
from hybrid.options.legs import Leg
from hybrid.tracking.book import group_book
from hybrid.trading import ExecutionConfig, GroupTrader, GroupTradingConfig, OpenGroup
from tests.support.instant_market import EXPIRY, START, UNDERLYING

pytestmark = pytest.mark.slow  # a backtest per test

UNITS = 80  # more than the 50 shown: the spread fills 50 with no leg fills (the leg-fill bug), both legs are repaired


class Opener(Strategy):
    """Buys ``UNITS`` bull call spreads at the far touch on the underlying's tick at 10 s."""

    def __init__(self, config: GroupTradingConfig) -> None:
        super().__init__(config)
        self.trader = GroupTrader.from_config(self, config)
        self.group_id: str | None = None

    def on_start(self) -> None:
        self.trader.start()
        self.subscribe_quote_ticks(UNDERLYING)

    def on_stop(self) -> None:
        self.trader.stop()

    def on_quote_tick(self, tick: QuoteTick) -> None:
        self.trader.on_quote_tick(tick)
        if tick.instrument_id == UNDERLYING and tick.ts_event == START + 10 * SECOND_NS:
            legs = (Leg("call", 105.0, EXPIRY, 1), Leg("call", 110.0, EXPIRY, -1))
            result = self.trader.open_group(OpenGroup("SPY", "bull_call_spread", legs, UNITS))
            assert result.accepted, result.reason
            self.group_id = result.group_id

    def on_order_filled(self, event: object) -> None:
        self.trader.on_order_filled(event)  # type: ignore[arg-type]

    def on_order_event(self, event: object) -> None:
        self.trader.on_order_event(event)  # type: ignore[arg-type]


def market(short_bid: float) -> SimMarket:
    """The underlying and the 105/110 calls every 10 s for four minutes, 50 shown at each touch; the 110
    call bid at ``short_bid``."""
    options = [make_option("SPY", EXPIRY, "C", strike, "OPRA") for strike in (105.0, 110.0)]
    books = ((3.00, 3.20), (short_bid, short_bid + 0.05))
    quotes = []
    for second in range(0, 241, 10):
        ts = START + second * SECOND_NS
        for instrument_id, book in ((UNDERLYING, (107.99, 108.01)), *zip((o.id for o in options), books)):
            size = Quantity.from_int(50)
            quotes.append(QuoteTick(instrument_id, Price(book[0], 2), Price(book[1], 2), size, size, ts, ts))
    config = SimMarketConfig(strikes=(105.0, 110.0), start_mids=(3.10, short_bid + 0.025), expiry=EXPIRY)
    return SimMarket(config=config, options=options, quotes=quotes)


def run(short_bid: float) -> tuple[list[Order], bool]:
    """The leg orders the strategy sent (its repairs), and whether its group ended balanced."""
    engine = build_engine(market(short_bid), log_level="OFF", prob_fill_on_touch=1.0)
    crossing = ExecutionConfig(concession_half_spreads=1.0, quote_update_interval_seconds=None)
    strategy = Opener(GroupTradingConfig(execution=crossing, rate=0.045, dividend=0.0))
    engine.add_strategy(strategy)
    try:
        engine.run()
        repairs = [o for o in engine.cache.orders() if not is_generic_spread_id(o.instrument_id)]
        group = group_book(engine.cache, engine.kernel.msgbus).get(strategy.group_id or "")
        assert group is not None and group.units > 0
        return repairs, not plan_repairs(holdings(group), group.units)
    finally:
        engine.dispose()


@pytest.mark.parametrize("short_bid", [1.30, 0.00])
def test_the_strategys_leg_repairs_are_ioc_at_the_touch_and_the_group_ends_balanced(short_bid: float) -> None:
    repairs, balanced = run(short_bid)
    assert repairs and all(o.time_in_force == TimeInForce.IOC for o in repairs)
    assert all(o.is_closed for o in repairs)  # nothing rests
    assert balanced  # the worthless wing too: sold at its 0.00 bid, not offered at 0.01 for ever
