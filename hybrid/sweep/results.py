"""The sweep's output folder: ``sweep.json`` (what was asked, and whether it finished), ``results.parquet`` and
``results.csv`` (one row per trial: its parameters, statistics, score and rank), the plots, and each trial's
report folder under ``trials/``.

Every file is written to a temporary name and renamed into place, and ``sweep.json`` says ``"status":
"running"`` until the last file is in place, when it says ``"complete"``: an interrupted sweep never
leaves a table that looks finished.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from hybrid.sweep.objective import STATISTICS, Objective

SWEEP_FILE = "sweep.json"
RESULTS_PARQUET = "results.parquet"
RESULTS_CSV = "results.csv"
BEST_SHOWN = 5


def write_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """``write(tmp)`` then rename ``tmp`` to ``path``: readers see the old file or the whole new one."""
    tmp = path.with_name(f".{path.name}.tmp")
    write(tmp)
    os.replace(tmp, path)


def write_status(out: Path, status: str, about: Mapping[str, Any]) -> None:
    text = json.dumps({"status": status, **about}, indent=2, sort_keys=True, default=str) + "\n"
    write_atomically(out / SWEEP_FILE, lambda tmp: _write_text(tmp, text))


def _write_text(path: Path, text: str) -> None:
    path.write_text(text)


def read_status(out: Path) -> dict[str, Any] | None:
    path = out / SWEEP_FILE
    return json.loads(path.read_text()) if path.is_file() else None


def results_table(
    records: Sequence[Mapping[str, Any]],
    keys: Sequence[str],
    objective: Objective,
    roles: Mapping[str, tuple[str, int | None]] | None = None,
) -> pd.DataFrame:
    """One row per trial, best first within each (role, fold): ``rank`` 1 is the best feasible trial.

    ``roles`` maps a trial key to its role and walk-forward fold (``train`` / ``test``); a plain sweep's
    trials are all ``trial`` without a fold.
    """
    rows = []
    for record in records:
        stats = record["statistics"] or {}
        score = objective.score(record["statistics"])
        role, fold = (roles or {}).get(record["key"], ("trial", None))
        rows.append(
            {
                "trial": record["key"],
                "index": record["index"],
                "role": role,
                "fold": fold,
                "start": record["start"],
                "end": record["end"],
                **{key: _cell(record["params"].get(key)) for key in keys},
                **{name: stats.get(name) for name in STATISTICS},
                "objective": score,
                "feasible": score is not None,
                "error": record["error"],
                "seconds": record["seconds"],
                "task_seconds": record.get("task_seconds"),  # None: run by an earlier, interrupted sweep
                "report": f"trials/{record['key']}",
            }
        )
    table = pd.DataFrame(rows).drop_duplicates(subset=["trial", "role", "fold"])
    table["fold"] = table["fold"].astype("Int64")
    table["_order"] = [objective.rank_key(s) for s in table["objective"]]
    table = table.sort_values(["role", "fold", "_order", "index"], na_position="first", kind="stable")
    table["rank"] = table.groupby(["role", "fold"], dropna=False).cumcount() + 1
    table.loc[~table["feasible"], "rank"] = pd.NA
    table["rank"] = table["rank"].astype("Int64")
    return table.drop(columns="_order").reset_index(drop=True)


def write_results(out: Path, table: pd.DataFrame) -> None:
    write_atomically(out / RESULTS_PARQUET, lambda tmp: table.to_parquet(tmp, index=False))
    write_atomically(out / RESULTS_CSV, lambda tmp: table.to_csv(tmp, index=False))


def best_lines(table: pd.DataFrame, keys: Sequence[str], objective: Objective, count: int = BEST_SHOWN) -> list[str]:
    """The best trials as the command prints them."""
    feasible = table[table["feasible"] & (table["role"] != "test")].sort_values(["fold", "rank"], na_position="first")
    if feasible.empty:
        return [f"no feasible trial ({objective.describe()}): see the error and statistics columns"]
    lines = [f"best trials ({objective.describe()}):"]
    for _, row in feasible.head(count).iterrows():
        params = ", ".join(f"{key}={row[key]}" for key in keys)
        fold = "" if pd.isna(row["fold"]) else f"fold {row['fold']} "
        lines.append(f"  {fold}#{row['rank']} {objective.stat}={row['objective']:.4g}  {params}  ({row['report']})")
    return lines


def _cell(value: Any) -> Any:
    """A parameter as a table cell: numbers, strings and booleans as they are, tables and lists as JSON."""
    return json.dumps(value, sort_keys=True) if isinstance(value, dict | list) else value
