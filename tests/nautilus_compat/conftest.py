"""A small backtest shared by the compat tests: one market BUY of a call vertical, larger than the displayed size,
on the venue as NautilusTrader ships it (no leg fill re-pricing)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from nautilus_trader.backtest.engine import BacktestEngine
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.instruments import OptionSpread
from nautilus_trader.trading.config import StrategyConfig
from nautilus_trader.trading.strategy import Strategy

from bench.exec_simulation import SimMarketConfig, build_engine, make_market
from hybrid.nautilus_compat.topics import ALL_POSITION_EVENTS, order_events

SPREAD_UNITS = 60  # far above any displayed size of the simulated market (at most 12)


class BuySpreadConfig(StrategyConfig, frozen=True):
    spread_id: str


class BuySpread(Strategy):
    """Buys :data:`SPREAD_UNITS` of the spread at market on its first aggregated quote."""

    def __init__(self, config: BuySpreadConfig) -> None:
        super().__init__(config)
        self.spread_id = InstrumentId.from_str(config.spread_id)
        self.sent = False

    def on_start(self) -> None:
        self.subscribe_quote_ticks(self.spread_id, aggregate_spread_quotes=True, params={"disable_vega_pricing": True})

    def on_quote_tick(self, tick: QuoteTick) -> None:
        if tick.instrument_id == self.spread_id and not self.sent:
            self.sent = True
            spread = self.cache.instrument(self.spread_id)
            self.submit_order(self.order_factory.market(self.spread_id, OrderSide.BUY, spread.make_qty(SPREAD_UNITS)))


@dataclass
class SpreadRun:
    engine: BacktestEngine
    spread: OptionSpread
    strategy: BuySpread
    order_topic_events: list[object] = field(default_factory=list)
    position_topic_events: list[object] = field(default_factory=list)


@pytest.fixture(scope="package")
def spread_run() -> Iterator[SpreadRun]:
    market = make_market(SimMarketConfig(seconds=20.0))
    spread = market.vertical(0, 1)
    engine = build_engine(market, spreads=(spread,), log_level="OFF", leg_prices=False)  # the venue as it comes
    strategy = BuySpread(BuySpreadConfig(spread_id=spread.id.value))
    engine.add_strategy(strategy)
    run = SpreadRun(engine, spread, strategy)
    engine.kernel.msgbus.subscribe(order_events(strategy.id), run.order_topic_events.append)
    engine.kernel.msgbus.subscribe(ALL_POSITION_EVENTS, run.position_topic_events.append)
    engine.run()
    yield run
    engine.dispose()
