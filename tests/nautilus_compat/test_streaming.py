"""A streamed run replays exactly what the one-shot run replays, and gives the same report.

The demo configuration (IV-rank strategy on the catalog's ``AtmImpliedVol`` custom data, TwoPart's
timers and InstantEnd alerts, the bot manager, the expiry recorder) over six sessions with a Friday
expiry, streamed in chunks of 997 rows: far smaller than one instant's quotes, so nearly every chunk
boundary splits the quotes of one timestamp. Only the documented random-id columns may differ.
"""

from __future__ import annotations

import csv
import json
from dataclasses import replace
from pathlib import Path

import pytest

from hybrid.backtest import run_backtest, write_report
from hybrid.runconfig import load_settings

pytestmark = pytest.mark.slow  # two backtests

ROOT = Path(__file__).resolve().parents[2]
RANDOM_ID_COLUMNS = {"fills.csv": {"event_id"}, "leg_fills.csv": {"event_id"}, "orders.csv": {"init_id"}}
CHUNK_ROWS = 997


def rows_without(path: Path, columns: set[str]) -> list[list[str]]:
    with path.open(newline="") as f:
        table = list(csv.reader(f))
    keep = [i for i, name in enumerate(table[0]) if name not in columns]
    return [[row[i] for i in keep] for row in table]


def run(catalog: Path, out: Path, chunk_size: int) -> tuple[int, int | None]:
    settings = load_settings(ROOT / "configs" / "demo.toml", catalog=catalog, out=out)
    with run_backtest(replace(settings, chunk_size=chunk_size, progress=False)) as backtest:
        write_report(backtest, out)
        return backtest.result.iterations, backtest.chunk_size


def test_streamed_run_replays_the_same_data_and_gives_the_same_report(expiry_catalog: Path, tmp_path: Path) -> None:
    one_shot, streamed = tmp_path / "one-shot", tmp_path / "streamed"
    assert run(expiry_catalog, one_shot, 0)[1] is None
    iterations, chunk_size = run(expiry_catalog, streamed, CHUNK_ROWS)
    assert chunk_size == CHUNK_ROWS
    counts = json.loads((one_shot / "summary.json").read_text())["counts"]
    assert iterations == counts["data"]  # no subscription re-reads the catalog
    assert counts["fills"] > 0, "the run must trade for the comparison to mean anything"
    for path in sorted(one_shot.iterdir()):
        columns = RANDOM_ID_COLUMNS.get(path.name)
        if columns is None:
            assert path.read_bytes() == (streamed / path.name).read_bytes(), path.name
        else:
            assert rows_without(path, columns) == rows_without(streamed / path.name, columns), path.name
