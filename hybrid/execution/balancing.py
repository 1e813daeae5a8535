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
  the group from the group book (:func:`hybrid.tracking.book.group_book`), submits each repair as a
  marketable IOC limit (or market) order on the leg, tagged with the group, and logs it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from nautilus_trader.model.enums import OrderSide, TimeInForce
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.orders import Order
from nautilus_trader.trading.strategy import Strategy

from hybrid.tracking import GroupTags, PositionGroup
from hybrid.tracking.book import group_book

RepairKind = Literal["complete", "flatten"]
RepairOrderType = Literal["limit", "market"]


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
    runs at the end of the current instant (a time alert at now), when every synthetic leg fill of
    the instant is in, and only when none of the group's orders is still working. Repair orders
    are created in that instant, so the group view never sees the gap as a settled state.

    ``order_type``: ``limit`` = IOC limit ``slippage_ticks`` beyond the far touch (the default; live
    venues take it), ``market`` = market order. ``max_attempts`` caps the repair rounds per group
    without progress, so a leg that cannot trade (no quote, rejected) is reported, not retried forever.
    """

    def __init__(
        self,
        strategy: Strategy,
        order_type: RepairOrderType = "limit",
        slippage_ticks: int = 2,
        max_attempts: int = 5,
        on_checked: Callable[[str, PositionGroup | None, list[Repair]], None] | None = None,
    ) -> None:
        if order_type not in ("limit", "market"):
            raise ValueError(f"repair order_type must be 'limit' or 'market', got {order_type!r}")
        if slippage_ticks < 0 or max_attempts < 1:
            raise ValueError(f"slippage_ticks must be >= 0 and max_attempts >= 1, got {slippage_ticks}, {max_attempts}")
        self.strategy = strategy
        self.order_type = order_type
        self.slippage_ticks = slippage_ticks
        self.max_attempts = max_attempts
        self.on_checked = on_checked
        self.attempts: dict[str, int] = {}
        self.repairs_submitted = 0
        self.gave_up: set[str] = set()

    def on_group_event(self, group_id: str) -> None:
        """Schedule a balance check of ``group_id`` at the end of the current instant (once per instant)."""
        clock = self.strategy.clock
        name = f"balance-{group_id}"
        if name not in clock.timer_names:
            clock.set_time_alert_ns(name, clock.timestamp_ns(), lambda _event: self.check(group_id), allow_past=True)

    def check(self, group_id: str) -> list[Repair]:
        """Compare the group's legs with ratio x units now, submit what is missing or in excess, tell ``on_checked``."""
        group = group_book(self.strategy.cache, self.strategy.msgbus).get(group_id)
        repairs = self._repair(group_id, group) if group is not None and group.working_orders == 0 else []
        if self.on_checked is not None:
            self.on_checked(group_id, group, repairs)
        return repairs

    def _repair(self, group_id: str, group: PositionGroup) -> list[Repair]:
        repairs = plan_repairs(holdings(group), group.units)
        if not repairs:
            self.attempts.pop(group_id, None)
            return []
        attempt = self.attempts.get(group_id, 0) + 1
        self.attempts[group_id] = attempt
        log = self.strategy.log
        if attempt > self.max_attempts:
            if group_id not in self.gave_up:
                self.gave_up.add(group_id)
                log.error(
                    f"group {group_id} still unbalanced after {self.max_attempts} repair rounds: "
                    + "; ".join(r.describe() for r in repairs)
                )
            return []
        tags = GroupTags(group.group_id, group.source, group.structure)
        for repair in repairs:
            order = self.repair_order(repair, tags)
            if order is None:
                log.error(f"group {group_id}: cannot repair {repair.describe()}: no quote for the leg")
                continue
            log.warning(f"group {group_id} leg repair (round {attempt}): {repair.describe()}")
            self.strategy.submit_order(order)
            self.repairs_submitted += 1
        return repairs

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
        step = instrument.price_increment.as_double() * self.slippage_ticks
        if repair.side == OrderSide.BUY:
            price = quote.ask_price.as_double() + step
        else:
            price = max(quote.bid_price.as_double() - step, instrument.price_increment.as_double())
        return strategy.order_factory.limit(
            repair.instrument_id,
            repair.side,
            quantity,
            instrument.make_price(price),
            tags=tags.to_tags(),
        )
