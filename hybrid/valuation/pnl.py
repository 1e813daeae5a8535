"""Marked equity and P&L: positions and group legs valued at their marks (:func:`hybrid.valuation.marks.mark`).

Equity = account balance + what the balance does not hold yet of the open positions, at their
marks. A NautilusTrader margin account books an option's premium as cash at every fill, so an open
option counts at its full value (quantity x mark x multiplier); other instruments (the underlying)
realise P&L only when reduced, so they count at their unrealised P&L. A position without a mark
(no quote, or a one-sided one) is left out of the equity; a group's P&L is unknown (None) instead.
"""

from __future__ import annotations

from collections.abc import Iterable

from nautilus_trader.cache.base import CacheFacade
from nautilus_trader.model.currencies import USD
from nautilus_trader.model.enums import InstrumentClass
from nautilus_trader.model.identifiers import InstrumentId, Venue
from nautilus_trader.portfolio.base import PortfolioFacade

from hybrid.valuation.marks import cache_mark

PREMIUM_CLASSES = frozenset(
    {InstrumentClass.OPTION, InstrumentClass.OPTION_SPREAD, InstrumentClass.BINARY_OPTION, InstrumentClass.WARRANT},
)


def open_value_at_mid(cache: CacheFacade, venue: Venue) -> float:
    """The open positions at ``venue`` as the balance does not yet count them, at mid (see module doc)."""
    total = 0.0
    for position in cache.positions_open(venue=venue):
        mid = cache_mark(cache, position.instrument_id)
        if mid is None:
            continue
        premium = cache.instrument(position.instrument_id).instrument_class in PREMIUM_CLASSES
        price = mid if premium else mid - position.avg_px_open
        total += price * position.signed_qty * position.multiplier.as_double()
    return total


def marked_equity(cache: CacheFacade, portfolio: PortfolioFacade, venue: Venue) -> float:
    """USD balance of the venue's account plus open positions marked to mid."""
    balance = portfolio.account(venue).balance_total(USD)
    return (balance.as_double() if balance is not None else 0.0) + open_value_at_mid(cache, venue)


def group_pnl(cache: CacheFacade, cash: float, holdings: Iterable[tuple[InstrumentId, float]]) -> float | None:
    """A group's P&L: the ``cash`` its fills moved (less commissions) plus the held quantities at their
    marks (quantity x mark x multiplier); None when a held instrument has no mark."""
    value = cash
    for instrument_id, quantity in holdings:
        mid = cache_mark(cache, instrument_id)
        if mid is None:
            return None
        value += quantity * mid * cache.instrument(instrument_id).multiplier.as_double()
    return value
