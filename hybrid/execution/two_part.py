"""The two-part split: an ExecAlgorithm that works a multi-leg order near mid, in two parts, on a ladder.

A strategy routes a primary order (LIMIT or MARKET, on an ``OptionSpread`` or a single
``OptionContract``) here with ``exec_algorithm_id=ExecAlgorithmId("TwoPart")`` and optional
``exec_algorithm_params`` (names in :mod:`hybrid.execution.two_part_params`). The algorithm:

1. splits the N units into a first part of about ``first_fraction`` and a second part of the rest
   (whole units, each at least 1; one unit is one part);
2. works each part with limit children priced on a ladder from mid toward the natural price
   (:mod:`hybrid.execution.ladder`), starting at the rung that usually fills
   (:mod:`hybrid.execution.fill_stats`); a child not filled within ``child_timeout_seconds`` is
   cancelled, the next attempt waits a random ``wait_min_seconds``-``wait_max_seconds`` (seeded)
   and steps one rung up; a finished part is also followed by such a wait;
3. stops after ``max_attempts`` attempts of a part or at ``deadline_seconds``; the remainder is then
   cancelled, or (``on_deadline="complete"``) tried once more at the ladder's bound;
4. brings the legs it traded to ratio x filled units (:func:`hybrid.execution.balancing.plan_repairs`)
   after every attempt and at the end, with marketable leg orders tagged ``two_part=repair``; in
   legging mode it then records the units for the group view (:mod:`hybrid.tracking.legged`);
5. closes the primary with a local ``OrderCanceled`` (it never reaches the venue; its children
   carry the fills) and leaves a JSON summary in the cache under ``TwoPart:<primary id>``.

Modes. ``combo``: each child is an order on the spread itself (``spawn_limit``, same instrument as
the primary). ``legging``: each child is an order on one leg. ``spawn_*`` only makes orders on the
primary's instrument, and a spawned order is submitted with the primary's position id, which
NautilusTrader pins to the first child fill's position: under NETTING a spawned order on another
leg is then denied. So leg orders (legging children and every balancing order) are built by the
algorithm as its own ``LimitOrder`` s: ``exec_algorithm_id`` = this algorithm, ``exec_spawn_id`` =
their own id, client order id ``<primary id>-L<n>``, the primary's strategy id and group tags; they
go through ``submit_order`` (risk engine, venue) and the strategy sees all their events. The legs
this trade buys (the protective ones) go first; the legs it sells follow for the units the bought
legs cover; a unit counts once its protective legs are bought, and any short leg still missing
after its attempt is completed at once with a marketable order (an excess partial unit of a
protective leg is unwound). A trade that only sells legs sends them together and unwinds the
excess. Single contracts are worked as combo.

Only clock alerts drive it (timeouts, waits, the deadline, and an "end of instant" alert after
each attempt so that every leg fill of the instant is in): simulated time in a backtest, wall time
in a live node.

The primary stays ``INITIALIZED`` while it is worked (``reduce_primary=False``: its quantity is not
reduced, so nothing needs restoring when a child is cancelled). A strategy that cancels the
primary stops the algorithm: working children are cancelled, the legs balanced, nothing completed.
"""

from __future__ import annotations

import dataclasses
import json
import math
import random
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum

import pandas as pd
from nautilus_trader.cache.base import CacheFacade
from nautilus_trader.common.component import TestClock
from nautilus_trader.common.events import TimeEvent
from nautilus_trader.core.uuid import UUID4
from nautilus_trader.execution.algorithm import ExecAlgorithm
from nautilus_trader.execution.config import ExecAlgorithmConfig
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.enums import OptionKind, OrderSide, OrderType
from nautilus_trader.model.events import (
    OrderCanceled,
    OrderDenied,
    OrderEvent,
    OrderExpired,
    OrderFilled,
    OrderRejected,
)
from nautilus_trader.model.identifiers import ClientOrderId, ExecAlgorithmId, InstrumentId, StrategyId
from nautilus_trader.model.instruments import Instrument, OptionContract, OptionSpread
from nautilus_trader.model.orders import LimitOrder, Order

from hybrid.execution.balancing import LegHolding, Repair, plan_repairs
from hybrid.execution.fill_stats import TABLE_KEYS, TABLE_METRICS, Attempt, FillStats
from hybrid.execution.ladder import (
    Ladder,
    Market,
    TickRule,
    build_ladder,
    combine,
    market_of,
    marketable_price,
    parse_tick_rule,
)
from hybrid.execution.two_part_params import TwoPartParams, resolve_params, split_units
from hybrid.store.db import Database, default_db_path
from hybrid.tracking.legged import LeggedUnits, record_legged_units

ALGORITHM_ID = "TwoPart"
RESULT_KEY_PREFIX = "TwoPart:"
LEG_FILL_MARKER = "-LEG-"
REPAIR_TAG = "two_part=repair"  # on balancing orders, beside the group tags
SECOND_NS = 1_000_000_000


