"""Backtest report folders read back for the UI (no re-run): what ``run_backtest.py`` wrote under ``reports/``.

Read-only: a folder is listed when it holds ``summary.json``; its curve, groups, fill rates and actions come
from ``equity.csv``, ``summary.json``, ``fill_rates.csv`` and ``actions.csv`` (docs/backtest.md). The folder is
``$HYBRID_REPORTS_DIR`` or ``reports`` under the working directory.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any

REPORTS_ENV = "HYBRID_REPORTS_DIR"
MAX_ROWS = 5000  # of a CSV table sent to a browser; the rest is left out (``truncated``)


def reports_dir_from_env() -> Path:
    return Path(os.environ.get(REPORTS_ENV, "reports"))


def report_folders(root: Path) -> list[Path]:
    """Report folders under ``root``, newest name last (names end in a UTC timestamp)."""
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if (p / "summary.json").is_file())


def read_summary(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "summary.json").read_text())


def read_table(path: Path) -> tuple[list[dict[str, str]], bool]:
    """A CSV file's rows (at most :data:`MAX_ROWS`) and whether rows were left out; a missing file is empty."""
    if not path.is_file():
        return [], False
    with path.open(newline="") as handle:
        rows: list[dict[str, str]] = []
        for row in csv.DictReader(handle):
            if len(rows) == MAX_ROWS:
                return rows, True
            rows.append(row)
    return rows, False
