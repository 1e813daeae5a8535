"""Databento import: DBN files written here go through the importer and are read back from the catalog."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import databento
import pytest
from nautilus_trader.model.enums import OptionKind
from nautilus_trader.model.instruments import Equity, OptionContract
from nautilus_trader.persistence.catalog import ParquetDataCatalog

from data.databento_import import QUOTE_SCHEMAS, DatabentoImportError, import_databento, main
from hybrid.options.instruments import expiry_close_ns, parse_occ_symbol
from hybrid.runconfig.manifest import CatalogManifest
from tests.support.dbn_fixtures import (
    OPRA,
    SECOND_NS,
    SESSION_OPEN_NS,
    XNAS,
    equity_definition,
    option_definition,
    quote_record,
    quote_series,
    spread_definition,
    write_dbn,
)

pytestmark = pytest.mark.slow  # a backtest, a server or a subprocess per test

REPO = Path(__file__).resolve().parents[2]
CALL = "SPY   240621C00530000"
PUT = "SPY   240621P00520000"
JULY_CALL = "SPY   240719C00540000"
QQQ_CALL = "QQQ   240621C00450000"
SPREAD = "SPY VERTICAL 1"
DB_IDS = {CALL: 1001, PUT: 1002, JULY_CALL: 1003, QQQ_CALL: 2001, SPREAD: 3001}
HOUR_NS = 3600 * SECOND_NS


def opra_definitions(path: Path, symbols: list[str]) -> Path:
    records = [
        spread_definition(s, DB_IDS[s], "SPY") if s == SPREAD else option_definition(s, DB_IDS[s]) for s in symbols
    ]
    return write_dbn(path, "OPRA.PILLAR", "definition", {s: DB_IDS[s] for s in symbols}, records)


def opra_quotes(path: Path, schema: str, series: dict[str, list], publisher: int = OPRA) -> Path:
    records = sorted(
        (quote_record(schema, publisher, DB_IDS[s], q) for s, quotes in series.items() for q in quotes),
        key=lambda r: r.ts_recv,
    )
    return write_dbn(path, "OPRA.PILLAR", schema, {s: DB_IDS[s] for s in series}, records)


def spy_quotes(path: Path, quotes: list, schema: str = "mbp-1", other: list | None = None) -> Path:
    """Nasdaq quotes for SPY (Databento id 15144), plus AAPL's when ``other`` is given."""
    records = [quote_record(schema, XNAS, 15144, q) for q in quotes]
    records += [quote_record(schema, XNAS, 38, q) for q in other or []]
    symbols = {"SPY": 15144, **({"AAPL": 38} if other else {})}
    return write_dbn(path, "XNAS.ITCH", schema, symbols, sorted(records, key=lambda r: r.ts_recv))


@pytest.fixture()
def market(tmp_path: Path) -> dict:
    """SPY options (mbp-1 in the first hour, cbbo-1s later), QQQ and spread noise, SPY from Nasdaq."""
    early = {CALL: quote_series(SESSION_OPEN_NS, 5, 5.00), JULY_CALL: quote_series(SESSION_OPEN_NS, 3, 8.00)}
    late = {s: quote_series(SESSION_OPEN_NS + HOUR_NS, 4, 3.00) for s in (CALL, PUT, JULY_CALL)}
    noise = {s: quote_series(SESSION_OPEN_NS + HOUR_NS, 2, 1.00) for s in (QQQ_CALL, SPREAD)}
    spy = quote_series(SESSION_OPEN_NS, 6, 530.00, spread=0.02)
    return {
        "definitions": [opra_definitions(tmp_path / "opra.definition.dbn.zst", list(DB_IDS))],
        "quotes": [
            opra_quotes(tmp_path / "opra.mbp-1.dbn.zst", "mbp-1", early),
            opra_quotes(tmp_path / "opra.cbbo-1s.dbn.zst", "cbbo-1s", {**late, **noise}),
        ],
        "underlying_quotes": [
            spy_quotes(tmp_path / "xnas.mbp-1.dbn.zst", spy, other=quote_series(SESSION_OPEN_NS, 2, 190.0)),
        ],
        "early": early,
        "late": late,
        "spy": spy,
        "out": tmp_path / "catalog",
    }


def run_import(market: dict, venue: str = "OPRA", underlying: str | None = "SPY") -> CatalogManifest:
    return import_databento(
        market["definitions"],
        market["quotes"],
        market["underlying_quotes"],
        market["out"],
        venue,
        underlying,
    )


