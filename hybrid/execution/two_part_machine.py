"""The two-part algorithm's decisions, without an engine: events in, actions out.

One :class:`TwoPartMachine` works one primary order. The ExecAlgorithm shell
(:mod:`hybrid.execution.two_part`) turns NautilusTrader events into calls of its ``on_*`` methods,
passing the time and the legs' usable quotes as a :class:`Moment`, and carries out the actions they
return in order: submit a child at a price, cancel a child, set or cancel a timer, record an attempt
or legged units, finish. Everything the module docstring of :mod:`hybrid.execution.two_part`
describes is decided here: the split, the ladder rung of each attempt, the child timeout, the random
waits, the second part, the deadline, the completion at the bound and the leg balancing.

State. :class:`Phase` says what is working; :class:`Course` whether the parts are worked or the one
completion at the bound; a :class:`Stop` (None while working normally) says why the order ends and
whether its working children are being cancelled.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
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
    REPAIR = "repair"  # balancing orders are working
    WAIT = "wait"  # between attempts
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
    """When an event is handled: the time and the legs' usable markets (two-sided, not crossed)."""

    ts_ns: int
    markets: Mapping[InstrumentId, Market]
    spread_quoted: bool = False  # the spread itself has a quote (the venue can match a spread order)


@dataclass(frozen=True, slots=True)
class SetTimer:
    name: str
    at_ns: int
    kind: TimerKind


@dataclass(frozen=True, slots=True)
class CancelTimer:
    name: str


@dataclass(frozen=True, slots=True)
class AwaitSpreadQuote:
    """Start the attempt again at the spread's first quote (:meth:`TwoPartMachine.on_spread_quote`)."""


@dataclass(frozen=True, slots=True)
class SpawnChild:
    """A ladder child on the primary's own instrument; cancel it if still open at ``timeout_at_ns``."""

    key: str
    quantity: int
    price: float
    timeout_at_ns: int


@dataclass(frozen=True, slots=True)
class SubmitLegOrder:
    """An order on one leg (a legging child or a balancing order), client order id ``<primary>-<key>``."""

    key: str
    instrument_id: InstrumentId
    side: OrderSide
    quantity: Decimal
    price: float
    repair: bool
    timeout_at_ns: int


@dataclass(frozen=True, slots=True)
class CancelChild:
    key: str


@dataclass(frozen=True, slots=True)
class RecordAttempt:
    """A ladder child ended: one row of fill statistics."""

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


@dataclass(frozen=True, slots=True)
class RecordUnits:
    """Legging: the units the legs now make up, and their premium per unit, for the group view."""

    units: int
    premium: float


@dataclass(frozen=True, slots=True)
class Finish:
    """The order is done: close the primary and leave ``summary``."""

    summary: dict[str, object]


@dataclass(frozen=True, slots=True)
class Log:
    level: Literal["warning", "error"]
    message: str


