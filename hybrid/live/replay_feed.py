"""A catalog read day by day for the replay data client (blocking: the client runs it in a worker thread).

:class:`ReplayFeed` opens a ParquetDataCatalog, lists its instruments as they are listed today (see
:mod:`hybrid.live.shift`), and hands out the market data of one UTC day at a time: quotes, the
underlying's trade prints and the daily :class:`AtmImpliedVol` records, merged in catalog time order
(quotes before trades before IV records at equal times), with their catalog timestamps, which pace the
replay. :meth:`ReplayFeed.listed_id` maps a catalog instrument id to its listed (moved) id. Reading one
day of the demo catalog takes about two seconds, so the client reads the next day while it replays one.
"""

from __future__ import annotations

import heapq
from pathlib import Path

import pandas as pd
from nautilus_trader.core.data import Data
from nautilus_trader.model.data import CustomData, QuoteTick, TradeTick
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.persistence.catalog import ParquetDataCatalog
from nautilus_trader.persistence.funcs import class_to_filename

from hybrid.live.shift import TimeShift, as_custom_data
from hybrid.options.iv_data import AtmImpliedVol
from hybrid.runconfig.catalog import read_manifest

ONE_NS = pd.Timedelta(1, "ns")


class ReplayFeed:
    """The catalog at ``catalog`` replayed from a node started at ``start_ns``, its contracts listed ``shift_days``
    later (None: :meth:`TimeShift.onto` the start; see the module docstring)."""

    def __init__(self, catalog: str | Path, start_ns: int, shift_days: int | None = None) -> None:
        self.path = Path(catalog)
        self.manifest = read_manifest(self.path)
        self.first = pd.Timestamp(self.manifest.start)
        self.last = pd.Timestamp(self.manifest.end)
        self.start_ns = start_ns
        self.shift = TimeShift.onto(self.first.value, start_ns) if shift_days is None else TimeShift(shift_days)
        self._catalog = ParquetDataCatalog(str(self.path))
        kinds = self._catalog.list_data_types()
        self._has_trades = class_to_filename(TradeTick) in kinds
        self._has_iv = class_to_filename(AtmImpliedVol) in kinds
        self._ids: dict[InstrumentId, InstrumentId] = {}

    def instruments(self) -> list[Instrument]:
        """Every instrument of the catalog as listed today; remembers the id mapping."""
        listed = []
        for instrument in self._catalog.instruments():
            moved = self.shift.instrument(instrument, self.start_ns)
            self._ids[instrument.id] = moved.id
            listed.append(moved)
        return listed

    def listed_id(self, instrument_id: InstrumentId) -> InstrumentId:
        """The listed id of a catalog instrument (call :meth:`instruments` first)."""
        return self._ids.get(instrument_id, instrument_id)

    def days(self) -> list[pd.Timestamp]:
        """UTC days from the first to the last quote."""
        return list(pd.date_range(self.first.floor("D"), self.last.floor("D"), freq="D"))

    def day(self, day: pd.Timestamp) -> list[Data]:
        """One UTC day of quotes, trades and IV records with their catalog ids and times, in time order."""
        end = day + pd.Timedelta(days=1) - ONE_NS
        streams = [self._catalog.query(QuoteTick, start=day, end=end)]
        if self._has_trades:
            streams.append(self._catalog.query(TradeTick, start=day, end=end))
        if self._has_iv:
            streams.append([item.data for item in self._catalog.query(AtmImpliedVol, start=day, end=end)])
        return list(heapq.merge(*streams, key=lambda item: item.ts_init))

    def iv_history(self) -> list[CustomData]:
        """The daily IV records before the first quote (the history the replay starts from), dated as moved
        (``TimeShift.time``), oldest first; later records are replayed as data."""
        if not self._has_iv:
            return []
        records = [item.data for item in self._catalog.query(AtmImpliedVol, end=self.first - ONE_NS)]
        moved = (
            AtmImpliedVol(
                instrument_id=r.instrument_id,
                iv_30d=r.iv_30d,
                ts_event=self.shift.time(r.ts_event),
                ts_init=self.shift.time(r.ts_init),
            )
            for r in records
        )
        return [as_custom_data(r) for r in sorted(moved, key=lambda r: r.ts_init)]