class TwoPartConfig(ExecAlgorithmConfig, frozen=True):
    """Defaults for every order (the per-order params override the first six; the limit price is the
    primary's own or its ``limit_price`` param), timing, pricing and statistics.

    ``bound_fraction``: how far toward the natural price the ladder ends (1.0 = the natural).
    ``seed``: the waits' random generator (None: unseeded, for live trading).
    ``leg_tick_rule``: ticks of leg orders (``penny`` or ``nickel_dime``; spreads use their increment).
    ``repair_slippage_ticks``/``max_repair_rounds``: balancing orders (limits beyond the natural
    that rest for ``child_timeout_seconds`` so fresh quotes can fill them; a round that leaves a
    gap is followed by another, up to the maximum).
    ``spread_quotes``: subscribe the spread's quotes aggregated from its legs (a backtest venue
    matches spread orders only on spread quotes; leave False in a live node, where the aggregation
    fails in 1.231 and the venue quotes the combo itself). With it, a combo order waits for the
    spread's first quote before its first child: the simulated venue rejects a spread order it has
    no market for by stopping the backtest.
    ``stats_db``: SQLite file of the fill statistics (None: ``$HYBRID_DB`` or state/hybrid.sqlite);
    ``stats_scope``: their scope (None: ``backtest`` under a simulated clock, else ``live``);
    ``stats_flush_rows``: rows per write in a backtest (live writes when each order ends).
    ``adapt*``: the starting-rung rule of :mod:`hybrid.execution.fill_stats`.
    """

    exec_algorithm_id: ExecAlgorithmId | None = ExecAlgorithmId(ALGORITHM_ID)
    mode: str = "combo"
    first_fraction: float = 0.35
    ladder_steps: int = 4
    max_attempts: int = 5
    deadline_seconds: float = 180.0
    on_deadline: str = "cancel"
    bound_fraction: float = 1.0
    child_timeout_seconds: float = 2.5
    wait_min_seconds: float = 3.0
    wait_max_seconds: float = 15.0
    seed: int | None = 0
    leg_tick_rule: str = "penny"
    repair_slippage_ticks: int = 2
    max_repair_rounds: int = 5
    spread_quotes: bool = True
    stats_db: str | None = None
    stats_scope: str | None = None
    stats_flush_rows: int = 200
    adapt: bool = True
    adapt_min_samples: int = 20
    adapt_target_fill_rate: float = 0.5

    def __post_init__(self) -> None:
        self.defaults()  # the per-order defaults are checked like per-order params
        parse_tick_rule(self.leg_tick_rule)
        checks = (
            ("bound_fraction", self.bound_fraction >= 0, "a number >= 0", self.bound_fraction),
            ("child_timeout_seconds", self.child_timeout_seconds > 0, "> 0", self.child_timeout_seconds),
            (
                "wait_min_seconds",
                0 <= self.wait_min_seconds <= self.wait_max_seconds,
                "between 0 and wait_max_seconds",
                self.wait_min_seconds,
            ),
            ("repair_slippage_ticks", self.repair_slippage_ticks >= 0, "an integer >= 0", self.repair_slippage_ticks),
            ("max_repair_rounds", self.max_repair_rounds >= 1, "an integer >= 1", self.max_repair_rounds),
            ("stats_flush_rows", self.stats_flush_rows >= 1, "an integer >= 1", self.stats_flush_rows),
            ("adapt_min_samples", self.adapt_min_samples >= 1, "an integer >= 1", self.adapt_min_samples),
            ("adapt_target_fill_rate", 0 < self.adapt_target_fill_rate <= 1, "in (0, 1]", self.adapt_target_fill_rate),
        )
        for name, ok, valid, value in checks:
            if not ok:
                raise ValueError(f"TwoPartConfig.{name} must be {valid}, got {value!r}")

    def defaults(self) -> TwoPartParams:
        return TwoPartParams(
            mode=self.mode,
            first_fraction=self.first_fraction,
            limit_price=None,
            ladder_steps=self.ladder_steps,
            max_attempts=self.max_attempts,
            deadline_seconds=self.deadline_seconds,
            on_deadline=self.on_deadline,
        )


class Phase(Enum):
    LADDER = "ladder"  # a combo (or single contract) child is working
    PROTECT = "protect"  # legging: the legs this trade buys are working
    SHORT = "short"  # legging: the legs this trade sells are working
    REPAIR = "repair"  # balancing orders are working
    WAIT = "wait"  # between attempts
    DONE = "done"


