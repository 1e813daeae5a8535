"""The touch fill model inside NautilusTrader's matching engine: touches fill by chance, trade-throughs always."""

from __future__ import annotations

from decimal import Decimal

import pytest
from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
from nautilus_trader.backtest.models import PerContractFeeModel
from nautilus_trader.config import LoggingConfig, StrategyConfig
from nautilus_trader.model.currencies import USD
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.enums import AccountType, OmsType, OrderSide
from nautilus_trader.model.events import OrderFilled
from nautilus_trader.model.identifiers import Venue
from nautilus_trader.model.objects import Money, Price, Quantity
from nautilus_trader.trading.strategy import Strategy

from hybrid.backtest.fill_model import TouchFillModel, TouchFillModelConfig
from hybrid.options.instruments import make_equity

MINUTE_NS = 60 * 1_000_000_000
SIZE = Quantity.from_int(10)
LIMIT = 100.00
TOUCHES = 40


class RestingBuyConfig(StrategyConfig, frozen=True):
    instrument_id: str


class RestingBuy(Strategy):
    """Rests one BUY limit at ``LIMIT`` below the first ask and records when it fills."""

    def __init__(self, config: RestingBuyConfig) -> None:
        super().__init__(config)
        self.fills: list[OrderFilled] = []

    def on_start(self) -> None:
        self.subscribe_quote_ticks(self.cache.instrument_ids()[0])

    def on_quote_tick(self, tick: QuoteTick) -> None:
        if not self.cache.orders():
            order = self.order_factory.limit(tick.instrument_id, OrderSide.BUY, Quantity.from_int(1), Price(LIMIT, 2))
            self.submit_order(order)

    def on_order_filled(self, event: OrderFilled) -> None:
        self.fills.append(event)


def quotes(instrument_id, asks: list[float]) -> list[QuoteTick]:
    return [
        QuoteTick(instrument_id, Price(ask - 0.05, 2), Price(ask, 2), SIZE, SIZE, ts, ts)
        for ts, ask in ((i * MINUTE_NS, ask) for i, ask in enumerate(asks, start=1))
    ]


def fill_after(prob: float, seed: int, asks: list[float]) -> tuple[int | None, float | None]:
    """(index of the quote that filled the resting order, fill price) under the touch fill model."""
    engine = BacktestEngine(BacktestEngineConfig(logging=LoggingConfig(log_level="ERROR")))
    equity = make_equity("TEST")
    engine.add_venue(
        Venue("OPRA"),
        oms_type=OmsType.NETTING,
        account_type=AccountType.MARGIN,
        starting_balances=[Money(1_000_000, USD)],
        fill_model=TouchFillModel(TouchFillModelConfig(prob_fill_on_touch=prob, random_seed=seed)),
        fee_model=PerContractFeeModel(Money(Decimal("0.65"), USD)),
        liquidity_consumption=True,
    )
    engine.add_instrument(equity)
    engine.add_data(quotes(equity.id, asks))
    strategy = RestingBuy(RestingBuyConfig(instrument_id=equity.id.value))
    engine.add_strategy(strategy)
    engine.run()
    fills = strategy.fills
    result = (None, None) if not fills else (int(fills[0].ts_event // MINUTE_NS) - 1, fills[0].last_px.as_double())
    engine.dispose()
    return result


ASKS = [100.10] + [LIMIT] * TOUCHES + [99.95]  # resting, then touched TOUCHES times, then traded through


def test_touches_never_fill_at_probability_zero_but_a_trade_through_does() -> None:
    assert fill_after(0.0, seed=1, asks=ASKS) == (TOUCHES + 1, LIMIT)


def test_the_first_touch_fills_at_probability_one() -> None:
    assert fill_after(1.0, seed=1, asks=ASKS) == (1, LIMIT)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_touch_fills_are_probabilistic_and_repeat_with_the_seed(seed: int) -> None:
    index, price = fill_after(0.3, seed=seed, asks=ASKS)
    assert 1 <= index <= TOUCHES and price == LIMIT
    assert fill_after(0.3, seed=seed, asks=ASKS) == (index, price)


def test_touch_fill_probability_is_about_the_configured_one() -> None:
    waits = [fill_after(0.3, seed=seed, asks=ASKS)[0] for seed in range(40)]
    assert 1.5 < sum(waits) / len(waits) < 6.0  # geometric: mean 1 / 0.3 ~ 3.3 touches
    assert len(set(waits)) > 3


def test_probability_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="prob_fill_on_touch"):
        TouchFillModel(TouchFillModelConfig(prob_fill_on_touch=1.5))
