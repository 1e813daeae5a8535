"""The two-part algorithm's decisions, without an engine: events in, actions out.

One :class:`TwoPartMachine` works one primary order. The ExecAlgorithm shell
(:mod:`hybrid.execution.two_part`) turns NautilusTrader events into calls of its ``on_*`` methods,
passing the time and the legs' usable quotes as a :class:`Moment`, and carries out the actions they
return in order: submit a child at a price, cancel a child, set or cancel a timer, wait for a quote,
record an attempt or legged units, finish. Everything the module docstring of
:mod:`hybrid.execution.two_part` describes is decided here: the split, the ladder rung of each
attempt, the child timeout, the random waits, the second part, the deadline, the completion at the
bound and the leg balancing.

State. :class:`Phase` says what is working; :class:`Course` whether the parts are worked or the one
completion at the bound; a :class:`Stop` (None while working normally) says why the order ends and
whether its working children are being cancelled.

Balancing (:meth:`TwoPartMachine._balance`) runs after every attempt and once more at the end, in
rounds of IOC leg orders at the touch; a round that leaves a gap is followed by another at the next
quote of a leg still short (:class:`AwaitQuote`). Which units the legs are brought to
(:meth:`TwoPartMachine._target`): in combo mode the spread-level fills; in legging mode, between
attempts, the units the protective legs cover (a protective leg bought beyond them waits for its
partner in the next attempt, it is not sold back); at the end, the unit in progress is completed
(protective legs bought at the touch, then the sold legs sold), or reduced when the strategy
cancelled the order, unless reducing would sell a leg nobody bids for. When the sold legs cannot be
completed for ``max_repair_rounds`` rounds without a fill, the protective legs are reduced to the
units the sold legs make.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from enum import Enum, StrEnum
from typing import Literal

from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.identifiers import InstrumentId

from hybrid.execution.balancing import LegHolding, Repair, plan_repairs
from hybrid.execution.ladder import Ladder, Market, TickRule, build_ladder, combine, marketable_price
from hybrid.options.two_part_params import TwoPartParams

SECOND_NS = 1_000_000_000


class Phase(Enum):
    LADDER = "ladder"  # a combo (or single contract) child is working
    PROTECT = "protect"  # legging: the legs this trade buys are working
    SHORT = "short"  # legging: the legs this trade sells are working
    REPAIR = "repair"  # balancing: a round of orders is working, or the next quote is awaited
    WAIT = "wait"  # between attempts (or before the first one, waiting for the spread's first quote)
    DONE = "done"


class Course(Enum):
    PARTS = "parts"  # the attempts of the two parts
    COMPLETION = "completion"  # the one attempt at the ladder's bound (``on_deadline="complete"``)


class Ending(StrEnum):
    """Why an order ended without filling (the summary's status)."""

    DEADLINE = "deadline"
    ATTEMPTS = "attempts"
    CANCELLED = "cancelled"
    UNBALANCED = "unbalanced"


@dataclass(frozen=True, slots=True)
class Stop:
    """The order stops being worked; ``cancelling``: its working ladder children are being cancelled."""

    ending: Ending
    cancelling: bool = False


class TimerKind(Enum):
    DEADLINE = "deadline"
    SETTLE = "settle"  # the end of this instant, once every (synthetic leg) fill of it is in
    WAIT = "wait"  # the end of the wait between attempts


@dataclass(frozen=True, slots=True)
class Settings:
    """The algorithm's configuration the decisions use (:class:`hybrid.execution.two_part.TwoPartConfig`)."""

    bound_fraction: float
    child_timeout_seconds: float
    wait_min_seconds: float
    wait_max_seconds: float
    repair_slippage_ticks: int
    max_repair_rounds: int
    leg_rule: TickRule
    spread_quotes: bool


@dataclass(frozen=True, slots=True)
class LegSpec:
    """One leg of the structure: signed ratio per unit, its tick increment and its option kind."""

    instrument_id: InstrumentId
    ratio: int
    increment: float
    kind: str  # call, put or underlying


@dataclass(frozen=True, slots=True)
class Primary:
    """The primary order as the machine needs it."""

    name: str  # the primary's client order id: names its timers and leg orders
    instrument_id: InstrumentId
    side: OrderSide
    units: int
    increment: float
    spread: bool  # an OptionSpread (else a single contract, worked as combo)
    legs: tuple[LegSpec, ...]
    params: TwoPartParams
    underlying: str


@dataclass(frozen=True, slots=True)
class Moment:
    """When an event is handled: the time and the legs' usable markets (two-sided, not crossed).

    ``quote_ns``: when each leg's market was quoted (a leg left out counts as quoted now); a balancing
    order is sent again on a leg only once it has a quote newer than the last one sent on it.
    """

    ts_ns: int
    markets: Mapping[InstrumentId, Market]
    spread_quoted: bool = False  # the spread itself has a quote (the venue can match a spread order)
    quote_ns: Mapping[InstrumentId, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SetTimer:
    name: str
    at_ns: int
    kind: TimerKind


@dataclass(frozen=True, slots=True)
class CancelTimer:
    name: str


@dataclass(frozen=True, slots=True)
class AwaitQuote:
    """Nothing can be sent now (``reason`` says why): call :meth:`TwoPartMachine.on_quote` at the next
    quote of any of ``instrument_ids`` (the spread's first quote, or a leg a balancing order waits for)."""

    instrument_ids: tuple[InstrumentId, ...]
    reason: str


@dataclass(frozen=True, slots=True)
class SpawnChild:
    """A ladder child on the primary's own instrument; cancel it if still open at ``timeout_at_ns``."""

    key: str
    quantity: int
    price: float
    timeout_at_ns: int


@dataclass(frozen=True, slots=True)
class SubmitLegOrder:
    """An order on one leg, client order id ``<primary>-<key>``: a legging child (cancel it if still open
    at ``timeout_at_ns``) or, with ``repair``, a balancing order (IOC, no timeout)."""

    key: str
    instrument_id: InstrumentId
    side: OrderSide
    quantity: Decimal
    price: float
    repair: bool
    timeout_at_ns: int | None


@dataclass(frozen=True, slots=True)
class CancelChild:
    key: str


@dataclass(frozen=True, slots=True)
class RecordAttempt:
    """A child ended: one row of fill statistics (``kind``: ``ladder``, or ``balance`` with step -1)."""

    key: str
    mode: str
    part: int
    ladder_steps: int
    step: int
    leg: str
    mid: float
    filled: Decimal
    notional: float
    first_fill_ns: int | None
    kind: str


@dataclass(frozen=True, slots=True)
class RecordUnits:
    """Legging: the units the legs now make up, and their net premium per unit (every fill of the order's
    leg orders, balancing included), for the group view."""

    units: int
    premium: float


@dataclass(frozen=True, slots=True)
class Finish:
    """The order is done: close the primary and leave ``summary``."""

    summary: dict[str, object]


@dataclass(frozen=True, slots=True)
class Log:
    level: Literal["info", "warning", "error"]
    message: str


Action = (
    SetTimer
    | CancelTimer
    | AwaitQuote
    | SpawnChild
    | SubmitLegOrder
    | CancelChild
    | RecordAttempt
    | RecordUnits
    | Finish
    | Log
)
# (underlying, mode, the attempt's leg roles, ladder steps) -> the first rung of a part, asked once per part
StartRung = Callable[[str, str, tuple[str, ...], int], int]
LADDER, BALANCE = "ladder", "balance"  # the kinds of child (and of fill-statistics row)


def split_units(units: int, first_fraction: float) -> tuple[int, ...]:
    """Whole units of the two parts: about ``first_fraction`` first (half rounded up), each at least 1.

    One unit cannot be split: it is worked as a single part.
    """
    if units < 1:
        raise ValueError(f"units must be at least 1, got {units}")
    if units == 1:
        return (1,)
    first = min(max(math.floor(units * first_fraction + 0.5), 1), units - 1)
    return (first, units - first)


@dataclass(eq=False)
class _Leg:
    """A leg while the order is worked: which way this trade moves it and what it traded."""

    spec: LegSpec
    direction: int  # +1: this trade buys the leg, -1: sells it
    held: Decimal = Decimal(0)  # signed quantity this order has traded on the leg
    rung: int = 0  # the rung of the current attempt
    net_debit: float = 0.0  # what its leg orders paid, less what they received, per share (all fills)
    repair_ns: int = -1  # when its last balancing order went out

    @property
    def role(self) -> str:
        """The fill-statistics name: buy_call, sell_put, ..."""
        return f"{'buy' if self.direction > 0 else 'sell'}_{self.spec.kind}"

    @property
    def side(self) -> OrderSide:
        return OrderSide.BUY if self.direction > 0 else OrderSide.SELL


@dataclass(eq=False)
class _Child:
    leg: _Leg | None  # None: a spread order (its leg fills arrive as synthetic fills)
    role: str
    step: int
    mid: float
    kind: str  # LADDER or BALANCE
    filled: Decimal = Decimal(0)
    notional: float = 0.0
    first_fill_ns: int | None = None


@dataclass(eq=False)
class _State:
    phase: Phase = Phase.LADDER
    course: Course = Course.PARTS
    stop: Stop | None = None
    part: int = 0
    attempt: int = 0
    start: int | None = None  # the part's first rung, fixed when its first attempt is priced
    filled_units: int = 0
    spread_filled: Decimal = Decimal(0)
    children: dict[str, _Child] = field(default_factory=dict)  # the working ones, in submission order
    leg_orders: int = 0
    spawned: int = 0
    timers: int = 0
    wait_timer: str | None = None
    settle_due: bool = False  # a settle timer is set and has not run yet
    awaiting: bool = False  # an AwaitQuote is out
    awaiting_since_ns: int | None = None  # waiting for the spread's first quote since then
    waited_ns: int = 0  # time spent waiting for the spread's first quote
    final: bool = False  # the balance at the end: completing or reducing the unit in progress
    reduce: bool = False  # the sold legs could not be completed: reduce the protective legs to them
    stalled: int = 0  # balancing rounds in a row that filled nothing
    round_filled: bool = False  # the current balancing round filled something
    recorded: tuple[int, float] | None = None  # the legged units and premium last recorded


class TwoPartMachine:
    """The decisions for one primary order (module docstring). Each ``on_*`` returns the actions to take."""

    def __init__(
        self, primary: Primary, settings: Settings, rng: random.Random, start_rung: StartRung | None = None
    ) -> None:
        self.primary = primary
        self.settings = settings
        self.parts = split_units(primary.units, primary.params.first_fraction)
        self.combo = primary.params.mode == "combo" or not primary.spread
        unit_sign = self.unit_sign
        self.legs = [_Leg(spec, 1 if spec.ratio * unit_sign > 0 else -1) for spec in primary.legs]
        self._rng = rng
        self._start_rung = start_rung
        self._state = _State()
        self._out: list[Action] = []

    # -- what it is -----------------------------------------------------------------------------

    @property
    def phase(self) -> Phase:
        return self._state.phase

    @property
    def course(self) -> Course:
        return self._state.course

    @property
    def stop(self) -> Stop | None:
        return self._state.stop

    @property
    def part(self) -> int:
        return self._state.part

    @property
    def attempt(self) -> int:
        return self._state.attempt

    @property
    def filled_units(self) -> int:
        return self._state.filled_units

    @property
    def working(self) -> tuple[str, ...]:
        return tuple(self._state.children)

    @property
    def units(self) -> int:
        return sum(self.parts)

    @property
    def goal(self) -> int:
        """Units filled once the current part is done: the next part's size is what is left."""
        return sum(self.parts[: self._state.part + 1])

    @property
    def unit_sign(self) -> int:
        return 1 if self.primary.side == OrderSide.BUY else -1

    @property
    def mode(self) -> str:
        return "combo" if self.combo else "legging"

    def held(self) -> dict[InstrumentId, Decimal]:
        """The signed quantity this order has traded on each leg."""
        return {leg.spec.instrument_id: leg.held for leg in self.legs}

    # -- events ---------------------------------------------------------------------------------

    def start(self, now: Moment) -> list[Action]:
        """The primary arrived: set the deadline and start the first attempt."""
        deadline_ns = now.ts_ns + int(self.primary.params.deadline_seconds * SECOND_NS)
        self._emit(SetTimer(self.deadline_timer, deadline_ns, TimerKind.DEADLINE))
        self._start_attempt(now)
        return self._flush()

    def on_timer(self, kind: TimerKind, now: Moment) -> list[Action]:
        match kind:
            case TimerKind.DEADLINE:
                self._on_deadline(now)
            case TimerKind.SETTLE:
                self._settle(now)
            case TimerKind.WAIT:
                if self._state.phase == Phase.WAIT:
                    self._state.wait_timer = None
                    self._start_attempt(now)
        return self._flush()

    def on_quote(self, now: Moment) -> list[Action]:
        """A quote awaited by :class:`AwaitQuote`: the spread's first one, or a leg's next one to balance on."""
        state = self._state
        if not state.awaiting or state.phase == Phase.DONE:
            return []
        state.awaiting = False
        if state.phase == Phase.WAIT:
            self._stop_waiting(now)
            self._start_attempt(now)
        elif state.phase == Phase.REPAIR and not state.children:
            self._balance(now)
        return self._flush()

    def on_child_timeout(self, key: str) -> list[Action]:
        if key in self._state.children:
            self._emit(CancelChild(key))
        return self._flush()

    def on_fill(
        self, key: str, quantity: Decimal, price: float, side: OrderSide, ts_ns: int, closed: bool, now: Moment
    ) -> list[Action]:
        """A child filled ``quantity`` at ``price``; ``closed``: it has nothing left to fill."""
        child = self._state.children.get(key)
        if child is None:
            return []
        child.filled += quantity
        child.notional += price * float(quantity)
        if child.first_fill_ns is None:
            child.first_fill_ns = ts_ns
        signed = quantity if side == OrderSide.BUY else -quantity
        if child.leg is None:
            self._state.spread_filled += quantity
        else:
            child.leg.held += signed
            child.leg.net_debit += price * float(signed)
        if closed:
            self._child_closed(key, now)
        return self._flush()

    def on_leg_fill(self, instrument_id: InstrumentId, signed_quantity: Decimal) -> None:
        """A synthetic leg fill of a spread child (no order carries it)."""
        for leg in self.legs:
            if leg.spec.instrument_id == instrument_id:
                leg.held += signed_quantity

    def on_child_closed(self, key: str, now: Moment) -> list[Action]:
        """A child was cancelled, expired, rejected or denied."""
        self._child_closed(key, now)
        return self._flush()

    def on_primary_canceled(self, now: Moment) -> list[Action]:
        """The strategy cancelled the primary: stop, balance the legs, complete nothing."""
        if self._state.phase != Phase.DONE:
            stop = self._state.stop
            self._state.stop = stop or Stop(Ending.CANCELLED)
            self._halt(now)
        return self._flush()

    # -- attempts -------------------------------------------------------------------------------

    def _start_attempt(self, now: Moment) -> None:
        """Submit the children of one attempt; an attempt that cannot be priced ends at once."""
        state = self._state
        if self.combo and self.settings.spread_quotes and self.primary.spread and not now.spread_quoted:
            state.phase = Phase.WAIT  # not an attempt: the venue cannot take the order yet
            if state.awaiting_since_ns is None:
                state.awaiting_since_ns = now.ts_ns
            reason = "the spread has no quote yet: nothing is sent until its first one (the deadline runs)"
            self._await((self.primary.instrument_id,), reason)
            return
        if self.combo:
            state.phase = Phase.LADDER
            self._submit_combo_child(now)
        elif self._price_legs(now):
            # the legs this trade buys go first; a trade that only sells legs sends them all at once
            bought = [leg for leg in self.legs if leg.direction > 0]
            state.phase = Phase.PROTECT if bought else Phase.SHORT
            for leg in bought or self.legs:
                self._submit_leg_child(now, leg, self.goal)
        if not state.children:
            self._schedule_settle(now)

    def _submit_combo_child(self, now: Moment) -> None:
        leg = None if self.primary.spread else self.legs[0]  # a single contract is its own leg
        ladder = self._ladder(now, self.primary.side, leg)
        quantity = self.goal - self._state.filled_units
        if ladder is None or quantity <= 0:
            return
        role = "combo" if leg is None else leg.role
        rung = self._rung((role,), ladder.steps)
        self._state.spawned += 1
        key = f"S{self._state.spawned}"
        self._add_child(key, _Child(leg, role, rung, ladder.mid, LADDER))
        self._emit(SpawnChild(key, quantity, ladder.price(rung), self._timeout(now)))

    def _price_legs(self, now: Moment) -> bool:
        """One rung for every leg of this attempt (:meth:`_rung`), stepped back while the net price breaks the limit."""
        ladders = []
        for leg in self.legs:
            ladder = self._ladder(now, leg.side, leg)
            if ladder is None:
                self._emit(Log("warning", f"no quote for {leg.spec.instrument_id}, attempt skipped"))
                return False
            ladders.append(ladder)
        rung = self._rung([leg.role for leg in self.legs], self.primary.params.ladder_steps)
        for leg in self.legs:
            leg.rung = rung
        limit = self.primary.params.limit_price
        while limit is not None:
            net = sum(leg.spec.ratio * ladder.price(leg.rung) for leg, ladder in zip(self.legs, ladders, strict=True))
            if (net <= limit + 1e-9) if self.unit_sign > 0 else (net >= limit - 1e-9):
                break
            if all(leg.rung == 0 for leg in self.legs):
                self._emit(Log("warning", f"legs at mid cost {net:.2f} per unit, beyond the limit {limit}"))
                return False
            for leg in self.legs:
                leg.rung = max(leg.rung - 1, 0)
        return True

    def _submit_leg_child(self, now: Moment, leg: _Leg, units: int) -> None:
        """A ladder order for what the leg still lacks toward ``units`` units."""
        quantity = abs(leg.spec.ratio) * units - max(Decimal(0), leg.held * leg.direction)
        ladder = self._ladder(now, leg.side, leg)
        if quantity <= 0 or ladder is None:
            return
        self._submit_leg_order(now, leg, leg.side, quantity, ladder.price(leg.rung), ladder.mid, leg.rung, LADDER)

    def _submit_shorts(self, now: Moment) -> bool:
        """Legging: sell the legs this trade sells, for the units the bought legs cover."""
        self._state.phase = Phase.SHORT
        covered = self._covered_units()
        for leg in self.legs:
            if leg.direction < 0:
                self._submit_leg_child(now, leg, covered)
        return bool(self._state.children)

    def _rung(self, roles: Iterable[str], steps: int) -> int:
        """The attempt's rung: the completion's is the bound; else the part's start, one up per attempt.

        The start is asked of ``start_rung`` once per part, for all the attempt's leg roles together
        (:meth:`hybrid.execution.fill_stats.FillStats.part_start`: the highest of the legs' adapted
        starts, or the mid under the passive floor), so every leg of a legging attempt is priced at one
        rung and no protective leg crosses while its partner waits at mid.
        """
        state = self._state
        if state.course == Course.COMPLETION:
            return steps
        if state.start is None:
            start_rung = self._start_rung
            underlying, mode = self.primary.underlying, self.mode
            state.start = 0 if start_rung is None else start_rung(underlying, mode, tuple(roles), steps)
        return min(state.start + state.attempt, steps)

    def _ladder(self, now: Moment, side: OrderSide, leg: _Leg | None) -> Ladder | None:
        """The ladder of the spread (from its legs' markets) or of one leg/contract; None without markets."""
        if leg is None:
            markets = [now.markets.get(each.spec.instrument_id) for each in self.legs]
            known = [m for m in markets if m is not None]
            if len(known) < len(markets):
                return None
            market = combine(zip(known, (each.spec.ratio for each in self.legs), strict=True))
            rule, instrument_id, increment = TickRule.INSTRUMENT, self.primary.instrument_id, self.primary.increment
        else:
            leg_market = now.markets.get(leg.spec.instrument_id)
            if leg_market is None:
                return None
            market, rule = leg_market, self.settings.leg_rule
            instrument_id, increment = leg.spec.instrument_id, leg.spec.increment
        params = self.primary.params
        return build_ladder(
            market,
            side,
            params.ladder_steps,
            bound_fraction=self.settings.bound_fraction,
            limit=params.limit_price if instrument_id == self.primary.instrument_id else None,
            rule=rule,
            increment=increment,
        )

    # -- children -------------------------------------------------------------------------------

    def _submit_leg_order(
        self,
        now: Moment,
        leg: _Leg,
        side: OrderSide,
        quantity: Decimal,
        price: float,
        mid: float,
        step: int,
        kind: str,
    ) -> None:
        self._state.leg_orders += 1
        key = f"L{self._state.leg_orders}"
        role = f"{'buy' if side == OrderSide.BUY else 'sell'}_{leg.spec.kind}"
        self._add_child(key, _Child(leg, role, step, mid, kind))
        repair = kind == BALANCE
        timeout = None if repair else self._timeout(now)  # a balancing order is IOC
        self._emit(SubmitLegOrder(key, leg.spec.instrument_id, side, quantity, price, repair, timeout))

    def _add_child(self, key: str, child: _Child) -> None:
        self._state.children[key] = child

    def _timeout(self, now: Moment) -> int:
        return now.ts_ns + int(self.settings.child_timeout_seconds * SECOND_NS)

    def _child_closed(self, key: str, now: Moment) -> None:
        state = self._state
        child = state.children.pop(key, None)
        if child is None:
            return
        part, steps = min(state.part, len(self.parts) - 1) + 1, self.primary.params.ladder_steps
        self._emit(
            RecordAttempt(
                key,
                self.mode,
                part,
                steps,
                child.step,
                child.role,
                child.mid,
                child.filled,
                child.notional,
                child.first_fill_ns,
                child.kind,
            )
        )
        if child.kind == BALANCE and child.filled > 0:
            state.round_filled = True
        if not state.children:
            self._schedule_settle(now)

    # -- between attempts -----------------------------------------------------------------------

    def _schedule_settle(self, now: Moment) -> None:
        """Go on at the end of this instant, once every fill of it is in (one settle at a time)."""
        if not self._state.settle_due:
            self._state.settle_due = True
            self._emit(SetTimer(self._timer_name("settle"), now.ts_ns, TimerKind.SETTLE))

    def _settle(self, now: Moment) -> None:
        state = self._state
        if not state.settle_due:
            return
        state.settle_due = False
        if state.phase == Phase.DONE or state.children:
            return
        cancelling = state.stop is not None and state.stop.cancelling
        if state.phase == Phase.PROTECT and not cancelling and self._submit_shorts(now):
            return
        if state.phase == Phase.REPAIR:  # a balancing round ended
            state.stalled = 0 if state.round_filled else state.stalled + 1
        else:  # an attempt ended: a new balance
            state.stalled, state.reduce = 0, False
        self._balance(now)

    # -- balancing ------------------------------------------------------------------------------

    def _balance(self, now: Moment) -> None:
        """One balancing step: done, a round of IOC orders at the touch, or a wait for a fresher quote."""
        state = self._state
        target = self._target(now)
        repairs = self._plan(target)
        if not repairs:
            self._balanced(now, target)
            return
        state.phase = Phase.REPAIR
        if state.stalled >= self.settings.max_repair_rounds:
            described = "; ".join(r.describe() for r in repairs)
            if not self.combo and not state.reduce and target > self._sold_units():
                state.reduce, state.stalled = True, 0
                self._emit(Log("warning", f"sold legs not completed, protective legs reduced to them: {described}"))
                self._balance(now)
                return
            self._emit(Log("error", f"legs still unbalanced after {state.stalled} rounds without a fill: {described}"))
            state.stop = Stop(Ending.UNBALANCED, cancelling=state.stop is not None and state.stop.cancelling)
            self._record_units(target)
            self._finish()
            return
        legs = {leg.spec.instrument_id: leg for leg in self.legs}
        ready = [r for r in repairs if self._fresh(legs[r.instrument_id], now)]
        if not ready:
            waiting = tuple(dict.fromkeys(r.instrument_id for r in repairs))
            self._await(waiting, "balancing waits for the next quote of " + ", ".join(map(str, waiting)))
            return
        state.round_filled = False
        for repair in ready:
            self._submit_repair(now, legs[repair.instrument_id], repair)

    def _target(self, now: Moment) -> int:
        """The units the legs are brought to (module docstring)."""
        state = self._state
        if self.combo:
            return int(state.spread_filled) if self.primary.spread else self._covered_units()
        covered = self._covered_units()
        if state.reduce:
            return min(covered, self._sold_units())
        if not state.final or not any(leg.direction > 0 for leg in self.legs):
            return covered
        reach = self._reach_units()
        cancelled = state.stop is not None and state.stop.ending == Ending.CANCELLED
        if cancelled and not self._unbid_excess(covered, now):
            return covered
        return reach

    def _plan(self, target: int) -> list[Repair]:
        """The balancing orders for ``target`` units (legging: sold legs only up to the units already covered)."""
        sign = self.unit_sign
        bought = [leg for leg in self.legs if leg.direction > 0]
        if self.combo or not bought:
            return plan_repairs(_holdings(self.legs), sign * target)
        sold = [leg for leg in self.legs if leg.direction < 0]
        protective = plan_repairs(_holdings(bought), sign * target)
        if not self._state.final and not self._state.reduce:  # an excess protective leg waits for its partner
            side = {leg.spec.instrument_id: leg.side for leg in bought}
            protective = [r for r in protective if r.side == side[r.instrument_id]]
        return protective + plan_repairs(_holdings(sold), sign * min(target, self._covered_units()))

    def _unbid_excess(self, covered: int, now: Moment) -> bool:
        """A protective leg held beyond ``covered`` units has no bid: it cannot be sold back, only completed."""
        return any(
            leg.direction > 0 and leg.held * leg.direction > abs(leg.spec.ratio) * covered and _no_bid(leg, now)
            for leg in self.legs
        )

    def _fresh(self, leg: _Leg, now: Moment) -> bool:
        """The leg has a market quoted after its last balancing order went out."""
        instrument_id = leg.spec.instrument_id
        if instrument_id not in now.markets:
            return False
        return now.quote_ns.get(instrument_id, now.ts_ns) > leg.repair_ns

    def _submit_repair(self, now: Moment, leg: _Leg, repair: Repair) -> None:
        market = now.markets[leg.spec.instrument_id]
        price = marketable_price(
            market, repair.side, self.settings.repair_slippage_ticks, self.settings.leg_rule, leg.spec.increment
        )
        leg.repair_ns = now.ts_ns
        self._emit(Log("warning", f"leg repair {repair.describe()}"))
        self._submit_leg_order(now, leg, repair.side, repair.quantity, price, market.mid, -1, BALANCE)

    def _balanced(self, now: Moment, target: int) -> None:
        """The legs are at ``target`` units: record them (legging) and go on, or finish after the final balance."""
        state = self._state
        state.stalled, state.reduce = 0, False
        self._record_units(target)
        if state.final:
            self._finish()
        else:
            self._next(now)

    def _record_units(self, target: int) -> None:
        """The legs make ``target`` units: the order's filled units, and (legging) the group view's record."""
        state = self._state
        if not self.combo:
            record = (target, self._premium())
            if record != state.recorded and (target or state.recorded is not None):
                state.recorded = record
                self._emit(RecordUnits(*record))
        state.filled_units = target

    def _premium(self) -> float:
        """Net premium per unit and share: each leg's net cost per contract held, ratio-weighted."""
        premium = sum(leg.spec.ratio * leg.net_debit / float(leg.held) for leg in self.legs if leg.held)
        return round(premium, 6)

    def _covered_units(self) -> int:
        """Whole units the legs this trade buys have bought (all legs when it buys none), at most N."""
        legs = [leg for leg in self.legs if leg.direction > 0] or self.legs
        return min(min(_units(leg, math.floor) for leg in legs), self.units)

    def _reach_units(self) -> int:
        """Units begun: the most any leg this trade buys has gone toward, a partial unit counted, at most N."""
        return min(max(_units(leg, math.ceil) for leg in self.legs if leg.direction > 0), self.units)

    def _sold_units(self) -> int:
        """Whole units the legs this trade sells have sold (the covered units when it sells none)."""
        sold = [_units(leg, math.floor) for leg in self.legs if leg.direction < 0]
        return min(sold) if sold else self._covered_units()

    def _next(self, now: Moment) -> None:
        state = self._state
        if state.stop is None and state.filled_units >= self.goal:
            state.part += 1
            state.attempt, state.start = 0, None
            if state.part == len(self.parts):
                self._end(now)
                return
        elif state.stop is None:
            state.attempt += 1
            if state.attempt >= self.primary.params.max_attempts:
                state.stop = Stop(Ending.ATTEMPTS)
        if state.stop is not None:
            if self._should_complete(state.stop):
                state.course, state.stop = Course.COMPLETION, replace(state.stop, cancelling=False)
                state.part = len(self.parts) - 1
                self._start_attempt(now)
            else:
                self._end(now)
            return
        state.phase = Phase.WAIT
        state.wait_timer = self._timer_name("wait")
        wait_s = self._rng.uniform(self.settings.wait_min_seconds, self.settings.wait_max_seconds)
        self._emit(SetTimer(state.wait_timer, now.ts_ns + int(wait_s * SECOND_NS), TimerKind.WAIT))

    def _should_complete(self, stop: Stop) -> bool:
        return (
            stop.ending in (Ending.DEADLINE, Ending.ATTEMPTS)
            and self.primary.params.on_deadline == "complete"
            and self._state.course == Course.PARTS
            and self._state.filled_units < self.units
        )

    # -- the end --------------------------------------------------------------------------------

    def _end(self, now: Moment) -> None:
        """No attempt follows: the final balance, then finish."""
        state = self._state
        state.final, state.stalled, state.reduce = True, 0, False
        self._balance(now)

    def _on_deadline(self, now: Moment) -> None:
        state = self._state
        if state.phase == Phase.DONE or state.stop is not None:
            return
        if state.phase == Phase.WAIT and state.awaiting_since_ns is not None:
            self._stop_waiting(now)
            if state.spawned == 0:
                self._emit(Log("warning", "deadline while the spread had no quote yet: nothing was sent"))
        state.stop = Stop(Ending.DEADLINE)
        self._halt(now)

    def _halt(self, now: Moment) -> None:
        """Stop working: cancel the wait or the working ladder children; what follows settles as usual."""
        state = self._state
        if state.phase == Phase.DONE:
            return
        if state.phase == Phase.WAIT:
            if state.wait_timer is not None:
                self._emit(CancelTimer(state.wait_timer))
            state.wait_timer = None
            self._next(now)
            return
        if state.stop is not None:
            state.stop = replace(state.stop, cancelling=True)
        for key, child in state.children.items():
            if child.kind == LADDER:  # balancing orders run their course
                self._emit(CancelChild(key))

    def _finish(self) -> None:
        state = self._state
        state.phase = Phase.DONE
        self._emit(CancelTimer(self.deadline_timer))  # a no-op once it has fired
        filled = state.filled_units >= self.units
        ending = state.stop.ending if state.stop is not None else None
        summary: dict[str, object] = {
            "status": "filled" if filled else (ending.value if ending is not None else None),
            "mode": self.mode,
            "units": self.units,
            "parts": list(self.parts),
            "filled_units": state.filled_units,
            "balanced": not plan_repairs(_holdings(self.legs), self.unit_sign * state.filled_units),
            "legs": {leg.spec.instrument_id.value: str(leg.held) for leg in self.legs},
            "waited_for_quote_s": state.waited_ns / SECOND_NS,
        }
        self._emit(Finish(summary))

    # -- plumbing -------------------------------------------------------------------------------

    @property
    def deadline_timer(self) -> str:
        return f"{self.primary.name}:deadline"

    def _await(self, instrument_ids: tuple[InstrumentId, ...], reason: str) -> None:
        self._state.awaiting = True
        self._emit(AwaitQuote(instrument_ids, reason))

    def _stop_waiting(self, now: Moment) -> None:
        """The wait for the spread's first quote is over (a quote, or the deadline): count how long it took."""
        since = self._state.awaiting_since_ns
        if since is not None:
            self._state.waited_ns += now.ts_ns - since
            self._state.awaiting_since_ns = None

    def _timer_name(self, what: str) -> str:
        self._state.timers += 1
        return f"{self.primary.name}:{what}:{self._state.timers}"

    def _emit(self, action: Action) -> None:
        self._out.append(action)

    def _flush(self) -> list[Action]:
        out, self._out = self._out, []
        return out


def _units(leg: _Leg, rounding: Callable[[Decimal], int]) -> int:
    """The units ``leg`` holds in this trade's direction, rounded down (whole) or up (begun)."""
    return rounding(max(Decimal(0), leg.held * leg.direction) / abs(leg.spec.ratio))


def _no_bid(leg: _Leg, now: Moment) -> bool:
    market = now.markets.get(leg.spec.instrument_id)
    return market is None or market.bid <= 0.0


def _holdings(legs: Iterable[_Leg]) -> list[LegHolding]:
    return [LegHolding(leg.spec.instrument_id, leg.spec.ratio, leg.held) for leg in legs]
