"""Databento to report, the way a user goes: DBN files (written here with ``databento_dbn``, shaped like a
download: definitions, OPRA per-exchange and consolidated quotes requested as ``SPY.OPT``, the underlying's
quotes and trades), ``python -m data.databento_import``, a year of IV history from a CSV with
``python -m data.iv_history``, then the demo strategy (configs/demo.toml) with ``run_backtest.py``."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import databento
import numpy as np
import pandas as pd
import pytest
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.persistence.catalog import ParquetDataCatalog

import run_backtest
from data.databento_import import main as import_main
from data.iv_history import derive
from data.iv_history import main as iv_main
from hybrid.calendar import nyse
from hybrid.calendar.exchange_time import NEW_YORK
from hybrid.options.instruments import occ_symbol
from hybrid.options.iv_data import load_atm_iv_history
from hybrid.options.pricing import bs_price, years_to_expiry
from hybrid.runconfig.manifest import CatalogManifest
from tests.support.dbn_fixtures import (
    OPRA,
    SECOND_NS,
    XNAS,
    equity_definition,
    option_definition,
    record_array,
    write_dbn,
)

pytestmark = pytest.mark.slow

CONFIG = Path(__file__).resolve().parents[2] / "configs" / "demo.toml"
FIRST_DAY = dt.date(2024, 6, 3)  # write_dbn's files start this day
SESSIONS = nyse.next_sessions(FIRST_DAY, 3)
EXPIRY = dt.date(2024, 7, 12)  # 35-39 days out: the demo's 30-45 DTE window
SPOT, VOL, RATE, DIVIDEND = 530.0, 0.2, 0.045, 0.013
XCBO = databento.Publisher.OPRA_PILLAR_XCBO.to_int()
SPY_ID = 15144


def chain() -> dict[str, int]:
    """Calls and puts every $5 within $60 of spot: the condor's 16-delta shorts and their wings."""
    strikes = range(int(SPOT) - 60, int(SPOT) + 61, 5)
    return {
        occ_symbol("SPY", EXPIRY, right, k): 7000 + n
        for n, (right, k) in enumerate((r, k) for r in "CP" for k in strikes)
    }


def option_quotes(symbols: dict[str, int]) -> np.ndarray:
    """mbp-1 as OPRA sends it: each contract every 5 minutes by the OPRA publisher (the NBBO, a cent either
    side of the Black-Scholes mid) and by XCBO a nickel wider, which the import must drop."""
    rows = []
    for day in SESSIONS:
        open_ns, close_ns = nyse.session_bounds_ns(day)
        for ts in range(open_ns, close_ns, 300 * SECOND_NS):
            years = years_to_expiry(EXPIRY, pd.Timestamp(ts, tz="UTC").tz_convert(NEW_YORK).to_pydatetime())
            for symbol, iid in symbols.items():
                strike = int(symbol[-8:]) / 1000
                mid = round(float(bs_price(SPOT, strike, years, VOL, symbol[12] == "C", RATE, DIVIDEND)), 2)
                rows.append((ts, iid, OPRA, max(mid - 0.01, 0.01), mid + 0.01))
                rows.append((ts + SECOND_NS, iid, XCBO, max(mid - 0.05, 0.01), mid + 0.05))
    records = record_array("mbp-1", len(rows))
    ts, iid, publisher, bid, ask = (np.array(c) for c in zip(*rows, strict=True))
    records["ts_recv"] = records["ts_event"] = ts
    records["instrument_id"], records["publisher_id"] = iid, publisher
    records["bid_px_00"], records["ask_px_00"] = np.round(bid * 1e9), np.round(ask * 1e9)
    records["bid_sz_00"] = records["ask_sz_00"] = 50
    records["action"], records["side"] = b"A", b"N"
    return records[np.argsort(ts, kind="stable")]


def underlying(schema: str) -> np.ndarray:
    """SPY every minute of the sessions: a quote a cent or two wide around spot, or a 100-share print at spot."""
    stamps = [ts for day in SESSIONS for ts in range(*nyse.session_bounds_ns(day), 60 * SECOND_NS)]
    records = record_array(schema, len(stamps))
    records["ts_recv"] = records["ts_event"] = stamps
    records["instrument_id"], records["publisher_id"] = SPY_ID, XNAS
    if schema == "trades":
        records["price"], records["size"], records["action"], records["side"] = round(SPOT * 1e9), 100, b"T", b"B"
    else:
        tick = np.arange(len(stamps)) % 2 * 10_000_000  # the bid moves by a cent: a new quote every minute
        records["bid_px_00"], records["ask_px_00"] = round((SPOT - 0.01) * 1e9) + tick, round((SPOT + 0.01) * 1e9)
        records["bid_sz_00"] = records["ask_sz_00"] = 200
        records["action"], records["side"] = b"A", b"N"
    return records