def as_numbers(quotes: list) -> list[tuple]:
    return [
        (q.ts_init, q.bid_price.as_double(), q.ask_price.as_double(), int(q.bid_size), int(q.ask_size)) for q in quotes
    ]


def expected_numbers(*series: list) -> list[tuple]:
    quotes = sorted((q for s in series for q in s), key=lambda q: q.ts_ns)
    return [(q.ts_ns, q.bid, q.ask, q.bid_size, q.ask_size) for q in quotes]


def test_options_read_back_with_ids_expiries_and_strikes(market: dict) -> None:
    run_import(market)
    catalog = ParquetDataCatalog(str(market["out"]))
    options = {i.id.value: i for i in catalog.instruments(instrument_type=OptionContract)}

    assert sorted(options) == sorted(f"{s}.OPRA" for s in (CALL, PUT, JULY_CALL))
    for option in options.values():
        root, expiry, right, strike = parse_occ_symbol(option.raw_symbol.value)
        assert option.underlying == root == "SPY"
        assert option.expiration_ns == expiry_close_ns(expiry)  # 16:00 New York
        assert Decimal(str(option.strike_price)) == strike
        assert option.option_kind == (OptionKind.CALL if right == "C" else OptionKind.PUT)
        assert int(option.multiplier) == 100


def test_underlying_is_an_equity_on_the_options_venue(market: dict) -> None:
    run_import(market)
    catalog = ParquetDataCatalog(str(market["out"]))

    [equity] = catalog.instruments(instrument_type=Equity)
    assert equity.id.value == "SPY.OPRA"
    spy = catalog.quote_ticks(instrument_ids=["SPY.OPRA"])
    assert as_numbers(spy) == expected_numbers(market["spy"])  # AAPL's quotes were left out


def test_quotes_match_what_was_written_and_noise_is_dropped(market: dict) -> None:
    run_import(market)
    catalog = ParquetDataCatalog(str(market["out"]))

    for symbol in (CALL, PUT, JULY_CALL):
        written = [market["early"].get(symbol, []), market["late"][symbol]]
        read = catalog.quote_ticks(instrument_ids=[f"{symbol}.OPRA"])
        assert as_numbers(read) == expected_numbers(*written), symbol
    expected = {f"{s}.OPRA" for s in (CALL, PUT, JULY_CALL)} | {"SPY.OPRA"}  # no QQQ, no spread
    assert {q.instrument_id.value for q in catalog.quote_ticks()} == expected
    assert {i.id.value for i in catalog.instruments()} == expected


def test_manifest_describes_the_catalog(market: dict) -> None:
    returned = run_import(market)
    manifest = CatalogManifest.read(market["out"])

    assert manifest == returned
    assert (manifest.source, manifest.underlying, manifest.venue) == ("databento", "SPY.OPRA", "OPRA")
    assert manifest.instruments == 4
    assert manifest.extra["option_quotes"] == 5 + 3 + 3 * 4
    assert manifest.extra["underlying_quotes"] == 6
    assert manifest.quotes == 5 + 3 + 3 * 4 + 6
    assert manifest.start == "2024-06-03T13:30:00+00:00"
    assert manifest.end == "2024-06-03T14:30:03+00:00"
    assert manifest.extra["quote_files"] == ["opra.mbp-1.dbn.zst", "opra.cbbo-1s.dbn.zst"]
    assert manifest.extra["schemas"] == ["cbbo-1s", "mbp-1"]


@pytest.mark.parametrize("schema", QUOTE_SCHEMAS)
def test_every_quote_schema_round_trips_and_keeps_no_trades(tmp_path: Path, schema: str) -> None:
    series = {CALL: quote_series(SESSION_OPEN_NS, 4, 2.50)}
    spy = quote_series(SESSION_OPEN_NS, 3, 530.0, spread=0.02)
    import_databento(
        [opra_definitions(tmp_path / "d.dbn.zst", [CALL])],
        [opra_quotes(tmp_path / "q.dbn.zst", schema, series)],
        [spy_quotes(tmp_path / "u.dbn.zst", spy, schema)],
        tmp_path / "catalog",
    )
    catalog = ParquetDataCatalog(str(tmp_path / "catalog"))

    assert as_numbers(catalog.quote_ticks(instrument_ids=[f"{CALL}.OPRA"])) == expected_numbers(series[CALL])
    assert as_numbers(catalog.quote_ticks(instrument_ids=["SPY.OPRA"])) == expected_numbers(spy)
    assert catalog.trade_ticks() == []