@dataclass(eq=False)
class _Leg:
    """One leg of the structure: signed ratio per unit, which way this trade moves it, what it traded."""

    instrument: Instrument
    ratio: int
    direction: int  # +1: this trade buys the leg, -1: sells it
    role: str  # fill-statistics name: buy_call, sell_put, ...
    held: Decimal = Decimal(0)  # signed quantity this run has traded on the leg
    rung: int = 0  # the rung of the current attempt
    opened: Decimal = Decimal(0)  # quantity its leg orders filled in ``direction`` (the premium's VWAP)
    opened_notional: float = 0.0


@dataclass(eq=False)
class _Run:
    """The state of one primary order being worked."""

    primary: Order
    params: TwoPartParams
    instrument: Instrument
    legs: list[_Leg]
    underlying: str
    combo: bool  # children on the primary's instrument (combo mode or a single contract)
    parts: tuple[int, ...]
    part: int = 0
    attempt: int = 0
    filled_units: int = 0
    spread_filled: Decimal = Decimal(0)
    phase: Phase = Phase.LADDER
    working: set[ClientOrderId] = field(default_factory=set)
    spread_children: list[str] = field(default_factory=list)
    ending: str | None = None  # deadline | attempts | cancelled | unbalanced
    halting: bool = False
    completing: bool = False
    deadline_fired: bool = False
    repair_rounds: int = 0
    children: int = 0
    timers: int = 0
    wait_timer: str | None = None

    @property
    def units(self) -> int:
        return sum(self.parts)

    @property
    def goal(self) -> int:
        """Units filled once the current part is done: the next part's size is what is left."""
        return sum(self.parts[: self.part + 1])

    @property
    def unit_sign(self) -> int:
        return 1 if self.primary.side == OrderSide.BUY else -1

    @property
    def mode(self) -> str:
        return "combo" if self.combo else "legging"


@dataclass(eq=False)
class _Child:
    """One child order and what it has filled."""

    run: _Run
    order: Order
    leg: _Leg | None  # None: a spread order (its leg fills arrive as synthetic fills)
    role: str
    step: int
    mid: float
    record: bool  # ladder children are fill statistics; balancing orders are not
    filled: Decimal = Decimal(0)
    notional: float = 0.0
    first_fill_ns: int | None = None


