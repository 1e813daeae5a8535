"""Import Databento US equity option data (DBN files) into a NautilusTrader Parquet catalog.

The result has the same layout as the synthetic market: ``OptionContract`` instruments, the
underlying as an ``Equity`` on the options' venue (``SPY.OPRA``: NautilusTrader's Greeks calculator
looks the underlying up as ``{underlying}.{venue}``), ``QuoteTick`` data per instrument and a
``manifest.json`` at the catalog root. Decoding is NautilusTrader's ``DatabentoDataLoader``.

Command::

    python -m data.databento_import \\
        --definitions opra-definition.dbn.zst [more.dbn.zst ...] \\
        --quotes opra-cbbo-1s.dbn.zst [more.dbn.zst ...] \\
        [--underlying-quotes xnas-itch-mbp-1.dbn.zst ...] \\
        [--underlying SPY] --out catalogs/spy-databento [--venue OPRA]

Input (every file zstd-compressed DBN, ``.dbn.zst``, as Databento delivers it; a plain ``.dbn``
is refused because NautilusTrader's loader reads only zstd):

- ``--definitions``: ``definition`` schema. OPRA.PILLAR definitions give the option contracts; an
  equity dataset's definitions (XNAS.ITCH, EQUS.MINI, ...) may add the underlying's ``Equity``,
  otherwise it is built with the standard US stock conventions (cent ticks).
- ``--quotes``: OPRA.PILLAR quotes for those options, any of the schemas mbp-1, tbbo, bbo-1s,
  bbo-1m, cmbp-1, cbbo-1s, cbbo-1m, tcbbo. Prefer the consolidated ones (cbbo-1s, cmbp-1, tcbbo):
  OPRA's mbp-1 / tbbo / bbo-* carry each exchange's own BBO, which the import merges by time
  under one instrument (a warning says so). tcbbo holds quotes and trades: only the quotes are kept.
- ``--underlying-quotes``: the underlying's quotes from an equity dataset (XNAS.ITCH, EQUS.MINI,
  DBEQ.BASIC, ...), same schemas; only the underlying's symbol is kept, moved to the options' venue.
- ``--underlying``: needed only when the definitions cover options on several underlyings.
- ``--venue``: the one venue of options and underlying, a venue code Databento knows (default OPRA).

Quotes must come with definitions: a quote file with an instrument missing from ``--definitions``
is refused. Option spreads (and their quotes) are never written: a catalog holding spread quotes
breaks every later query, and spread markets are aggregated from leg quotes instead. Quotes for
one instrument from two files must not overlap in time (e.g. mbp-1 and cbbo-1s of the same day).
``--out`` must be new or empty; a failed import leaves nothing behind. Each file is loaded whole
into memory, so split large downloads by day. Bad input exits with code 2 and one line on stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
import tempfile
import time
import warnings
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import databento
import databento_dbn
import pandas as pd

# Importing databento shows every DeprecationWarning; NautilusTrader's catalog module then prints
# one from pandas at import (harmless, not ours) that would break the one-line error output.
warnings.filterwarnings("ignore", "The 'generic' unit for NumPy timedelta", DeprecationWarning)

from nautilus_trader.adapters.databento.constants import PUBLISHERS_FILEPATH  # noqa: E402
from nautilus_trader.adapters.databento.loaders import DatabentoDataLoader  # noqa: E402
from nautilus_trader.model.data import QuoteTick  # noqa: E402
from nautilus_trader.model.identifiers import InstrumentId, Symbol, Venue  # noqa: E402
from nautilus_trader.model.instruments import Equity, Instrument, OptionContract  # noqa: E402
from nautilus_trader.persistence.catalog import ParquetDataCatalog  # noqa: E402

from data.synthetic.catalog_writer import check_target, staged_catalog  # noqa: E402
from hybrid.options.instruments import DEFAULT_VENUE, make_equity  # noqa: E402
from hybrid.runconfig.manifest import CatalogManifest  # noqa: E402

OPTIONS_DATASET = "OPRA.PILLAR"
DEFINITION_SCHEMA = "definition"
CONSOLIDATED_QUOTE_SCHEMAS = ("cmbp-1", "cbbo-1s", "cbbo-1m", "tcbbo")
QUOTE_SCHEMAS = ("mbp-1", "tbbo", "bbo-1s", "bbo-1m", *CONSOLIDATED_QUOTE_SCHEMAS)

_log = logging.getLogger(__name__)
_NO_PRECISION = re.compile(r"price_precision` for (.+?): ")


class DatabentoImportError(ValueError):
    """Bad input: the message is one line naming the file or option and what would be valid."""


@dataclass(frozen=True)
class DbnFile:
    """A DBN file whose header was checked: what it holds, before anything is decoded."""

    path: Path
    dataset: str
    schema: str

    @property
    def name(self) -> str:
        return self.path.name


def inspect_dbn(path: str | Path, option: str, schemas: Sequence[str]) -> DbnFile:
    """Read only the DBN header, so wrong files are refused before the long decoding starts."""
    path = Path(path)
    where = f"{option} {path.name}"
    if not path.is_file():
        raise DatabentoImportError(f"{where}: no such file")
    if path.stat().st_size == 0:
        raise DatabentoImportError(f"{where}: empty file, expected a Databento .dbn.zst file")
    try:
        store = databento.DBNStore.from_file(path)
        metadata = store.metadata
    except (databento.BentoError, databento_dbn.DBNError, ValueError, OSError) as exc:
        raise DatabentoImportError(f"{where}: not a Databento DBN file ({_one_line(exc)})") from None
    if store.compression != databento.Compression.ZSTD:
        raise DatabentoImportError(
            f"{where}: uncompressed DBN; NautilusTrader reads only zstd-compressed .dbn.zst "
            f"(compress it with: zstd {path.name})",
        )
    schema = str(metadata.schema) if metadata.schema is not None else "mixed"
    if schema not in schemas:
        raise DatabentoImportError(
            f"{where}: schema is {schema}, {option} takes {', '.join(schemas)}",
        )
    return DbnFile(path=path, dataset=str(metadata.dataset), schema=schema)


def import_databento(
    definitions: Sequence[str | Path],
    quotes: Sequence[str | Path],
    underlying_quotes: Sequence[str | Path],
    out_dir: str | Path,
    venue: str = DEFAULT_VENUE,
    underlying: str | None = None,
) -> CatalogManifest:
    """Build a catalog at ``out_dir`` from Databento files; see the module docstring for the rules."""
    if not definitions:
        raise DatabentoImportError("--definitions: give at least one OPRA definition file")
    if not quotes:
        raise DatabentoImportError("--quotes: give at least one OPRA quote file")
    loader = _loader_on_venue(venue)
    try:
        check_target(out_dir)
    except ValueError as exc:
        raise DatabentoImportError(f"--out: {exc}") from None
    definition_files = [inspect_dbn(p, "--definitions", (DEFINITION_SCHEMA,)) for p in definitions]
    quote_files = [_options_file(inspect_dbn(p, "--quotes", QUOTE_SCHEMAS)) for p in quotes]
    underlying_files = [_equity_file(inspect_dbn(p, "--underlying-quotes", QUOTE_SCHEMAS)) for p in underlying_quotes]

    with staged_catalog(out_dir) as catalog:
        manifest = _build(catalog, loader, venue, underlying, definition_files, quote_files, underlying_files)
        manifest.write(catalog.path)
    return manifest


def _build(
    catalog: ParquetDataCatalog,
    loader: DatabentoDataLoader,
    venue: str,
    underlying: str | None,
    definition_files: list[DbnFile],
    quote_files: list[DbnFile],
    underlying_files: list[DbnFile],
) -> CatalogManifest:
    loaded: list[Instrument] = []
    for file in definition_files:
        loaded.extend(_decode(loader, file))
    options, equity = select_instruments(loaded, venue, underlying)
    catalog.write_data([*options, equity])
    _log.info("instruments: %s options, underlying %s", f"{len(options):,}", equity.id)

    writer = _QuoteWriter(catalog)
    option_ids = {option.id for option in options}
    for file in quote_files:
        writer.write(file, _decode(loader, file), option_ids, f"{equity.id.symbol} options")
    for file in underlying_files:
        data = _decode(loader, file, price_precision=equity.price_precision)
        writer.write(file, data, {equity.id}, str(equity.id.symbol))
    if not underlying_files:
        _log.warning("no --underlying-quotes: %s has no prices, so greeks cannot be computed", equity.id)

    return CatalogManifest(
        source="databento",
        underlying=equity.id.value,
        venue=venue,
        start=pd.Timestamp(writer.first_ns, tz="UTC").isoformat(),
        end=pd.Timestamp(writer.last_ns, tz="UTC").isoformat(),
        instruments=len(options) + 1,
        quotes=writer.total,
        extra={
            "option_quotes": sum(writer.counts.get(i, 0) for i in option_ids),
            "underlying_quotes": writer.counts.get(equity.id, 0),
            "definition_files": [f.name for f in definition_files],
            "quote_files": [f.name for f in quote_files],
            "underlying_quote_files": [f.name for f in underlying_files],
            "datasets": sorted({f.dataset for f in [*definition_files, *quote_files, *underlying_files]}),
            "schemas": sorted({f.schema for f in [*quote_files, *underlying_files]}),
        },
    )


def select_instruments(
    instruments: Iterable[Instrument],
    venue: str = DEFAULT_VENUE,
    underlying: str | None = None,
) -> tuple[list[OptionContract], Equity]:
    """The option contracts on one underlying (latest definition of each) and that underlying.

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
            raise DatabentoImportError(
                f"--definitions: options on {', '.join(found)}; choose one with --underlying",
            )
        underlying = found[0]
    elif underlying not in found:
        raise DatabentoImportError(
            f"--underlying {underlying}: no options on it in the definitions (found: {', '.join(found) or 'none'})",
        )
    kept = sorted((o for o in options if o.underlying == underlying), key=lambda o: o.id.value)
    if len(latest) > len(kept):
        _log.info("definitions: %s instruments are not options on %s", f"{len(latest) - len(kept):,}", underlying)
    equity = latest.get(InstrumentId(Symbol(underlying), Venue(venue)))
    if not isinstance(equity, Equity):
        equity = make_equity(underlying, venue)
    return kept, equity