Action = (
    SetTimer
    | CancelTimer
    | AwaitSpreadQuote
    | SpawnChild
    | SubmitLegOrder
    | CancelChild
    | RecordAttempt
    | RecordUnits
    | Finish
    | Log
)
StartRung = Callable[[str, str, str, int], int]  # (underlying, mode, leg role, ladder steps) -> the first rung


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
    opened: Decimal = Decimal(0)  # quantity its leg orders filled in ``direction`` (the premium's VWAP)
    opened_notional: float = 0.0

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
    record: bool  # ladder children are fill statistics; balancing orders are not
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
    filled_units: int = 0
    spread_filled: Decimal = Decimal(0)
    repair_rounds: int = 0
    children: dict[str, _Child] = field(default_factory=dict)  # the working ones, in submission order
    leg_orders: int = 0
    spawned: int = 0
    timers: int = 0
    wait_timer: str | None = None


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

    def on_spread_quote(self, now: Moment) -> list[Action]:
        """The spread's first quote, after :class:`AwaitSpreadQuote`."""
        if self._state.phase == Phase.WAIT:
            self._start_attempt(now)
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
            if signed * child.leg.direction > 0:
                child.leg.opened += quantity
                child.leg.opened_notional += price * float(quantity)
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
            self._emit(AwaitSpreadQuote())
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
        rung = self._rung(role, ladder.steps)
        self._state.spawned += 1
        key = f"S{self._state.spawned}"
        self._add_child(key, _Child(leg, role, rung, ladder.mid, record=True))
        self._emit(SpawnChild(key, quantity, ladder.price(rung), self._timeout(now)))

    def _price_legs(self, now: Moment) -> bool:
        """Each leg's rung for this attempt, stepped back together while the net price breaks the limit."""
        ladders = []
        for leg in self.legs:
            ladder = self._ladder(now, leg.side, leg)
            if ladder is None:
                self._emit(Log("warning", f"no quote for {leg.spec.instrument_id}, attempt skipped"))
                return False
            ladders.append(ladder)
            leg.rung = self._rung(leg.role, ladder.steps)
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
        self._submit_leg_order(now, leg, leg.side, quantity, ladder.price(leg.rung), ladder.mid, leg.rung, repair=False)

    def _submit_shorts(self, now: Moment) -> bool:
        """Legging: sell the legs this trade sells, for the units the bought legs cover."""
        self._state.phase = Phase.SHORT
        covered = self._covered_units()
        for leg in self.legs:
            if leg.direction < 0:
                self._submit_leg_child(now, leg, covered)
        return bool(self._state.children)

    def _rung(self, role: str, steps: int) -> int:
        if self._state.course == Course.COMPLETION:
            return steps
        start = 0 if self._start_rung is None else self._start_rung(self.primary.underlying, self.mode, role, steps)
        return min(start + self._state.attempt, steps)

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
        repair: bool,
    ) -> None:
        self._state.leg_orders += 1
        key = f"L{self._state.leg_orders}"
        self._add_child(key, _Child(leg, leg.role, step, mid, record=not repair))
        self._emit(SubmitLegOrder(key, leg.spec.instrument_id, side, quantity, price, repair, self._timeout(now)))

    def _add_child(self, key: str, child: _Child) -> None:
        self._state.children[key] = child

    def _timeout(self, now: Moment) -> int:
        return now.ts_ns + int(self.settings.child_timeout_seconds * SECOND_NS)

    def _child_closed(self, key: str, now: Moment) -> None:
        child = self._state.children.pop(key, None)
        if child is None:
            return
        if child.record:
            part, steps = self._state.part + 1, self.primary.params.ladder_steps
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
                )
            )
        if not self._state.children:
            self._schedule_settle(now)

    # -- between attempts -----------------------------------------------------------------------

    def _schedule_settle(self, now: Moment) -> None:
        self._emit(SetTimer(self._timer_name("settle"), now.ts_ns, TimerKind.SETTLE))

    def _settle(self, now: Moment) -> None:
        state = self._state
        if state.phase == Phase.DONE or state.children:
            return
        cancelling = state.stop is not None and state.stop.cancelling
        if state.phase == Phase.PROTECT and not cancelling and self._submit_shorts(now):
            return
        self._reconcile(now)

    def _reconcile(self, now: Moment) -> None:
        """Bring the legs to ratio x units (marketable leg orders, in rounds), then go on."""
        state = self._state
        target, repairs = self._repairs()
        if repairs and state.repair_rounds < self.settings.max_repair_rounds:
            state.repair_rounds += 1
            state.phase = Phase.REPAIR
            for repair in repairs:
                self._submit_repair(now, repair)
            if state.children:
                return
        if repairs:
            described = "; ".join(r.describe() for r in repairs)
            self._emit(Log("error", f"legs still unbalanced after {state.repair_rounds} repair rounds: {described}"))
            state.stop = Stop(Ending.UNBALANCED, cancelling=state.stop is not None and state.stop.cancelling)
        state.repair_rounds = 0
        if not self.combo and target != state.filled_units:
            self._emit(RecordUnits(target, self._premium()))
        state.filled_units = target
        self._next(now)

    def _premium(self) -> float:
        """Net premium per unit of the legs opened so far (each leg at its orders' VWAP)."""
        premium = sum(leg.spec.ratio * leg.opened_notional / float(leg.opened) for leg in self.legs if leg.opened)
        return round(premium, 6)

    def _repairs(self) -> tuple[int, list[Repair]]:
        """The units the legs must match (combo: the spread fills; legging: the covered units) and the repairs."""
        state = self._state
        target = int(state.spread_filled) if self.primary.spread and self.combo else self._covered_units()
        holdings = [LegHolding(leg.spec.instrument_id, leg.spec.ratio, leg.held) for leg in self.legs]
        return target, plan_repairs(holdings, self.unit_sign * target)

    def _submit_repair(self, now: Moment, repair: Repair) -> None:
        leg = next(leg for leg in self.legs if leg.spec.instrument_id == repair.instrument_id)
        market = now.markets.get(leg.spec.instrument_id)
        if market is None:
            self._emit(Log("error", f"cannot repair {repair.describe()}: no quote"))
            return
        ticks, rule = self.settings.repair_slippage_ticks, self.settings.leg_rule
        price = marketable_price(market, repair.side, ticks, rule, leg.spec.increment)
        self._emit(Log("warning", f"leg repair {repair.describe()}"))
        self._submit_leg_order(now, leg, repair.side, repair.quantity, price, market.mid, -1, repair=True)

    def _covered_units(self) -> int:
        """Whole units the legs this trade buys have bought (all legs when it buys none), at most N."""
        legs = [leg for leg in self.legs if leg.direction > 0] or self.legs
        covered = min(math.floor(max(Decimal(0), leg.held * leg.direction) / abs(leg.spec.ratio)) for leg in legs)
        return min(covered, self.units)

    def _next(self, now: Moment) -> None:
        state = self._state
        if state.stop is None and state.filled_units >= self.goal:
            state.part += 1
            state.attempt = 0
            if state.part == len(self.parts):
                self._finish()
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
                self._finish()
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

    def _on_deadline(self, now: Moment) -> None:
        if self._state.phase == Phase.DONE or self._state.stop is not None:
            return
        self._state.stop = Stop(Ending.DEADLINE)
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
            if child.record:  # ladder children; balancing orders run their course
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
            "balanced": ending != Ending.UNBALANCED,
            "legs": {leg.spec.instrument_id.value: str(leg.held) for leg in self.legs},
        }
        self._emit(Finish(summary))

    # -- plumbing -------------------------------------------------------------------------------

    @property
    def deadline_timer(self) -> str:
        return f"{self.primary.name}:deadline"

    def _timer_name(self, what: str) -> str:
        self._state.timers += 1
        return f"{self.primary.name}:{what}:{self._state.timers}"

    def _emit(self, action: Action) -> None:
        self._out.append(action)

    def _flush(self) -> list[Action]:
        out, self._out = self._out, []
        return out
