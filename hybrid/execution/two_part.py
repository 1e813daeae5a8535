"""The two-part split: an ExecAlgorithm that works a multi-leg order near mid, in two parts, on a ladder.

A strategy routes a primary order (LIMIT or MARKET, on an ``OptionSpread`` or a single
``OptionContract``) here with ``exec_algorithm_id=ExecAlgorithmId("TwoPart")`` and optional
``exec_algorithm_params`` (names in :mod:`hybrid.options.two_part_params`). The algorithm:

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
   after every attempt and at the end, with IOC leg orders at the touch tagged ``two_part=repair``,
   retried at the leg's next quote until the legs are even; in legging mode it then records the
   units for the group view (:mod:`hybrid.tracking.legged`);
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
this trade buys (the protective ones) go first, all legs of an attempt at one rung; the legs it
sells follow for the units the bought legs cover; a unit counts once its protective legs are
bought, and any short leg still missing after its attempt is completed at once. A protective leg
bought beyond its partners waits for them in the next attempt; at the end the unit in progress is
completed (or, when the strategy cancelled the order, reduced). A trade that only sells legs sends
them together and unwinds the excess. Single contracts are worked as combo.

Only clock alerts and awaited quotes drive it (timeouts, waits, the deadline, a quote it waits
for, and an "end of instant" alert after each attempt so that every leg fill of the instant is in):
simulated time in a backtest, wall time in a live node. The end of an instant is :class:`hybrid.nautilus_compat.instant_end.InstantEnd`:
in a backtest an alert set when a command is sent, so that it runs before later timers (the deadline
among them) and before the next data. An awaited quote is acted on at the end of its instant too
(:meth:`~hybrid.nautilus_compat.instant_end.InstantEnd.defer`): the other legs' quotes of that instant may
still come, and a child priced before them would meet a book that no longer exists.

The primary stays ``INITIALIZED`` while it is worked (``reduce_primary=False``: its quantity is not
reduced, so nothing needs restoring when a child is cancelled). A strategy that cancels the
primary stops the algorithm: working children are cancelled, the legs balanced, nothing completed.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import random
import uuid
from dataclasses import dataclass, field
from typing import assert_never

import pandas as pd
from nautilus_trader.common.component import TestClock
from nautilus_trader.common.events import TimeEvent
from nautilus_trader.execution.algorithm import ExecAlgorithm
from nautilus_trader.execution.config import ExecAlgorithmConfig
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.enums import OptionKind, OrderSide, OrderType, TimeInForce
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
from nautilus_trader.model.orders import Order

from hybrid.execution.fill_stats import Attempt, FillStats
from hybrid.execution.ladder import Market, market_of, parse_tick_rule
from hybrid.execution.two_part_machine import (
    SECOND_NS,
    Action,
    AwaitQuote,
    CancelChild,
    CancelTimer,
    Finish,
    LegSpec,
    Log,
    Moment,
    Primary,
    RecordAttempt,
    RecordUnits,
    SetTimer,
    Settings,
    SpawnChild,
    SubmitLegOrder,
    TimerKind,
    TwoPartMachine,
)
from hybrid.nautilus_compat.exec_algorithm import (
    announce_order,
    close_locally,
    deny_locally,
    follow_order_events,
    leg_order,
)
from hybrid.nautilus_compat.instant_end import InstantEnd
from hybrid.options.two_part_params import DEFAULTS, TwoPartParams, resolve_params
from hybrid.tracking.groups import LEG_FILL_MARKER
from hybrid.tracking.legged import LeggedUnits, record_legged_units

ALGORITHM_ID = "TwoPart"
RESULT_KEY_PREFIX = "TwoPart:"
REPAIR_TAG = "two_part=repair"  # on balancing orders, beside the group tags


class TwoPartConfig(ExecAlgorithmConfig, frozen=True):
    """Defaults for every order (the per-order params override the first six; the limit price is the
    primary's own or its ``limit_price`` param), timing, pricing and statistics.

    ``bound_fraction``: how far toward the natural price the ladder ends (1.0 = the natural).
    ``seed``: the waits' random generator (None: unseeded, for live trading).
    ``leg_tick_rule``: ticks of leg orders (``penny`` or ``nickel_dime``; spreads use their increment).
    ``repair_slippage_ticks``/``max_repair_rounds``: balancing orders (IOC limits this many ticks
    beyond the touch, a sell never below zero; a round that leaves a gap is followed by another at
    the leg's next quote; after this many rounds in a row without a fill, sold legs that cannot be
    completed have the protective legs reduced to them, then the algorithm gives up).
    ``spread_quotes``: subscribe the spread's quotes aggregated from its legs (a backtest venue
    matches spread orders only on spread quotes; leave False in a live node, where the aggregation
    fails in 1.231 and the venue quotes the combo itself). With it, a combo order waits for the
    spread's first quote before its first child: the simulated venue rejects a spread order it has
    no market for by stopping the backtest.
    ``stats_db``: SQLite file of the fill statistics (None: ``$HYBRID_DB`` or state/hybrid.sqlite);
    ``stats_scope``: their scope (None: ``backtest`` under a simulated clock, else ``live``);
    ``stats_flush_rows``: rows per write in a backtest (live writes when each order ends).
    ``adapt*``: the starting-rung rule of :mod:`hybrid.execution.fill_stats`; ``adapt_passive_floor``:
    the share of the parts adaptation starts above the mid that start at the mid anyway (0: none).
    """

    exec_algorithm_id: ExecAlgorithmId | None = ExecAlgorithmId(ALGORITHM_ID)
    mode: str = DEFAULTS.mode
    first_fraction: float = DEFAULTS.first_fraction
    ladder_steps: int = DEFAULTS.ladder_steps
    max_attempts: int = DEFAULTS.max_attempts
    deadline_seconds: float = DEFAULTS.deadline_seconds
    on_deadline: str = DEFAULTS.on_deadline
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
    adapt_passive_floor: float = 0.1

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
            ("adapt_passive_floor", 0 <= self.adapt_passive_floor <= 1, "in [0, 1]", self.adapt_passive_floor),
        )
        for name, ok, valid, value in checks:
            if not ok:
                raise ValueError(f"TwoPartConfig.{name} must be {valid}, got {value!r}")

    def defaults(self) -> TwoPartParams:
        """The per-order parameters of a primary order that overrides none."""
        return TwoPartParams(
            mode=self.mode,
            first_fraction=self.first_fraction,
            limit_price=None,
            ladder_steps=self.ladder_steps,
            max_attempts=self.max_attempts,
            deadline_seconds=self.deadline_seconds,
            on_deadline=self.on_deadline,
        )

    def settings(self) -> Settings:
        """What the decisions of :class:`TwoPartMachine` use."""
        return Settings(
            bound_fraction=self.bound_fraction,
            child_timeout_seconds=self.child_timeout_seconds,
            wait_min_seconds=self.wait_min_seconds,
            wait_max_seconds=self.wait_max_seconds,
            repair_slippage_ticks=self.repair_slippage_ticks,
            max_repair_rounds=self.max_repair_rounds,
            leg_rule=parse_tick_rule(self.leg_tick_rule),
            spread_quotes=self.spread_quotes,
        )


@dataclass(eq=False)
class _Run:
    """One primary order being worked: its machine and the orders that carry out its actions."""

    primary: Order
    instrument: Instrument
    legs: dict[InstrumentId, Instrument]
    machine: TwoPartMachine
    instant: InstantEnd  # where the machine's settles run: after the answers to what was sent
    orders: dict[str, Order] = field(default_factory=dict)  # the machine's child keys


class TwoPart(ExecAlgorithm):
    """The two-part split execution algorithm (module docstring; docs/execution.md).

    A thin shell: NautilusTrader events become :class:`TwoPartMachine` events, its actions become
    orders, cancels and clock alerts.
    """

    def __init__(self, config: TwoPartConfig | None = None) -> None:
        super().__init__(config or TwoPartConfig())
        self._defaults = self.config.defaults()
        self._settings = self.config.settings()
        self._rng = random.Random(self.config.seed)
        self._runs: dict[ClientOrderId, _Run] = {}
        self._children: dict[ClientOrderId, tuple[_Run, str]] = {}
        self._spread_child_runs: dict[str, _Run] = {}
        self._strategies: set[StrategyId] = set()
        self._quoted: set[InstrumentId] = set()
        self._awaiting: dict[InstrumentId, list[_Run]] = {}  # runs waiting for a quote (AwaitQuote)
        self._flush_each_order = False
        self._stats: FillStats | None = None
        self.scope = ""
        self.run_id = ""

    # -- lifecycle ----------------------------------------------------------------------------

    def on_start(self) -> None:
        self._stats = FillStats.open(self.config.stats_db, flush_rows=self.config.stats_flush_rows)
        simulated = isinstance(self.clock, TestClock)
        self.scope = self.config.stats_scope or ("backtest" if simulated else "live")
        self._flush_each_order = not simulated  # live: few orders, and readers want them at once
        self.run_id = f"{self.trader_id}-{self.id}-{uuid.uuid4().hex[:12]}"

    def on_stop(self) -> None:
        if self._stats is not None:
            self._stats.flush()

    def on_dispose(self) -> None:
        if self._stats is not None:
            self._stats.flush()
            self._stats.db.close()

    def on_reset(self) -> None:
        self._runs.clear()
        self._children.clear()
        self._spread_child_runs.clear()
        self._strategies.clear()
        self._quoted.clear()
        self._awaiting.clear()
        self._rng = random.Random(self.config.seed)

    @property
    def stats(self) -> FillStats:
        if self._stats is None:
            raise RuntimeError("the TwoPart algorithm has not been started")
        return self._stats

    @property
    def started(self) -> bool:
        return self._stats is not None

    def fill_rate_table(self, this_run_only: bool = True) -> pd.DataFrame:
        """The fill-rate table (:meth:`FillStats.table`) of this algorithm run, or of its whole scope."""
        if this_run_only:
            return self.stats.table(run_id=self.run_id)
        return self.stats.table(scope=self.scope)

    # -- NautilusTrader events ----------------------------------------------------------------

    def on_order(self, order: Order) -> None:
        try:
            run = self._new_run(order)
        except ValueError as e:
            self.log.error(f"{order.client_order_id}: {e}")
            deny_locally(self.cache, self.msgbus, order, str(e), self.clock.timestamp_ns())
            return
        self._runs[order.client_order_id] = run
        if order.strategy_id not in self._strategies:
            self._strategies.add(order.strategy_id)
            follow_order_events(self.msgbus, order.strategy_id, self._on_strategy_event)
        self._subscribe_quotes(run)
        self._carry_out(run, run.machine.start(self._moment(run)))

    def on_quote_tick(self, tick: QuoteTick) -> None:
        for run in self._awaiting.pop(tick.instrument_id, ()):
            # priced once every quote of this instant is in: the other legs' may still come
            run.instant.defer(functools.partial(self._on_awaited_quote, run))

    def _on_awaited_quote(self, run: _Run) -> None:
        if run.primary.client_order_id in self._runs:
            self._carry_out(run, run.machine.on_quote(self._moment(run)))

    def on_order_canceled(self, event: OrderCanceled) -> None:
        run = self._runs.get(event.client_order_id)
        if run is not None:  # the primary: cancelled by its strategy, or closed when the machine finished
            self._carry_out(run, run.machine.on_primary_canceled(self._moment(run)))
            return
        self._child_closed(event)

    def on_order_expired(self, event: OrderExpired) -> None:
        self._child_closed(event)

    def on_order_rejected(self, event: OrderRejected) -> None:
        self._child_closed(event)

    def on_order_denied(self, event: OrderDenied) -> None:
        self._child_closed(event)

    def on_order_filled(self, event: OrderFilled) -> None:
        found = self._children.get(event.client_order_id)
        if found is None:
            return
        run, key = found
        order = run.orders[key]
        if order.is_closed:
            del self._children[event.client_order_id]
        actions = run.machine.on_fill(
            key,
            event.last_qty.as_decimal(),
            event.last_px.as_double(),
            event.order_side,
            self.clock.timestamp_ns(),  # when this node learns of it, on the clock of the order's ts_init
            order.is_closed,
            self._moment(run),
        )
        self._carry_out(run, actions)

    def _on_strategy_event(self, event: object) -> None:
        """Synthetic leg fills of spread children: they belong to no order, so only the topic shows them."""
        if not isinstance(event, OrderFilled):
            return
        parent, marker, _ = event.client_order_id.value.rpartition(LEG_FILL_MARKER)
        run = self._spread_child_runs.get(parent) if marker else None
        if run is None:
            return
        qty = event.last_qty.as_decimal()
        run.machine.on_leg_fill(event.instrument_id, qty if event.order_side == OrderSide.BUY else -qty)

    def _child_closed(self, event: OrderEvent) -> None:
        found = self._children.pop(event.client_order_id, None)
        if found is not None:
            run, key = found
            self._carry_out(run, run.machine.on_child_closed(key, self._moment(run)))

    def _on_child_timeout(self, event: TimeEvent) -> None:
        found = self._children.get(ClientOrderId(event.name.rpartition(":")[0]))
        if found is not None:
            run, key = found
            self._carry_out(run, run.machine.on_child_timeout(key))

    def _on_timer(self, run: _Run, kind: TimerKind) -> None:
        self._carry_out(run, run.machine.on_timer(kind, self._moment(run)))

    # -- machine actions ----------------------------------------------------------------------

    def _carry_out(self, run: _Run, actions: list[Action]) -> None:
        for action in actions:
            match action:
                case SetTimer(name, at_ns, kind):
                    if kind == TimerKind.SETTLE:  # the end of this instant
                        run.instant.after(functools.partial(self._on_timer, run, TimerKind.SETTLE))
                    else:
                        self.clock.set_time_alert_ns(name, at_ns, lambda _e, r=run, k=kind: self._on_timer(r, k))
                case CancelTimer(name):
                    # an alert due this instant has left the clock before its callback runs
                    if name in self.clock.timer_names:
                        self.clock.cancel_timer(name)
                case AwaitQuote(instrument_ids, reason):
                    for instrument_id in instrument_ids:
                        self._awaiting.setdefault(instrument_id, []).append(run)
                    self.log.info(f"{run.primary.client_order_id}: {reason}")
                case SpawnChild():
                    self._spawn(run, action)
                case SubmitLegOrder():
                    self._submit_leg_order(run, action)
                case CancelChild(key):
                    order = run.orders[key]
                    if not order.is_closed and not order.is_pending_cancel:
                        run.instant.sent()
                        self.cancel_order(order)
                case RecordAttempt():
                    self._record(run, action)
                case RecordUnits(units, premium):
                    legged = LeggedUnits(units, premium, self.clock.timestamp_ns())
                    record_legged_units(self.cache, run.primary.client_order_id, legged)
                case Finish(summary):
                    self._finish(run, summary)
                case Log(level, message):
                    log = {"info": self.log.info, "warning": self.log.warning, "error": self.log.error}[level]
                    log(f"{run.primary.client_order_id}: {message}")
                case _:
                    assert_never(action)

    def _spawn(self, run: _Run, action: SpawnChild) -> None:
        order = self.spawn_limit(
            run.primary,
            run.instrument.make_qty(action.quantity),
            run.instrument.make_price(action.price),
            reduce_primary=False,
            tags=run.primary.tags,
        )
        if isinstance(run.instrument, OptionSpread):
            self._spread_child_runs[order.client_order_id.value] = run
        self._submit(run, action.key, order, action.timeout_at_ns)

    def _submit_leg_order(self, run: _Run, action: SubmitLegOrder) -> None:
        """An order on a leg of the primary's structure (see the module docstring for why it is not spawned)."""
        primary = run.primary
        tags = [*(primary.tags or ()), *((REPAIR_TAG,) if action.repair else ())] or None
        order = leg_order(
            primary,
            run.legs[action.instrument_id],
            ClientOrderId(f"{primary.client_order_id.value}-{action.key}"),
            action.side,
            action.quantity,
            action.price,
            self.clock.timestamp_ns(),
            self.id,
            tags,
            TimeInForce.IOC if action.repair else TimeInForce.GTC,
        )
        self._submit(run, action.key, order, action.timeout_at_ns, announce=True)

    def _submit(self, run: _Run, key: str, order: Order, timeout_at_ns: int | None, announce: bool = False) -> None:
        run.orders[key] = order
        self._children[order.client_order_id] = (run, key)
        if timeout_at_ns is not None:
            name = f"{order.client_order_id.value}:timeout"
            self.clock.set_time_alert_ns(name, timeout_at_ns, self._on_child_timeout)
        run.instant.sent()
        if announce:  # a leg order: announce it as submit_order does for spawned ones
            announce_order(self.cache, self.msgbus, order)
        self.submit_order(order)

    def _record(self, run: _Run, action: RecordAttempt) -> None:
        order, filled = run.orders[action.key], float(action.filled)
        avg_px = round(action.notional / filled, 6) if filled else None
        sign = 1 if order.side == OrderSide.BUY else -1
        self.stats.record(
            Attempt(
                scope=self.scope,
                run_id=self.run_id,
                ts_submit=order.ts_init,
                underlying=run.machine.primary.underlying,
                mode=action.mode,
                part=action.part,
                ladder_steps=action.ladder_steps,
                step=action.step,
                leg=action.leg,
                instrument_id=order.instrument_id.value,
                side="BUY" if sign > 0 else "SELL",
                quantity=order.quantity.as_double(),
                filled=filled,
                price=order.price.as_double(),
                mid=action.mid,
                avg_px=avg_px,
                slippage=None if avg_px is None else round(sign * (avg_px - action.mid), 6),
                time_to_fill_s=None
                if action.first_fill_ns is None
                else (action.first_fill_ns - order.ts_init) / SECOND_NS,
                kind=action.kind,
            ),
        )

    def _finish(self, run: _Run, summary: dict[str, object]) -> None:
        primary = run.primary
        if not primary.is_closed:  # it never reached the venue: its children carry the fills
            close_locally(self.cache, self.msgbus, primary, self.clock.timestamp_ns())
        self.cache.add(f"{RESULT_KEY_PREFIX}{primary.client_order_id.value}", json.dumps(summary).encode())
        machine = run.machine
        self.log.info(f"{primary.client_order_id}: {summary['status']}, {machine.filled_units}/{machine.units} units")
        if self._flush_each_order:
            self.stats.flush()
        del self._runs[primary.client_order_id]
        for order in run.orders.values():
            self._spread_child_runs.pop(order.client_order_id.value, None)

    # -- helpers ------------------------------------------------------------------------------

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
        spread = isinstance(instrument, OptionSpread)
        if spread:
            legs: list[tuple[Instrument, int]] = []
            for leg_id, ratio in instrument.legs():
                leg = self.cache.instrument(leg_id)
                if leg is None:
                    raise ValueError(f"leg {leg_id} of {instrument.id} is not in the cache")
                legs.append((leg, ratio))
        else:
            legs = [(instrument, 1)]
        first_leg = legs[0][0]
        spec = Primary(
            name=primary.client_order_id.value,
            instrument_id=instrument.id,
            side=primary.side,
            units=int(units),
            increment=instrument.price_increment.as_double(),
            spread=spread,
            legs=tuple(_leg_spec(leg, ratio) for leg, ratio in legs),
            params=params,
            underlying=getattr(first_leg, "underlying", None) or first_leg.id.symbol.value,
        )
        machine = TwoPartMachine(spec, self._settings, self._rng, self._start_step if self.config.adapt else None)
        instant = InstantEnd(self.clock, primary.client_order_id.value)
        return _Run(primary, instrument, {leg.id: leg for leg, _ in legs}, machine, instant)

    def _start_step(self, underlying: str, mode: str, roles: tuple[str, ...], steps: int) -> int:
        """The fill statistics' first rung of a part (:meth:`FillStats.part_start`)."""
        keys = [(self.scope, underlying, mode, role, steps) for role in roles]
        config = self.config
        return self.stats.part_start(
            keys, config.adapt_min_samples, config.adapt_target_fill_rate, config.adapt_passive_floor
        )

    def _moment(self, run: _Run) -> Moment:
        markets: dict[InstrumentId, Market] = {}
        quoted: dict[InstrumentId, int] = {}
        for leg_id in run.legs:
            quote = self.cache.quote_tick(leg_id)
            if quote is not None and quote.ask_price >= quote.bid_price:
                markets[leg_id] = market_of(quote)
                quoted[leg_id] = quote.ts_event
        spread_quoted = self.cache.quote_tick(run.instrument.id) is not None
        return Moment(self.clock.timestamp_ns(), markets, spread_quoted, quoted)

    def _subscribe_quotes(self, run: _Run) -> None:
        """Leg quotes (live needs them in the cache) and, for combo children, the spread's aggregated quotes."""
        for leg_id in run.legs:
            if leg_id not in self._quoted:
                self._quoted.add(leg_id)
                self.subscribe_quote_ticks(leg_id)
        spread_id = run.instrument.id
        spread = isinstance(run.instrument, OptionSpread)
        if run.machine.combo and spread and self.config.spread_quotes and spread_id not in self._quoted:
            self._quoted.add(spread_id)
            params = {"disable_vega_pricing": True, "update_interval_seconds": None}
            self.subscribe_quote_ticks(spread_id, aggregate_spread_quotes=True, params=params)


def _leg_spec(instrument: Instrument, ratio: int) -> LegSpec:
    if isinstance(instrument, OptionContract):
        kind = "call" if instrument.option_kind == OptionKind.CALL else "put"
    else:
        kind = "underlying"
    return LegSpec(instrument.id, ratio, instrument.price_increment.as_double(), kind)