class _QuoteWriter:
    """Writes each file's quotes per instrument, refusing overlaps the catalog would reject or drop."""

    def __init__(self, catalog: ParquetDataCatalog) -> None:
        self._catalog = catalog
        self._spans: dict[InstrumentId, list[tuple[int, int, str]]] = defaultdict(list)
        self.counts: dict[InstrumentId, int] = defaultdict(int)
        self.first_ns: int | None = None
        self.last_ns: int | None = None

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def write(self, file: DbnFile, data: list, wanted: set[InstrumentId], what: str) -> None:
        started = time.monotonic()
        quotes = [d for d in data if isinstance(d, QuoteTick)]
        kept = sorted((q for q in quotes if q.instrument_id in wanted), key=lambda q: q.ts_init)
        if not kept:
            seen = sorted({q.instrument_id.symbol.value for q in quotes})[:3]
            raise DatabentoImportError(
                f"{file.name}: none of its {len(quotes):,} quotes are for {what}"
                f" (it has {', '.join(seen) or 'no quotes'})",
            )
        by_instrument: dict[InstrumentId, list[QuoteTick]] = defaultdict(list)
        for quote in kept:
            by_instrument[quote.instrument_id].append(quote)
        for instrument_id, series in by_instrument.items():
            self._claim(file, instrument_id, series[0].ts_init, series[-1].ts_init)
        self._catalog.write_data(kept)
        for instrument_id, series in by_instrument.items():
            self._spans[instrument_id].append((series[0].ts_init, series[-1].ts_init, file.name))
            self.counts[instrument_id] += len(series)
        self.first_ns = min(kept[0].ts_init, self.first_ns or kept[0].ts_init)
        self.last_ns = max(kept[-1].ts_init, self.last_ns or 0)
        dropped = [f"{len(quotes) - len(kept):,} quotes for other instruments"] if len(kept) < len(quotes) else []
        if len(data) > len(quotes):
            dropped.append(f"{len(data) - len(quotes):,} trades ({file.schema} gives quotes and trades)")
        _log.info(
            "%s: %s quotes for %s instruments written in %.1fs%s",
            file.name,
            f"{len(kept):,}",
            f"{len(by_instrument):,}",
            time.monotonic() - started,
            f"; dropped {' and '.join(dropped)}" if dropped else "",
        )

    def _claim(self, file: DbnFile, instrument_id: InstrumentId, start: int, end: int) -> None:
        for other_start, other_end, other in self._spans[instrument_id]:
            if start <= other_end and other_start <= end:
                raise DatabentoImportError(
                    f"{file.name}: quotes for {instrument_id} overlap those from {other} in time; "
                    "give one quote file per instrument and period",
                )


