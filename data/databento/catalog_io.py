"""Quotes and trades into the catalog as Arrow columns, in the Parquet layout NautilusTrader reads.

``ParquetDataCatalog.write_data`` takes one Python object per quote and measured about 70k quotes/s here,
the import's bottleneck. These tables are what it would write (the columns and schema metadata of
NautilusTrader's Arrow encoding: fixed-point values as 128-bit little-endian integers scaled by
``10**FIXED_PRECISION``, one file per instrument and write, named by its first and last ``ts_init``), built
from numpy columns; tests read every import back through the catalog's own ``quote_ticks``/``trade_ticks``.
The files are written by :class:`CatalogFiles` on a background thread (pyarrow encodes and writes without the
GIL), so the import decodes and consolidates the next records meanwhile.
"""

from __future__ import annotations

import itertools
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import TracebackType

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from nautilus_trader.core.datetime import unix_nanos_to_iso8601
from nautilus_trader.model.data import QuoteTick, TradeTick
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.model.objects import FIXED_PRECISION, HIGH_PRECISION
from nautilus_trader.persistence.catalog import ParquetDataCatalog
from nautilus_trader.persistence.funcs import class_to_filename, urisafe_identifier

from data.databento.consolidate import grouped_order

DBN_PRECISION = 9  # Databento prices are integers in units of 1e-9
_WIDTH = 16 if HIGH_PRECISION else 8
_MASK32 = np.uint64(0xFFFFFFFF)
_FIXED = pa.binary(_WIDTH)
FLUSH_ROWS = 4_000_000  # rows buffered (about 45 bytes each) before the writer writes a file per instrument
ENCODE_ROWS = 500_000  # rows encoded to Arrow at a time when flushing
PENDING_ROWS = 1_000_000  # rows handed to the background writer and not yet written, at most


_QUOTE_SCHEMA = pa.schema(
    [pa.field(name, _FIXED, nullable=False) for name in ("bid_price", "ask_price", "bid_size", "ask_size")]
    + [pa.field(name, pa.uint64(), nullable=False) for name in ("ts_event", "ts_init")]
)