def test_equity_definition_is_used_for_the_underlying(market: dict, tmp_path: Path) -> None:
    nasdaq = write_dbn(
        tmp_path / "xnas.definition.dbn.zst",
        "XNAS.ITCH",
        "definition",
        {"SPY": 15144},
        [equity_definition("SPY", 15144, round_lot=100)],
    )
    market["definitions"].append(nasdaq)
    run_import(market)

    [equity] = ParquetDataCatalog(str(market["out"])).instruments(instrument_type=Equity)
    assert (equity.id.value, int(equity.lot_size)) == ("SPY.OPRA", 100)


def test_without_equity_definition_the_underlying_is_built(market: dict) -> None:
    run_import(market)
    [equity] = ParquetDataCatalog(str(market["out"])).instruments(instrument_type=Equity)
    assert (equity.price_precision, int(equity.lot_size)) == (2, 1)


def test_several_underlyings_need_a_choice(market: dict, tmp_path: Path) -> None:
    with pytest.raises(DatabentoImportError, match="options on QQQ, SPY; choose one with --underlying"):
        run_import(market, underlying=None)
    assert not market["out"].exists()
    market["quotes"] = [
        opra_quotes(tmp_path / "qqq.dbn.zst", "cbbo-1s", {QQQ_CALL: quote_series(SESSION_OPEN_NS, 2, 1.0)})
    ]
    market["underlying_quotes"] = []
    manifest = run_import(market, underlying="QQQ")

    catalog = ParquetDataCatalog(str(market["out"]))
    assert {i.id.value for i in catalog.instruments()} == {f"{QQQ_CALL}.OPRA", "QQQ.OPRA"}
    assert (manifest.underlying, manifest.quotes) == ("QQQ.OPRA", 2)


def test_other_venue_moves_options_and_underlying(market: dict) -> None:
    manifest = run_import(market, venue="XCBO")
    catalog = ParquetDataCatalog(str(market["out"]))

    assert {i.id.venue.value for i in catalog.instruments()} == {"XCBO"}
    assert len(catalog.quote_ticks(instrument_ids=[f"{CALL}.XCBO"])) == 5 + 4
    assert len(catalog.quote_ticks(instrument_ids=["SPY.XCBO"])) == 6
    assert manifest.venue == "XCBO"


def test_exchange_publishers_land_on_the_options_venue(tmp_path: Path) -> None:
    """OPRA mbp-1 records carry the exchange as publisher (Cboe here), which NautilusTrader would
    make the venue (``....XCBO``) and so miss the definitions."""
    cboe = databento.Publisher.OPRA_PILLAR_XCBO.to_int()
    series = {CALL: quote_series(SESSION_OPEN_NS, 3, 2.0)}
    import_databento(
        [opra_definitions(tmp_path / "d.dbn.zst", [CALL])],
        [opra_quotes(tmp_path / "q.dbn.zst", "mbp-1", series, publisher=cboe)],
        [],
        tmp_path / "catalog",
    )
    quotes = ParquetDataCatalog(str(tmp_path / "catalog")).quote_ticks()
    assert {q.instrument_id.value for q in quotes} == {f"{CALL}.OPRA"}
    assert len(quotes) == 3


# --- bad input: one line on stderr, exit code 2, nothing written ------------------------------------


