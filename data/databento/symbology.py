"""Definitions: the instruments an import keeps, and the Databento instrument ids that resolve to them.

Quote records carry only Databento's numeric instrument id. The definitions give each id its raw symbol
(``SPY   240621C00530000``) whatever symbology the files were requested in (raw symbols, or a parent such
as ``SPY.OPT``, the usual way to ask for a chain), so ids are resolved through them, per id and time (an
id may be reassigned from one day to the next). A quote file's own symbol mappings name raw symbols only
when it was requested by raw symbol: they are the fallback for ids no definition covers.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from nautilus_trader.adapters.databento.loaders import DatabentoDataLoader
from nautilus_trader.model.identifiers import InstrumentId, Symbol, Venue
from nautilus_trader.model.instruments import Equity, Instrument, OptionContract

from data.databento.files import DatabentoImportError, DbnFile, one_line, record_chunks
from hybrid.calendar.exchange_time import NEW_YORK
from hybrid.options.instruments import expiry_close_ns, make_equity, parse_occ_symbol

UNWANTED = -1  # a defined instrument the import does not keep (other underlyings, spreads)
UNKNOWN = -2  # an id without a definition
_DAY_NS = 86_400 * 1_000_000_000


@dataclass
class Chain:
    """The kept options (indices 0..n-1) and the underlying (index n), with the columns filters need."""

    options: list[OptionContract]
    equity: Equity
    strike: np.ndarray = field(init=False)
    expiry_day: np.ndarray = field(init=False)  # New York expiry date, days since 1970-01-01

    def __post_init__(self) -> None:
        self.strike = np.array([o.strike_price.as_double() for o in self.options] + [np.nan])
        days = [pd.Timestamp(o.expiration_ns, tz="UTC").tz_convert(NEW_YORK).date() for o in self.options]
        epoch = dt.date(1970, 1, 1)
        self.expiry_day = np.array([(d - epoch).days for d in days] + [np.iinfo(np.int64).max], dtype=np.int64)

    @property
    def instruments(self) -> list[Instrument]:
        return [*self.options, self.equity]

    @property
    def underlying_index(self) -> int:
        return len(self.options)

    def instrument_id(self, index: int) -> InstrumentId:
        return self.instruments[index].id

    @property
    def precisions(self) -> np.ndarray:
        return np.array([i.price_precision for i in self.instruments], dtype=np.int64)


def load_definitions(
    loader: DatabentoDataLoader, files: list[DbnFile], venue: str, underlying: str | None
) -> tuple[Chain, IdResolver]:
    """The chain the definitions describe and the resolver of their instrument ids."""
    instruments: list[Instrument] = []
    rows: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for file in files:
        try:
            instruments.extend(loader.from_dbn_file(file.path))
        except (ValueError, RuntimeError) as exc:
            raise DatabentoImportError(f"{file.option} {file.name}: cannot decode ({one_line(exc)})") from None
        for chunk in record_chunks(file):
            rows.append((chunk["instrument_id"].copy(), chunk["ts_recv"].copy(), chunk["raw_symbol"].copy()))
    chain = select_instruments(instruments, venue, underlying)
    return chain, IdResolver(chain, rows)


def select_instruments(instruments: Iterable[Instrument], venue: str, underlying: str | None) -> Chain:
    """The option contracts on one underlying (latest definition of each, expiring at the exchange's close of
    their expiry date: 13:00 New York on a half day) and that underlying.

    Everything else is dropped: spreads (their quotes must never reach the catalog), futures, other
    underlyings. The underlying comes from an equity definition when one was given, else
    :func:`make_equity` builds it.
    """
    latest: dict[InstrumentId, Instrument] = {}
    for instrument in sorted(instruments, key=lambda i: i.ts_init):
        latest[instrument.id] = instrument
    options = [i for i in latest.values() if isinstance(i, OptionContract)]
    found = sorted({o.underlying for o in options})
    if not found:
        raise DatabentoImportError("--definitions: the definition files hold no option contracts")
    if underlying is None:
        if len(found) > 1:
            raise DatabentoImportError(f"--definitions: options on {', '.join(found)}; choose one with --underlying")
        underlying = found[0]
    elif underlying not in found:
        raise DatabentoImportError(
            f"--underlying {underlying}: no options on it in the definitions (found: {', '.join(found) or 'none'})",
        )
    kept = sorted((_at_close(o) for o in options if o.underlying == underlying), key=lambda o: o.id.value)
    equity = latest.get(InstrumentId(Symbol(underlying), Venue(venue)))
    if not isinstance(equity, Equity):
        equity = make_equity(underlying, venue)
    return Chain(kept, equity)


def _at_close(option: OptionContract) -> OptionContract:
    """The contract expiring at the close of its OCC expiry date (NautilusTrader's decoder says 16:00 always)."""
    try:
        expiry = parse_occ_symbol(option.raw_symbol.value)[1]
    except ValueError:
        expiry = pd.Timestamp(option.expiration_ns, tz="UTC").tz_convert(NEW_YORK).date()
    close = _close_ns(expiry)
    if close == option.expiration_ns:
        return option
    return OptionContract.from_dict({**OptionContract.to_dict(option), "expiration_ns": close})


@functools.cache
def _close_ns(expiry: dt.date) -> int:
    """:func:`expiry_close_ns` once per date (a calendar lookup; a chain has thousands of contracts per date)."""
    return expiry_close_ns(expiry)


class IdResolver:
    """Databento instrument id (at a time) -> index into the chain, UNWANTED or UNKNOWN."""

    def __init__(self, chain: Chain, rows: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> None:
        self._by_raw = {i.raw_symbol.value: n for n, i in enumerate(chain.instruments)}
        ids = np.concatenate([r[0] for r in rows]) if rows else np.empty(0, np.uint32)
        ts = np.concatenate([r[1] for r in rows]) if rows else np.empty(0, np.uint64)
        raws = np.concatenate([r[2] for r in rows]) if rows else np.empty(0, "S1")
        index = np.array([self._by_raw.get(r.decode(), UNWANTED) for r in raws], dtype=np.int32)
        order = np.lexsort((ts, ids))
        ids, ts, index = ids[order], ts[order], index[order]
        # one row per run of the same (id, instrument): repeated definitions say nothing new
        keep = np.ones(len(ids), dtype=bool)
        keep[1:] = (ids[1:] != ids[:-1]) | (index[1:] != index[:-1])
        self._ids, self._ts, self._index = ids[keep], ts[keep], index[keep]
        unique, counts = np.unique(self._ids, return_counts=True)
        self._reassigned = set(unique[counts > 1].tolist())
        self.names: dict[int, str] = {}  # ids named only by a quote file's mappings, for error messages

    def resolve(self, file: DbnFile, ids: np.ndarray, ts: np.ndarray) -> np.ndarray:
        """The chain index of each record (UNWANTED for other instruments); ids nobody defines are an error."""
        out = np.full(len(ids), UNKNOWN, dtype=np.int32)
        found = np.zeros(len(ids), dtype=bool)
        if len(self._ids):
            pos = np.minimum(np.searchsorted(self._ids, ids), len(self._ids) - 1)
            found = self._ids[pos] == ids
            out[found] = self._index[pos[found]]
        reused = self._reassigned.intersection(np.unique(ids[found]).tolist()) if self._reassigned else ()
        for reassigned in reused:
            self._by_time(reassigned, ids, ts, out)
        if not found.all():
            self._from_mappings(file, ids, out)
        return out

    def _by_time(self, instrument_id: int, ids: np.ndarray, ts: np.ndarray, out: np.ndarray) -> None:
        first = np.searchsorted(self._ids, instrument_id)
        last = np.searchsorted(self._ids, instrument_id, side="right")
        mask = ids == instrument_id
        at = np.searchsorted(self._ts[first:last], ts[mask], side="right") - 1
        out[mask] = self._index[first:last][np.maximum(at, 0)]

    def _from_mappings(self, file: DbnFile, ids: np.ndarray, out: np.ndarray) -> None:
        missing = np.unique(ids[out == UNKNOWN])
        named = _mapped_raw_symbols(file)
        for instrument_id in missing.tolist():
            raw = named.get(instrument_id)
            if raw is None:
                continue
            self.names[instrument_id] = raw
            out[ids == instrument_id] = self._by_raw.get(raw, UNWANTED)


def _mapped_raw_symbols(file: DbnFile) -> dict[int, str]:
    """Instrument id -> raw symbol from a file requested by raw symbol (other symbologies name no contract)."""
    if file.stype_in != "raw_symbol":
        return {}
    named: dict[int, str] = {}
    for raw, intervals in file.metadata.mappings.items():
        for interval in intervals:
            try:
                named[int(interval["symbol"])] = raw
            except (KeyError, TypeError, ValueError):
                continue
    return named
