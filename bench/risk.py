"""Risk: the account-wide pre-trade gate's cost per order, and the portfolio stress grid's.

The gate: a NautilusTrader ``Cache`` and ``MessageBus`` hold :data:`GROUPS` open groups in the kernel's group
book (one-unit bull call spreads, fed as the venue delivers their orders and leg fills: :mod:`bench.group_book`),
``2 x GROUPS`` open option positions on distinct strikes (each quoted), the stock's quote and a margin account;
a started :class:`hybrid.risk.account.AccountRisk` judges :data:`SAMPLES` iron condor entries within one
revaluation period (the positions' Greeks valued once, before them) against that book, as every
strategy's trader and the API's submission do: the entry's risk (:func:`hybrid.risk.limits.entry_risk`: Greeks,
max loss, the margin model's requirement) then ``check`` (the account's book: the group book's active groups,
every position's Greeks by the one valuation, the free balance; then each limit). Every check passes (the
limits are wide), so nothing is logged.

The stress grid: :data:`GROUPS` iron condors (4 legs each, spread over strikes and three expiries) repriced by
:func:`hybrid.valuation.stress.stress_grid` over 41 moves (-20% .. +20%) x 21 vol shifts (-10 .. +10 points).

Keys:
  risk_gate_p99_us         p99 of one order's pre-trade check, microseconds (goal: under 1,000)
  risk_gate_median_us      its median
  risk_gate_cpu_p99_us     the same p99 in CPU time of the process (what a loaded, shared machine's
                           preemption does not inflate)
  risk_gate_revalue_median_ms  median of a check that also revalues every position's Greeks (the first check
                           after a position event or ``revalue_seconds``), milliseconds
  risk_gate_open_groups    open groups in the book during the measurement
  risk_gate_positions      open positions valued by each check
  risk_stress_p99_ms       p99 of one 41 x 21 stress grid of every group, milliseconds (goal: under 200)
  risk_stress_median_ms    its median
  risk_stress_cpu_median_ms  its median in CPU time of the process (all threads)
  risk_stress_groups       groups in the grid (legs: 4 each)
"""

from __future__ import annotations

import datetime as dt
import statistics
import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np
from nautilus_trader.common.component import MessageBus
from nautilus_trader.core.uuid import UUID4
from nautilus_trader.model.currencies import USD
from nautilus_trader.model.enums import LiquiditySide, OmsType, OrderSide, OrderType
from nautilus_trader.model.events import OrderFilled
from nautilus_trader.model.identifiers import (
    AccountId,
    ClientOrderId,
    PositionId,
    StrategyId,
    TradeId,
    TraderId,
    VenueOrderId,
)
from nautilus_trader.model.instruments import OptionContract
from nautilus_trader.model.objects import Money, Quantity
from nautilus_trader.model.position import Position
from nautilus_trader.portfolio.portfolio import Portfolio
from nautilus_trader.test_kit.stubs.execution import TestExecStubs

from bench.group_book import EXPIRY, make_market, quote, trade
from hybrid.options import catalogue
from hybrid.options.analytics import AnalysisResult, analyze
from hybrid.options.instruments import make_option
from hybrid.options.legs import Leg
from hybrid.options.pricing import bs_price
from hybrid.risk.account import AccountRisk, AccountRiskConfig
from hybrid.risk.limits import RiskLimitsConfig, entry_risk
from hybrid.valuation.stress import StressLegs, stress_grid

GROUPS = 100
SAMPLES = 1_000
REVALUE_SAMPLES = 30
GRID_SAMPLES = 30
SPOT, RATE, DIVIDEND, VOL = 474.01, 0.045, 0.013, 0.18
ACCOUNT = AccountId("OPRA-001")
WIDE = RiskLimitsConfig(max_open_groups=1_000, max_abs_delta=1e9, max_abs_vega=1e9, max_loss_per_group=1e9)


def _position(n: int, contract: OptionContract, quantity: int, price: float) -> Position:
    fill = OrderFilled(
        trader_id=TraderId("BENCH-001"),
        strategy_id=StrategyId("Book-000"),
        instrument_id=contract.id,
        client_order_id=ClientOrderId(f"P-{n}"),
        venue_order_id=VenueOrderId(f"V-{n}"),
        account_id=ACCOUNT,
        trade_id=TradeId(f"T-{n}"),
        position_id=PositionId(f"POS-{n}"),
        order_side=OrderSide.BUY if quantity > 0 else OrderSide.SELL,
        order_type=OrderType.LIMIT,
        last_qty=Quantity.from_int(abs(quantity)),
        last_px=contract.make_price(price),
        currency=USD,
        commission=Money(0, USD),
        liquidity_side=LiquiditySide.MAKER,
        event_id=UUID4(),
        ts_event=0,
        ts_init=0,
    )
    return Position(contract, fill)