class TwoPart(ExecAlgorithm):
    """The two-part split execution algorithm (module docstring; docs/execution.md)."""

    def __init__(self, config: TwoPartConfig | None = None) -> None:
        super().__init__(config or TwoPartConfig())
        self._defaults = self.config.defaults()
        self._leg_rule = parse_tick_rule(self.config.leg_tick_rule)
        self._rng = random.Random(self.config.seed)
        self._runs: dict[ClientOrderId, _Run] = {}
        self._children: dict[ClientOrderId, _Child] = {}
        self._spread_child_runs: dict[str, _Run] = {}
        self._strategies: set[StrategyId] = set()
        self._quoted: set[InstrumentId] = set()
        self._awaiting: dict[InstrumentId, list[_Run]] = {}  # combo runs waiting for their spread's first quote
        self._flush_each_order = False
        self.stats: FillStats | None = None
        self.scope = ""
        self.run_id = ""

    # -- lifecycle ----------------------------------------------------------------------------

    def on_start(self) -> None:
        path = self.config.stats_db if self.config.stats_db is not None else default_db_path()
        self.stats = FillStats(Database(path), flush_rows=self.config.stats_flush_rows)
        simulated = isinstance(self.clock, TestClock)
        self.scope = self.config.stats_scope or ("backtest" if simulated else "live")
        self._flush_each_order = not simulated  # live: few orders, and readers want them at once
        self.run_id = f"{self.trader_id}-{self.id}-{uuid.uuid4().hex[:12]}"

    def on_stop(self) -> None:
        if self.stats is not None:
            self.stats.flush()

    def on_dispose(self) -> None:
        if self.stats is not None:
            self.stats.flush()
            self.stats.db.close()

    def on_reset(self) -> None:
        self._runs.clear()
        self._children.clear()
        self._spread_child_runs.clear()
        self._strategies.clear()
        self._quoted.clear()
        self._awaiting.clear()
        self._rng = random.Random(self.config.seed)

    def fill_rate_table(self, this_run_only: bool = True) -> pd.DataFrame:
        """The fill-rate table (:meth:`FillStats.table`) of this algorithm run, or of its whole scope."""
        if self.stats is None:
            raise RuntimeError("the TwoPart algorithm has not been started")
        if this_run_only:
            return self.stats.table(run_id=self.run_id)
        return self.stats.table(scope=self.scope)

    # -- primary orders -----------------------------------------------------------------------

    def on_order(self, order: Order) -> None:
        try:
            run = self._new_run(order)
        except ValueError as e:
            self.log.error(f"{order.client_order_id}: {e}")
            self._deny(order, str(e))
            return
        self._runs[order.client_order_id] = run
        self._follow_strategy(order.strategy_id)
        self._subscribe_quotes(run)
        deadline_ns = self.clock.timestamp_ns() + int(run.params.deadline_seconds * SECOND_NS)
        self.clock.set_time_alert_ns(self._deadline_name(run), deadline_ns, lambda _e, r=run: self._on_deadline(r))
        self._start_attempt(run)

    def _new_run(self, primary: Order) -> _Run:
        instrument = self.cache.instrument(primary.instrument_id)
        if instrument is None:
            raise ValueError(f"instrument {primary.instrument_id} is not in the cache")
        if primary.order_type not in (OrderType.LIMIT, OrderType.MARKET):
            raise ValueError("the primary order must be a LIMIT or MARKET order")
        params = resolve_params(self._defaults, primary.exec_algorithm_params)
        if params.limit_price is None and primary.order_type == OrderType.LIMIT:
            params = dataclasses.replace(params, limit_price=primary.price.as_double())
        units = primary.quantity.as_double()
        if not units.is_integer():
            raise ValueError(f"the primary quantity must be whole units, got {primary.quantity}")
        unit_sign = 1 if primary.side == OrderSide.BUY else -1
        if isinstance(instrument, OptionSpread):
            legs = []
            for leg_id, ratio in instrument.legs():
                leg = self.cache.instrument(leg_id)
                if leg is None:
                    raise ValueError(f"leg {leg_id} of {instrument.id} is not in the cache")
                legs.append(_make_leg(leg, ratio, unit_sign))
            combo = params.mode == "combo"
        else:
            legs = [_make_leg(instrument, 1, unit_sign)]
            combo = True
        first_leg = legs[0].instrument
        underlying = getattr(first_leg, "underlying", None) or first_leg.id.symbol.value
        return _Run(
            primary=primary,
            params=params,
            instrument=instrument,
            legs=legs,
            underlying=underlying,
            combo=combo,
            parts=split_units(int(units), params.first_fraction),
        )

    def on_order_canceled(self, event: OrderCanceled) -> None:
        run = self._runs.get(event.client_order_id)
        if run is not None:  # the primary: cancelled by its strategy, or closed by _finish
            if run.phase != Phase.DONE:
                run.ending = run.ending or "cancelled"
                self._halt(run)
            return
        self._child_closed(event)

    def on_order_expired(self, event: OrderExpired) -> None:
        self._child_closed(event)

    def on_order_rejected(self, event: OrderRejected) -> None:
        self._child_closed(event)

    def on_order_denied(self, event: OrderDenied) -> None:
        self._child_closed(event)

    # -- attempts -----------------------------------------------------------------------------

    def _start_attempt(self, run: _Run) -> None:
        """Submit the children of one attempt; an attempt that cannot be priced ends at once."""
        if run.combo and self._awaits_spread_quote(run):
            run.phase = Phase.WAIT  # not an attempt: the venue cannot take the order yet (on_quote_tick)
            self._awaiting.setdefault(run.instrument.id, []).append(run)
            return
        if run.combo:
            run.phase = Phase.LADDER
            self._submit_combo_child(run)
        elif self._price_legs(run):
            # the legs this trade buys go first; a trade that only sells legs sends them all at once
            bought = [leg for leg in run.legs if leg.direction > 0]
            run.phase = Phase.PROTECT if bought else Phase.SHORT
            for leg in bought or run.legs:
                self._submit_leg_child(run, leg, run.goal)
        if not run.working:
            self._schedule_settle(run)

    def _submit_combo_child(self, run: _Run) -> None:
        leg = None if self._is_spread(run) else run.legs[0]  # a single contract is its own leg
        ladder = self._ladder(run, run.instrument, run.primary.side, leg)
        quantity = run.goal - run.filled_units
        if ladder is None or quantity <= 0:
            return
        role = "combo" if leg is None else leg.role
        rung = self._rung(run, role, ladder.steps)
        order = self.spawn_limit(
            run.primary,
            run.instrument.make_qty(quantity),
            run.instrument.make_price(ladder.price(rung)),
            reduce_primary=False,
            tags=run.primary.tags,
        )
        self._submit(run, order, leg, role, rung, ladder.mid, record=True)

    def _price_legs(self, run: _Run) -> bool:
        """Each leg's rung for this attempt, stepped back together while the net price breaks the limit."""
        ladders = []
        for leg in run.legs:
            ladder = self._ladder(run, leg.instrument, _side(leg.direction), leg)
            if ladder is None:
                self.log.warning(f"{run.primary.client_order_id}: no quote for {leg.instrument.id}, attempt skipped")
                return False
            ladders.append(ladder)
            leg.rung = self._rung(run, leg.role, ladder.steps)
        limit = run.params.limit_price
        while limit is not None:
            net = sum(leg.ratio * ladder.price(leg.rung) for leg, ladder in zip(run.legs, ladders, strict=True))
            if (net <= limit + 1e-9) if run.unit_sign > 0 else (net >= limit - 1e-9):
                break
            if all(leg.rung == 0 for leg in run.legs):
                self.log.warning(
                    f"{run.primary.client_order_id}: legs at mid cost {net:.2f} per unit, beyond the limit {limit}"
                )
                return False
            for leg in run.legs:
                leg.rung = max(leg.rung - 1, 0)
        return True

    def _submit_leg_child(self, run: _Run, leg: _Leg, units: int) -> None:
        """A ladder order for what the leg still lacks toward ``units`` units."""
        quantity = abs(leg.ratio) * units - max(Decimal(0), leg.held * leg.direction)
        ladder = self._ladder(run, leg.instrument, _side(leg.direction), leg)
        if quantity <= 0 or ladder is None:
            return
        order = self._leg_order(run, leg, _side(leg.direction), quantity, ladder.price(leg.rung))
        self._submit(run, order, leg, leg.role, leg.rung, ladder.mid, record=True)

    def _submit_shorts(self, run: _Run) -> bool:
        """Legging: sell the legs this trade sells, for the units the bought legs cover."""
        run.phase = Phase.SHORT
        covered = self._covered_units(run)
        for leg in run.legs:
            if leg.direction < 0:
                self._submit_leg_child(run, leg, covered)
        return bool(run.working)

    def _rung(self, run: _Run, role: str, steps: int) -> int:
        if run.completing:
            return steps
        start = 0
        if self.config.adapt:
            key = (self.scope, run.underlying, run.mode, role, steps)
            start = self.stats.start_step(key, self.config.adapt_min_samples, self.config.adapt_target_fill_rate)
        return min(start + run.attempt, steps)

    def _ladder(self, run: _Run, instrument: Instrument, side: OrderSide, leg: _Leg | None) -> Ladder | None:
        """The ladder of a spread (from its legs' quotes) or of one leg/contract; None without quotes."""
        if leg is None:
            markets = [self._market(each.instrument) for each in run.legs]
            if any(m is None for m in markets):
                return None
            market = combine(zip(markets, (each.ratio for each in run.legs), strict=True))
            rule = TickRule.INSTRUMENT
        else:
            market = self._market(instrument)
            if market is None:
                return None
            rule = self._leg_rule
        limit = run.params.limit_price if instrument.id == run.instrument.id else None
        return build_ladder(
            market,
            side,
            run.params.ladder_steps,
            bound_fraction=self.config.bound_fraction,
            limit=limit,
            rule=rule,
            increment=instrument.price_increment.as_double(),
        )

    def _market(self, instrument: Instrument) -> Market | None:
        quote = self.cache.quote_tick(instrument.id)
        if quote is None or quote.ask_price < quote.bid_price:
            return None
        return market_of(quote)

    # -- children -----------------------------------------------------------------------------

    def _leg_order(
        self, run: _Run, leg: _Leg, side: OrderSide, quantity: Decimal, price: float, repair: bool = False
    ) -> LimitOrder:
        """An order on a leg of the primary's structure (see the module docstring for why it is not spawned)."""
        run.children += 1
        primary = run.primary
        client_order_id = ClientOrderId(f"{primary.client_order_id.value}-L{run.children}")
        return LimitOrder(
            trader_id=primary.trader_id,
            strategy_id=primary.strategy_id,
            instrument_id=leg.instrument.id,
            client_order_id=client_order_id,
            order_side=side,
            quantity=leg.instrument.make_qty(quantity),
            price=leg.instrument.make_price(price),
            init_id=UUID4(),
            ts_init=self.clock.timestamp_ns(),
            exec_algorithm_id=self.id,
            exec_algorithm_params=dict(primary.exec_algorithm_params) if primary.exec_algorithm_params else None,
            exec_spawn_id=client_order_id,  # its own: a spawned order would take the primary's position id
            tags=[*(primary.tags or ()), *((REPAIR_TAG,) if repair else ())] or None,
        )

    def _submit(
        self, run: _Run, order: Order, leg: _Leg | None, role: str, step: int, mid: float, record: bool
    ) -> None:
        child = _Child(run=run, order=order, leg=leg, role=role, step=step, mid=mid, record=record)
        self._children[order.client_order_id] = child
        run.working.add(order.client_order_id)
        if leg is None:
            run.spread_children.append(order.client_order_id.value)
            self._spread_child_runs[order.client_order_id.value] = run
        timeout_ns = self.clock.timestamp_ns() + int(self.config.child_timeout_seconds * SECOND_NS)
        self.clock.set_time_alert_ns(f"{order.client_order_id.value}:timeout", timeout_ns, self._on_child_timeout)
        if not order.is_spawned:  # a leg order: announce it as submit_order does for spawned ones
            self.cache.add_order(order)
            self.msgbus.publish(f"events.order.{order.strategy_id}", order.init_event)
        self.submit_order(order)

    def _on_child_timeout(self, event: TimeEvent) -> None:
        child_id = ClientOrderId(event.name.rpartition(":")[0])
        if child_id in self._children:
            self._cancel_if_open(child_id)

    def _cancel_if_open(self, child_id: ClientOrderId) -> None:
        order = self.cache.order(child_id)
        if order is not None and not order.is_closed and not order.is_pending_cancel:
            self.cancel_order(order)

    def on_order_filled(self, event: OrderFilled) -> None:
        child = self._children.get(event.client_order_id)
        if child is None:
            return
        qty = event.last_qty.as_decimal()
        child.filled += qty
        child.notional += event.last_px.as_double() * float(qty)
        if child.first_fill_ns is None:
            child.first_fill_ns = event.ts_event
        signed = qty if event.order_side == OrderSide.BUY else -qty
        if child.leg is None:
            child.run.spread_filled += qty
        else:
            child.leg.held += signed
            if signed * child.leg.direction > 0:
                child.leg.opened += qty
                child.leg.opened_notional += event.last_px.as_double() * float(qty)
        if child.order.is_closed:
            self._child_closed(event)

    def _on_strategy_event(self, event: object) -> None:
        """Synthetic leg fills of spread children: they belong to no order, so only the topic shows them."""
        if not isinstance(event, OrderFilled):
            return
        parent, marker, _ = event.client_order_id.value.rpartition(LEG_FILL_MARKER)
        run = self._spread_child_runs.get(parent) if marker else None
        if run is None:
            return
        qty = event.last_qty.as_decimal()
        for leg in run.legs:
            if leg.instrument.id == event.instrument_id:
                leg.held += qty if event.order_side == OrderSide.BUY else -qty

    def _child_closed(self, event: OrderEvent) -> None:
        child = self._children.pop(event.client_order_id, None)
        if child is None:
            return
        run = child.run
        run.working.discard(event.client_order_id)
        if child.record:
            self._record(child)
        if not run.working:
            self._schedule_settle(run)

    def _record(self, child: _Child) -> None:
        order, filled = child.order, float(child.filled)
        avg_px = round(child.notional / filled, 6) if filled else None
        sign = 1 if order.side == OrderSide.BUY else -1
        self.stats.record(
            Attempt(
                scope=self.scope,
                run_id=self.run_id,
                ts_submit=order.ts_init,
                underlying=child.run.underlying,
                mode=child.run.mode,
                part=child.run.part + 1,
                ladder_steps=child.run.params.ladder_steps,
                step=child.step,
                leg=child.role,
                instrument_id=order.instrument_id.value,
                side="BUY" if sign > 0 else "SELL",
                quantity=order.quantity.as_double(),
                filled=filled,
                price=order.price.as_double(),
                mid=child.mid,
                avg_px=avg_px,
                slippage=None if avg_px is None else round(sign * (avg_px - child.mid), 6),
                time_to_fill_s=None
                if child.first_fill_ns is None
                else (child.first_fill_ns - order.ts_init) / SECOND_NS,
            ),
        )

    # -- between attempts ---------------------------------------------------------------------

    def _schedule_settle(self, run: _Run) -> None:
        """Continue at the end of this instant, once every (synthetic leg) fill of it is in."""
        self.clock.set_time_alert_ns(
            self._timer_name(run, "settle"), self.clock.timestamp_ns(), lambda _e: self._settle(run)
        )

    def _settle(self, run: _Run) -> None:
        if run.phase == Phase.DONE or run.working:
            return
        if run.phase == Phase.PROTECT and not run.halting and self._submit_shorts(run):
            return
        self._reconcile(run)

    def _reconcile(self, run: _Run) -> None:
        """Bring the legs to ratio x units (marketable leg orders, in rounds), then go on."""
        target, repairs = self._repairs(run)
        if repairs and run.repair_rounds < self.config.max_repair_rounds:
            run.repair_rounds += 1
            run.phase = Phase.REPAIR
            for repair in repairs:
                self._submit_repair(run, repair)
            if run.working:
                return
        if repairs:
            self.log.error(
                f"{run.primary.client_order_id}: legs still unbalanced after {run.repair_rounds} repair rounds: "
                + "; ".join(r.describe() for r in repairs),
            )
            run.ending = "unbalanced"
        run.repair_rounds = 0
        if not run.combo and target != run.filled_units:
            self._record_units(run, target)
        run.filled_units = target
        self._next(run)

    def _record_units(self, run: _Run, units: int) -> None:
        """Legging: no spread-level fill carries the units, so record them (and their premium) for the group view."""
        premium = sum(leg.ratio * leg.opened_notional / float(leg.opened) for leg in run.legs if leg.opened)
        legged = LeggedUnits(units, round(premium, 6), self.clock.timestamp_ns())
        record_legged_units(self.cache, run.primary.client_order_id, legged)

    def _repairs(self, run: _Run) -> tuple[int, list[Repair]]:
        """The units the legs must match (combo: the spread fills; legging: the covered units) and the repairs."""
        target = int(run.spread_filled) if self._is_spread(run) and run.combo else self._covered_units(run)
        holdings = [LegHolding(leg.instrument.id, leg.ratio, leg.held) for leg in run.legs]
        return target, plan_repairs(holdings, run.unit_sign * target)

    def _submit_repair(self, run: _Run, repair: Repair) -> None:
        leg = next(leg for leg in run.legs if leg.instrument.id == repair.instrument_id)
        market = self._market(leg.instrument)
        if market is None:
            self.log.error(f"{run.primary.client_order_id}: cannot repair {repair.describe()}: no quote")
            return
        increment = leg.instrument.price_increment.as_double()
        price = marketable_price(market, repair.side, self.config.repair_slippage_ticks, self._leg_rule, increment)
        self.log.warning(f"{run.primary.client_order_id}: leg repair {repair.describe()}")
        order = self._leg_order(run, leg, repair.side, repair.quantity, price, repair=True)
        self._submit(run, order, leg, leg.role, -1, market.mid, record=False)

    def _covered_units(self, run: _Run) -> int:
        """Whole units the legs this trade buys have bought (all legs when it buys none), at most N."""
        legs = [leg for leg in run.legs if leg.direction > 0] or run.legs
        covered = min(math.floor(max(Decimal(0), leg.held * leg.direction) / abs(leg.ratio)) for leg in legs)
        return min(covered, run.units)

    def _next(self, run: _Run) -> None:
        if run.ending is None and run.filled_units >= run.goal:
            run.part += 1
            run.attempt = 0
            if run.part == len(run.parts):
                self._finish(run)
                return
        elif run.ending is None:
            run.attempt += 1
            if run.attempt >= run.params.max_attempts:
                run.ending = "attempts"
        if run.ending is not None:
            if self._should_complete(run):
                run.completing, run.halting = True, False
                run.part = len(run.parts) - 1
                self._start_attempt(run)
            else:
                self._finish(run)
            return
        run.phase = Phase.WAIT
        run.wait_timer = self._timer_name(run, "wait")
        wait_ns = int(self._rng.uniform(self.config.wait_min_seconds, self.config.wait_max_seconds) * SECOND_NS)
        self.clock.set_time_alert_ns(
            run.wait_timer, self.clock.timestamp_ns() + wait_ns, lambda _e: self._end_wait(run)
        )

    def on_quote_tick(self, tick: QuoteTick) -> None:
        for run in self._awaiting.pop(tick.instrument_id, ()):
            if run.phase == Phase.WAIT:
                self._start_attempt(run)

    def _end_wait(self, run: _Run) -> None:
        if run.phase == Phase.WAIT:
            run.wait_timer = None
            self._start_attempt(run)

    def _should_complete(self, run: _Run) -> bool:
        return (
            run.ending in ("deadline", "attempts")
            and run.params.on_deadline == "complete"
            and not run.completing
            and run.filled_units < run.units
        )

    # -- the end ------------------------------------------------------------------------------

    def _on_deadline(self, run: _Run) -> None:
        run.deadline_fired = True
        if run.phase == Phase.DONE or run.ending is not None:
            return
        run.ending = "deadline"
        self._halt(run)

    def _halt(self, run: _Run) -> None:
        """Stop working: cancel the wait or the working ladder children; what follows settles as usual."""
        if run.phase == Phase.DONE:
            return
        if run.phase == Phase.WAIT:
            if run.wait_timer is not None:
                self._cancel_timer(run.wait_timer)
            run.wait_timer = None
            self._next(run)
            return
        run.halting = True
        for child_id in list(run.working):
            if self._children[child_id].record:  # ladder children; balancing orders run their course
                self._cancel_if_open(child_id)

    def _finish(self, run: _Run) -> None:
        run.phase = Phase.DONE
        if not run.deadline_fired:
            self._cancel_timer(self._deadline_name(run))
        primary = run.primary
        if not primary.is_closed:
            self._close_primary(primary)
        status = "filled" if run.filled_units >= run.units else run.ending
        summary = {
            "status": status,
            "mode": run.mode,
            "units": run.units,
            "parts": list(run.parts),
            "filled_units": run.filled_units,
            "balanced": run.ending != "unbalanced",
            "legs": {leg.instrument.id.value: str(leg.held) for leg in run.legs},
        }
        self.cache.add(f"{RESULT_KEY_PREFIX}{primary.client_order_id.value}", json.dumps(summary).encode())
        self.log.info(f"{primary.client_order_id}: {status}, {run.filled_units}/{run.units} units")
        if self._flush_each_order:
            self.stats.flush()
        del self._runs[primary.client_order_id]
        for child_id in run.spread_children:
            self._spread_child_runs.pop(child_id, None)

    def _close_primary(self, primary: Order) -> None:
        """The primary never reached the venue: close it locally so the strategy sees the algorithm end."""
        now = self.clock.timestamp_ns()
        event = OrderCanceled(
            primary.trader_id,
            primary.strategy_id,
            primary.instrument_id,
            primary.client_order_id,
            primary.venue_order_id,
            primary.account_id,
            UUID4(),
            now,
            now,
        )
        self._apply_to_primary(primary, event)

    def _deny(self, primary: Order, reason: str) -> None:
        event = OrderDenied(
            primary.trader_id,
            primary.strategy_id,
            primary.instrument_id,
            primary.client_order_id,
            reason,
            UUID4(),
            self.clock.timestamp_ns(),
        )
        self._apply_to_primary(primary, event)

    def _apply_to_primary(self, primary: Order, event: OrderEvent) -> None:
        primary.apply(event)
        self.cache.update_order(primary)
        self.msgbus.publish(f"events.order.{primary.strategy_id}", event)

    # -- helpers ------------------------------------------------------------------------------

    def _follow_strategy(self, strategy_id: StrategyId) -> None:
        if strategy_id not in self._strategies:
            self._strategies.add(strategy_id)
            self.msgbus.subscribe(topic=f"events.order.{strategy_id}", handler=self._on_strategy_event)

    def _subscribe_quotes(self, run: _Run) -> None:
        """Leg quotes (live needs them in the cache) and, for combo children, the spread's aggregated quotes."""
        for leg in run.legs:
            if leg.instrument.id not in self._quoted:
                self._quoted.add(leg.instrument.id)
                self.subscribe_quote_ticks(leg.instrument.id)
        spread_id = run.instrument.id
        if run.combo and self._is_spread(run) and self.config.spread_quotes and spread_id not in self._quoted:
            self._quoted.add(spread_id)
            params = {"disable_vega_pricing": True, "update_interval_seconds": None}
            self.subscribe_quote_ticks(spread_id, aggregate_spread_quotes=True, params=params)

    def _is_spread(self, run: _Run) -> bool:
        return isinstance(run.instrument, OptionSpread)

    def _awaits_spread_quote(self, run: _Run) -> bool:
        """A backtest venue has no market for a spread before its first aggregated quote (and raises)."""
        return self.config.spread_quotes and self._is_spread(run) and self.cache.quote_tick(run.instrument.id) is None

    def _timer_name(self, run: _Run, what: str) -> str:
        run.timers += 1
        return f"{run.primary.client_order_id.value}:{what}:{run.timers}"

    def _cancel_timer(self, name: str) -> None:
        # an alert due this instant has left the clock before its callback runs
        if name in self.clock.timer_names:
            self.clock.cancel_timer(name)

    @staticmethod
    def _deadline_name(run: _Run) -> str:
        return f"{run.primary.client_order_id.value}:deadline"


