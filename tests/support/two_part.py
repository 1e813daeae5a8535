"""Shared by the two-part algorithm's backtest tests: one primary order worked in a small fast market."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from nautilus_trader.backtest.engine import BacktestEngine
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.events import OrderCanceled, OrderFilled
from nautilus_trader.model.instruments import OptionSpread
from nautilus_trader.model.orders import Order

from bench.exec_simulation import (
    SECOND_NS,
    OrderScheduleConfig,
    SimMarket,
    SimMarketConfig,
    make_market,
    run_schedule,
)
from hybrid.execution.two_part import REPAIR_TAG, TwoPart, TwoPartConfig
from hybrid.execution.two_part_report import child_orders, result

FIRST_AT_S = 5.0


@dataclass
class Worked:
    """One finished backtest: the engine (disposed by the caller's fixture), the primary and its children."""

    engine: BacktestEngine
    market: SimMarket
    spread: OptionSpread
    algorithm: TwoPart
    primary: Order
    children: list[Order]
    result: dict | None  # None when the run stopped (``until_s``) while the algorithm worked

    @property
    def ladder_children(self) -> list[Order]:
        """Children that are ladder attempts, not balancing orders."""
        return [o for o in self.children if REPAIR_TAG not in (o.tags or ())]

    @property
    def repairs(self) -> list[Order]:
        return [o for o in self.children if REPAIR_TAG in (o.tags or ())]

    def seconds(self, ts_ns: int) -> float:
        return (ts_ns - self.market.start_ns) / SECOND_NS


def work(
    *,
    quantity: int = 20,
    side: str = "BUY",
    params: dict | None = None,
    config: dict | None = None,
    market: dict | None = None,
    prob_fill_on_touch: float = 0.3,
    limit_price: float | None = None,
    instrument: str = "spread",
    cancel_after_seconds: float | None = None,
    until_s: float | None = None,
) -> Worked:
    """Work one primary order (on the 100/105 call vertical, or ``instrument="option"``: the 100 call);
    with ``until_s``, stop the backtest that many seconds after the market's start."""
    sim = make_market(SimMarketConfig(**(market or {})))
    spread = sim.vertical(0, 1)
    target = spread.id if instrument == "spread" else sim.options[0].id
    algorithm = TwoPart(
        TwoPartConfig(**({"stats_db": ":memory:", "log_events": False, "log_commands": False} | (config or {})))
    )
    schedule = OrderScheduleConfig(
        instrument_ids=(target.value,),
        first_at_ns=sim.start_ns + int(FIRST_AT_S * SECOND_NS),
        quantity=quantity,
        sides=(side,),
        limit_price=limit_price,
        exec_algorithm_params=params,
        cancel_after_seconds=cancel_after_seconds,
    )
    end_ns = None if until_s is None else sim.start_ns + int(until_s * SECOND_NS)
    engine = run_schedule(
        sim, (spread,), schedule, algorithm, end_ns, prob_fill_on_touch=prob_fill_on_touch, log_level="ERROR"
    )
    primary = engine.cache.order(engine.trader.strategies()[0].submitted[0])
    return Worked(
        engine,
        sim,
        spread,
        algorithm,
        primary,
        child_orders(engine.cache, primary.client_order_id),
        result(engine.cache, primary.client_order_id),
    )


def leg_positions(worked: Worked) -> dict[str, Decimal]:
    """Net signed quantity held per leg instrument (every fill, synthetic leg fills included)."""
    out = {}
    for leg_id, _ in worked.spread.legs():
        positions = worked.engine.cache.positions(instrument_id=leg_id)
        out[leg_id.value] = sum((p.signed_decimal_qty() for p in positions), Decimal(0))
    return out


def assert_balanced(worked: Worked) -> None:
    """Every leg holds ratio x filled units (in the primary's direction) and nothing is left working."""
    assert worked.result is not None
    units = worked.result["filled_units"] * (1 if worked.primary.side == OrderSide.BUY else -1)
    expected = {leg_id.value: Decimal(ratio * units) for leg_id, ratio in worked.spread.legs()}
    assert leg_positions(worked) == expected
    assert worked.result["balanced"] is True
    assert worked.primary.is_closed
    assert all(child.is_closed for child in worked.children)


def canceled_at(order: Order) -> int | None:
    return next((e.ts_event for e in order.events if isinstance(e, OrderCanceled)), None)


def fills_of(order: Order) -> list[tuple[int, float, float]]:
    return [
        (e.ts_event, e.last_qty.as_double(), e.last_px.as_double()) for e in order.events if isinstance(e, OrderFilled)
    ]
