"""Daily 30-day ATM implied vol (the ``AtmImpliedVol`` series IV rank needs): from a catalog's option quotes,
or loaded from a CSV of a longer history.

From the quotes (``python -m data.iv_history --catalog DIR``, which the Databento import runs itself):
every NYSE session the catalog's quotes cover is sampled ``SNAPSHOT_BEFORE_CLOSE`` before its close (15:45
New York, 12:45 on a half day): each live contract's last quote then, marked by the project's one rule
(:func:`hybrid.valuation.marks.mark`), and the underlying's last two-sided mid (the market a backtest sees at
that instant: the import drops quotes that repeat the previous one, so a quote's age says nothing). Their implied vols (:func:`hybrid.options.pricing.chain_iv_greeks`, rate and dividend yield as the
strategies' defaults) go through the strategy's own ATM rule (:meth:`hybrid.trading.MarketSnapshot.atm_iv`:
per expiry the mean of the call and put IVs at the strike nearest the forward, interpolated in total variance
to 30 days), so the history ranks what the strategy measures live. A session without a spot or marked
contracts has no record.

From a CSV (``--csv FILE``): columns ``date`` (YYYY-MM-DD, an NYSE session) and ``iv_30d`` (a fraction, 0.18
for 18%); a longer history than the data, e.g. a year before the first quote so IV rank can start.

Records are stamped at each session's close. Days the catalog has already keep their value (the data's
own derivation is not overwritten by a CSV); the series is rewritten whole, and ``manifest.json``'s
``iv_history_days`` updated. Bad input exits with code 2 and one line naming the row or option.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.instruments import OptionContract
from nautilus_trader.persistence.catalog import ParquetDataCatalog

from data.databento.catalog_io import data_directory, quote_columns
from hybrid.calendar import nyse
from hybrid.calendar.exchange_time import NEW_YORK, ns_new_york
from hybrid.options.chain import Mark, OptionChain, contract_expiry
from hybrid.options.iv_data import AtmImpliedVol
from hybrid.options.pricing import chain_iv_greeks, years_to_expiry
from hybrid.runconfig.manifest import MANIFEST_NAME, CatalogManifest
from hybrid.trading import GroupTradingConfig, MarketSnapshot
from hybrid.valuation.marks import LegQuote

SNAPSHOT_BEFORE_CLOSE = pd.Timedelta(minutes=15)
_MIN_IV, _MAX_IV = 0.0, 5.0

_log = logging.getLogger(__name__)


class IvHistoryError(ValueError):
    """Bad input: one line naming the file, row or option."""


class SessionSnapshots:
    """Every instrument's last quote at each session's snapshot instant, gathered as the quotes stream by.

    A quote is the market at the snapshots from its own time until the instrument's next quote, so each
    (snapshot, instrument) pair is set once: memory grows with sessions times instruments, never with the
    quotes, and the import collects them from the chunks it writes instead of reading the catalog back.
    ``units`` (per instrument) says the prices come as Databento integers (1e-9) and rounds them to the
    instrument's tick, as the catalog stores them.
    """

    def __init__(
        self, first_day: dt.date, last_day: dt.date, instruments: int, units: np.ndarray | None = None
    ) -> None:
        self.sessions = nyse.trading_days(first_day, last_day)
        closes = [b[1] for day in self.sessions if (b := nyse.session_bounds_ns(day)) is not None]
        self.snaps = np.array([close - SNAPSHOT_BEFORE_CLOSE.value for close in closes], dtype=np.int64)
        self._units = units
        self._pending_ts = np.full(instruments, -1, np.int64)  # each instrument's last quote so far
        self._pending_quote = np.zeros((instruments, 4))
        self._set: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (snapshot, instrument, quote rows)

    def add(self, index: np.ndarray, ts: np.ndarray, bid: np.ndarray, ask: np.ndarray, bid_size, ask_size) -> None:
        """Quotes grouped by instrument and in time order in each, later than those added before for the same
        instrument."""
        if not len(index):
            return
        index = index.astype(np.int64)
        ts = ts.astype(np.int64)
        starts = np.flatnonzero(np.append(True, index[1:] != index[:-1]))
        ends = np.append(starts[1:], len(index)) - 1
        # each instrument's pending quote covers the snapshots until its first quote here
        pending = self._pending_ts[index[starts]] >= 0
        held = index[starts[pending]]
        snap, at = self._covered(self._pending_ts[held], ts[starts[pending]])
        self._set.append((snap, held[at], self._pending_quote[held[at]]))
        # every quote but each instrument's last (pending now) covers those until the next one
        rows = np.flatnonzero(index[:-1] == index[1:])
        snap, at = self._covered(ts[rows], ts[rows + 1])
        picked = rows[at]
        self._set.append((snap, index[picked], _stack(picked, bid, ask, bid_size, ask_size)))
        self._pending_ts[index[ends]] = ts[ends]
        self._pending_quote[index[ends]] = _stack(ends, bid, ask, bid_size, ask_size)

    def _covered(self, ts: np.ndarray, until: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(snapshot, position) of each snapshot at or after ``ts`` and before ``until``, for each position."""
        lo = np.searchsorted(self.snaps, ts, side="left")
        hi = np.searchsorted(self.snaps, until, side="left")
        covers = np.flatnonzero(hi > lo)
        counts = hi[covers] - lo[covers]
        at = np.repeat(covers, counts)
        step = np.arange(len(at)) - np.repeat(np.cumsum(counts) - counts, counts)
        return lo[at] + step, at

    def quotes(self) -> list[dict[int, tuple[float, float, float, float]]]:
        """Per session, instrument -> its quote (bid, ask, bid size, ask size) at the snapshot."""
        held = np.flatnonzero(self._pending_ts >= 0)
        snap, at = self._covered(self._pending_ts[held], np.full(len(held), np.iinfo(np.int64).max))
        self._set.append((snap, held[at], self._pending_quote[held[at]]))
        self._pending_ts[held] = -1
        out: list[dict[int, tuple[float, float, float, float]]] = [{} for _ in self.snaps]
        for snaps, index, quote in self._set:
            if self._units is not None and len(index):
                unit = self._units[index][:, None].astype(np.float64)
                quote = quote.copy()
                quote[:, :2] = np.floor((quote[:, :2] + unit // 2) / unit) * unit / 1e9
            for n, i, (bid, ask, bid_size, ask_size) in zip(
                snaps.tolist(), index.tolist(), quote.tolist(), strict=True
            ):
                out[n][i] = (bid, ask, bid_size, ask_size)
        return out


def _stack(rows: np.ndarray, *columns: np.ndarray) -> np.ndarray:
    return np.column_stack([c[rows] for c in columns]).astype(np.float64) if len(rows) else np.zeros((0, len(columns)))


def history(
    snapshots: SessionSnapshots,
    options: Sequence[OptionContract],
    underlying_id: InstrumentId,
    rate: float,
    dividend: float,
    first_ns: int,
    last_ns: int,
) -> dict[dt.date, float]:
    """The 30-day ATM IV of every session from ``first_ns`` to ``last_ns`` (module docstring), by New York
    date; ``snapshots`` holds ``options`` at indices 0..n-1 and the underlying's two-sided quotes at n."""
    first_day, last_day = ns_new_york(first_ns).date(), ns_new_york(last_ns).date()
    spot_index = len(options)
    result: dict[dt.date, float] = {}
    for n, at in enumerate(snapshots.quotes()):
        day, snap = snapshots.sessions[n], int(snapshots.snaps[n])
        spot = at.get(spot_index)
        if not first_day <= day <= last_day or spot is None:
            continue
        marks: dict[OptionContract, float] = {}
        for i, (bid, ask, bid_size, ask_size) in at.items():
            if i == spot_index or not options[i].activation_ns <= snap < options[i].expiration_ns:
                continue
            mid = LegQuote(bid if bid_size > 0 else None, ask if ask_size > 0 else None).mid
            if mid is not None:
                marks[options[i]] = mid
        if not marks:
            continue
        iv = _atm_iv(marks, (spot[0] + spot[1]) / 2, ns_new_york(snap), underlying_id, rate, dividend)
        if iv is not None and np.isfinite(iv):
            result[day] = iv
    return result


def two_sided(bid: np.ndarray, ask: np.ndarray, bid_size: np.ndarray, ask_size: np.ndarray) -> np.ndarray:
    """The underlying's quotes whose mid is its price: both sides shown, not crossed."""
    return (bid_size > 0) & (ask_size > 0) & (bid > 0) & (ask >= bid)


def derive(
    catalog: ParquetDataCatalog, underlying_id: InstrumentId, rate: float, dividend: float, end_ns: int = 0
) -> dict[dt.date, float]:
    """The 30-day ATM IV of every session from the underlying's first quote to its last or ``end_ns`` (the
    catalog's last quote) (module docstring), by New York date: the catalog read one instrument at a time."""
    spot_ts, *spot_quote = quote_columns(catalog, underlying_id)
    spot_rows = np.flatnonzero(two_sided(*spot_quote))
    if not len(spot_rows):
        _log.warning("%s has no two-sided quotes: no IV history derived", underlying_id)
        return {}
    first, last = int(spot_ts[spot_rows[0]]), max(int(spot_ts[spot_rows[-1]]), end_ns)
    options = [
        i for i in catalog.instruments(instrument_type=OptionContract) if i.underlying == underlying_id.symbol.value
    ]
    snapshots = SessionSnapshots(ns_new_york(first).date(), ns_new_york(last).date(), len(options) + 1)
    for n, option in enumerate(options):
        ts, *quote = quote_columns(catalog, option.id)
        snapshots.add(np.full(len(ts), n), ts, *quote)
    spot = [column[spot_rows] for column in spot_quote]
    snapshots.add(np.full(len(spot_rows), len(options)), spot_ts[spot_rows], *spot)
    return history(snapshots, options, underlying_id, rate, dividend, first, last)


def _atm_iv(
    mids: dict[OptionContract, float],
    spot: float,
    as_of: dt.datetime,
    underlying_id: InstrumentId,
    rate: float,
    dividend: float,
) -> float | None:
    contracts = list(mids)
    prices = np.array([mids[c] for c in contracts])
    strikes = np.array([c.strike_price.as_double() for c in contracts])
    years = np.array([years_to_expiry(contract_expiry(c), as_of) for c in contracts])
    calls = np.array([c.option_kind.name == "CALL" for c in contracts])
    greeks = chain_iv_greeks(spot, strikes, years, calls, prices, rate, dividend)
    chain = OptionChain(underlying_id.symbol.value, contracts)
    chain.attach_marks(
        {
            c.id: Mark(price=float(prices[i]), iv=float(greeks.iv[i]) if greeks.valid[i] else None)
            for i, c in enumerate(contracts)
        }
    )
    return MarketSnapshot(chain, spot, as_of, rate, dividend).atm_iv()


def read_csv(path: str | Path) -> dict[dt.date, float]:
    """A daily history from ``date,iv_30d`` rows (module docstring); errors name the row."""
    path = Path(path)
    try:
        frame = pd.read_csv(path, dtype=str)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise IvHistoryError(f"--csv {path.name}: cannot read ({str(exc).splitlines()[0]})") from None
    missing = [c for c in ("date", "iv_30d") if c not in frame.columns]
    if missing:
        raise IvHistoryError(f"--csv {path.name}: no column {', '.join(missing)} (columns: date,iv_30d)")
    history: dict[dt.date, float] = {}
    for line, (text, value) in enumerate(zip(frame["date"], frame["iv_30d"], strict=True), start=2):
        where = f"--csv {path.name} line {line}"
        try:
            day = dt.date.fromisoformat(str(text).strip())
        except ValueError:
            raise IvHistoryError(f"{where}: date {text!r} is not YYYY-MM-DD") from None
        if not (nyse.FIRST_DAY <= day <= nyse.LAST_DAY and nyse.is_trading_day(day)):
            raise IvHistoryError(f"{where}: {day} is not an NYSE session")
        try:
            iv = float(value)
        except (TypeError, ValueError):
            raise IvHistoryError(f"{where}: iv_30d {value!r} is not a number") from None
        if not _MIN_IV < iv <= _MAX_IV:
            raise IvHistoryError(f"{where}: iv_30d must be a fraction in (0, 5] (0.18 for 18%), got {value}")
        if day in history:
            raise IvHistoryError(f"{where}: {day} appears twice")
        history[day] = iv
    if not history:
        raise IvHistoryError(f"--csv {path.name}: no rows")
    return history


def existing(catalog: ParquetDataCatalog, underlying_id: InstrumentId) -> dict[dt.date, float]:
    """The catalog's ``AtmImpliedVol`` of ``underlying_id`` by New York date."""
    records = [item.data for item in catalog.query(AtmImpliedVol, identifiers=[underlying_id.value])]
    return {
        pd.Timestamp(r.ts_event, tz="UTC").tz_convert(NEW_YORK).date(): float(r.iv_30d)
        for r in records
        if r.instrument_id == underlying_id
    }


def write(catalog: ParquetDataCatalog, underlying_id: InstrumentId, added: dict[dt.date, float]) -> int:
    """``added`` merged under the catalog's own days, the series rewritten whole; returns its length."""
    merged = {**added, **existing(catalog, underlying_id)}
    if not merged:
        return 0
    shutil.rmtree(data_directory(catalog, AtmImpliedVol, underlying_id), ignore_errors=True)
    records = []
    for day in sorted(merged):
        close = nyse.session_bounds_ns(day)
        if close is None:
            continue
        records.append(
            AtmImpliedVol(instrument_id=underlying_id, iv_30d=merged[day], ts_event=close[1], ts_init=close[1])
        )
    catalog.write_data(records)
    manifest_path = Path(catalog.path) / MANIFEST_NAME
    if manifest_path.exists():
        manifest = CatalogManifest.read(catalog.path)
        manifest.iv_history_days = len(records)
        manifest.write(catalog.path)
    return len(records)


def write_derived(
    catalog: ParquetDataCatalog, underlying_id: InstrumentId, rate: float, dividend: float, end_ns: int = 0
) -> int:
    """Derive the history from the catalog's quotes and write it; returns the series' length."""
    return write_history(catalog, underlying_id, derive(catalog, underlying_id, rate, dividend, end_ns))


def write_history(catalog: ParquetDataCatalog, underlying_id: InstrumentId, derived: dict[dt.date, float]) -> int:
    """A derived history written (:func:`write`); returns the series' length."""
    _log.info("IV history: %s sessions derived from the option quotes", len(derived))
    return write(catalog, underlying_id, derived)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry: ``python -m data.iv_history --help``."""
    defaults = GroupTradingConfig()
    parser = argparse.ArgumentParser(
        prog="python -m data.iv_history",
        description="Write the daily 30-day ATM IV history (AtmImpliedVol) of a catalog: derived from its "
        "option quotes, or loaded from a CSV (date,iv_30d).",
    )
    parser.add_argument("--catalog", required=True, help="catalog directory (with manifest.json)")
    parser.add_argument("--csv", help="load a daily history from this CSV instead of deriving it")
    parser.add_argument("--underlying", help="underlying instrument id, e.g. SPY.OPRA (default: the manifest's)")
    parser.add_argument("--rate", type=float, default=defaults.rate, help="risk-free rate for the derived IVs")
    parser.add_argument("--dividend", type=float, default=defaults.dividend, help="dividend yield for the derived IVs")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    try:
        path = Path(args.catalog)
        if not (path / MANIFEST_NAME).is_file():
            raise IvHistoryError(f"--catalog {args.catalog}: no {MANIFEST_NAME}; not a catalog this project wrote")
        underlying = args.underlying or CatalogManifest.read(path).underlying
        try:
            underlying_id = InstrumentId.from_str(underlying)
        except ValueError:
            raise IvHistoryError(f"--underlying {underlying!r}: not an instrument id such as SPY.OPRA") from None
        catalog = ParquetDataCatalog(str(path))
        if args.csv:
            days = write(catalog, underlying_id, read_csv(args.csv))
        else:
            end_ns = pd.Timestamp(CatalogManifest.read(path).end).value
            days = write_derived(catalog, underlying_id, args.rate, args.dividend, end_ns)
    except IvHistoryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"catalog {args.catalog}: {days} days of AtmImpliedVol for {underlying_id}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