def fixed_point(values: np.ndarray, scale_exponent: int) -> pa.FixedSizeBinaryArray:
    """Non-negative integers times ``10**scale_exponent`` as NautilusTrader's raw fixed-point column."""
    x = np.ascontiguousarray(values, dtype=np.uint64)
    m = 10**scale_exponent
    words = np.empty((len(x), _WIDTH // 8), dtype=np.uint64)
    if _WIDTH == 8:
        words[:, 0] = x * np.uint64(m)
    elif not len(x) or int(x.max()) <= np.iinfo(np.uint64).max // m:  # the product fits the low word
        np.multiply(x, np.uint64(m), out=words[:, 0])
        words[:, 1] = 0
    else:  # 64 x 64 -> 128 bit product from 32-bit halves
        xh, xl = x >> np.uint64(32), x & _MASK32
        mh, ml = np.uint64(m >> 32), np.uint64(m & 0xFFFFFFFF)
        p0, p1, p2, p3 = xl * ml, xl * mh, xh * ml, xh * mh
        mid = (p0 >> np.uint64(32)) + (p1 & _MASK32) + (p2 & _MASK32)
        words[:, 0] = (p0 & _MASK32) | ((mid & _MASK32) << np.uint64(32))
        words[:, 1] = p3 + (p1 >> np.uint64(32)) + (p2 >> np.uint64(32)) + (mid >> np.uint64(32))
    return pa.FixedSizeBinaryArray.from_buffers(_FIXED, len(x), [None, pa.py_buffer(words)])


def from_fixed_point(column: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A raw fixed-point column as floats (values below 2**64 raw units: prices and sizes of this project)."""
    raw = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    words = np.frombuffer(raw.buffers()[1], dtype=np.uint64)[raw.offset * (_WIDTH // 8) :]
    low = words.reshape(-1, _WIDTH // 8)[: len(raw), 0]
    return low.astype(np.float64) / 10.0**FIXED_PRECISION


def dbn_prices(px: np.ndarray, precision: int) -> pa.FixedSizeBinaryArray:
    """Databento prices (1e-9 units) rounded to the instrument's precision, as the raw column."""
    return _rounded_prices(px, np.int64(10 ** (DBN_PRECISION - precision)))


def _rounded_prices(px: np.ndarray, unit: np.ndarray | np.int64) -> pa.FixedSizeBinaryArray:
    """Prices rounded to ``unit`` (1e-9 units: one per row, or one for all) as the raw column."""
    rounded = (px.astype(np.int64) + unit // 2) // unit * unit
    return fixed_point(np.maximum(rounded, 0), FIXED_PRECISION - DBN_PRECISION)


def trade_table(
    instrument_id: InstrumentId,
    precision: int,
    ts: np.ndarray,
    price: np.ndarray,
    size: np.ndarray,
    aggressor: np.ndarray,
    trade_ids: list[str],
) -> pa.Table:
    """One instrument's trades as NautilusTrader's TradeTick table (aggressor 0 none, 1 buyer, 2 seller)."""
    stamps = pa.array(np.ascontiguousarray(ts, dtype=np.uint64))
    table = pa.table(
        {
            "price": dbn_prices(price, precision),
            "size": fixed_point(size, FIXED_PRECISION),
            "aggressor_side": pa.array(np.ascontiguousarray(aggressor, dtype=np.uint8)),
            "trade_id": pa.array(trade_ids, type=pa.string()),
            "ts_event": stamps,
            "ts_init": stamps,
        },
    )
    return _with_metadata(table, instrument_id, precision)


def _with_metadata(table: pa.Table, instrument_id: InstrumentId, precision: int) -> pa.Table:
    fields = [pa.field(f.name, f.type, nullable=False) for f in table.schema]
    return table.cast(pa.schema(fields, metadata=_metadata(instrument_id, precision)))


def _metadata(instrument_id: InstrumentId, precision: int) -> dict[str, str]:
    return {"instrument_id": instrument_id.value, "price_precision": str(precision), "size_precision": "0"}


def data_directory(catalog: ParquetDataCatalog, data_cls: type, instrument_id: InstrumentId | str) -> Path:
    return Path(catalog.path) / "data" / class_to_filename(data_cls) / urisafe_identifier(str(instrument_id))


class CatalogFiles:
    """Writes catalog files one after the other on a background thread, in the order given.

    The caller goes on while pyarrow writes; at most ``PENDING_ROWS`` rows wait (the tables are kept alive
    until written), and a write's error is raised by a later :meth:`write` or by :meth:`close`. Use as a
    context manager inside the catalog's staging, so every file is on disk (or the import failed) before the
    catalog appears.
    """

    def __init__(self, catalog: ParquetDataCatalog, pending_rows: int = PENDING_ROWS) -> None:
        self.catalog = catalog
        self._pending_rows = pending_rows
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="catalog-files")
        self._pending: deque[tuple[Future[None], int]] = deque()
        self._rows = 0
        self._directories: set[Path] = set()  # made by this writer: it knows every file in them
        self._paths: set[Path] = set()

    def write(self, data_cls: type, instrument_id: InstrumentId, table: pa.Table, first: int, last: int) -> Path:
        """``table`` (``ts_init`` from ``first`` to ``last``) as one more file of the instrument, named as the
        catalog names its files."""
        directory = data_directory(self.catalog, data_cls, instrument_id)
        new = directory not in self._directories and not directory.exists()  # made by the writer, empty till then
        if new:
            self._directories.add(directory)
        path = directory / f"{_file_stamp(first)}_{_file_stamp(last)}.parquet"
        if path in self._paths or (directory not in self._directories and path.exists()):
            raise ValueError(f"{instrument_id}: a catalog file for the same time span exists already ({path.name})")
        self._paths.add(path)
        rows = table.num_rows
        job = self._pool.submit(_write_parquet, table, path, self.catalog.max_rows_per_group, new)
        self._pending.append((job, rows))
        self._rows += rows
        while self._pending and (self._rows > self._pending_rows or self._pending[0][0].done()):
            self._done()
        return path

    def close(self) -> None:
        """Wait for every file; raises the first write's error."""
        try:
            while self._pending:
                self._done()
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def _done(self) -> None:
        future, rows = self._pending.popleft()
        self._rows -= rows
        future.result()

    def __enter__(self) -> CatalogFiles:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if kind is None:
            self.close()
        else:  # failing already: stop writing, the staging directory is removed
            self._pool.shutdown(wait=True, cancel_futures=True)


def _write_parquet(table: pa.Table, path: Path, row_group_size: int, new_directory: bool) -> None:
    if new_directory:
        path.parent.mkdir(parents=True, exist_ok=True)
    # no dictionary for the timestamps (each one distinct: hashing them is work for nothing); statistics only
    # for them (the catalog's queries select by time)
    stamps = [name for name in table.column_names if name.startswith("ts_")]
    dictionary = [name for name in table.column_names if name not in stamps]
    pq.write_table(
        table, path, row_group_size=row_group_size, use_dictionary=dictionary, write_statistics=stamps or False
    )


def write_instruments(files: CatalogFiles, instruments: list[Instrument]) -> None:
    """What ``catalog.write_data(instruments)`` writes (one file per instrument), encoded in one batch per
    class: the catalog's own write lists and checks the directory of every instrument, seconds per chain."""
    by_class: dict[type, list[Instrument]] = {}
    for instrument in instruments:
        by_class.setdefault(type(instrument), []).append(instrument)
    for cls, group in by_class.items():
        table = files.catalog.serializer.serialize_batch(group, data_cls=cls)
        for row, instrument in enumerate(group):
            stamp = instrument.ts_init
            files.write(cls, instrument.id, table.slice(row, 1), stamp, stamp)


def _file_stamp(ns: int) -> str:
    return unix_nanos_to_iso8601(ns).replace(":", "-").replace(".", "-")


def quote_columns(catalog: ParquetDataCatalog, instrument_id: InstrumentId) -> tuple[np.ndarray, ...]:
    """An instrument's quotes from the catalog as (ts, bid, ask, bid_size, ask_size) numpy columns, in time order."""
    directory = data_directory(catalog, QuoteTick, instrument_id)
    files = sorted(directory.glob("*.parquet")) if directory.is_dir() else []
    if not files:
        return tuple(np.empty(0) for _ in range(5))
    table = pa.concat_tables(
        pq.read_table(f, columns=["ts_init", "bid_price", "ask_price", "bid_size", "ask_size"]) for f in files
    )
    ts = table.column("ts_init").to_numpy()
    order = np.argsort(ts, kind="stable")
    columns = [from_fixed_point(table.column(name)) for name in ("bid_price", "ask_price", "bid_size", "ask_size")]
    return (ts[order], *(c[order] for c in columns))


class QuoteWriter:
    """Buffers quotes of every instrument and writes them, every ``FLUSH_ROWS`` rows, as one file per
    instrument: the flush's columns are encoded once for all instruments, then sliced per instrument."""

    def __init__(
        self,
        files: CatalogFiles,
        instrument_ids: list[InstrumentId],
        precisions: np.ndarray,
        flush_rows: int = FLUSH_ROWS,
    ) -> None:
        self._files = files
        self._ids = instrument_ids
        self._precisions = np.asarray(precisions, dtype=np.int64)
        self._units = 10 ** (DBN_PRECISION - self._precisions)
        self._flush_rows = flush_rows
        self._parts: list[tuple[np.ndarray, ...]] = []
        self._rows = 0

    def add(self, columns: tuple[np.ndarray, ...]) -> None:
        """(chain index, ts, bid, ask, bid_size, ask_size), each instrument's rows later than those added before."""
        if len(columns[0]):
            self._parts.append(columns)
            self._rows += len(columns[0])

    def due(self) -> bool:
        return self._rows >= self._flush_rows

    def flush(self) -> None:
        if not self._parts:
            return
        index = np.concatenate([p[0] for p in self._parts])
        order = grouped_order(index)  # grouped by instrument, each in time order
        index = index[order]
        columns = [np.concatenate([p[k] for p in self._parts])[order] for k in range(1, 6)]
        self._parts.clear()
        self._rows = 0
        starts = np.flatnonzero(np.append(True, index[1:] != index[:-1]))
        ends = np.append(starts[1:], len(index))
        # encoded a batch of whole instruments at a time, so the Arrow columns never hold the whole flush
        batch = np.searchsorted(starts, np.arange(0, len(index), ENCODE_ROWS), side="right") - 1
        cuts = [*np.unique(starts[batch]).tolist(), len(index)]
        ts = columns[0]
        for lo, hi in itertools.pairwise(cuts):
            table = self._table(index[lo:hi], *(c[lo:hi] for c in columns))
            group = (starts >= lo) & (starts < hi)
            for start, end in zip(starts[group].tolist(), ends[group].tolist(), strict=True):
                i = int(index[start])
                part = table.slice(start - lo, end - start).replace_schema_metadata(
                    _metadata(self._ids[i], int(self._precisions[i]))
                )
                self._files.write(QuoteTick, self._ids[i], part, int(ts[start]), int(ts[end - 1]))

    def _table(self, index: np.ndarray, ts, bid, ask, bid_size, ask_size) -> pa.Table:
        unit = self._units[index]
        stamps = pa.array(np.ascontiguousarray(ts, dtype=np.uint64))
        arrays = [
            _rounded_prices(bid, unit),
            _rounded_prices(ask, unit),
            fixed_point(bid_size, FIXED_PRECISION),
            fixed_point(ask_size, FIXED_PRECISION),
            stamps,
            stamps,
        ]
        return pa.Table.from_arrays(arrays, schema=_QUOTE_SCHEMA)


def write_trades(
    files: CatalogFiles,
    instrument_id: InstrumentId,
    precision: int,
    columns: tuple[np.ndarray, ...],
    first_number: int,
) -> None:
    """(ts, price, size, aggressor) of one instrument's trades as one catalog file; trade ids count on from
    ``first_number``."""
    ts, price, size, aggressor = columns
    trade_ids = [str(first_number + i) for i in range(len(ts))]
    table = trade_table(instrument_id, precision, ts, price, size, aggressor, trade_ids)
    files.write(TradeTick, instrument_id, table, int(ts[0]), int(ts[-1]))
