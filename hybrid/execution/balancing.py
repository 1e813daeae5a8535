"""Leg balancing: make a group's leg positions equal ratio x filled units again, and say what was done.

Why: in NautilusTrader 1.231 a spread order fills as one spread-level fill plus synthetic leg fills,
and the legs are generated only from the FIRST fill of a match. A spread order larger than the
displayed size fills completely at the spread level but only partly in its legs; a limit exactly at
the touch can fill with no leg fills at all. Any partial fill (a cancelled remainder, a half-worked
two-part order) leaves the same kind of gap. Positions exist per leg only, so the legs are the truth
of what is held; the spread-level units are the truth of what the group is meant to hold.

The rule (one target, repairs ordered by risk):

- target of every leg = its ratio x the group's filled units (net spread-level fills, signed, plus the
  units an algorithm recorded for an order it worked leg by leg: the same definition
  :mod:`hybrid.tracking.groups` checks a group against). The spread-level fills
  are what the group agreed to trade, at the price it agreed to, so the legs are brought to them;
  shrinking the units instead would need another spread order, open to the same bug.
- a repair is ``target - held`` on a leg, as one leg order. ``complete`` moves a leg away from zero
  toward its target (the missing quantity); ``flatten`` moves it toward zero (the excess).
- risk-reducing repairs go first: completing missing LONG legs (the protective wings of a condor
  or butterfly) and flattening excess SHORT exposure; then flattening excess longs; completing
  missing SHORT legs comes last, so that if anything stops the sequence the book is left with
  less naked short exposure, never more.

Two ways to use it:

- :func:`plan_repairs` is pure: legs (ratio, held quantity) and target units in, repairs out. The
  two-part ExecAlgorithm (legging mode) uses it to find what is still missing.
- :class:`LegBalancer` is the strategy-side hook: after a group's fills (and when a group order
  ends without filling completely) it schedules a check at the end of the current instant, reads
  the group from the group book (:func:`hybrid.tracking.book.group_book`), submits each repair as an
  IOC order on the leg (a limit beyond the touch, or a market order), tagged with the group, and logs it.
  An IOC order takes what the book shows now and never rests: a round that leaves a gap is followed by
  another once the leg has a quote newer than that round (never twice on one quote). A limit is the
  two-part algorithm's balancing price (:func:`hybrid.execution.ladder.marketable_price`): a sell never
  below 0.00, so a worthless wing bid at 0.00 is sold at its bid.

Never on a dead contract, never into a closed market: a repair on a contract that has expired (it is
settled, :mod:`hybrid.tracking.settlement`) is not sent but logged as an error, and the group stays out of
ratio in the group view, where it is reported. At the expiry instant itself the check is repeated just
after it: the venue's settlement fills and the expiry record of that instant may not all be in yet. A repair due while the exchange is closed (the shares a
physical settlement delivers at the close of expiry day, a calendar's back month left by its front's
expiry) waits, by default, for the next session: it is re-checked at the open and sent once the leg has a
quote of that session, so no order rests overnight or over a weekend against a stale quote
(``after_hours="immediately"`` sends it at once, as before).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from nautilus_trader.model.enums import OrderSide, TimeInForce
from nautilus_trader.model.identifiers import ClientOrderId, InstrumentId
from nautilus_trader.model.orders import Order
from nautilus_trader.trading.strategy import Strategy

from hybrid.calendar import nyse as calendar
from hybrid.calendar.exchange_time import ns_new_york_date
from hybrid.execution.ladder import TickRule, market_of, marketable_price
from hybrid.nautilus_compat.instant_end import end_of_now_ns
from hybrid.options.instruments import first_expiration_ns
from hybrid.tracking import GroupTags, PositionGroup
from hybrid.tracking.book import group_book

RepairKind = Literal["complete", "flatten"]
RepairOrderType = Literal["limit", "market"]
AfterHours = Literal["next_open", "immediately"]
AFTER_HOURS: tuple[AfterHours, ...] = ("next_open", "immediately")
_RECHECK_NS = 10_000_000_000  # in session, waiting for the leg's first quote of the session


@dataclass(frozen=True, slots=True)
class LegHolding:
    """One leg of a group: signed quantity per structure unit and the signed quantity actually held."""

    instrument_id: InstrumentId
    ratio: int
    held: Decimal


@dataclass(frozen=True, slots=True)
class Repair:
    """One leg order that moves a leg from ``held`` to ``target`` (``quantity`` > 0, ``side`` says which way)."""

    instrument_id: InstrumentId
    side: OrderSide
    quantity: Decimal
    kind: RepairKind
    held: Decimal
    target: Decimal

    @property
    def signed_quantity(self) -> Decimal:
        return self.quantity if self.side == OrderSide.BUY else -self.quantity

    def describe(self) -> str:
        """One line for the log, e.g. ``complete SPY 240216P00440000.OPRA: BUY 3 (held 2, target 5)``."""
        side = "BUY" if self.side == OrderSide.BUY else "SELL"
        return f"{self.kind} {self.instrument_id}: {side} {self.quantity} (held {self.held}, target {self.target})"


def _priority(repair: Repair) -> int:
    """0: completes a missing long or flattens excess short (reduces risk); 1: flattens excess long; 2: sells a missing short."""
    if repair.side == OrderSide.BUY:
        return 0
    return 1 if repair.kind == "flatten" else 2


def plan_repairs(legs: Iterable[LegHolding], units: Decimal | int) -> list[Repair]:
    """The leg orders that bring every leg to ``ratio x units``, risk-reducing ones first (see module doc).

    ``units`` is signed (a structure bought is positive). An empty list means the group is balanced.
    A leg with ratio 0 (a fill on an instrument the structure does not define) is flattened.
    """
    units = Decimal(units)
    repairs = []
    for leg in legs:
        target = leg.ratio * units
        gap = target - leg.held
        if gap == 0:
            continue
        # away from zero and not past the target on the other side: the missing quantity
        completes = abs(target) > abs(leg.held) and (leg.held == 0 or (leg.held > 0) == (target > 0))
        repairs.append(
            Repair(
                instrument_id=leg.instrument_id,
                side=OrderSide.BUY if gap > 0 else OrderSide.SELL,
                quantity=abs(gap),
                kind="complete" if completes else "flatten",
                held=leg.held,
                target=target,
            ),
        )
    return sorted(repairs, key=lambda r: (_priority(r), r.instrument_id.value))


def holdings(group: PositionGroup) -> list[LegHolding]:
    """The legs of a group of the group book, as :func:`plan_repairs` wants them.

    The underlying leg of a structure with shares is among them (named by its ``leg_ratio=`` tag,
    :mod:`hybrid.tracking.tags`), so it is completed and flattened like any other leg.
    """
    return [LegHolding(leg.instrument_id, leg.ratio, leg.quantity) for leg in group.legs]


class LegBalancer:
    """Checks groups after their fills and submits the repairs as tagged leg orders (see module doc).

    Owned by a Strategy and fed from its handlers: call :meth:`on_group_event` with the group id
    whenever one of the group's orders fills or ends (filled, canceled, expired, rejected). The check
    runs at the end of the current instant (a time alert at now; on a live clock a moment later,
    :func:`hybrid.nautilus_compat.instant_end.end_of_now_ns`), when every synthetic leg fill of
    the instant is in, also while a structure order of the group works (a partial fill that left its legs
    short is repaired at once), but not while an execution algorithm works the group or a repair is under
    way. Repair orders are created in that instant, so a repaired gap is closed by the end of it.

    ``order_type``: ``limit`` = IOC limit ``slippage_ticks`` beyond the far touch (the default; live
    venues take it), ``market`` = IOC market order. A leg whose last round left a gap waits for its next
    quote: the strategy passes its groups' quotes to :meth:`on_quote`, and a re-check every
    ``_RECHECK_NS`` covers a group no quote reaches. ``max_attempts`` caps the repair rounds per group
    without progress, so a leg that cannot trade (rejected) is reported, not retried forever.
    ``after_hours``: ``next_open`` (default) or ``immediately``, for a repair due while the exchange is
    closed (module docstring).
    """

    def __init__(
        self,
        strategy: Strategy,
        order_type: RepairOrderType = "limit",
        slippage_ticks: int = 2,
        max_attempts: int = 5,
        on_checked: Callable[[str, PositionGroup | None, list[Repair]], None] | None = None,
        after_hours: AfterHours = "next_open",
    ) -> None:
        if order_type not in ("limit", "market"):
            raise ValueError(f"repair order_type must be 'limit' or 'market', got {order_type!r}")
        if after_hours not in AFTER_HOURS:
            raise ValueError(f"repair after_hours must be one of {', '.join(AFTER_HOURS)}, got {after_hours!r}")
        if slippage_ticks < 0 or max_attempts < 1:
            raise ValueError(f"slippage_ticks must be >= 0 and max_attempts >= 1, got {slippage_ticks}, {max_attempts}")
        self.strategy = strategy
        self.order_type = order_type
        self.slippage_ticks = slippage_ticks
        self.max_attempts = max_attempts
        self.on_checked = on_checked
        self.after_hours = after_hours
        self.attempts: dict[str, int] = {}
        self.repairs_submitted = 0
        self.gave_up: set[str] = set()
        self.expired: set[tuple[str, InstrumentId]] = set()  # (group, contract) repairs refused as expired
        self.waiting: set[str] = set()  # groups whose repairs wait for a session
        self.stale: set[str] = set()  # groups whose next round waits for a leg quote newer than the last round
        self._sent_ns: dict[tuple[str, InstrumentId], int] = {}  # (group, leg) -> when its last repair went out
        self._gaps: dict[str, Decimal] = {}  # group -> contracts its last round asked for

    def on_group_event(self, group_id: str) -> None:
        """Schedule a balance check of ``group_id`` at the end of the current instant (once per instant)."""
        clock = self.strategy.clock
        name = f"balance-{group_id}"
        if name not in clock.timer_names:
            clock.set_time_alert_ns(name, end_of_now_ns(clock), lambda _event: self.check(group_id))

    def on_quote(self, group_id: str) -> None:
        """A quote of the group's market came: a round waiting for a fresher leg quote may go now."""
        if group_id in self.stale:
            self.on_group_event(group_id)

    def check(self, group_id: str) -> list[Repair]:
        """Compare the group's legs with ratio x units now, submit what is missing or in excess, tell ``on_checked``."""
        group = group_book(self.strategy.cache, self.strategy.msgbus).get(group_id)
        repairs = self._repair(group_id, group) if group is not None and not self._in_flight(group) else []
        if self.on_checked is not None:
            self.on_checked(group_id, group, repairs)
        return repairs

    def _in_flight(self, group: PositionGroup) -> bool:
        """An order of the group that changes its legs by itself is working: an execution algorithm's (it
        balances what it works) or a leg order (a repair still under way). A working structure order does
        not hold the check back: its fills come with their legs, or with a gap of their own."""
        for client_order_id in group.order_ids:
            order = self.strategy.cache.order(ClientOrderId(client_order_id))
            if order is None or order.is_closed:
                continue
            if order.exec_algorithm_id is not None or order.instrument_id != group.instrument_id:
                return True
        return False

    def _repair(self, group_id: str, group: PositionGroup) -> list[Repair]:
        """Submit what can be traded now; report repairs on expired contracts, defer those the market is
        closed for. Returns every repair the group needs (none: it is balanced)."""
        repairs = plan_repairs(holdings(group), group.units)
        if not repairs:
            self.attempts.pop(group_id, None)
            self._gaps.pop(group_id, None)
            self.waiting.discard(group_id)
            self.stale.discard(group_id)
            for key in [key for key in self._sent_ns if key[0] == group_id]:
                del self._sent_ns[key]
            return []
        now = self.strategy.clock.timestamp_ns()
        ready = []
        for repair in repairs:
            expires = first_expiration_ns(self.strategy.cache, repair.instrument_id)
            if expires is not None and now == expires:  # its settlement may still be on its way: look again after
                self._recheck(group_id, now + 1)
            elif expires is not None and now > expires:
                if (group_id, repair.instrument_id) not in self.expired:
                    self.expired.add((group_id, repair.instrument_id))
                    self.strategy.log.error(f"group {group_id}: no repair on an expired contract: {repair.describe()}")
            elif not (self.after_hours == "immediately" or self._tradable(repair.instrument_id, now)):
                self._defer(group_id, repair, now)
            elif self._fresh(group_id, repair.instrument_id):
                ready.append(repair)
            else:
                self._await_quote(group_id, now)
        if ready:
            self.waiting.discard(group_id)
            self._submit(group_id, group, ready)
        return repairs

    def _fresh(self, group_id: str, instrument_id: InstrumentId) -> bool:
        """The leg has a quote newer than the group's last repair on it (or had none): an IOC may meet a new book."""
        sent = self._sent_ns.get((group_id, instrument_id))
        if sent is None:
            return True
        quote = self.strategy.cache.quote_tick(instrument_id)
        return quote is not None and quote.ts_event > sent

    def _await_quote(self, group_id: str, now: int) -> None:
        """The last round left a gap on this quote: the next goes at a newer one (:meth:`on_quote`, or the re-check)."""
        if group_id not in self.stale:  # one re-check per wait, so a leg that never quotes again costs nothing
            self.stale.add(group_id)
            self._recheck(group_id, now + _RECHECK_NS)

    def _tradable(self, instrument_id: InstrumentId, now: int) -> bool:
        """The exchange is open and the leg has a quote of this session."""
        bounds = calendar.session_bounds_ns(ns_new_york_date(now))
        if bounds is None or not bounds[0] <= now < bounds[1]:
            return False
        quote = self.strategy.cache.quote_tick(instrument_id)
        return quote is not None and quote.ts_event >= bounds[0]

    def _recheck(self, group_id: str, at_ns: int) -> None:
        name = f"balance-settled-{group_id}"
        clock = self.strategy.clock
        if name not in clock.timer_names:
            clock.set_time_alert_ns(name, max(at_ns, end_of_now_ns(clock)), lambda _event: self.check(group_id))

    def _defer(self, group_id: str, repair: Repair, now: int) -> None:
        """Check the group again at the next open (in session: a little later, for the leg's first quote)."""
        name = f"balance-open-{group_id}"
        clock = self.strategy.clock
        if name in clock.timer_names:
            return
        if group_id not in self.waiting:
            self.waiting.add(group_id)
            self.strategy.log.info(f"group {group_id}: {repair.describe()} waits for the next session's quotes")
        clock.set_time_alert_ns(name, _next_chance(now), lambda _event: self.check(group_id))

    def _submit(self, group_id: str, group: PositionGroup, repairs: list[Repair]) -> None:
        gap = sum((repair.quantity for repair in repairs), Decimal(0))
        progressed = gap < self._gaps.get(group_id, gap)  # the last round filled some: IOC partials go on
        self._gaps[group_id] = gap
        attempt = 1 if progressed else self.attempts.get(group_id, 0) + 1
        self.attempts[group_id] = attempt
        log = self.strategy.log
        if attempt > self.max_attempts:
            if group_id not in self.gave_up:
                self.gave_up.add(group_id)
                log.error(
                    f"group {group_id} still unbalanced after {self.max_attempts} repair rounds: "
                    + "; ".join(r.describe() for r in repairs)
                )
            return
        tags = GroupTags(group.group_id, group.source, group.structure)
        for repair in repairs:
            order = self.repair_order(repair, tags)
            if order is None:
                log.error(f"group {group_id}: cannot repair {repair.describe()}: no quote for the leg")
                continue
            log.warning(f"group {group_id} leg repair (round {attempt}): {repair.describe()}")
            self._sent_ns[(group_id, repair.instrument_id)] = self.strategy.clock.timestamp_ns()
            self.strategy.submit_order(order)
            self.repairs_submitted += 1
        self.stale.discard(group_id)

    def repair_order(self, repair: Repair, tags: GroupTags) -> Order | None:
        """The leg order for one repair; None when a limit is wanted and the leg has no quote."""
        strategy = self.strategy
        instrument = strategy.cache.instrument(repair.instrument_id)
        quantity = instrument.make_qty(repair.quantity)
        if self.order_type == "market":
            return strategy.order_factory.market(
                repair.instrument_id,
                repair.side,
                quantity,
                time_in_force=TimeInForce.IOC,
                tags=tags.to_tags(),
            )
        quote = strategy.cache.quote_tick(repair.instrument_id)
        if quote is None:
            return None
        increment = instrument.price_increment.as_double()
        price = marketable_price(market_of(quote), repair.side, self.slippage_ticks, TickRule.INSTRUMENT, increment)
        return strategy.order_factory.limit(
            repair.instrument_id,
            repair.side,
            quantity,
            instrument.make_price(price),
            time_in_force=TimeInForce.IOC,
            tags=tags.to_tags(),
        )


def _next_chance(now: int) -> int:
    """When a deferred repair is looked at again: in session a little later, else the next session's open."""
    day = ns_new_york_date(now)
    bounds = calendar.session_bounds_ns(day)
    if bounds is not None and bounds[0] <= now < bounds[1]:
        return now + _RECHECK_NS
    for session in calendar.next_sessions(day, 2):
        opens = calendar.session_bounds_ns(session)
        if opens is not None and opens[0] > now:
            return opens[0]
    raise ValueError(f"no NYSE session after {day}")
