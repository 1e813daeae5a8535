"""Marked equity and P&L: positions and group legs valued at their marks (:func:`hybrid.valuation.marks.mark`),
or with ``closing=True`` at the side closing them trades at (:func:`hybrid.valuation.marks.closing_price`:
longs at the bid, shorts at the ask; commissions of the close are not counted).

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

from hybrid.valuation.marks import cache_price

PREMIUM_CLASSES = frozenset(
    {InstrumentClass.OPTION, InstrumentClass.OPTION_SPREAD, InstrumentClass.BINARY_OPTION, InstrumentClass.WARRANT},
)


def open_value(cache: CacheFacade, venue: Venue, closing: bool = False) -> float:
    """The open positions at ``venue`` as the balance does not yet count them, at mid or at the closing
    side (see module doc)."""
    total = 0.0
    for position in cache.positions_open(venue=venue):
        price = cache_price(cache, position.instrument_id, position.signed_qty, closing)
        if price is None:
            continue
        if cache.instrument(position.instrument_id).instrument_class not in PREMIUM_CLASSES:
            price -= position.avg_px_open
        total += price * position.signed_qty * position.multiplier.as_double()
    return total


def marked_equity(cache: CacheFacade, portfolio: PortfolioFacade, venue: Venue, closing: bool = False) -> float:
    """USD balance of the venue's account plus open positions marked to mid (or at the closing side)."""
    balance = portfolio.account(venue).balance_total(USD)
    return (balance.as_double() if balance is not None else 0.0) + open_value(cache, venue, closing)


def group_pnl(
    cache: CacheFacade, cash: float, holdings: Iterable[tuple[InstrumentId, float]], closing: bool = False
) -> float | None:
    """A group's P&L: the ``cash`` its fills moved (less commissions) plus the held quantities at their
    marks, or at the closing side (quantity x price x multiplier); None when a held instrument has no mark."""
    value = cash
    for instrument_id, quantity in holdings:
        price = cache_price(cache, instrument_id, quantity, closing)
        if price is None:
            return None
        value += quantity * price * cache.instrument(instrument_id).multiplier.as_double()
    return value
