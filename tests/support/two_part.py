"""Shared by the two-part algorithm's backtest tests: one primary order worked in a small fast market."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from nautilus_trader.backtest.engine import BacktestEngine
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.events import OrderCanceled, OrderFilled
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.instruments import OptionSpread
from nautilus_trader.model.objects import Price
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
from hybrid.options.chain import make_option_spread

FIRST_AT_S = 5.0
VERTICAL = ((0, 1), (1, -1))  # long the first strike, short the second
# an iron condor sold for a credit, as the IV-rank strategy sends it (a BUY at a negative price): puts 90/95,
# calls 105/110 around 100; the bought wings (the 90 put and the 110 call) protect the sold body
CONDOR_MARKET = {"strikes": (90.0, 95.0, 105.0, 110.0), "start_mids": (0.80, 1.60, 1.90, 0.90), "rights": tuple("PPCC")}
CONDOR = ((0, 1), (1, -1), (2, -1), (3, 1))


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
    legs: tuple[tuple[int, int], ...] = VERTICAL,
    quotes: Callable[[SimMarket], None] | None = None,
) -> Worked:
    """Work one primary order on the structure ``legs`` ((strike index, ratio), default the 100/105 call
    vertical), or with ``instrument="option"`` on the first option; with ``until_s``, stop the backtest that
    many seconds after the market's start; ``quotes`` may change the market's quotes before the run."""
    sim = make_market(SimMarketConfig(**(market or {})))
    if quotes is not None:
        quotes(sim)
    spread = make_option_spread([(sim.options[index], ratio) for index, ratio in legs])
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


def no_bid(index: int) -> Callable[[SimMarket], None]:
    """A ``quotes`` change: option ``index`` is quoted 0.00 bid / 0.01 ask (a worthless wing) throughout."""

    def change(sim: SimMarket) -> None:
        option_id: InstrumentId = sim.options[index].id
        zero, penny = Price.from_str("0.00"), Price.from_str("0.01")
        sim.quotes = [
            QuoteTick(q.instrument_id, zero, penny, q.bid_size, q.ask_size, q.ts_event, q.ts_init)
            if q.instrument_id == option_id
            else q
            for q in sim.quotes
        ]

    return change


def round_trips(worked: Worked) -> dict[str, Decimal]:
    """Per leg, the contracts the primary's children both bought and sold (a leg traded back and forth)."""
    bought: dict[str, Decimal] = {}
    sold: dict[str, Decimal] = {}
    for order in worked.children:
        for event in order.events:
            if isinstance(event, OrderFilled) and order.instrument_id != worked.spread.id:
                side = bought if event.order_side == OrderSide.BUY else sold
                key = order.instrument_id.value
                side[key] = side.get(key, Decimal(0)) + event.last_qty.as_decimal()
    return {leg: min(bought[leg], sold[leg]) for leg in bought if leg in sold}


def net_premium(worked: Worked) -> float:
    """What the legs cost per unit filled and share: every fill of every leg order of the primary (balancing
    included), signed as paid like a group's ``entry_premium`` (positive a debit, negative a credit)."""
    assert worked.result is not None
    cash = sum(
        (1 if e.order_side == OrderSide.BUY else -1) * e.last_px.as_double() * e.last_qty.as_double()
        for o in worked.children
        if o.instrument_id != worked.spread.id
        for e in o.events
        if isinstance(e, OrderFilled)
    )
    return cash / worked.result["filled_units"]


def canceled_at(order: Order) -> int | None:
    return next((e.ts_event for e in order.events if isinstance(e, OrderCanceled)), None)


def fills_of(order: Order) -> list[tuple[int, float, float]]:
    return [
        (e.ts_event, e.last_qty.as_double(), e.last_px.as_double()) for e in order.events if isinstance(e, OrderFilled)
    ]
