"""Rolling a group before expiry: to which expiry, at which strikes, and the lineage it makes.

The listed contracts come from a chain (:class:`hybrid.options.chain.OptionChain`, or anything with the
same look-ups, see :class:`RollChain`), which already fails naming the nearest listed strikes or expiries;
these rules decide what to ask it. A roll closes the group and opens the same structure at a later expiry
as a new group, linked to its parent; a lineage's P&L is the sum over all its generations.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from hybrid.management.management_rules import RollRules
from hybrid.options.chain import DeltaOf, Right, option_terms
from hybrid.options.legs import Leg


class RollError(ValueError):
    """A roll that cannot be built as asked (no later expiry, two legs merged by re-centring, ...)."""


class RollChain(Protocol):
    """The chain look-ups a roll needs; :class:`hybrid.options.chain.OptionChain` provides them."""

    @property
    def expiries(self) -> tuple[dt.date, ...]: ...

    def contract(self, expiry: dt.date, right: Right, strike: float) -> Any:
        """The listed contract; an error naming the nearest listed strikes when it is not listed."""
        ...

    def expiry_by_dte(self, as_of: dt.date, min_dte: int, max_dte: int, target_dte: float | None = None) -> dt.date: ...

    def strike_by_delta(self, expiry: dt.date, right: Right, target: float, delta: DeltaOf | None = None) -> float: ...


def days_to_expiry(legs: Iterable[Leg], today: dt.date) -> int | None:
    """Calendar days from ``today`` to the nearest option expiry; None for a group without options."""
    expiries = [leg.expiry for leg in legs if leg.expiry is not None]
    return (min(expiries) - today).days if expiries else None


def roll_expiries(legs: Sequence[Leg], chain: RollChain, today: dt.date, rules: RollRules) -> dict[dt.date, dt.date]:
    """Map each expiry of the structure to its new expiry.

    The nearest expiry moves to the first listed expiry within the DTE window (the chain's error names
    the nearest listed ones when there is none); any later expiry (a calendar's far leg) moves by the same
    number of days, to the nearest listed expiry after the previous one, so the legs keep their order and
    their gaps as closely as the listing allows.
    """
    current = sorted({leg.expiry for leg in legs if leg.expiry is not None})
    if not current:
        raise RollError("legs: a group without options has nothing to roll")
    near = chain.expiry_by_dte(today, rules.target_dte_min, rules.target_dte_max, target_dte=rules.target_dte_min)
    if near <= current[0]:
        raise RollError(f"the DTE window gives {near}, not later than the group's expiry {current[0]}")
    mapping, previous = {current[0]: near}, near
    for expiry in current[1:]:
        after = [e for e in chain.expiries if e > previous]
        if not after:
            raise RollError(f"no listed expiry after {previous} to take the {expiry} legs")
        target = expiry + (near - current[0])
        previous = mapping[expiry] = min(after, key=lambda e: (abs((e - target).days), e))
    return mapping


def roll_legs(
    legs: Sequence[Leg],
    chain: RollChain,
    today: dt.date,
    rules: RollRules,
    entry_deltas: Mapping[int, float] | None = None,
    delta: DeltaOf | None = None,
) -> tuple[Leg, ...]:
    """The same structure (same signs and ratios) at the roll expiry, re-centred by ``rules.recentre``.

    ``same_strikes`` keeps every strike; the chain fails, naming the nearest listed strikes, when one is
    not listed at the new expiry. ``same_deltas`` picks, per option leg, the listed strike whose delta is
    closest to the leg's delta at entry: ``entry_deltas`` maps leg index -> that delta, and ``delta``
    gives a contract's current delta (default: the deltas of the marks attached to the chain).
    Underlying legs are kept as they are. Prices and IVs are dropped: they belong to the old contracts.
    """
    expiries = roll_expiries(legs, chain, today, rules)
    rolled: list[Leg] = []
    for index, leg in enumerate(legs):
        if not leg.is_option:
            rolled.append(replace(leg, price=None, iv=None))
            continue
        old_expiry, right, strike = option_terms(leg)
        expiry = expiries[old_expiry]
        if rules.recentre == "same_strikes":
            chain.contract(expiry, right, strike)
        else:
            if entry_deltas is None or index not in entry_deltas:
                raise RollError(f"entry_deltas: same_deltas needs the entry delta of leg {index}")
            strike = chain.strike_by_delta(expiry, right, entry_deltas[index], delta)
        rolled.append(Leg(kind=right, strike=strike, expiry=expiry, quantity=leg.quantity))
    _check_distinct(legs, rolled)
    return tuple(rolled)


def _check_distinct(before: Sequence[Leg], after: Sequence[Leg]) -> None:
    """Re-centring must not merge two different contracts into one (a spread collapsing to nothing)."""
    merged: dict[tuple, Leg] = {}
    for old, new in zip(before, after):
        if not new.is_option:
            continue
        first = merged.setdefault((new.kind, new.strike, new.expiry), old)
        if (first.strike, first.expiry) != (old.strike, old.expiry):
            raise RollError(
                f"re-centring puts the {first.strike:g} and {old.strike:g} {new.kind}s on one contract "
                f"({new.strike:g} {new.expiry}); roll with same_strikes or list more strikes"
            )


@dataclass(frozen=True, slots=True)
class Lineage:
    """Where a group sits in a chain of rolls: generation 0 is the group first opened (the root)."""

    group_id: str
    root_id: str
    parent_id: str | None = None
    generation: int = 0

    @classmethod
    def root(cls, group_id: str) -> Lineage:
        return cls(group_id=group_id, root_id=group_id)

    def child(self, group_id: str) -> Lineage:
        """The lineage of the group a roll of this one opens."""
        if group_id == self.group_id:
            raise ValueError(f"group_id: a roll needs a new group id, got the parent's {group_id!r}")
        return Lineage(group_id, self.root_id, self.group_id, self.generation + 1)


@dataclass(frozen=True, slots=True)
class LineageMember:
    """One generation of a lineage and its realised P&L (None while the group is open)."""

    lineage: Lineage
    realised_pnl: float | None


def lineage_pnl(members: Iterable[LineageMember], open_unrealised: float = 0.0) -> float:
    """Cumulative P&L across every roll: realised P&L of each generation plus the open one's unrealised."""
    return open_unrealised + sum(m.realised_pnl for m in members if m.realised_pnl is not None)
