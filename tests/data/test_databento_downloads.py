"""Databento files as users download them: parent symbology, truncated downloads, OPRA's per-exchange quotes,
the underlying's trades, half-day expiries, filters at import and the IV history derived from the quotes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import databento
import numpy as np
import pandas as pd
import pytest
from nautilus_trader.model.enums import AggressorSide
from nautilus_trader.model.instruments import OptionContract
from nautilus_trader.persistence.catalog import ParquetDataCatalog

from data.databento.filters import ImportFilters
from data.databento_import import import_databento, main
from data.iv_history import main as iv_main
from hybrid.calendar.exchange_time import NEW_YORK
from hybrid.options.iv_data import load_atm_iv_history
from hybrid.runconfig.manifest import CatalogManifest
from tests.data.test_databento_import import CALL, DB_IDS, JULY_CALL, PUT, as_numbers, opra_definitions, spy_quotes
from tests.support.dbn_fixtures import (
    OPRA,
    SECOND_NS,
    SESSION_OPEN_NS,
    XNAS,
    Quote,
    option_definition,
    quote_record,
    quote_series,
    trade_record,
    write_dbn,
)

pytestmark = pytest.mark.slow

XCBO = databento.Publisher.OPRA_PILLAR_XCBO.to_int()
ARCO = databento.Publisher.OPRA_PILLAR_ARCO.to_int()
HALF_DAY_CALL = "SPY   241129C00530000"  # the day after Thanksgiving: NYSE closes at 13:00


def quote(i: int, bid: float, ask: float, bid_size: int = 10, ask_size: int = 10) -> Quote:
    return Quote(SESSION_OPEN_NS + i * SECOND_NS, bid, ask, bid_size, ask_size)


def parent_quotes(path: Path, schema: str, records: list) -> Path:
    ids = {s: DB_IDS[s] for s in (CALL, PUT, JULY_CALL)}
    return write_dbn(path, "OPRA.PILLAR", schema, ids, sorted(records, key=lambda r: r.ts_recv), parent="SPY.OPT")


def run(tmp_path: Path, quotes: list[Path], **kwargs) -> ParquetDataCatalog:
    defs = kwargs.pop("definitions", None) or [opra_definitions(tmp_path / "defs.dbn.zst", [CALL, PUT, JULY_CALL])]
    spy = kwargs.pop("underlying_quotes", None) or [
        spy_quotes(tmp_path / "spy.dbn.zst", quote_series(SESSION_OPEN_NS, 5, 530.0))
    ]
    import_databento(defs, quotes, spy, tmp_path / "catalog", "OPRA", "SPY", **kwargs)
    return ParquetDataCatalog(str(tmp_path / "catalog"))


def numbers(catalog: ParquetDataCatalog, symbol: str) -> list[tuple]:
    return [row[1:] for row in as_numbers(catalog.quote_ticks(instrument_ids=[f"{symbol}.OPRA"]))]


def test_parent_symbology_resolves_ids_through_the_definitions(tmp_path: Path) -> None:
    series = {CALL: quote_series(SESSION_OPEN_NS, 3, 2.0), PUT: quote_series(SESSION_OPEN_NS, 2, 1.0)}
    records = [quote_record("cbbo-1s", OPRA, DB_IDS[s], q) for s, qs in series.items() for q in qs]
    catalog = run(tmp_path, [parent_quotes(tmp_path / "parent.dbn.zst", "cbbo-1s", records)])

    assert len(catalog.quote_ticks(instrument_ids=[f"{CALL}.OPRA"])) == 3
    assert len(catalog.quote_ticks(instrument_ids=[f"{PUT}.OPRA"])) == 2
    assert CatalogManifest.read(tmp_path / "catalog").extra["symbology"] == ["parent", "raw_symbol"]


@pytest.mark.parametrize("cut", ["half", "header", "record"])
def test_truncated_download_is_refused_and_nothing_is_left(tmp_path: Path, capsys, cut: str) -> None:
    count = 300 if cut == "header" else 30_000
    records = [quote_record("mbp-1", OPRA, DB_IDS[CALL], q) for q in quote_series(SESSION_OPEN_NS, count, 2.0)]
    whole = parent_quotes(tmp_path / "whole.dbn.zst", "mbp-1", records)
    broken = tmp_path / "broken.dbn.zst"
    if cut in ("half", "header"):
        data = whole.read_bytes()
        broken.write_bytes(data[: len(data) // 2])
    else:  # a whole zstd frame whose last record is cut short
        import zstandard

        raw = zstandard.ZstdDecompressor().stream_reader(whole.open("rb")).read()
        broken.write_bytes(zstandard.ZstdCompressor().compress(raw[:-30]))
    defs = opra_definitions(tmp_path / "defs.dbn.zst", [CALL])
    code = main(["--definitions", str(defs), "--quotes", str(broken), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip().splitlines()

    assert code == 2
    assert len(err) == 1 and err[0].startswith("error: --quotes broken.dbn.zst: truncated: "), err
    expected = {"half": "stops inside a frame after", "header": "before the DBN header", "record": "(50 of 80 bytes)"}
    assert expected[cut] in err[0]
    assert "fetch the file again" in err[0]
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def opra_exchanges(tmp_path: Path) -> Path:
    """CALL quoted by Cboe and NYSE Arca; PUT by Cboe, then by the OPRA consolidated publisher."""
    rows = [
        (XCBO, CALL, quote(0, 2.00, 2.10, 10, 5)),
        (ARCO, CALL, quote(1, 1.98, 2.08, 7, 3)),  # best ask now Arca's
        (ARCO, CALL, quote(2, 2.00, 2.08, 4, 3)),  # bid level shared: sizes add up
        (XCBO, CALL, quote(3, 2.00, 2.10, 10, 5)),  # Cboe re-sends the same quote: best unchanged
        (XCBO, PUT, quote(0, 1.00, 1.20)),
        (OPRA, PUT, quote(1, 1.05, 1.10, 30, 40)),
        (XCBO, PUT, quote(2, 1.06, 1.09)),  # after the consolidated quote the exchanges are ignored
        (OPRA, PUT, quote(3, 1.04, 1.08, 31, 41)),
    ]
    records = [quote_record("mbp-1", pub, DB_IDS[sym], q) for pub, sym, q in rows]
    return parent_quotes(tmp_path / "opra.mbp-1.dbn.zst", "mbp-1", records)


def test_per_exchange_quotes_become_the_best_quote(tmp_path: Path) -> None:
    catalog = run(tmp_path, [opra_exchanges(tmp_path)])

    assert numbers(catalog, CALL) == [(2.00, 2.10, 10, 5), (2.00, 2.08, 10, 3), (2.00, 2.08, 14, 3)]
    assert numbers(catalog, PUT) == [(1.00, 1.20, 10, 10), (1.05, 1.10, 30, 40), (1.04, 1.08, 31, 41)]


def test_one_exchange_can_be_kept(tmp_path: Path) -> None:
    catalog = run(tmp_path, [opra_exchanges(tmp_path)], publisher="XCBO")

    assert numbers(catalog, CALL) == [(2.00, 2.10, 10, 5)]  # the re-sent quote is no new quote
    assert numbers(catalog, PUT) == [(1.00, 1.20, 10, 10), (1.06, 1.09, 10, 10)]


def test_underlying_trades_are_imported_for_settlement(tmp_path: Path) -> None:
    prints = [
        trade_record(XNAS, 15144, SESSION_OPEN_NS + i * SECOND_NS, 530.0 + i, 100 + i, "BAN"[i]) for i in range(3)
    ]
    other = trade_record(XNAS, 38, SESSION_OPEN_NS, 190.0, 5, "B")
    trades = write_dbn(tmp_path / "t.dbn.zst", "XNAS.ITCH", "trades", {"SPY": 15144, "AAPL": 38}, [other, *prints])
    quotes = [quote_record("cbbo-1s", OPRA, DB_IDS[CALL], q) for q in quote_series(SESSION_OPEN_NS, 2, 2.0)]
    catalog = run(tmp_path, [parent_quotes(tmp_path / "q.dbn.zst", "cbbo-1s", quotes)], underlying_trades=[trades])

    ticks = catalog.trade_ticks(instrument_ids=["SPY.OPRA"])
    assert [(t.price.as_double(), int(t.size), t.aggressor_side) for t in ticks] == [
        (530.0, 100, AggressorSide.BUYER),
        (531.0, 101, AggressorSide.SELLER),
        (532.0, 102, AggressorSide.NO_AGGRESSOR),
    ]
    assert CatalogManifest.read(tmp_path / "catalog").extra["underlying_trades"] == 3


def test_half_day_expiry_is_at_13_new_york(tmp_path: Path) -> None:
    defs = write_dbn(
        tmp_path / "d.dbn.zst", "OPRA.PILLAR", "definition", {HALF_DAY_CALL: 77}, [option_definition(HALF_DAY_CALL, 77)]
    )
    quotes = [quote_record("cbbo-1s", OPRA, 77, q) for q in quote_series(SESSION_OPEN_NS, 2, 9.0)]
    q = write_dbn(tmp_path / "q.dbn.zst", "OPRA.PILLAR", "cbbo-1s", {HALF_DAY_CALL: 77}, quotes)
    catalog = run(tmp_path, [q], definitions=[defs])

    [option] = catalog.instruments(instrument_type=OptionContract)
    close = pd.Timestamp(option.expiration_ns, tz="UTC").tz_convert(NEW_YORK)
    assert (close.date(), close.hour, close.minute) == (dt.date(2024, 11, 29), 13, 0)


def test_filters_keep_the_chain_users_trade(tmp_path: Path) -> None:
    # SPY at 530: CALL (strike 530, 18 days) and PUT (520, 18 days) within 2%; JULY_CALL (540, 46 days) is not
    records = [
        quote_record("cbbo-1s", OPRA, DB_IDS[s], q)
        for s in (CALL, PUT, JULY_CALL)
        for q in quote_series(SESSION_OPEN_NS, 10, 2.0)
    ]
    q = parent_quotes(tmp_path / "q.dbn.zst", "cbbo-1s", records)
    catalog = run(tmp_path, [q], filters=ImportFilters(max_dte=30, moneyness=0.015, sample_s=4))

    ids = {t.instrument_id.value for t in catalog.quote_ticks()}
    assert ids == {f"{CALL}.OPRA", "SPY.OPRA"}  # PUT is 1.9% away, JULY_CALL 46 days out
    stamps = [t.ts_init for t in catalog.quote_ticks(instrument_ids=[f"{CALL}.OPRA"])]
    assert [(s - SESSION_OPEN_NS) // SECOND_NS for s in stamps] == [3, 7, 9]  # the last of each 4 s


def chain_quotes(spot: float, vol: float, days: int) -> tuple[dict[str, int], np.ndarray]:
    """Black-Scholes mids of a strike ladder at ``vol`` every 5 minutes of ``days`` sessions, a cent wide."""
    from hybrid.calendar import nyse
    from hybrid.options.instruments import occ_symbol
    from hybrid.options.pricing import bs_price, years_to_expiry
    from tests.support.dbn_fixtures import record_array

    expiry = dt.date(2024, 7, 12)
    symbols = {
        occ_symbol("SPY", expiry, right, k): 5000 + n
        for n, (right, k) in enumerate((r, k) for r in "CP" for k in range(int(spot) - 30, int(spot) + 31, 5))
    }
    rows = []
    for day in nyse.next_sessions(dt.date(2024, 6, 3), days):
        open_, close = nyse.session_bounds_ns(day)
        for ts in range(open_, close, 300 * SECOND_NS):
            as_of = pd.Timestamp(ts, tz="UTC").tz_convert(NEW_YORK).to_pydatetime()
            t = years_to_expiry(expiry, as_of)
            for sym, iid in symbols.items():
                strike = float(sym[-8:]) / 1000
                mid = float(bs_price(spot, strike, t, 0.2 if vol is None else vol, sym[12] == "C", 0.045, 0.013))
                rows.append((ts, iid, max(round(mid, 2) - 0.01, 0.0), round(mid, 2) + 0.01))
    records = record_array("cbbo-1s", len(rows))
    records["ts_recv"] = records["ts_event"] = [r[0] for r in rows]
    records["instrument_id"] = [r[1] for r in rows]
    records["publisher_id"] = OPRA
    records["bid_px_00"] = np.round(np.array([r[2] for r in rows]) * 1e9).astype(np.int64)
    records["ask_px_00"] = np.round(np.array([r[3] for r in rows]) * 1e9).astype(np.int64)
    records["bid_sz_00"] = records["ask_sz_00"] = 50
    return symbols, records


def test_iv_history_is_derived_from_the_quotes_and_loaded_from_a_csv(tmp_path: Path, capsys) -> None:
    symbols, records = chain_quotes(530.0, 0.2, 2)
    defs = write_dbn(
        tmp_path / "d.dbn.zst",
        "OPRA.PILLAR",
        "definition",
        symbols,
        [option_definition(s, i) for s, i in symbols.items()],
    )
    q = write_dbn(tmp_path / "q.dbn.zst", "OPRA.PILLAR", "cbbo-1s", symbols, records, parent="SPY.OPT", days=2)
    spy = [Quote(SESSION_OPEN_NS + i * 600 * SECOND_NS, 529.99, 530.01, 100, 100) for i in range(200)]
    run(tmp_path, [q], definitions=[defs], underlying_quotes=[spy_quotes(tmp_path / "spy-day.dbn.zst", spy)])

    derived = load_atm_iv_history(tmp_path / "catalog", "SPY.OPRA")
    assert list(derived.index) == [dt.date(2024, 6, 3), dt.date(2024, 6, 4)]
    assert np.allclose(derived.to_numpy(), 0.2, atol=0.01)

    csv = tmp_path / "iv.csv"
    csv.write_text("date,iv_30d\n2024-05-31,0.15\n2024-06-03,0.5\n")
    assert iv_main(["--catalog", str(tmp_path / "catalog"), "--csv", str(csv)]) == 0
    merged = load_atm_iv_history(tmp_path / "catalog", "SPY.OPRA")
    assert merged[dt.date(2024, 5, 31)] == 0.15 and abs(merged[dt.date(2024, 6, 3)] - 0.2) < 0.01  # data wins
    assert CatalogManifest.read(tmp_path / "catalog").iv_history_days == 3

    csv.write_text("date,iv_30d\n2024-06-01,0.15\n")
    capsys.readouterr()
    assert iv_main(["--catalog", str(tmp_path / "catalog"), "--csv", str(csv)]) == 2
    assert capsys.readouterr().err.strip() == "error: --csv iv.csv line 2: 2024-06-01 is not an NYSE session"
