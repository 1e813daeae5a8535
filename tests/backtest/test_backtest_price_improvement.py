"""The spread demo over the small catalog with and without price improvement inside the natural.

Under ``none`` no spread order fills inside the spread's own market; under ``moderate`` some resting
limits do, at their limit price, strictly inside the aggregated quote of their instant, and two runs
give the same fills.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd
import pytest
from nautilus_trader.model.enums import LiquiditySide, OrderSide
from nautilus_trader.model.events import OrderFilled
from nautilus_trader.model.identifiers import is_generic_spread_id

from hybrid.backtest import run_backtest, write_report
from hybrid.runconfig import load_settings
from hybrid.runconfig.settings import FillSettings, ImprovementSettings

pytestmark = pytest.mark.slow  # three backtests

CONFIG = Path(__file__).resolve().parents[1] / "support" / "backtest_small.toml"
MODERATE = ImprovementSettings(rate_per_minute=0.1, exponent=2.0)
NONDETERMINISTIC = ["event_id", "init_id"]  # a fresh UUID4 per event


@dataclass
class SpreadFill:
    fill: OrderFilled
    limit: float
    bid: float  # the spread's aggregated quote at the fill instant
    ask: float

    @property
    def inside(self) -> bool:
        return self.bid < self.fill.last_px.as_double() < self.ask


@dataclass
class Run:
    report: Path
    summary: dict
    fills: list[SpreadFill]


def run(catalog: Path, out: Path, improvement: ImprovementSettings) -> Run:
    settings = load_settings(CONFIG, catalog=catalog, out=out)
    settings = replace(settings, fill_model=FillSettings(prob_fill_on_touch=0.3, improvement=improvement))
    with run_backtest(settings) as backtest:
        report = write_report(backtest, out)
        cache = backtest.engine.cache
        fills = []
        for order in cache.orders():
            quotes = cache.quote_ticks(order.instrument_id)  # newest first
            for event in order.events:
                if isinstance(event, OrderFilled) and is_generic_spread_id(order.instrument_id):
                    quote = next(q for q in quotes if q.ts_init <= event.ts_event)
                    bid, ask = quote.bid_price.as_double(), quote.ask_price.as_double()
                    fills.append(SpreadFill(event, order.price.as_double(), bid, ask))
    return Run(report, json.loads((report / "summary.json").read_text()), fills)


@pytest.fixture(scope="module")
def none(small_catalog: Path, tmp_path_factory: pytest.TempPathFactory) -> Run:
    return run(small_catalog, tmp_path_factory.mktemp("none") / "report", ImprovementSettings())


@pytest.fixture(scope="module")
def moderate(small_catalog: Path, tmp_path_factory: pytest.TempPathFactory) -> Run:
    return run(small_catalog, tmp_path_factory.mktemp("moderate") / "report", MODERATE)


def test_without_improvement_no_spread_order_fills_inside_its_market(none: Run) -> None:
    assert none.fills
    assert not any(f.inside for f in none.fills)
    improvement = none.summary["fill_model"]["improvement"]
    assert improvement["rate_per_minute"] == 0.0 and improvement["fills"] == 0
    assert "never fill" in none.summary["fill_model"]["description"]


def test_with_moderate_improvement_some_resting_limits_fill_inside_at_their_price(moderate: Run) -> None:
    inside = [f for f in moderate.fills if f.inside]
    assert 0 < len(inside) < len(moderate.fills)  # some, not all
    for f in inside:
        assert f.fill.liquidity_side == LiquiditySide.MAKER and f.fill.last_px.as_double() == f.limit
    block = moderate.summary["fill_model"]
    assert block["improvement"] | {"fills": 0, "orders_offered": 0} == {
        "rate_per_minute": 0.1,
        "exponent": 2.0,
        "applies_to": "spreads",
        "fills": 0,
        "orders_offered": 0,
    }
    assert block["improvement"]["fills"] == len(inside) <= block["improvement"]["orders_offered"]
    assert "0.1 x position ** 2 per minute" in block["description"]
    assert moderate.summary["all_groups_balanced"] is True


def test_improvement_buys_closer_to_mid(none: Run, moderate: Run) -> None:
    def mean_position(r: Run) -> float:  # 0 at the quote's mid, 1 at its ask
        buys = [f for f in r.fills if f.fill.order_side == OrderSide.BUY]
        return sum((f.fill.last_px.as_double() - (f.bid + f.ask) / 2) / ((f.ask - f.bid) / 2) for f in buys) / len(buys)

    assert mean_position(none) >= 1.0 > mean_position(moderate)


def test_the_same_seed_gives_the_same_improved_fills(moderate: Run, small_catalog: Path, tmp_path: Path) -> None:
    again = run(small_catalog, tmp_path / "again", MODERATE)
    for name in ("fills.csv", "leg_fills.csv", "orders.csv"):
        first = pd.read_csv(moderate.report / name).drop(columns=NONDETERMINISTIC, errors="ignore")
        second = pd.read_csv(again.report / name).drop(columns=NONDETERMINISTIC, errors="ignore")
        pd.testing.assert_frame_equal(first, second)
    assert again.summary == moderate.summary
