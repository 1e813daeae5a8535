"""Import Databento US equity option data (DBN files) into a NautilusTrader Parquet catalog.

The result has the same layout as the synthetic market: ``OptionContract`` instruments, the
underlying as an ``Equity`` on the options' venue (``SPY.OPRA``: NautilusTrader's Greeks calculator
looks the underlying up as ``{underlying}.{venue}``), ``QuoteTick`` data per instrument, the underlying's
``TradeTick`` prints (the backtest venue settles expiring options on them), the daily ``AtmImpliedVol``
history derived from the option quotes (:mod:`data.iv_history`) and a ``manifest.json`` at the root.

Command::

    python -m data.databento_import \\
        --definitions opra-definition.dbn.zst [more.dbn.zst ...] \\
        --quotes opra-cbbo-1s.dbn.zst [more.dbn.zst ...] \\
        [--underlying-quotes xnas-itch-mbp-1.dbn.zst ...] [--underlying-trades xnas-itch-trades.dbn.zst ...] \\
        [--underlying SPY] [--venue OPRA] [--publisher XCBO] \\
        [--max-dte 60] [--moneyness 0.10] [--sample-interval 1] [--no-iv-history] \\
        --out catalogs/spy-databento

Input (every file zstd-compressed DBN, ``.dbn.zst``, as Databento delivers it, in raw or parent
symbology, e.g. ``SPY.OPT``: instrument ids are resolved through the definitions, the files' own symbol
mappings only for ids no definition covers; a plain ``.dbn`` is refused):

- ``--definitions``: ``definition`` schema. OPRA.PILLAR definitions give the option contracts (expiring
  at the close of their expiry date: 16:00 New York, 13:00 on a half day); an equity dataset's
  definitions (XNAS.ITCH, EQUS.MINI, ...) may add the underlying's ``Equity``, otherwise it is built with
  the standard US stock conventions (cent ticks).
- ``--quotes``: OPRA.PILLAR quotes for those options, any of the schemas mbp-1, tbbo, bbo-1s, bbo-1m,
  cmbp-1, cbbo-1s, cbbo-1m, tcbbo. The consolidated ones (cmbp-1, cbbo-*, tcbbo) are imported as they
  are; mbp-1 / tbbo / bbo-* carry every exchange's own quote and are reduced to one best quote per
  contract by the rule of :mod:`data.databento.consolidate` (the OPRA publisher's quotes where the file
  has them, else the best bid and ask across the exchanges), or ``--publisher XCBO`` keeps one exchange.
  tcbbo / tbbo records are trades carrying the quote before them: the quotes are kept.
- ``--underlying-quotes`` / ``--underlying-trades``: the underlying's quotes (same schemas) and trades
  (trades, tbbo, or mbp-1's trade records) from an equity dataset (XNAS.ITCH, EQUS.MINI, DBEQ.BASIC,
  ...); only the underlying's symbol is kept, moved to the options' venue. Without trades, imported
  options cannot settle at expiry in a backtest (a warning says so).
- filters (:mod:`data.databento.filters`): ``--max-dte N`` keeps contracts expiring within N days of
  each quote, ``--moneyness B`` strikes within ``B`` (0.1 = 10%) of the underlying's price,
  ``--sample-interval S`` the last quote of each contract in every S seconds.

Files are read in chunks of about a million records and written in chunks (one Parquet file per
instrument and chunk), so memory does not grow with the file. Quotes must come with definitions: a quote
for an id no definition names is refused. Option spreads (and their quotes) are never written: spread
markets are aggregated from leg quotes. Quotes for one instrument from two files must not overlap in time
(e.g. mbp-1 and cbbo-1s of the same day). A truncated or incomplete file (a download cut short) is
refused. ``--out`` must be new or empty; the catalog is built in a hidden staging directory and appears
only when complete, so a failed import leaves nothing behind. Bad input exits with code 2 and one line
on stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn

import databento  # noqa: F401 (imported first: it resets the warning filters, set below)
import numpy as np
import pandas as pd

# Importing databento shows every DeprecationWarning; NautilusTrader's catalog module then prints
# one from pandas at import (harmless, not ours) that would break the one-line error output.
warnings.filterwarnings("ignore", "The 'generic' unit for NumPy timedelta", DeprecationWarning)

from nautilus_trader.adapters.databento.constants import PUBLISHERS_FILEPATH  # noqa: E402
from nautilus_trader.adapters.databento.loaders import DatabentoDataLoader  # noqa: E402

from data import iv_history  # noqa: E402
from data.databento.catalog_io import (  # noqa: E402
    DBN_PRECISION,
    CatalogFiles,
    QuoteWriter,
    write_instruments,
    write_trades,
)
from data.databento.consolidate import (  # noqa: E402
    BestQuote,
    Quotes,
    by_instrument,
    consolidated_publishers,
    publisher_id,
    shown,
    written,
)
from data.databento.files import DatabentoImportError, DbnFile, inspect_dbn, one_line, record_chunks  # noqa: E402
from data.databento.filters import ImportFilters, Spot, keep_options, sampled  # noqa: E402
from data.databento.symbology import UNKNOWN, UNWANTED, Chain, IdResolver, load_definitions  # noqa: E402
from data.synthetic.catalog_writer import check_target, staged_catalog  # noqa: E402
from hybrid.calendar.exchange_time import ns_new_york  # noqa: E402
from hybrid.options.instruments import DEFAULT_VENUE, parse_occ_symbol  # noqa: E402
from hybrid.runconfig.manifest import CatalogManifest  # noqa: E402
from hybrid.trading import GroupTradingConfig  # noqa: E402

OPTIONS_DATASET = "OPRA.PILLAR"
DEFINITION_SCHEMA = "definition"
CONSOLIDATED_QUOTE_SCHEMAS = ("cmbp-1", "cbbo-1s", "cbbo-1m", "tcbbo")
QUOTE_SCHEMAS = ("mbp-1", "tbbo", "bbo-1s", "bbo-1m", *CONSOLIDATED_QUOTE_SCHEMAS)
TRADE_SCHEMAS = ("trades", "tbbo", "mbp-1")
_TRADE_ACTION = b"T"

_log = logging.getLogger(__name__)

__all__ = ["QUOTE_SCHEMAS", "DatabentoImportError", "import_databento", "main"]


def import_databento(
    definitions: Sequence[str | Path],
    quotes: Sequence[str | Path],
    underlying_quotes: Sequence[str | Path],
    out_dir: str | Path,
    venue: str = DEFAULT_VENUE,
    underlying: str | None = None,
    underlying_trades: Sequence[str | Path] = (),
    filters: ImportFilters = ImportFilters(),  # noqa: B008 (frozen)
    publisher: str | None = None,
    with_iv_history: bool = True,
) -> CatalogManifest:
    """Build a catalog at ``out_dir`` from Databento files; see the module docstring for the rules."""
    if not definitions:
        raise DatabentoImportError("--definitions: give at least one OPRA definition file")
    if not quotes:
        raise DatabentoImportError("--quotes: give at least one OPRA quote file")
    loader = _loader_on_venue(venue)
    try:
        check_target(out_dir)
        only = publisher_id(OPTIONS_DATASET, publisher) if publisher else None
    except ValueError as exc:
        raise DatabentoImportError(f"--out: {exc}" if "out must" in str(exc) else str(exc)) from None
    definition_files = [inspect_dbn(p, "--definitions", (DEFINITION_SCHEMA,)) for p in definitions]
    quote_files = [_options_file(inspect_dbn(p, "--quotes", QUOTE_SCHEMAS)) for p in quotes]
    underlying_files = [_equity_file(inspect_dbn(p, "--underlying-quotes", QUOTE_SCHEMAS)) for p in underlying_quotes]
    trade_files = [_equity_file(inspect_dbn(p, "--underlying-trades", TRADE_SCHEMAS)) for p in underlying_trades]
    if filters.moneyness is not None and not (underlying_files or trade_files):
        raise DatabentoImportError(
            "--moneyness: needs the underlying's price; give --underlying-quotes or --underlying-trades"
        )

    with staged_catalog(out_dir) as catalog, CatalogFiles(catalog) as files:
        chain, resolver = load_definitions(loader, definition_files, venue, underlying)
        write_instruments(files, chain.instruments)
        _log.info("instruments: %s options, underlying %s", f"{len(chain.options):,}", chain.equity.id)
        snapshots = _snapshots(chain, [*quote_files, *underlying_files]) if with_iv_history else None
        run = _Import(files, chain, resolver, filters, only, snapshots)
        for file in underlying_files:
            run.quotes(file, underlying=True)
        for file in trade_files:
            run.trades(file)
        run.spot.freeze()
        for file in quote_files:
            run.quotes(file, underlying=False)
        if not underlying_files:
            _log.warning("no --underlying-quotes: %s has no quotes, so greeks cannot be computed", chain.equity.id)
        if not trade_files:
            _log.warning(
                "no --underlying-trades: %s has no trade prints, so options cannot settle at expiry in a backtest",
                chain.equity.id,
            )
        manifest = run.manifest(
            venue,
            filters,
            publisher,
            {
                "definition_files": definition_files,
                "quote_files": quote_files,
                "underlying_quote_files": underlying_files,
                "underlying_trade_files": trade_files,
            },
        )
        if snapshots is not None:
            derived = iv_history.history(
                snapshots, chain.options, chain.equity.id, *_rates(), run.first_ns or 0, run.last_ns or 0
            )
            manifest.iv_history_days = iv_history.write_history(catalog, chain.equity.id, derived)
        manifest.write(catalog.path)
    return manifest


def _snapshots(chain: Chain, files: list[DbnFile]) -> iv_history.SessionSnapshots | None:
    """The IV history's session snapshots over the days the quote files' headers span (the request's range)."""
    starts = [f.metadata.start for f in files if f.metadata.start is not None]
    ends = [f.metadata.end for f in files if f.metadata.end is not None]
    if not starts or not ends:
        _log.warning("no IV history: the files' headers give no time range; run python -m data.iv_history --catalog")
        return None
    first, last = ns_new_york(min(starts)).date(), ns_new_york(max(ends)).date()
    units = 10 ** (DBN_PRECISION - chain.precisions)
    return iv_history.SessionSnapshots(first, last, len(chain.instruments), units)


def _rates() -> tuple[float, float]:
    """The rate and dividend yield the strategies price with by default, for the derived IVs."""
    defaults = GroupTradingConfig()
    return defaults.rate, defaults.dividend


class _Import:
    """One import's state across files: counts, time spans per instrument, the underlying's price."""

    def __init__(
        self,
        files: CatalogFiles,
        chain: Chain,
        resolver: IdResolver,
        filters: ImportFilters,
        only: int | None,
        snapshots: iv_history.SessionSnapshots | None,
    ) -> None:
        self.files = files
        self.snapshots = snapshots
        self.chain = chain
        self.resolver = resolver
        self.filters = filters
        self.only = only
        self.spot = Spot()
        size = len(chain.instruments)
        self.counts = np.zeros(size, np.int64)
        self.trade_count = 0
        # per file: first and last ts per instrument, of quotes and of trades
        self.spans: list[tuple[str, np.ndarray, np.ndarray]] = []
        self.trade_spans: list[tuple[str, np.ndarray, np.ndarray]] = []
        self.first_ns: int | None = None
        self.last_ns: int | None = None

    # -- quotes -----------------------------------------------------------------------------

    def quotes(self, file: DbnFile, underlying: bool) -> None:
        started = time.monotonic()
        size = len(self.chain.instruments)
        best = (
            None
            if file.schema in CONSOLIDATED_QUOTE_SCHEMAS
            else BestQuote(size, consolidated_publishers(file.dataset))
        )
        writer = QuoteWriter(self.files, [i.id for i in self.chain.instruments], self.chain.precisions)
        first = np.full(size, np.iinfo(np.uint64).max, np.uint64)
        last = np.zeros(size, np.uint64)
        records = kept = 0
        what = str(self.chain.equity.id.symbol) if underlying else f"{self.chain.equity.id.symbol} options"
        for chunk in _time_ordered(file, self.filters.sample_ns):
            records += len(chunk)
            index = self._resolve(file, chunk, underlying)
            u = self.chain.underlying_index
            wanted = index == u if underlying else (index >= 0) & (index != u)
            if not underlying and self.only is not None:
                wanted &= chunk["publisher_id"] == self.only
            rows: slice | np.ndarray = slice(None) if wanted.all() else np.flatnonzero(wanted)  # a view when all
            q = shown(
                Quotes(
                    index[rows],
                    chunk["ts_recv"][rows],
                    chunk["bid_px_00"][rows],
                    chunk["ask_px_00"][rows],
                    chunk["bid_sz_00"][rows],
                    chunk["ask_sz_00"][rows],
                )
            )
            q = written(best(q, chunk["publisher_id"][rows]) if best is not None else by_instrument(q))
            if underlying:
                both = (q.bid > 0) & (q.ask > 0)
                self.spot.add(q.ts[both], (q.bid[both] + q.ask[both]) / 2)
            else:
                q = keep_options(q, self.chain, self.filters, self.spot)
            q = sampled(q, self.filters.sample_ns)
            if self.snapshots is not None:
                mine = q.take(np.flatnonzero(iv_history.two_sided(*q.columns[2:]))) if underlying else q
                self.snapshots.add(*mine.columns)
            kept += len(q)
            if len(q):
                starts = np.flatnonzero(np.append(True, q.index[1:] != q.index[:-1]))
                ends = np.append(starts[1:], len(q)) - 1
                i = q.index[starts]
                first[i] = np.minimum(first[i], q.ts[starts])
                last[i] = np.maximum(last[i], q.ts[ends])
                self.counts[i] += ends - starts + 1
                writer.add(q.columns)
            if writer.due():
                self._check_overlap(file, first, last)
                writer.flush()
        if not kept:
            raise DatabentoImportError(
                f"{file.name}: none of its {records:,} quotes are for {what}"
                f"{' (it has no quotes)' if not records else ''}",
            )
        self._check_overlap(file, first, last)
        writer.flush()
        self._file_done(file, first, last)
        _log.info(
            "%s: %s quotes for %s instruments written in %.1fs (%s records read%s)",
            file.name,
            f"{kept:,}",
            f"{int((last > 0).sum()):,}",
            time.monotonic() - started,
            f"{records:,}",
            "; the exchanges' quotes reduced to the best quote" if best is not None and not self.only else "",
        )

    # -- trades -----------------------------------------------------------------------------

    def trades(self, file: DbnFile) -> None:
        size = len(self.chain.instruments)
        first = np.full(size, np.iinfo(np.uint64).max, np.uint64)
        last = np.zeros(size, np.uint64)
        records = 0
        u = self.chain.underlying_index
        for chunk in _time_ordered(file, None):
            records += len(chunk)
            index = self._resolve(file, chunk, underlying=True)
            wanted = index == u
            if file.schema == "mbp-1":
                wanted &= chunk["action"] == _TRADE_ACTION
            rows = chunk[wanted]
            if not len(rows):
                continue
            ts = rows["ts_recv"]
            side = rows["side"]
            aggressor = np.where(side == b"B", 1, np.where(side == b"A", 2, 0)).astype(np.uint8)
            self._check_overlap(file, *_span(first, last, u, ts), self.trade_spans)
            write_trades(
                self.files,
                self.chain.equity.id,
                self.chain.equity.price_precision,
                (ts, rows["price"], rows["size"], aggressor),
                self.trade_count,
            )
            self.trade_count += len(rows)
            self.spot.add(ts, rows["price"].astype(np.float64))
        if not last[u]:
            raise DatabentoImportError(
                f"{file.name}: none of its {records:,} records are trades of {self.chain.equity.id.symbol}"
            )
        self._file_done(file, first, last, self.trade_spans)
        _log.info("%s: %s trades of %s written", file.name, f"{self.trade_count:,}", self.chain.equity.id.symbol)

    # -- shared -----------------------------------------------------------------------------

    def _resolve(self, file: DbnFile, chunk: np.ndarray, underlying: bool) -> np.ndarray:
        index = self.resolver.resolve(file, chunk["instrument_id"], chunk["ts_recv"])
        if not underlying:
            self._refuse_undefined(file, chunk["instrument_id"], index)
        elif (index == UNKNOWN).any():
            index = np.where(index == UNKNOWN, UNWANTED, index)  # equity files name their symbols in the mappings
        return index

    def _refuse_undefined(self, file: DbnFile, ids: np.ndarray, index: np.ndarray) -> None:
        root = self.chain.equity.id.symbol.value
        for instrument_id in np.unique(ids[index == UNWANTED]).tolist():
            name = self.resolver.names.get(instrument_id)
            if name is not None and _is_option_on(name, root):
                raise DatabentoImportError(
                    f"{file.name}: quotes for {name}.{self.chain.equity.id.venue} but no definition of it; "
                    "add the definition file that covers it to --definitions",
                )
        unknown = np.unique(ids[index == UNKNOWN])
        if len(unknown):
            sample = ", ".join(str(i) for i in unknown[:3].tolist())
            raise DatabentoImportError(
                f"{file.name}: quotes for {len(unknown):,} Databento instrument ids no definition covers "
                f"(e.g. {sample}; symbology {file.stype_in}); add the definition files of the same days to --definitions",
            )

    def _check_overlap(self, file: DbnFile, first: np.ndarray, last: np.ndarray, spans: list | None = None) -> None:
        for other, other_first, other_last in self.spans if spans is None else spans:
            overlap = (first <= other_last) & (other_first <= last) & (last > 0) & (other_last > 0)
            if overlap.any():
                instrument_id = self.chain.instrument_id(int(np.flatnonzero(overlap)[0]))
                raise DatabentoImportError(
                    f"{file.name}: data for {instrument_id} overlap those from {other} in time; "
                    "give one file per instrument and period",
                )

    def _file_done(self, file: DbnFile, first: np.ndarray, last: np.ndarray, spans: list | None = None) -> None:
        (self.spans if spans is None else spans).append((file.name, first, last))
        present = last > 0
        if present.any():
            lo, hi = int(first[present].min()), int(last[present].max())
            self.first_ns = lo if self.first_ns is None else min(self.first_ns, lo)
            self.last_ns = hi if self.last_ns is None else max(self.last_ns, hi)

    def manifest(
        self, venue: str, filters: ImportFilters, publisher: str | None, files: dict[str, list[DbnFile]]
    ) -> CatalogManifest:
        u = self.chain.underlying_index
        every = [f for group in files.values() for f in group]
        return CatalogManifest(
            source="databento",
            underlying=self.chain.equity.id.value,
            venue=venue,
            start=pd.Timestamp(self.first_ns, tz="UTC").isoformat(),
            end=pd.Timestamp(self.last_ns, tz="UTC").isoformat(),
            instruments=len(self.chain.instruments),
            quotes=int(self.counts.sum()),
            extra={
                "option_quotes": int(self.counts[:u].sum()),
                "underlying_quotes": int(self.counts[u]),
                "underlying_trades": self.trade_count,
                **{kind: [f.name for f in group] for kind, group in files.items()},
                "datasets": sorted({f.dataset for f in every}),
                "schemas": sorted({f.schema for f in every if f.schema != DEFINITION_SCHEMA}),
                "symbology": sorted({f.stype_in for f in every}),
                "filters": filters.describe(),
                "publisher": publisher,
            },
        )


def _time_ordered(file: DbnFile, sample_ns: int | None) -> Iterator[np.ndarray]:
    """The file's records in chunks cut between two instants (between two sampling intervals when
    sampling), so no instant, and no interval, straddles two chunks (nor two catalog files)."""
    carry: np.ndarray | None = None
    floor = 0
    for chunk in record_chunks(file):
        data = chunk if carry is None else np.concatenate([carry, chunk])
        ts = data["ts_recv"]
        if len(ts) > 1 and (ts[1:] < ts[:-1]).any():
            data = data[np.argsort(ts, kind="stable")]
            ts = data["ts_recv"]
        if len(ts) and int(ts[0]) < floor:
            raise DatabentoImportError(
                f"{file.option} {file.name}: records out of time order (ts_recv "
                f"{pd.Timestamp(int(ts[0]), tz='UTC').isoformat()} after a later one); not a Databento file as delivered",
            )
        cut = int(ts[-1]) if sample_ns is None else int(ts[-1]) // sample_ns * sample_ns
        ready = int(np.searchsorted(ts, np.uint64(cut), side="left"))
        carry = data[ready:]
        if ready:
            floor = cut
            yield data[:ready]
    if carry is not None and len(carry):
        yield carry


def _span(first: np.ndarray, last: np.ndarray, i: int, ts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    first[i] = min(first[i], ts[0])
    last[i] = max(last[i], ts[-1])
    return first, last


def _is_option_on(raw_symbol: str, root: str) -> bool:
    try:
        return parse_occ_symbol(raw_symbol)[0] == root
    except ValueError:
        return False


def _loader_on_venue(venue: str) -> DatabentoDataLoader:
    """A loader that names every Databento publisher ``venue`` (a venue code Databento knows).

    NautilusTrader takes an instrument's venue from the record's publisher (XCBO, XNAS, ...);
    renaming them all in its publisher table puts options and the underlying on one venue and merges
    definitions repeated by several publishers.
    """
    publishers = json.loads(PUBLISHERS_FILEPATH.read_text())
    loader = DatabentoDataLoader()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "publishers.json"
        path.write_text(json.dumps([{**p, "venue": venue} for p in publishers]))
        try:
            loader.load_publishers(path)
        except ValueError:
            raise DatabentoImportError(
                f"--venue {venue!r}: not a venue code Databento knows; use {DEFAULT_VENUE} or an exchange MIC",
            ) from None
    return loader


def _options_file(file: DbnFile) -> DbnFile:
    if file.dataset != OPTIONS_DATASET:
        raise DatabentoImportError(
            f"--quotes {file.name}: dataset is {file.dataset}, option quotes come from "
            f"{OPTIONS_DATASET} (pass the underlying's quotes with --underlying-quotes)",
        )
    return file


def _equity_file(file: DbnFile) -> DbnFile:
    if file.dataset == OPTIONS_DATASET:
        raise DatabentoImportError(
            f"{file.option} {file.name}: {OPTIONS_DATASET} holds options; the underlying's "
            "data come from an equity dataset (XNAS.ITCH, EQUS.MINI, DBEQ.BASIC, ...)",
        )
    return file


class _OneLineParser(argparse.ArgumentParser):
    """Usage mistakes, like bad files, end with one line and exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry: ``python -m data.databento_import --help``."""
    parser = _OneLineParser(
        prog="python -m data.databento_import",
        description="Import Databento OPRA definitions and quotes into a NautilusTrader catalog.",
    )
    files: dict[str, Any] = {"nargs": "+", "action": "extend", "metavar": "FILE"}
    parser.add_argument("--definitions", required=True, help="definition .dbn.zst files", **files)
    parser.add_argument("--quotes", required=True, help="OPRA quote .dbn.zst files", **files)
    parser.add_argument("--underlying-quotes", default=[], help="equity quote .dbn.zst files", **files)
    parser.add_argument("--underlying-trades", default=[], help="equity trade .dbn.zst files", **files)
    parser.add_argument("--underlying", help="the options' underlying symbol, e.g. SPY")
    parser.add_argument("--out", required=True, help="catalog directory to create (new or empty)")
    parser.add_argument("--venue", default=DEFAULT_VENUE, help="venue code for options and underlying")
    parser.add_argument("--publisher", help="keep one exchange's option quotes (e.g. XCBO) instead of the best quote")
    parser.add_argument("--max-dte", type=int, help="keep contracts expiring within N days of each quote")
    parser.add_argument("--moneyness", type=float, help="keep strikes within this fraction of spot (0.1 = 10%%)")
    parser.add_argument("--sample-interval", type=float, metavar="SECONDS", help="last quote per contract per interval")
    parser.add_argument("--no-iv-history", action="store_true", help="do not derive the daily ATM IV history")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    try:
        filters = ImportFilters(args.max_dte, args.moneyness, args.sample_interval)
        manifest = import_databento(
            args.definitions,
            args.quotes,
            args.underlying_quotes,
            args.out,
            args.venue,
            args.underlying,
            underlying_trades=args.underlying_trades,
            filters=filters,
            publisher=args.publisher,
            with_iv_history=not args.no_iv_history,
        )
    except (DatabentoImportError, ValueError, OSError) as exc:
        print(f"error: {one_line(exc)}", file=sys.stderr)
        return 2
    print(
        f"catalog {args.out}: {manifest.instruments:,} instruments, {manifest.quotes:,} quotes, "
        f"{manifest.extra['underlying_trades']:,} trades, {manifest.iv_history_days} IV history days "
        f"from {manifest.start} to {manifest.end}",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
