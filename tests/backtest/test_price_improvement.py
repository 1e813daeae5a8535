"""The inside-natural fill hazard, and the model that applies it inside NautilusTrader's matching engine."""

from __future__ import annotations

import datetime as dt
import itertools
import math
from decimal import Decimal

import pytest
from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
from nautilus_trader.backtest.models import PerContractFeeModel
from nautilus_trader.config import LoggingConfig, StrategyConfig
from nautilus_trader.model.currencies import USD
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.enums import AccountType, LiquiditySide, OmsType, OrderSide
from nautilus_trader.model.events import OrderFilled
from nautilus_trader.model.identifiers import InstrumentId, Venue
from nautilus_trader.model.objects import Money, Price, Quantity
from nautilus_trader.trading.strategy import Strategy

from hybrid.backtest.fill_model import InsideHazard, PriceImprovementFillModel, PriceImprovementFillModelConfig
from hybrid.options.chain import make_option_spread
from hybrid.options.instruments import make_option

MODERATE = InsideHazard(rate_per_minute=0.1, exponent=2.0)
MINUTE_NS = 60_000_000_000
EXPIRY = dt.date(2024, 3, 15)
CALL_100, CALL_105 = make_option("SPY", EXPIRY, "C", 100), make_option("SPY", EXPIRY, "C", 105)
SPREAD = make_option_spread([(CALL_100, 1), (CALL_105, -1)])
START_NS = 1_704_207_600_000_000_000  # 2024-01-02 15:00 UTC
MARKET = {CALL_100.id: (6.00, 6.20), CALL_105.id: (3.10, 3.30)}  # the spread: 2.70 / 3.10, mid 2.90


def test_position_is_zero_at_mid_one_at_the_natural_for_both_sides_and_credits() -> None:
    assert InsideHazard.position(OrderSide.BUY, 2.90, 2.70, 3.10) == pytest.approx(0.0)
    assert InsideHazard.position(OrderSide.BUY, 3.00, 2.70, 3.10) == pytest.approx(0.5)
    assert InsideHazard.position(OrderSide.BUY, 3.10, 2.70, 3.10) == pytest.approx(1.0)
    assert InsideHazard.position(OrderSide.BUY, 2.70, 2.70, 3.10) == pytest.approx(-1.0)
    assert InsideHazard.position(OrderSide.SELL, 2.80, 2.70, 3.10) == pytest.approx(0.5)
    assert InsideHazard.position(OrderSide.SELL, 2.70, 2.70, 3.10) == pytest.approx(1.0)
    assert InsideHazard.position(OrderSide.BUY, -1.00, -1.20, -0.90) == pytest.approx(1 / 3)  # a credit bought
    assert InsideHazard.position(OrderSide.BUY, 1.00, 1.00, 1.00) == math.inf  # locked: takes


def test_the_hazard_rises_from_zero_at_mid_to_certain_at_the_natural() -> None:
    grid = [i / 20 for i in range(-20, 21)]
    chances = [MODERATE.fill_probability(x, 15.0) for x in grid]
    assert all(a <= b for a, b in itertools.pairwise(chances))  # monotone in the position
    assert all(p == 0.0 for x, p in zip(grid, chances, strict=True) if x <= 0)  # at or below mid: never
    assert MODERATE.fill_probability(0.05, 15.0) < 0.01  # just past mid: almost never
    assert 0.0 < MODERATE.fill_probability(0.95, 15.0) < 1.0
    assert MODERATE.fill_probability(1.0, 0.0) == 1.0  # at the natural: certain, however short the rest
    assert MODERATE.fill_probability(0.5, 15.0) == pytest.approx(1 - math.exp(-0.1 * 0.25 * 15))


def test_the_hazard_grows_with_time_and_does_not_depend_on_how_the_time_is_split() -> None:
    assert MODERATE.fill_probability(0.5, 0.0) == 0.0
    assert MODERATE.fill_probability(0.5, 5.0) < MODERATE.fill_probability(0.5, 30.0)
    once = MODERATE.fill_probability(0.5, 20.0)
    per_second = 1 - (1 - MODERATE.fill_probability(0.5, 1 / 60)) ** 1200
    assert per_second == pytest.approx(once, rel=1e-9)