def iv_csv(path: Path) -> Path:
    """The year before the data: IV between 12% and 24%, so today's 20% ranks about 67 (a condor)."""
    days = nyse.previous_sessions(FIRST_DAY, 260)
    ivs = 0.18 + 0.06 * np.sin(np.arange(len(days)) / 9)
    path.write_text("date,iv_30d\n" + "".join(f"{d},{iv:.4f}\n" for d, iv in zip(days, ivs, strict=True)))
    return path


def test_databento_files_to_a_demo_report(tmp_path: Path, capsys) -> None:
    symbols = chain()
    days = len(SESSIONS) + 2  # the request's range covers the weekend after the first sessions
    defs = write_dbn(
        tmp_path / "opra-definition.dbn.zst",
        "OPRA.PILLAR",
        "definition",
        symbols,
        [option_definition(s, i) for s, i in symbols.items()],
        parent="SPY.OPT",
        days=days,
    )
    quotes = write_dbn(
        tmp_path / "opra-mbp-1.dbn.zst",
        "OPRA.PILLAR",
        "mbp-1",
        symbols,
        option_quotes(symbols),
        parent="SPY.OPT",
        days=days,
    )
    spy = {"SPY": SPY_ID}
    spy_defs = write_dbn(
        tmp_path / "xnas-definition.dbn.zst", "XNAS.ITCH", "definition", spy, [equity_definition("SPY", SPY_ID)]
    )
    spy_quotes = write_dbn(tmp_path / "xnas-mbp-1.dbn.zst", "XNAS.ITCH", "mbp-1", spy, underlying("mbp-1"), days=days)
    spy_trades = write_dbn(
        tmp_path / "xnas-trades.dbn.zst", "XNAS.ITCH", "trades", spy, underlying("trades"), days=days
    )
    catalog = tmp_path / "spy-databento"

    argv = ["--definitions", str(defs), str(spy_defs), "--quotes", str(quotes), "--underlying-quotes", str(spy_quotes)]
    argv += ["--underlying-trades", str(spy_trades), "--max-dte", "60", "--out", str(catalog)]
    assert import_main(argv) == 0
    assert CatalogManifest.read(catalog).extra["underlying_trades"] == 390 * len(SESSIONS)
    options = [f"{s}.OPRA" for s in symbols]
    widths = {
        round(q.ask_price.as_double() - q.bid_price.as_double(), 2)
        for q in ParquetDataCatalog(str(catalog)).quote_ticks(instrument_ids=options)
    }
    assert widths <= {0.0, 0.01, 0.02}  # the NBBO only: XCBO's wider quotes dropped
    derived = load_atm_iv_history(catalog, "SPY.OPRA")
    assert list(derived.index) == list(SESSIONS) and np.allclose(derived.to_numpy(), VOL, atol=0.01)
    # gathered from the chunks as they were written, the same as read back from the catalog
    read_back = derive(ParquetDataCatalog(str(catalog)), InstrumentId.from_str("SPY.OPRA"), RATE, DIVIDEND)
    assert read_back == pytest.approx(derived.to_dict(), abs=1e-12)

    assert iv_main(["--catalog", str(catalog), "--csv", str(iv_csv(tmp_path / "iv.csv"))]) == 0
    assert CatalogManifest.read(catalog).iv_history_days == 260 + len(SESSIONS)

    capsys.readouterr()
    out = tmp_path / "report"
    assert run_backtest.main(["--config", str(CONFIG), "--catalog", str(catalog), "--out", str(out)]) == 0
    assert f"report: {out}" in capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text())
    assert len(pd.read_csv(out / "orders.csv")) == summary["counts"]["orders"] > 0
    assert len(pd.read_csv(out / "groups.csv")) == summary["counts"]["groups"] > 0  # groups opened on the data
    assert not summary.get("notices"), summary["notices"]  # the history was long enough: no short-history notice
