"""What a recurring template's entry conditions read from the engine: IV rank and portfolio Greeks.

IV rank: the daily 30-day ATM implied vol arrives as :class:`hybrid.options.iv_data.AtmImpliedVol` (a
year of history requested from the catalog at start, then one record per session close); today's value
is the live constant-maturity ATM IV of the chain (:meth:`hybrid.trading.MarketSnapshot.atm_iv`), ranked
against the ``window - 1`` sessions before today (:func:`hybrid.options.ivrank.iv_rank`), as the
autonomous strategy does.

Portfolio Greeks: share-equivalent (quantity x multiplier x per-share Greek, shares count as delta 1) of
every open position on the underlying, at the quotes' marks, by :func:`hybrid.valuation.greeks.portfolio_greeks`
(the same numbers the API and the risk gate use). The Greeks are unknown (left out) when a held option
cannot be priced.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict

from nautilus_trader.cache.base import CacheFacade
from nautilus_trader.common.component import Clock
from nautilus_trader.model.identifiers import InstrumentId

from hybrid.calendar.exchange_time import ns_new_york_date
from hybrid.options.iv_data import AtmImpliedVol
from hybrid.options.ivrank import iv_rank
from hybrid.valuation.greeks import portfolio_greeks


class DailyIVHistory:
    """Daily ATM implied vol of one underlying by New York date, and today's IV rank."""

    def __init__(self, instrument_id: InstrumentId, window: int) -> None:
        if window < 2:
            raise ValueError(f"iv_window must be >= 2 sessions, got {window}")
        self.instrument_id = instrument_id
        self.window = window
        self._by_day: dict[dt.date, float] = {}

    def add(self, data: AtmImpliedVol) -> None:
        """Keep one record (others' underlyings are ignored)."""
        if data.instrument_id == self.instrument_id:
            day = ns_new_york_date(data.ts_event)
            self._by_day[day] = data.iv_30d

    def rank(self, live_iv: float | None, today: dt.date) -> float | None:
        """IV rank of ``live_iv`` against the sessions before ``today``; None without enough history."""
        history = [iv for day, iv in sorted(self._by_day.items()) if day < today]
        if live_iv is None or len(history) < self.window - 1:
            return None
        return iv_rank([*history[-(self.window - 1) :], live_iv], self.window).rank


def underlying_greeks(
    cache: CacheFacade, clock: Clock, underlying: str, rate: float, dividend: float
) -> dict[str, float]:
    """Share-equivalent Greeks of the open positions on ``underlying``; empty when one of them is unknown."""
    book = portfolio_greeks(cache, clock.timestamp_ns(), rate, dividend, underlying=underlying)
    return {} if book.unknown else asdict(book.greeks)
