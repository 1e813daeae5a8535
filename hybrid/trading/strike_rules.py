"""Resolve a rules structure (catalogue strategy + strike rules + DTE windows) against today's chain.

:class:`hybrid.orders.structures.RuleStructure` says *how* to pick strikes (a delta, an offset from
the at-the-money strike, a width from another strike) and expiries (a DTE window); this turns it
into the legs of one unit with the chain's own look-ups, which fail naming the nearest listed
strikes or expiries. The result goes through the catalogue's rules like any catalogue structure.
The autonomous strategy's regime table and recurring templates both use it.

Widths resolve to the listed strike nearest ``anchor + points``, so on an uneven strike grid (1-point
strikes near the money, 5-point further out) a butterfly's wings can come out unequal; the catalogue
then refuses it, and the anchors (the strikes chosen by delta or ATM offset) move to the next nearest
listed strikes, nearest first, up to :data:`MAX_ANCHOR_SHIFTS` times, before the error is raised.
"""

from __future__ import annotations

import datetime as dt

from hybrid.options import catalogue
from hybrid.options.chain import OptionChain, Right
from hybrid.options.legs import Leg
from hybrid.orders.structures import AtmOffsetStrike, DeltaStrike, RuleStructure, WidthStrike

MAX_ANCHOR_SHIFTS = 4


def resolve_rules(structure: RuleStructure, chain: OptionChain, spot: float, today: dt.date) -> list[Leg]:
    """Legs of one unit; delta rules read the marks attached to ``chain`` (see :mod:`hybrid.trading.market`)."""
    strategy = catalogue.get_strategy(structure.strategy)
    expiries = {
        name: chain.expiry_by_dte(today, window.min_dte, window.max_dte)
        for name, window in zip(strategy.expiries, structure.expiries)
    }
    where = _strike_places(strategy, expiries)
    rules = dict(zip(strategy.strikes, structure.strikes))
    anchors: dict[str, float] = {}
    for name, rule in rules.items():
        expiry, right = where[name]
        if isinstance(rule, DeltaStrike):
            anchors[name] = chain.strike_by_delta(expiry, right, rule.delta)
        elif isinstance(rule, AtmOffsetStrike):
            anchors[name] = chain.strike_by_atm_offset(expiry, right, spot, rule.steps)
    candidates = {name: _nearest_listed(chain, *where[name], strike) for name, strike in anchors.items()}
    shift = 0
    while True:
        strikes = {name: listed[min(shift, len(listed) - 1)] for name, listed in candidates.items()}
        for name, rule in rules.items():
            if isinstance(rule, WidthStrike):
                strikes[name] = chain.strike_by_width(*where[name], strikes[rule.from_strike], rule.points)
        try:
            return strategy.build(
                [strikes[name] for name in strategy.strikes],
                [expiries[name] for name in strategy.expiries],
            )
        except catalogue.StrategyError:
            shift += 1
            if shift > MAX_ANCHOR_SHIFTS:
                raise


def _nearest_listed(chain: OptionChain, expiry: dt.date, right: Right, strike: float) -> list[float]:
    """Listed strikes by distance from ``strike`` (``strike`` itself first), ties to the lower one."""
    return sorted(chain.strikes(expiry, right), key=lambda k: (abs(k - strike), k))


def _strike_places(strategy: catalogue.StrategyDef, expiries: dict[str, dt.date]) -> dict[str, tuple[dt.date, Right]]:
    """Per strike parameter: the expiry of its first leg, and put when every leg at it is a put, else call."""
    places: dict[str, tuple[dt.date, Right]] = {}
    for name in strategy.strikes:
        legs = [leg for leg in strategy.legs if leg.strike == name]
        right: Right = "put" if all(leg.kind == "put" for leg in legs) else "call"
        first_expiry = next(leg.expiry for leg in legs if leg.expiry is not None)  # legs at a strike are options
        places[name] = (expiries[first_expiry], right)
    return places
