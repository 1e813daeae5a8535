"""A small, fast, seeded option market to exercise execution algorithms in a BacktestEngine.

The catalog generator quotes options every few minutes at best, which says nothing about a
2.5-second child order. This market quotes a handful of options of one expiry (calls unless
``rights`` says otherwise) every
``interval_ms`` (sub-second), each leg's mid a mean-reverting random walk in ticks around its
start, with a random width of one to ``max_width_ticks`` ticks and small displayed sizes, so
passive limits are touched some of the time and partial fills happen. Everything is drawn from one ``numpy`` generator: the same
config gives the same quotes.

:func:`build_engine` puts it behind a simulated venue configured like the backtest runner's
(NETTING, MARGIN, per-contract fees, liquidity consumption, the touch fill model and the leg fill
prices of :mod:`hybrid.nautilus_compat.leg_prices`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
from nautilus_trader.backtest.models import PerContractFeeModel
from nautilus_trader.common.events import TimeEvent
from nautilus_trader.config import LoggingConfig, StrategyConfig
from nautilus_trader.execution.algorithm import ExecAlgorithm
from nautilus_trader.model.currencies import USD
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.enums import AccountType, OmsType, OrderSide
from nautilus_trader.model.identifiers import ClientOrderId, ExecAlgorithmId, InstrumentId, Venue, is_generic_spread_id
from nautilus_trader.model.instruments import OptionContract, OptionSpread
from nautilus_trader.model.objects import Money
from nautilus_trader.trading.strategy import Strategy
from scipy.signal import lfilter

from hybrid.backtest.fill_model import TouchFillModel, TouchFillModelConfig
from hybrid.nautilus_compat.leg_prices import price_leg_fills
from hybrid.options.chain import make_option_spread
from hybrid.options.instruments import make_equity, make_option
from hybrid.tracking import GroupTags

SECOND_NS = 1_000_000_000
START = pd.Timestamp("2024-01-02 15:00", tz="UTC")


@dataclass(frozen=True)
class SimMarketConfig:
    """The market: which calls, how long, how often and how they move (prices per share)."""

    underlying: str = "SPY"
    venue: str = "OPRA"
    expiry: dt.date = dt.date(2024, 3, 15)
    strikes: tuple[float, ...] = (100.0, 105.0, 110.0, 115.0)
    start_mids: tuple[float, ...] = (6.00, 3.20, 1.40, 0.55)
    rights: tuple[str, ...] | None = None  # "C" or "P" per strike; None: all calls
    start: pd.Timestamp = START
    seconds: float = 600.0
    interval_ms: int = 250
    tick: float = 0.01
    step_ticks: float = 0.8  # standard deviation of a mid's move per quote, in ticks
    reversion: float = 0.01  # share of a mid's distance from its start taken back per quote
    max_width_ticks: int = 4
    min_size: int = 1
    max_size: int = 12
    seed: int = 1

    def __post_init__(self) -> None:
        if len(self.strikes) != len(self.start_mids) or len(self.strikes) < 2:
            raise ValueError("strikes and start_mids must have the same length, at least 2")
        if self.rights is not None and (len(self.rights) != len(self.strikes) or set(self.rights) - {"C", "P"}):
            raise ValueError(f"rights must be 'C' or 'P' for each strike, got {self.rights}")
        if self.interval_ms < 1 or self.seconds <= 0:
            raise ValueError(f"interval_ms must be >= 1 and seconds > 0, got {self.interval_ms}, {self.seconds}")


@dataclass
class SimMarket:
    """The instruments and quotes of a :class:`SimMarketConfig`."""

    config: SimMarketConfig
    options: list[OptionContract]
    quotes: list[QuoteTick]

    @property
    def start_ns(self) -> int:
        return self.config.start.value

    @property
    def end_ns(self) -> int:
        return self.start_ns + int(self.config.seconds * SECOND_NS)

    def vertical(self, low: int, high: int, ratio: int = 1) -> OptionSpread:
        """Long ``ratio`` of strike index ``low``, short ``ratio`` of strike index ``high``."""
        return make_option_spread([(self.options[low], ratio), (self.options[high], -ratio)])


def make_market(config: SimMarketConfig) -> SimMarket:
    """Draw the quotes of every leg (all legs quote at every interval)."""
    rng = np.random.default_rng(config.seed)
    rights = config.rights or ("C",) * len(config.strikes)
    options = [
        make_option(config.underlying, config.expiry, right, k, config.venue)
        for right, k in zip(rights, config.strikes, strict=True)
    ]
    n = int(config.seconds * 1000 // config.interval_ms)
    ts = (config.start.value + np.arange(n, dtype=np.uint64) * np.uint64(config.interval_ms * 1_000_000)).astype(
        np.uint64
    )
    quotes: list[QuoteTick] = []
    for option, mid0 in zip(options, config.start_mids, strict=True):
        # x[t] = (1 - reversion) x[t-1] + step[t]: mean-reverting, so a long market looks like a short one
        offset = lfilter([1.0], [1.0, config.reversion - 1.0], rng.normal(0.0, config.step_ticks, n))
        mid_ticks = np.maximum(round(mid0 / config.tick) + offset, config.max_width_ticks + 1)
        width = rng.integers(1, config.max_width_ticks + 1, n)
        bid_ticks = np.floor(mid_ticks - width / 2)
        bids = bid_ticks * config.tick
        asks = (bid_ticks + width) * config.tick
        bid_sizes = rng.integers(config.min_size, config.max_size + 1, n).astype(np.float64)
        ask_sizes = rng.integers(config.min_size, config.max_size + 1, n).astype(np.float64)
        quotes.extend(
            QuoteTick.from_raw_arrays_to_list(option.id, 2, 0, bids, asks, bid_sizes, ask_sizes, ts, ts),
        )
    quotes.sort(key=lambda q: q.ts_init)
    return SimMarket(config=config, options=options, quotes=quotes)


def build_engine(
    market: SimMarket,
    *,
    prob_fill_on_touch: float = 0.3,
    seed: int = 7,
    spreads: tuple[OptionSpread, ...] = (),
    log_level: str = "ERROR",
    leg_prices: bool = True,
) -> BacktestEngine:
    """A BacktestEngine with the market's venue, instruments (and ``spreads``) and quotes loaded; its
    spreads' leg fills priced as the backtest runner prices them, or with ``leg_prices=False`` as the
    venue does (:mod:`hybrid.nautilus_compat.leg_prices`)."""
    engine = BacktestEngine(
        BacktestEngineConfig(logging=LoggingConfig(log_level=log_level, bypass_logging=log_level == "OFF")),
    )
    engine.add_venue(
        venue=Venue(market.config.venue),
        oms_type=OmsType.NETTING,
        account_type=AccountType.MARGIN,
        starting_balances=[Money(100_000_000, USD)],
        base_currency=USD,
        fill_model=TouchFillModel(TouchFillModelConfig(prob_fill_on_touch=prob_fill_on_touch, random_seed=seed)),
        fee_model=PerContractFeeModel(Money(0.65, USD)),
        liquidity_consumption=True,
    )
    engine.add_instrument(make_equity(market.config.underlying, market.config.venue))
    for instrument in (*market.options, *spreads):
        engine.add_instrument(instrument)
    engine.add_data(market.quotes)
    if leg_prices:
        kernel = engine.kernel
        price_leg_fills(kernel.msgbus, kernel.cache, kernel.exec_engine)
    return engine


class OrderScheduleConfig(StrategyConfig, frozen=True):
    """``count`` primary orders, one every ``every_seconds`` from ``first_at_ns``, cycling through
    ``instrument_ids`` and ``sides``; a LIMIT at ``limit_price`` (per unit) or, when None, a MARKET primary.
    Each is tagged as its own group (``<group_prefix><n>``); with ``cancel_after_seconds`` each primary
    still open that long after its submission is cancelled (as a strategy that changes its mind).
    """

    instrument_ids: tuple[str, ...]
    first_at_ns: int
    count: int = 1
    every_seconds: float = 1.0
    quantity: int = 10
    sides: tuple[str, ...] = ("BUY",)
    limit_price: float | None = None
    exec_algorithm_id: str = "TwoPart"
    exec_algorithm_params: dict | None = None
    group_prefix: str = "g"
    structure: str = "vertical"
    cancel_after_seconds: float | None = None


class OrderSchedule(Strategy):
    """Submits the primaries of an :class:`OrderScheduleConfig` on clock alerts (no data needed)."""

    def __init__(self, config: OrderScheduleConfig) -> None:
        super().__init__(config)
        self.submitted: list[ClientOrderId] = []

    def on_start(self) -> None:
        for value in self.config.instrument_ids:  # a spread not loaded yet is built from its legs
            instrument_id = InstrumentId.from_str(value)
            if self.cache.instrument(instrument_id) is None and is_generic_spread_id(instrument_id):
                self.request_instrument(instrument_id)
        self.clock.set_time_alert_ns("schedule:0", self.config.first_at_ns, self.on_due)

    def on_due(self, _event: TimeEvent) -> None:
        n = len(self.submitted)
        instrument = self.cache.instrument(
            InstrumentId.from_str(self.config.instrument_ids[n % len(self.config.instrument_ids)])
        )
        side = OrderSide[self.config.sides[n % len(self.config.sides)]]
        tags = GroupTags(f"{self.config.group_prefix}{n}", "manual", self.config.structure).to_tags()
        common = {
            "instrument_id": instrument.id,
            "order_side": side,
            "quantity": instrument.make_qty(self.config.quantity),
            "exec_algorithm_id": ExecAlgorithmId(self.config.exec_algorithm_id),
            "exec_algorithm_params": self.config.exec_algorithm_params,
            "tags": tags,
        }
        if self.config.limit_price is None:
            order = self.order_factory.market(**common)
        else:
            order = self.order_factory.limit(price=instrument.make_price(self.config.limit_price), **common)
        self.submitted.append(order.client_order_id)
        self.submit_order(order)
        if self.config.cancel_after_seconds is not None:
            due = self.clock.timestamp_ns() + int(self.config.cancel_after_seconds * SECOND_NS)
            self.clock.set_time_alert_ns(
                f"cancel:{n}", due, lambda _e, o=order: None if o.is_closed else self.cancel_order(o)
            )
        if len(self.submitted) < self.config.count:
            due = self.clock.timestamp_ns() + int(self.config.every_seconds * SECOND_NS)
            self.clock.set_time_alert_ns(f"schedule:{len(self.submitted)}", due, self.on_due)


def run_schedule(
    market: SimMarket,
    spreads: tuple[OptionSpread, ...],
    schedule: OrderScheduleConfig,
    algorithm: ExecAlgorithm,
    end_ns: int | None = None,
    *,
    prob_fill_on_touch: float = 0.3,
    seed: int = 7,
    log_level: str = "ERROR",
) -> BacktestEngine:
    """Run the market (up to ``end_ns`` when given) with one :class:`OrderSchedule` and ``algorithm``;
    the caller disposes the engine."""
    engine = build_engine(
        market, prob_fill_on_touch=prob_fill_on_touch, seed=seed, spreads=spreads, log_level=log_level
    )
    engine.add_strategy(OrderSchedule(schedule))
    engine.add_exec_algorithm(algorithm)
    engine.run(end=end_ns)
    return engine
