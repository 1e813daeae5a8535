"""A position group as the bot manager sees it: per-unit legs, their quotes and the entry premium.

The group view (:func:`hybrid.tracking.rebuild_groups`) knows a group's structure instrument, its legs'
ratios and the units filled; this turns one open group into the :class:`MarkedGroup` the exit rules
take. Conventions:

- a unit is one unit of the structure instrument (the spread, or the single contract). Catalogue
  structures and order intents have ratios without a common divisor, so that is also one unit of the
  structure as opened;
- legs per unit carry the side the group was opened with (a spread held short has its ratios negated)
  and come in :func:`canonical_legs` order, which a roll keeps (same kinds and signs, strikes in the
  same order), so per-leg facts such as the entry deltas stay attached to the right leg across rolls;
- the entry net premium is per share of one unit, positive for a debit: the group's ``entry_premium``
  (already signed as paid), plus an underlying leg's shares at their average opening price over the
  multiplier.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from nautilus_trader.cache.base import CacheFacade
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.identifiers import ClientOrderId, InstrumentId, Symbol
from nautilus_trader.model.instruments import Equity, OptionContract

from hybrid.options.chain import contract_expiry, contract_right
from hybrid.options.legs import Leg
from hybrid.tracking import PositionGroup
from hybrid.valuation.marks import MarkedGroup, quote_sides


@dataclass(frozen=True)
class GroupView:
    """One open group's per-unit legs (canonical order) and the instruments they trade."""

    group: PositionGroup
    underlying_id: InstrumentId
    legs: tuple[Leg, ...]
    instrument_ids: tuple[InstrumentId, ...]
    multiplier: int

    @property
    def expiries(self) -> set[dt.date]:
        return {leg.expiry for leg in self.legs if leg.expiry is not None}


def _leg_key(leg: Leg) -> tuple:
    return (leg.kind, leg.quantity, leg.expiry or dt.date.min, leg.strike or 0.0)


def canonical_legs[T](legs: list[tuple[Leg, T]]) -> list[tuple[Leg, T]]:
    """Legs sorted by kind, signed quantity, expiry and strike: an order a roll does not change."""
    return sorted(legs, key=lambda pair: _leg_key(pair[0]))


def group_view(cache: CacheFacade, group: PositionGroup) -> GroupView | str:
    """The group's legs per unit as opened, or the reason it cannot be marked (no units held, an
    underlying leg that is not a whole number of shares per unit, an instrument missing)."""
    units = int(group.units)
    if units == 0 or group.entry_premium is None:
        return "no structure units held"
    side = 1 if units > 0 else -1
    pairs: list[tuple[Leg, InstrumentId]] = []
    underlying_id: InstrumentId | None = None
    multiplier = 100
    for state in group.legs:
        instrument = cache.instrument(state.instrument_id)
        if isinstance(instrument, OptionContract) and state.ratio != 0:
            leg = Leg(
                contract_right(instrument),
                float(instrument.strike_price),
                contract_expiry(instrument),
                side * state.ratio,
            )
            underlying_id = InstrumentId(Symbol(instrument.underlying), instrument.id.venue)
            multiplier = int(instrument.multiplier)
            pairs.append((leg, state.instrument_id))
        elif isinstance(instrument, Equity) and state.quantity != 0:
            shares, rest = divmod(int(state.quantity), abs(units))
            if rest:
                return f"underlying leg of {state.quantity} shares is not whole per unit ({abs(units)} units)"
            pairs.append((Leg("underlying", None, None, shares), state.instrument_id))
    if underlying_id is None:
        return "no option leg"
    ordered = canonical_legs(pairs)
    return GroupView(group, underlying_id, tuple(leg for leg, _ in ordered), tuple(i for _, i in ordered), multiplier)


def entry_net_premium(cache: CacheFacade, view: GroupView) -> float:
    """Net premium per share of one unit at entry, positive for a debit (module docstring)."""
    group = view.group
    if group.entry_premium is None:
        raise ValueError(f"group {group.group_id} has no entry premium: it holds no structure units")  # see group_view
    premium = group.entry_premium  # the opening trade's, signed as paid (hybrid.tracking.groups)
    for leg, instrument_id in zip(view.legs, view.instrument_ids):
        if not leg.is_option:
            premium += leg.quantity * _opening_price(cache, group, instrument_id, leg.quantity > 0) / view.multiplier
    return premium


def _opening_price(cache: CacheFacade, group: PositionGroup, instrument_id: InstrumentId, long: bool) -> float:
    """Average price of the group's fills on ``instrument_id`` that added to the leg's side."""
    notional = quantity = 0.0
    opening = OrderSide.BUY if long else OrderSide.SELL
    for order_id in group.order_ids:
        order = cache.order(ClientOrderId(order_id))
        if order is None or order.instrument_id != instrument_id or order.side != opening:
            continue
        filled = order.filled_qty.as_double()
        if filled > 0:
            notional += order.avg_px * filled
            quantity += filled
    return notional / quantity if quantity else 0.0


def marked_group(cache: CacheFacade, view: GroupView, entry_net: float | None = None) -> MarkedGroup:
    """What :func:`hybrid.management.exit_rules.evaluate` takes, with the legs' current markets
    (``entry_net``: the view's :func:`entry_net_premium` when the caller already has it)."""
    group = view.group
    open_units = abs(int(group.units))
    return MarkedGroup(
        group_id=group.group_id,
        legs=view.legs,
        quotes=tuple(quote_sides(cache.quote_tick(instrument_id)) for instrument_id in view.instrument_ids),
        entry_net_premium=entry_net_premium(cache, view) if entry_net is None else entry_net,
        entry_units=max(int(group.opened_units), open_units),
        open_units=open_units,
        multiplier=view.multiplier,
    )


class GroupViews:
    """Each group's view and entry net premium, derived again only when the group's fills change.

    Both follow from a group's fills alone, and the group book builds a new group object whenever those
    change (a rebuild); a check in between only re-marks the same object. So a view is kept while the
    book hands out the same object, and a bot check re-derives nothing for a group that has not traded.
    """

    def __init__(self) -> None:
        self._kept: dict[str, tuple[PositionGroup, GroupView | str, float | None]] = {}

    def view(self, cache: CacheFacade, group: PositionGroup) -> GroupView | str:
        """:func:`group_view` of the group, kept while the book keeps the same object."""
        kept = self._kept.get(group.group_id)
        if kept is None or kept[0] is not group:
            view = group_view(cache, group)
            net = entry_net_premium(cache, view) if isinstance(view, GroupView) else None
            kept = self._kept[group.group_id] = (group, view, net)
        return kept[1]

    def marked(self, cache: CacheFacade, view: GroupView) -> MarkedGroup:
        """:func:`marked_group` at the legs' current quotes, the entry net premium kept with the view."""
        kept = self._kept.get(view.group.group_id)
        net = kept[2] if kept is not None and kept[1] is view else None
        return marked_group(cache, view, net)

    def discard(self, group_id: str) -> None:
        """Forget a group that has closed."""
        self._kept.pop(group_id, None)