def _decode(loader: DatabentoDataLoader, file: DbnFile, price_precision: int | None = None) -> list:
    """NautilusTrader's decoding, with its errors turned into one line naming the file."""
    _log.info("reading %s (%s, %s, %.1f MB)", file.name, file.dataset, file.schema, file.path.stat().st_size / 1e6)
    started = time.monotonic()
    try:
        data = loader.from_dbn_file(file.path, price_precision=price_precision)
    except (ValueError, RuntimeError) as exc:
        detail = _one_line(exc)
        missing = _NO_PRECISION.search(detail)
        if missing:
            raise DatabentoImportError(
                f"{file.name}: quotes for {missing.group(1)} but no definition of it; "
                "add the definition file that covers it to --definitions",
            ) from None
        raise DatabentoImportError(f"{file.name}: cannot decode ({detail})") from None
    _log.info("%s: decoded %s records in %.1fs", file.name, f"{len(data):,}", time.monotonic() - started)
    return data


def _loader_on_venue(venue: str) -> DatabentoDataLoader:
    """A loader that names every Databento publisher ``venue`` (a venue code Databento knows).

    NautilusTrader takes an instrument's venue from the record's publisher (XCBO, XNAS, ...);
    renaming them all in its publisher table puts options and the underlying on one venue at
    decoding speed, and merges definitions repeated by several publishers.
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
    _warn_if_per_exchange(file)
    return file


def _equity_file(file: DbnFile) -> DbnFile:
    if file.dataset == OPTIONS_DATASET:
        raise DatabentoImportError(
            f"--underlying-quotes {file.name}: {OPTIONS_DATASET} holds options; the underlying's "
            "quotes come from an equity dataset (XNAS.ITCH, EQUS.MINI, DBEQ.BASIC, ...)",
        )
    _warn_if_per_exchange(file)
    return file


def _warn_if_per_exchange(file: DbnFile) -> None:
    publishers = [p for p in databento.Publisher if str(p.dataset) == file.dataset]
    if len(publishers) > 1 and file.schema not in CONSOLIDATED_QUOTE_SCHEMAS:
        _log.warning(
            "%s: %s from %s carries each exchange's own BBO, merged here by time (not a consolidated "
            "quote); %s give the consolidated one",
            file.name,
            file.schema,
            file.dataset,
            ", ".join(CONSOLIDATED_QUOTE_SCHEMAS),
        )


def _one_line(exc: BaseException) -> str:
    return re.sub(r"\s*\n\s*", " ", str(exc)).strip() or type(exc).__name__


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
    parser.add_argument("--underlying", help="the options' underlying symbol, e.g. SPY")
    parser.add_argument("--out", required=True, help="catalog directory to create (new or empty)")
    parser.add_argument("--venue", default=DEFAULT_VENUE, help="venue code for options and underlying")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    try:
        manifest = import_databento(
            args.definitions,
            args.quotes,
            args.underlying_quotes,
            args.out,
            args.venue,
            args.underlying,
        )
    except (DatabentoImportError, OSError) as exc:
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return 2
    print(
        f"catalog {args.out}: {manifest.instruments:,} instruments, {manifest.quotes:,} quotes "
        f"from {manifest.start} to {manifest.end}",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