def _gate(revalue_seconds: float = 1.0) -> AccountRisk:
    """The started gate over a book of :data:`GROUPS` open groups and ``2 x GROUPS`` quoted option positions."""
    market = make_market()
    for n in range(GROUPS):
        trade(market, f"G-{n:04d}", OrderSide.BUY)
    years = (EXPIRY - dt.date(2023, 11, 14)).days / 365
    for n in range(GROUPS):
        for leg, (strike, quantity) in enumerate(((400 + n, 1), (405 + n, -1))):
            contract = make_option("SPY", EXPIRY, "call", strike)
            market.cache.add_instrument(contract)
            price = max(float(bs_price(SPOT, strike, years, VOL, True, RATE, DIVIDEND)), 0.05)
            quote(market.cache, contract, f"{price - 0.02:.2f}", f"{price + 0.02:.2f}")
            market.cache.add_position(_position(2 * n + leg, contract, quantity, price), OmsType.NETTING)
    market.cache.add_account(TestExecStubs.margin_account(ACCOUNT))
    msgbus: MessageBus = market.msgbus
    gate = AccountRisk(AccountRiskConfig(limits=WIDE, rate=RATE, dividend=DIVIDEND, revalue_seconds=revalue_seconds))
    gate.register_base(Portfolio(msgbus, market.cache, market.clock), msgbus, market.cache, market.clock)
    gate.on_start()
    return gate


def _condor_entry() -> tuple[list[Leg], AnalysisResult]:
    """An iron condor per unit, its legs priced by Black-Scholes, and its analysis (what the trader proposes)."""
    as_of = dt.date(2023, 11, 14)
    legs = catalogue.build("iron_condor", [440, 450, 500, 510], [EXPIRY])
    years = (EXPIRY - as_of).days / 365
    priced = [
        replace(leg, price=float(bs_price(SPOT, leg.strike or 0.0, years, VOL, leg.kind == "call", RATE, DIVIDEND)))
        for leg in legs
    ]
    return priced, analyze(priced, SPOT, VOL, RATE, DIVIDEND, as_of)


def _check_times(gate: AccountRisk, samples: int, clock: Callable[[], float] = time.perf_counter) -> list[float]:
    legs, analysis = _condor_entry()
    times = []
    for _ in range(samples):
        t0 = clock()
        refusal = gate.check("manual", "iron_condor", 2, entry_risk(legs, 2, SPOT, analysis, 100))
        times.append(clock() - t0)
        if refusal is not None:
            raise RuntimeError(f"the bench's entry was refused: {refusal}")
    return times


def _gate_figures() -> dict:
    gate = _gate()
    gate.greeks()  # the first check of the period values the positions; the measured ones are within it
    times = _check_times(gate, SAMPLES)
    cpu = _check_times(gate, SAMPLES, time.process_time)
    cold = _check_times(_gate(revalue_seconds=0.0), REVALUE_SAMPLES)
    return {
        "risk_gate_p99_us": round(float(np.percentile(times, 99)) * 1e6, 1),
        "risk_gate_cpu_p99_us": round(float(np.percentile(cpu, 99)) * 1e6, 1),
        "risk_gate_median_us": round(statistics.median(times) * 1e6, 1),
        "risk_gate_revalue_median_ms": round(statistics.median(cold) * 1e3, 2),
        "risk_gate_open_groups": gate.book().open_groups,
        "risk_gate_positions": len(gate.cache.positions_open()),
    }


def _condors() -> StressLegs:
    """:data:`GROUPS` iron condors, 4 legs each, on strikes around spot and three expiries."""
    n = np.repeat(np.arange(GROUPS), 4)
    offsets = np.tile([-30.0, -20.0, 20.0, 30.0], GROUPS) + (n % 10) - 5
    strikes = np.asarray(SPOT + offsets, dtype=np.float64)
    calls = np.tile([False, False, True, True], GROUPS)
    years = np.array([20.0, 35.0, 50.0])[n % 3] / 365
    ivs = np.full(n.size, VOL) + np.tile([0.03, 0.015, -0.01, -0.005], GROUPS)
    weights = np.tile([100.0, -100.0, -100.0, 100.0], GROUPS)
    marks = bs_price(SPOT, strikes, years, ivs, calls, RATE, DIVIDEND)
    return StressLegs(n, np.ones(n.size, bool), calls, strikes, years, ivs, weights, marks, np.full(n.size, SPOT))


def _stress_figures() -> dict:
    legs = _condors()
    moves, shifts = np.linspace(-0.2, 0.2, 41), np.linspace(-10.0, 10.0, 21)
    times, cpu = [], []
    for _ in range(GRID_SAMPLES):
        t0, c0 = time.perf_counter(), time.process_time()
        stress_grid(legs, GROUPS, moves, shifts, 0.0, RATE, DIVIDEND)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return {
        "risk_stress_p99_ms": round(float(np.percentile(times, 99)) * 1e3, 2),
        "risk_stress_median_ms": round(statistics.median(times) * 1e3, 2),
        "risk_stress_cpu_median_ms": round(statistics.median(cpu) * 1e3, 2),
        "risk_stress_groups": GROUPS,
    }


def run(quick: bool = False) -> dict:
    """The gate's and the stress grid's figures (``quick`` changes nothing: both take a few seconds)."""
    return _gate_figures() | _stress_figures()