@pytest.mark.parametrize(
    ("rate", "exponent", "field"),
    [(-0.1, 2.0, "rate_per_minute"), (math.nan, 2.0, "rate_per_minute"), (0.1, 0.0, "exponent")],
)
def test_bad_parameters_are_refused_naming_the_field(rate: float, exponent: float, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        InsideHazard(rate, exponent)


@pytest.mark.parametrize(("field", "value"), [("applies_to", "legs"), ("rate_per_minute", -1.0), ("exponent", -2.0)])
def test_the_model_config_refuses_bad_values_naming_the_field(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        PriceImprovementFillModelConfig(**{field: value})


class RestingLimitConfig(StrategyConfig, frozen=True):
    instrument_id: str
    side: str
    price: float


class RestingLimit(Strategy):
    """Rests one limit order on the instrument's first quote and records its fills."""

    def __init__(self, config: RestingLimitConfig) -> None:
        super().__init__(config)
        self.instrument_id = InstrumentId.from_str(config.instrument_id)
        self.fills: list[OrderFilled] = []

    def on_start(self) -> None:
        params = {"disable_vega_pricing": True, "update_interval_seconds": None}
        spread = self.instrument_id == SPREAD.id
        self.subscribe_quote_ticks(
            self.instrument_id, aggregate_spread_quotes=spread, params=params if spread else None
        )

    def on_quote_tick(self, tick: QuoteTick) -> None:
        if tick.instrument_id == self.instrument_id and not self.cache.orders():
            price = Price(self.config.price, 2)
            side = OrderSide[self.config.side]
            self.submit_order(self.order_factory.limit(self.instrument_id, side, Quantity.from_int(5), price))

    def on_order_filled(self, event: OrderFilled) -> None:
        if event.instrument_id == self.instrument_id:  # not the synthetic leg fills
            self.fills.append(event)


def leg_quotes(markets: list[tuple[int, dict[InstrumentId, tuple[float, float]]]]) -> list[QuoteTick]:
    """Each leg quoted at each ``(seconds after START_NS, {leg: (bid, ask)})``."""
    size = Quantity.from_int(50)
    return [
        QuoteTick(leg, Price(bid, 2), Price(ask, 2), size, size, START_NS + s * 1_000_000_000, START_NS + s * 10**9)
        for s, market in markets
        for leg, (bid, ask) in market.items()
    ]


def steady(every_s: int = 60, minutes: int = 120) -> list[QuoteTick]:
    return leg_quotes([(s, MARKET) for s in range(0, minutes * 60 + 1, every_s)])


def rest(
    price: float,
    quotes: list[QuoteTick],
    *,
    side: str = "BUY",
    instrument: InstrumentId = SPREAD.id,
    seed: int = 1,
    rate: float = 0.4,
    applies_to: str = "spreads",
) -> tuple[OrderFilled | None, PriceImprovementFillModel]:
    """The fill of one resting limit (None if it never filled) and the model, after a backtest over ``quotes``."""
    engine = BacktestEngine(BacktestEngineConfig(logging=LoggingConfig(log_level="ERROR", bypass_logging=True)))
    config = PriceImprovementFillModelConfig(
        random_seed=seed, rate_per_minute=rate, exponent=2.0, applies_to=applies_to, prob_fill_on_touch=0.3
    )
    fill_model = PriceImprovementFillModel(config, engine.kernel.clock)
    engine.add_venue(
        Venue("OPRA"),
        oms_type=OmsType.NETTING,
        account_type=AccountType.MARGIN,
        starting_balances=[Money(1_000_000, USD)],
        fill_model=fill_model,
        fee_model=PerContractFeeModel(Money(Decimal("0.65"), USD)),
        liquidity_consumption=True,
    )
    for instrument_ in (CALL_100, CALL_105, SPREAD):
        engine.add_instrument(instrument_)
    engine.add_data(quotes)
    strategy = RestingLimit(RestingLimitConfig(instrument_id=instrument.value, side=side, price=price))
    engine.add_strategy(strategy)
    engine.run()
    engine.dispose()
    assert len(strategy.fills) <= 1  # all at once, or not at all
    return (strategy.fills[0] if strategy.fills else None), fill_model


def minute(fill: OrderFilled | None) -> int | None:
    """The minute after the start in which ``fill`` came (a fill at 12:00 came in minute 12)."""
    return None if fill is None else -(-(fill.ts_event - START_NS) // MINUTE_NS)


def test_a_resting_spread_limit_inside_the_natural_fills_whole_at_its_limit_and_repeats_with_the_seed() -> None:
    fills = [rest(3.00, steady(), seed=seed)[0] for seed in range(12)]  # x = 0.5: mean wait 1 / (0.4 / 4) = 10 min
    filled = [f for f in fills if f is not None]
    assert len(filled) >= 10
    for fill in filled:
        assert fill.last_px == Price(3.00, 2) and fill.last_qty == Quantity.from_int(5)
        assert fill.liquidity_side == LiquiditySide.MAKER and fill.ts_event > START_NS  # never on arrival
    assert len({minute(f) for f in filled}) > 5
    assert [minute(rest(3.00, steady(), seed=seed)[0]) for seed in range(12)] == [minute(f) for f in fills]


def test_the_fill_time_does_not_depend_on_the_quote_frequency() -> None:
    for seed in range(4):
        every_minute = minute(rest(3.00, steady(every_s=60, minutes=60), seed=seed)[0])
        every_second = minute(rest(3.00, steady(every_s=1, minutes=60), seed=seed)[0])
        assert every_minute == every_second  # the same patience, met within the same minute


def test_at_mid_or_with_no_improvement_it_never_fills() -> None:
    assert rest(2.90, steady())[0] is None
    fill, fill_model = rest(3.00, steady(), rate=0.0)
    assert fill is None and not fill_model.fill_limit_inside_spread()
    assert fill_model.assumptions()["improvement"]["orders_offered"] == 0


def test_a_sell_inside_the_natural_fills_too() -> None:
    fill, fill_model = rest(2.80, steady(), side="SELL", seed=2)
    assert fill is not None and fill.last_px == Price(2.80, 2)
    assert fill_model.assumptions()["improvement"] == {
        "rate_per_minute": 0.4,
        "exponent": 2.0,
        "applies_to": "spreads",
        "orders_offered": 1,
        "fills": 1,
    }


def test_single_options_only_when_configured() -> None:
    assert rest(6.15, steady(), instrument=CALL_100.id)[0] is None
    fill, _ = rest(6.15, steady(), instrument=CALL_100.id, applies_to="all")
    assert fill is not None and fill.last_px == Price(6.15, 2)


def test_time_at_a_worse_position_is_not_credited_when_the_market_moves_toward_the_order() -> None:
    # Ten quiet hours with the order at mid, then the short leg moves so that it sits near the natural:
    # the spread goes from 2.70 / 3.10 to 2.52 / 2.92, where 2.90 is at x = 0.9.
    near = {CALL_105.id: (3.28, 3.48)}
    moved_s = 36_000
    quotes = leg_quotes([(0, MARKET), *((moved_s + s, near) for s in range(0, 3_600, 60))])
    minutes = [minute(rest(2.90, quotes, seed=seed)[0]) for seed in range(6)]
    assert all(m is not None and m > moved_s // 60 for m in minutes)  # after the move, never at it
    assert len(set(minutes)) > 2


def test_marketable_and_touching_limits_keep_the_touch_rules() -> None:
    fill, fill_model = rest(3.20, steady())  # through the natural on arrival: fills at once, at the ask
    assert fill is not None and fill.ts_event == START_NS and fill.last_px == Price(3.10, 2)
    assert fill.liquidity_side == LiquiditySide.TAKER
    assert fill_model.assumptions()["improvement"]["orders_offered"] == 0
