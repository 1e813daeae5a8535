"""The same catalog, config and seed give byte-identical reports in two processes with different hash seeds.

The run (tests/support/determinism_small.toml) has two groups on one spread instrument, worked on its
quotes together; with the groups kept in a set their orders were sent in hash order, so the group ids,
order ids and the summary changed with ``PYTHONHASHSEED``. Only the documented random-id columns
(docs/backtest.md) may differ.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # a backtest, a server or a subprocess per test

ROOT = Path(__file__).resolve().parents[2]
CONFIG = Path(__file__).resolve().parents[1] / "support" / "determinism_small.toml"
RANDOM_ID_COLUMNS = {"fills.csv": {"event_id"}, "leg_fills.csv": {"event_id"}, "orders.csv": {"init_id"}}
HASH_SEEDS = ("0", "1")  # these two iterate the run's two groups in different orders on today's sets


def run(catalog: Path, out: Path, hash_seed: str) -> Path:
    proc = subprocess.run(
        [sys.executable, "run_backtest.py", "--config", str(CONFIG), "--catalog", str(catalog), "--out", str(out)],
        cwd=ROOT,
        env=os.environ | {"PYTHONHASHSEED": hash_seed},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return out


def rows_without(path: Path, columns: set[str]) -> list[list[str]]:
    with path.open(newline="") as f:
        table = list(csv.reader(f))
    keep = [i for i, name in enumerate(table[0]) if name not in columns]
    assert len(keep) == len(table[0]) - len(columns), f"{path.name}: a random-id column is missing"
    return [[row[i] for i in keep] for row in table]


def test_reports_are_byte_identical_across_processes_and_hash_seeds(small_catalog: Path, tmp_path: Path) -> None:
    first, second = (run(small_catalog, tmp_path / f"hash-{seed}", seed) for seed in HASH_SEEDS)
    names = sorted(p.name for p in first.iterdir())
    assert names == sorted(p.name for p in second.iterdir())
    assert {"summary.json", "fills.csv", "orders.csv", "positions.csv", "statistics.json"} <= set(names)
    for name in names:
        if name in RANDOM_ID_COLUMNS:
            assert rows_without(first / name, RANDOM_ID_COLUMNS[name]) == rows_without(
                second / name, RANDOM_ID_COLUMNS[name]
            ), name
        else:
            assert (first / name).read_bytes() == (second / name).read_bytes(), name
    positions = (first / "positions.csv").read_text()
    assert "-OrderDesk-000-snapshot-1," in positions  # closed NETTING positions, named without their UUID
    summary = (first / "summary.json").read_text()
    assert summary.count('"structure": "bull_call_spread"') >= 4  # the two templates' groups, every day
