"""Writing the generated market into a NautilusTrader ParquetDataCatalog, all or nothing.

The catalog is built in a hidden sibling directory and renamed into place at the end, so an
interrupted run never leaves a half catalog where runners (and ``make catalog``) would take it for a
whole one. Quotes go in one write per instrument: the catalog's layout is one file per instrument.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from nautilus_trader.model.data import QuoteTick, TradeTick
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.persistence.catalog import ParquetDataCatalog

from data.synthetic.quoting import Quotes, Trades

PRICE_PRECISION = 2
SIZE_PRECISION = 0


def check_target(out_dir: str | Path) -> Path:
    """The output directory, which must be new or empty."""
    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ValueError(f"out must be a new or empty directory, got {str(out)!r} (not empty)")
    return out


@contextmanager
def staged_catalog(out_dir: str | Path) -> Iterator[ParquetDataCatalog]:
    """A catalog in a staging directory that becomes ``out_dir`` when the block completes."""
    out = check_target(out_dir)
    staging = out.parent / f".{out.name}.partial"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    try:
        yield ParquetDataCatalog(str(staging))
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if out.exists():
        out.rmdir()
    staging.rename(out)


def write_quotes(catalog: ParquetDataCatalog, instrument_id: InstrumentId, quotes: Quotes, ts_ns: np.ndarray) -> int:
    """Write one instrument's quotes (built in bulk) in a single catalog write; returns the count."""
    ts = np.ascontiguousarray(ts_ns, dtype=np.uint64)
    ticks = QuoteTick.from_raw_arrays_to_list(
        instrument_id,
        PRICE_PRECISION,
        SIZE_PRECISION,
        *(np.ascontiguousarray(a, dtype=np.float64) for a in quotes),
        ts,
        ts,
    )
    catalog.write_data(ticks, skip_disjoint_check=True)
    return len(ticks)


def write_trades(catalog: ParquetDataCatalog, instrument_id: InstrumentId, trades: Trades) -> int:
    """Write one instrument's trade prints in a single catalog write; returns the count."""
    ts = np.ascontiguousarray(trades.ts_ns, dtype=np.uint64)
    ticks = TradeTick.from_raw_arrays_to_list(
        instrument_id,
        PRICE_PRECISION,
        SIZE_PRECISION,
        np.ascontiguousarray(trades.price, dtype=np.float64),
        np.ascontiguousarray(trades.size, dtype=np.float64),
        np.ascontiguousarray(trades.aggressor, dtype=np.uint8),
        [f"{instrument_id.symbol.value}-{i}" for i in range(len(ts))],
        ts,
        ts,
    )
    catalog.write_data(ticks, skip_disjoint_check=True)
    return len(ticks)
