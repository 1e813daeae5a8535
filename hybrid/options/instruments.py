"""OCC symbology and NautilusTrader instrument builders shared by every data source.

The underlying is listed on the same venue as its options because NautilusTrader's Greeks
calculator looks the underlying up as ``{option.underlying}.{option.venue}``.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pandas as pd
from nautilus_trader.cache.base import CacheFacade
from nautilus_trader.model.currencies import USD
from nautilus_trader.model.enums import AssetClass, OptionKind
from nautilus_trader.model.identifiers import (
    InstrumentId,
    Symbol,
    Venue,
    generic_spread_id_to_list,
    is_generic_spread_id,
)
from nautilus_trader.model.instruments import Equity, OptionContract
from nautilus_trader.model.objects import Price, Quantity

from hybrid.calendar import nyse as calendar
from hybrid.calendar.exchange_time import NEW_YORK

DEFAULT_VENUE = "OPRA"
OPTION_MULTIPLIER = 100
_OCC = re.compile(r"^(?P<root>[A-Z0-9.]{1,6}) *(?P<date>\d{6})(?P<right>[CP])(?P<strike>\d{8})$")


def occ_symbol(root: str, expiry: dt.date, right: str, strike: float | Decimal) -> str:
    """OCC-style padded symbol, e.g. ``SPY   240621C00530000`` (root padded to 6, strike x 1000)."""
    right = right.upper()[0]
    if right not in ("C", "P"):
        raise ValueError(f"right must be 'C' or 'P', got {right!r}")
    milli = round(Decimal(str(strike)) * 1000)
    if not 0 < milli < 100_000_000:
        raise ValueError(f"strike must be in (0, 100000), got {strike}")
    return f"{root.upper():<6}{expiry:%y%m%d}{right}{milli:08d}"


def parse_occ_symbol(symbol: str) -> tuple[str, dt.date, str, Decimal]:
    """Inverse of :func:`occ_symbol`: (root, expiry, 'C'|'P', strike)."""
    m = _OCC.match(symbol)
    if m is None:
        raise ValueError(f"not an OCC option symbol: {symbol!r}")
    expiry = dt.datetime.strptime(m["date"], "%y%m%d").date()
    return m["root"], expiry, m["right"], Decimal(m["strike"]) / 1000


def expiry_close_ns(expiry: dt.date) -> int:
    """US equity options expire at the close of their expiry date: 16:00 New York, 13:00 on a half day.

    Dates outside the exchange calendar's range (or not sessions) fall back to 16:00.
    """
    if calendar.FIRST_DAY <= expiry <= calendar.LAST_DAY and calendar.is_trading_day(expiry):
        return calendar.session_open_close(expiry)[1].value
    close = dt.datetime.combine(expiry, dt.time(16, 0), tzinfo=NEW_YORK)
    return pd.Timestamp(close).value


def make_equity(symbol: str, venue: str = DEFAULT_VENUE, ts_ns: int = 0) -> Equity:
    """The underlying stock or ETF, priced in cents, on the options' venue."""
    return Equity(
        instrument_id=InstrumentId(Symbol(symbol), Venue(venue)),
        raw_symbol=Symbol(symbol),
        currency=USD,
        price_precision=2,
        price_increment=Price.from_str("0.01"),
        lot_size=Quantity.from_int(1),
        ts_event=ts_ns,
        ts_init=ts_ns,
    )


def make_option(
    underlying: str,
    expiry: dt.date,
    right: str,
    strike: float | Decimal,
    venue: str = DEFAULT_VENUE,
    activation_ns: int = 0,
    multiplier: int = OPTION_MULTIPLIER,
) -> OptionContract:
    """A US equity option contract with an OCC raw symbol as instrument symbol (as Databento OPRA does)."""
    raw = occ_symbol(underlying, expiry, right, strike)
    return OptionContract(
        instrument_id=InstrumentId(Symbol(raw), Venue(venue)),
        raw_symbol=Symbol(raw),
        asset_class=AssetClass.EQUITY,
        currency=USD,
        price_precision=2,
        price_increment=Price.from_str("0.01"),
        multiplier=Quantity.from_int(multiplier),
        lot_size=Quantity.from_int(1),
        underlying=underlying,
        option_kind=OptionKind.CALL if right.upper().startswith("C") else OptionKind.PUT,
        strike_price=Price(float(strike), 2),
        activation_ns=activation_ns,
        expiration_ns=expiry_close_ns(expiry),
        ts_event=activation_ns,
        ts_init=activation_ns,
    )


def first_expiration_ns(cache: CacheFacade, instrument_id: InstrumentId) -> int | None:
    """When the instrument (an option, or the first expiring leg of a spread) expires; None for one that
    does not (the underlying) or is not in the cache. Nothing may be ordered on it from then on."""
    ids = (
        [leg for leg, _ in generic_spread_id_to_list(instrument_id)]
        if is_generic_spread_id(instrument_id)
        else [instrument_id]
    )
    expirations = [
        instrument.expiration_ns for i in ids if isinstance(instrument := cache.instrument(i), OptionContract)
    ]
    return min(expirations, default=None)