def fill_rates(exec_algorithms: list) -> pd.DataFrame:
    """This run's fill-rate table of every TwoPart among ``exec_algorithms`` (a trader's), for the backtest report."""
    frames = [a.fill_rate_table() for a in exec_algorithms if isinstance(a, TwoPart) and a.stats is not None]
    if not frames:
        return pd.DataFrame(columns=[*TABLE_KEYS, *TABLE_METRICS])
    return pd.concat(frames, ignore_index=True)


def child_orders(cache: CacheFacade, primary_id: ClientOrderId, algorithm_id: str = ALGORITHM_ID) -> list[Order]:
    """The orders the algorithm submitted for a primary (spread children and leg orders), oldest first."""
    prefix = f"{primary_id.value}-"
    orders = cache.orders_for_exec_algorithm(ExecAlgorithmId(algorithm_id))
    return sorted(
        (o for o in orders if o.client_order_id.value.startswith(prefix)),
        key=lambda o: (o.ts_init, o.client_order_id.value),
    )


def result(cache: CacheFacade, primary_id: ClientOrderId) -> dict | None:
    """The summary the algorithm left when it finished with a primary (None while it works)."""
    raw = cache.get(f"{RESULT_KEY_PREFIX}{primary_id.value}")
    return json.loads(raw) if raw is not None else None


def _make_leg(instrument: Instrument, ratio: int, unit_sign: int) -> _Leg:
    direction = 1 if ratio * unit_sign > 0 else -1
    if isinstance(instrument, OptionContract):
        kind = "call" if instrument.option_kind == OptionKind.CALL else "put"
    else:
        kind = "underlying"
    return _Leg(
        instrument=instrument, ratio=ratio, direction=direction, role=f"{'buy' if direction > 0 else 'sell'}_{kind}"
    )


def _side(direction: int) -> OrderSide:
    return OrderSide.BUY if direction > 0 else OrderSide.SELL
