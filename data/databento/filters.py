"""Filters at import, so users keep the chain they trade: expiries within N days, strikes within a moneyness
band, a quote sampling interval.

- ``max_dte``: a quote is kept when its contract expires at most N calendar days after the quote's New York
  date (0 keeps same-day expiries only);
- ``moneyness``: kept when the strike is within ``band`` of the underlying's price at the quote,
  ``|strike / spot - 1| <= band`` (spot: the underlying's last mid, or last trade when no quotes are given;
  quotes before the underlying's first price are kept);
- ``sample_s``: per contract, the last quote of each interval of that many seconds (aligned to UNIX time),
  at its own timestamp; the state a backtest sees at each interval's end is unchanged.

The underlying itself is never filtered.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from data.databento.consolidate import Quotes
from data.databento.symbology import Chain
from hybrid.calendar.exchange_time import NEW_YORK

SECOND_NS = 1_000_000_000
DAY_NS = 86_400 * SECOND_NS
_PRICE_SCALE = 1e9


@dataclass(frozen=True)
class ImportFilters:
    """What a user keeps of the options (module docstring); None keeps everything."""

    max_dte: int | None = None
    moneyness: float | None = None
    sample_s: float | None = None

    def __post_init__(self) -> None:
        if self.max_dte is not None and self.max_dte < 0:
            raise ValueError(f"--max-dte must be >= 0 days, got {self.max_dte}")
        if self.moneyness is not None and not 0 < self.moneyness < 10:
            raise ValueError(f"--moneyness must be a fraction in (0, 10), e.g. 0.1 for +/-10%, got {self.moneyness}")
        if self.sample_s is not None and not self.sample_s > 0:
            raise ValueError(f"--sample-interval must be > 0 seconds, got {self.sample_s}")

    @property
    def sample_ns(self) -> int | None:
        return None if self.sample_s is None else round(self.sample_s * SECOND_NS)

    def describe(self) -> dict:
        return {"max_dte": self.max_dte, "moneyness": self.moneyness, "sample_interval_s": self.sample_s}


class Spot:
    """The underlying's price through the import (at most one point a second), for the moneyness band."""

    def __init__(self) -> None:
        self._parts: list[tuple[np.ndarray, np.ndarray]] = []
        self._ts = np.empty(0, np.uint64)
        self._price = np.empty(0)

    def add(self, ts: np.ndarray, price: np.ndarray) -> None:
        """Prices (Databento 1e-9 units, 0 for none) at ``ts`` (time ordered)."""
        ok = price > 0
        ts, price = ts[ok], price[ok] / _PRICE_SCALE
        if len(ts):
            second = ts // SECOND_NS
            last = np.append(second[1:] != second[:-1], True)
            self._parts.append((ts[last], price[last]))

    def freeze(self) -> None:
        if self._parts:
            ts = np.concatenate([p[0] for p in self._parts])
            order = np.argsort(ts, kind="stable")
            self._ts, self._price = ts[order], np.concatenate([p[1] for p in self._parts])[order]
            self._parts = []

    def __bool__(self) -> bool:
        return bool(len(self._ts) or self._parts)

    def at(self, ts: np.ndarray) -> np.ndarray:
        """The last price at or before each time (NaN before the first)."""
        at = np.searchsorted(self._ts, ts, side="right") - 1
        return np.where(at >= 0, self._price[np.maximum(at, 0)] if len(self._price) else np.nan, np.nan)


def new_york_day(ts: np.ndarray) -> np.ndarray:
    """The New York date of each UNIX-nanosecond time, as days since 1970-01-01."""
    if not len(ts):
        return np.empty(0, np.int64)
    first, last = (dt.datetime.fromtimestamp(int(t) / 1e9, tz=NEW_YORK).utcoffset() for t in (ts[0], ts[-1]))
    if first == last and first is not None:
        return ((ts.astype(np.int64) + int(first.total_seconds()) * SECOND_NS) // DAY_NS).astype(np.int64)
    local = pd.DatetimeIndex(pd.to_datetime(ts.astype(np.int64), utc=True)).tz_convert(NEW_YORK).tz_localize(None)
    return (local.asi8 // DAY_NS).astype(np.int64)


def keep_options(q: Quotes, chain: Chain, filters: ImportFilters, spot: Spot) -> Quotes:
    """``q`` without the option quotes outside the expiry and moneyness filters."""
    keep = np.ones(len(q), dtype=bool)
    option = q.index < chain.underlying_index
    if filters.max_dte is not None:
        days_left = chain.expiry_day[q.index] - new_york_day(q.ts)
        keep &= ~option | (days_left <= filters.max_dte)
    if filters.moneyness is not None:
        price = spot.at(q.ts)
        off = np.abs(chain.strike[q.index] / price - 1)
        keep &= ~option | np.isnan(price) | (off <= filters.moneyness)
    return q if keep.all() else q.take(np.flatnonzero(keep))


def sampled(q: Quotes, sample_ns: int | None) -> Quotes:
    """Per instrument the last quote of each interval (rows grouped by instrument, each interval whole)."""
    if sample_ns is None or not len(q):
        return q
    bucket = q.ts // np.uint64(sample_ns)
    last = np.ones(len(q), dtype=bool)
    last[:-1] = (q.index[1:] != q.index[:-1]) | (bucket[1:] != bucket[:-1])
    return q.take(np.flatnonzero(last))
