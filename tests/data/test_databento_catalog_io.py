"""The import's Arrow-column catalog writes against NautilusTrader's own ``write_data``: the same files (names,
schemas and their metadata) and the same objects back through the catalog's queries."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.objects import Price, Quantity
from nautilus_trader.persistence.catalog import ParquetDataCatalog

from data.databento.catalog_io import CatalogFiles, QuoteWriter, write_instruments
from hybrid.options.instruments import make_equity, make_option

OPEN_NS = 1_717_421_400 * 1_000_000_000  # 2024-06-03 13:30 UTC


def instruments() -> list:
    options = [make_option("SPY", dt.date(2024, 7, 12), right, 530) for right in "CP"]
    return [*options, make_equity("SPY")]


def columns(rng: np.random.Generator, instrument: int, count: int, start: int) -> tuple[np.ndarray, ...]:
    """Quotes in Databento units (1e-9 prices, some off the cent tick; whole sizes), one side sometimes not shown."""
    ts = OPEN_NS + (start + np.arange(count, dtype=np.int64)) * 1_000_000_000
    bid = rng.integers(100, 60_000, count) * 10_000_000 + rng.integers(0, 3, count) * 3_000_000
    ask = bid + rng.integers(1, 20, count) * 10_000_000
    bid_size, ask_size = rng.integers(1, 500, count), rng.integers(1, 500, count)
    bid[::7], bid_size[::7] = 0, 0
    return (np.full(count, instrument, np.int32), ts.astype(np.uint64), bid, ask, bid_size, ask_size)


def as_ticks(chain: list, parts: list[tuple[np.ndarray, ...]]) -> list[QuoteTick]:
    """The same quotes as NautilusTrader objects, prices rounded half up to each instrument's tick."""
    ticks = []
    for index, ts, bid, ask, bid_size, ask_size in parts:
        for i, t, b, a, bs, as_ in zip(index, ts, bid, ask, bid_size, ask_size, strict=True):
            instrument = chain[int(i)]
            unit = 10 ** (9 - instrument.price_precision)
            price = [(int(p) + unit // 2) // unit * unit / 1e9 for p in (b, a)]
            ticks.append(
                QuoteTick(
                    instrument.id,
                    Price(price[0], instrument.price_precision),
                    Price(price[1], instrument.price_precision),
                    Quantity(int(bs), 0),
                    Quantity(int(as_), 0),
                    int(t),
                    int(t),
                ),
            )
    return ticks


def files(catalog: ParquetDataCatalog) -> dict[Path, tuple]:
    """Each file's Arrow schema (Schema equality leaves out the metadata: compared apart)."""
    root = Path(catalog.path)
    schemas = {p.relative_to(root): pq.read_schema(p) for p in sorted(root.rglob("*.parquet"))}
    return {path: (schema, schema.metadata) for path, schema in schemas.items()}


def test_writer_files_read_back_as_write_data_s(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    chain = instruments()
    # two flushes: the first holds both options, the second one option and the underlying
    first = [columns(rng, 0, 40, 0), columns(rng, 1, 30, 0)]
    second = [columns(rng, 1, 25, 100), columns(rng, 2, 10, 100)]
    ours = ParquetDataCatalog(str(tmp_path / "ours"))
    with CatalogFiles(ours, pending_rows=50) as written:  # the background writer kept busy
        write_instruments(written, chain)
        writer = QuoteWriter(
            written, [i.id for i in chain], np.array([i.price_precision for i in chain]), flush_rows=60
        )
        for part in first:
            writer.add(part)
        assert writer.due()
        writer.flush()
        for part in second:
            writer.add(part)
        writer.flush()

    theirs = ParquetDataCatalog(str(tmp_path / "theirs"))
    theirs.write_data(chain)
    for flush in (first, second):
        theirs.write_data(as_ticks(chain, flush))

    assert files(ours) == files(theirs)  # names, columns, types, nullability and schema metadata
    assert ours.instruments() == theirs.instruments()
    for instrument in chain:
        mine, nautilus = (c.quote_ticks(instrument_ids=[instrument.id.value]) for c in (ours, theirs))
        assert [QuoteTick.to_dict(q) for q in mine] == [QuoteTick.to_dict(q) for q in nautilus]
        assert len(mine) == {0: 40, 1: 55, 2: 10}[chain.index(instrument)]
