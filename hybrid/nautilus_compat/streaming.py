"""Replay a catalog in bounded memory: each data config read in chunks, merged by the engine as it runs.

NautilusTrader's streaming API at the engine level (``BacktestEngine.add_data_iterator``): one generator
per data config yields the catalog's data a chunk at a time, the engine's data iterator merges the
streams by ``ts_init`` (ties in the order the streams were added, as the one-shot run's stable sort
orders the data configs) and asks a stream for its next chunk only when the current one is used up, and
a single ``engine.run()`` replays it all. Only the chunks in flight are held, never the catalog.
Built-in types are read through the catalog's Rust backend session, ``chunk_size`` rows a chunk, one
window of time at a time (below); custom data (the daily :class:`AtmImpliedVol` of ``hybrid.options``)
through the catalog's PyArrow query, one :data:`CUSTOM_DATA_WINDOW` at a time.

Why windows: the backend session merges its files by ``ts_init`` and holds the current batch of every
file it reads, from the start. A catalog has a file per contract, each smaller than a chunk, so one
session over the whole run held every quote of the run at once (1.7 GB before the first quote of the
demo catalog was replayed, 8.4 GB for 27M quotes). A session per window registers only the files whose
interval meets the window and keeps only the window's rows, so what is held is bounded by the window,
not by the length of the run; the caller sizes the window from the catalog's density
(:func:`stream_window`).

Upstream, in the installed ``backtest/node.py`` and ``backtest/engine.pyx`` (1.231.0):

- ``BacktestRunConfig.chunk_size`` (``BacktestNode._run_streaming``) runs the engine once per chunk
  (``engine.run(streaming=True)``) and each run ends by firing the timers due at its last timestamp.
  A chunk is ``chunk_size`` rows whatever their timestamps, so when one instant's quotes straddle two
  chunks that instant's timers (spread quote aggregation, the bot's checks, TwoPart's deadlines) run
  between its two halves. It also cannot carry custom data: ``AtmImpliedVol`` has no Arrow schema for
  the Rust backend. Here the engine's loop never stops between chunks, so boundaries are invisible.
- A subscription (``subscribe_quote_ticks``, ``subscribe_data``) reaches ``BacktestEngine
  ._handle_subscribe``, which starts a catalog request stream of its own for the subscribed data unless
  the engine already knows the name (``QuoteTick.<instrument>``) from ``add_data``: a streamed run
  would replay every subscribed instrument's quotes twice (41,664 extra data points in two weeks of the
  demo). ``add_data`` also registers the data clients the one-shot run has (one per venue, and the
  custom data's ``client_id``, which answers that data's subscription requests with nothing). So
  :func:`add_streams` first adds markers, one point per instrument and data type (the first chunk for
  custom data), with ``add_data`` and drops them with ``clear_data``, which keeps both the names and
  the clients; the streams are added after.

``tests/nautilus_compat/test_streaming.py`` fails once a streamed run replays more data than the
one-shot run of the same catalog.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from itertools import chain

import pandas as pd
from nautilus_trader.backtest.config import BacktestDataConfig
from nautilus_trader.backtest.engine import BacktestEngine
from nautilus_trader.core.data import Data
from nautilus_trader.core.inspect import is_nautilus_class
from nautilus_trader.core.nautilus_pyo3 import DataBackendSession, drop_cvec_pycapsule
from nautilus_trader.model.data import QuoteTick, TradeTick, capsule_to_list, pyo3_list_to_data_list
from nautilus_trader.model.enums import AggressorSide
from nautilus_trader.model.identifiers import ClientId, TradeId
from nautilus_trader.persistence.catalog import ParquetDataCatalog

# Custom data (one record a session for the daily ATM IV) is read a window of time at a time.
CUSTOM_DATA_WINDOW = pd.Timedelta(days=30)
ONE_NS = pd.Timedelta(1, unit="ns")


def stream_window(rows: int, first: pd.Timestamp, last: pd.Timestamp, window_rows: int) -> pd.Timedelta:
    """Whole days holding about ``window_rows`` of a catalog of ``rows`` from ``first`` to ``last`` (at least one)."""
    days = max((last - first) / pd.Timedelta(days=1), 1.0)
    return pd.Timedelta(days=max(1, int(window_rows * days / max(rows, 1))))


def add_streams(
    engine: BacktestEngine,
    data_configs: list[BacktestDataConfig],
    start: pd.Timestamp,
    end: pd.Timestamp,
    chunk_size: int,
    window: pd.Timedelta,
) -> None:
    """One chunked stream per data config over [start, end], added to ``engine`` (built, not run) in config
    order; built-in types are read ``window`` at a time (module docstring)."""
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive number of rows, got {chunk_size}")
    if window <= pd.Timedelta(0):
        raise ValueError(f"window must be a positive length of time, got {window}")
    streams: list[tuple[str, Iterator[list[Data]]]] = []
    for index, config in enumerate(data_configs):
        catalog = ParquetDataCatalog(config.catalog_path)
        data_cls = config.data_type
        if is_nautilus_class(data_cls):
            chunks = _windowed(start, end, window, partial(_backend_chunks, catalog, data_cls, chunk_size=chunk_size))
        else:
            chunks = _windowed(start, end, CUSTOM_DATA_WINDOW, partial(_custom_chunks, catalog, data_cls))
        first = next(chunks, None)
        if first is None:
            continue  # nothing in range, as the one-shot run adds nothing
        client_id = ClientId(config.client_id) if config.client_id else None
        engine.add_data(_markers(engine, first), client_id=client_id, sort=False)
        streams.append((f"catalog-{index}-{data_cls.__name__}", chain([first], chunks)))
    engine.clear_data()  # the markers go; the names and data clients they registered stay
    for name, chunks in streams:
        engine.add_data_iterator(name, chunks)


def _markers(engine: BacktestEngine, first: list[Data]) -> list[Data]:
    """One point per cached instrument for quotes and trades (never replayed), else the first chunk."""
    sample = first[0]
    instruments = engine.cache.instruments()
    if isinstance(sample, QuoteTick):
        return [
            QuoteTick(i.id, i.make_price(0), i.make_price(0), i.make_qty(0), i.make_qty(0), 0, 0) for i in instruments
        ]
    if isinstance(sample, TradeTick):
        return [
            TradeTick(i.id, i.make_price(0), i.make_qty(1), AggressorSide.NO_AGGRESSOR, TradeId("marker"), 0, 0)
            for i in instruments
        ]
    return first


def _windowed(
    start: pd.Timestamp,
    end: pd.Timestamp,
    window: pd.Timedelta,
    read: Callable[[pd.Timestamp, pd.Timestamp], Iterator[list[Data]]],
) -> Iterator[list[Data]]:
    """``read`` over consecutive windows that cover [start, end] without overlap (both ends inclusive)."""
    window_start = start
    while window_start <= end:
        window_end = min(window_start + window - ONE_NS, end)
        yield from (chunk for chunk in read(window_start, window_end) if chunk)  # an empty chunk ends a stream
        window_start = window_end + ONE_NS


def _backend_chunks(
    catalog: ParquetDataCatalog,
    data_cls: type,
    start: pd.Timestamp,
    end: pd.Timestamp,
    chunk_size: int,
) -> Iterator[list[Data]]:
    """The catalog's Rust backend session over [start, end] (what ``catalog.query`` reads), ``chunk_size`` rows a chunk."""
    session = catalog.backend_session(
        data_cls=data_cls,
        start=start.isoformat(),
        end=end.isoformat(),
        session=DataBackendSession(chunk_size=chunk_size),
    )
    for chunk in session.to_query_result():
        if isinstance(chunk, list):
            yield pyo3_list_to_data_list(chunk)
        else:
            data = capsule_to_list(chunk)
            drop_cvec_pycapsule(chunk)  # the capsule does not free its vector itself
            yield data


def _custom_chunks(
    catalog: ParquetDataCatalog,
    data_cls: type,
    start: pd.Timestamp,
    end: pd.Timestamp,
) -> Iterator[list[Data]]:
    """Custom data over [start, end] in one chunk, as ``CustomData``."""
    data = catalog.query(data_cls, start=start.isoformat(), end=end.isoformat())
    if data:  # an empty chunk would end the stream
        yield data