def bad_input_cases(tmp_path: Path) -> dict[str, tuple[list[str], str]]:
    """Each case: command-line arguments and a phrase the error line must contain."""
    defs = opra_definitions(tmp_path / "defs.dbn.zst", [CALL])
    quotes = opra_quotes(tmp_path / "quotes.dbn.zst", "cbbo-1s", {CALL: quote_series(SESSION_OPEN_NS, 2, 1.0)})
    put_quotes = opra_quotes(tmp_path / "puts.dbn.zst", "cbbo-1s", {PUT: quote_series(SESSION_OPEN_NS, 2, 1.0)})
    plain = write_dbn(
        tmp_path / "plain.dbn",
        "OPRA.PILLAR",
        "definition",
        {CALL: 1001},
        [option_definition(CALL, 1001)],
        compress=False,
    )
    trades = write_dbn(tmp_path / "trades.dbn.zst", "OPRA.PILLAR", "trades", {CALL: 1001}, [])
    no_records = write_dbn(tmp_path / "none.dbn.zst", "OPRA.PILLAR", "cbbo-1s", {CALL: 1001}, [])
    spy = spy_quotes(tmp_path / "spy.dbn.zst", quote_series(SESSION_OPEN_NS, 2, 530.0))
    (tmp_path / "empty.dbn.zst").write_bytes(b"")
    (tmp_path / "junk.dbn.zst").write_bytes(b"not market data")
    full = tmp_path / "full"
    full.mkdir()
    (full / "keep.txt").write_text("x")

    def args(d: Path = defs, q: Path = quotes, *extra: str) -> list[str]:
        return ["--definitions", str(d), "--quotes", str(q), "--out", str(tmp_path / "out"), *extra]

    return {
        "missing file": (args(tmp_path / "nope.dbn.zst"), "nope.dbn.zst: no such file"),
        "empty file": (args(q=tmp_path / "empty.dbn.zst"), "empty.dbn.zst: empty file"),
        "not dbn": (args(q=tmp_path / "junk.dbn.zst"), "junk.dbn.zst: not a Databento DBN file"),
        "uncompressed": (args(plain), "plain.dbn: uncompressed DBN"),
        "quotes as definitions": (args(quotes), "schema is cbbo-1s, --definitions takes definition"),
        "trades as quotes": (args(q=trades), "schema is trades, --quotes takes mbp-1"),
        "no definition": (args(q=put_quotes), f"quotes for {PUT}.OPRA but no definition"),
        "no records": (args(q=no_records), "none.dbn.zst: none of its 0 quotes"),
        "equity as options": (args(q=spy), "dataset is XNAS.ITCH, option quotes come from OPRA.PILLAR"),
        "options as underlying": (args(defs, quotes, "--underlying-quotes", str(quotes)), "OPRA.PILLAR holds options"),
        "overlap": (args(defs, quotes, "--quotes", str(quotes)), "overlap those from quotes.dbn.zst"),
        "out not empty": ([*args()[:-2], "--out", str(full)], "--out: out must be a new or empty directory"),
        "bad venue": (args(defs, quotes, "--venue", "SMART"), "--venue 'SMART': not a venue code Databento knows"),
        "missing option": (["--quotes", str(quotes), "--out", str(tmp_path / "out")], "--definitions"),
    }


CASES = [
    "missing file",
    "empty file",
    "not dbn",
    "uncompressed",
    "quotes as definitions",
    "trades as quotes",
    "no definition",
    "no records",
    "equity as options",
    "options as underlying",
    "overlap",
    "out not empty",
    "bad venue",
    "missing option",
]


def exit_code(argv: list[str]) -> int | str | None:
    """main()'s return code, or the code argparse exits with."""
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code


@pytest.mark.parametrize("case", CASES)
def test_bad_input_gives_one_line_and_exit_code_2(tmp_path: Path, capsys, case: str) -> None:
    argv, phrase = bad_input_cases(tmp_path)[case]
    code = exit_code(argv)
    err = capsys.readouterr().err.strip().splitlines()

    assert code == 2
    assert len(err) == 1 and "error" in err[0] and phrase in err[0], err
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no staging left


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "data.databento_import", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_refuses_uncompressed_file_without_traceback(tmp_path: Path) -> None:
    argv, _ = bad_input_cases(tmp_path)["uncompressed"]
    result = run_cli(*argv)

    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: --definitions plain.dbn: uncompressed DBN; NautilusTrader reads only zstd-compressed "
        ".dbn.zst (compress it with: zstd plain.dbn)",
    ]


def test_cli_refuses_quotes_without_definitions_without_traceback(tmp_path: Path) -> None:
    argv, phrase = bad_input_cases(tmp_path)["no definition"]
    result = run_cli(*argv)

    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: puts.dbn.zst: " + phrase)


def test_cli_imports_and_reports_progress(market: dict) -> None:
    result = run_cli(
        "--definitions",
        *map(str, market["definitions"]),
        "--quotes",
        *map(str, market["quotes"]),
        "--underlying-quotes",
        *map(str, market["underlying_quotes"]),
        "--underlying",
        "SPY",
        "--out",
        str(market["out"]),
    )

    assert result.returncode == 0, result.stderr
    assert "4 instruments, 26 quotes" in result.stdout
    assert "opra.cbbo-1s.dbn.zst: 12 quotes for 3 instruments" in result.stderr
    assert "the exchanges' quotes reduced to the best quote" in result.stderr  # OPRA mbp-1 is per exchange
    assert "DeprecationWarning" not in result.stderr
    assert CatalogManifest.read(market["out"]).quotes == 26
