"""Walk-forward analysis: optimise on a training window, run the winner on the window after it, roll on by the
test window's length, and join the out-of-sample curves into one.

``--walk-forward 40d:20d``: training windows of 40 calendar days and test windows of 20, the first training
window starting on the catalog's first day; the last test window may be cut short by the catalog's end.
``walk_forward/`` holds ``folds.csv`` (each fold's windows, winner, in-sample and out-of-sample figures and
the decay between them), ``oos_equity.csv`` (the test windows' daily returns chained from the starting
balance) and ``equity.html`` / ``equity.png`` (that curve beside each winner's in-sample curve).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from hybrid.calendar.exchange_time import new_york_instant, utc_text
from hybrid.runconfig.manifest import CatalogManifest
from hybrid.sweep.errors import SweepError
from hybrid.sweep.objective import Objective
from hybrid.sweep.results import write_atomically

_WINDOWS = re.compile(r"^(?P<train>\d+)d:(?P<test>\d+)d$")
FOLDER = "walk_forward"


@dataclass(frozen=True)
class Fold:
    number: int
    train_start: dt.date
    train_end: dt.date  # inclusive, as a run configuration's end date
    test_start: dt.date
    test_end: dt.date

    @property
    def train(self) -> tuple[str, str]:
        return new_york_days(self.train_start, self.train_end)

    @property
    def test(self) -> tuple[str, str]:
        return new_york_days(self.test_start, self.test_end)

    def label(self, role: str) -> str:
        first, last = (self.train_start, self.train_end) if role == "train" else (self.test_start, self.test_end)
        return f"fold {self.number} {role} {first}..{last}"


def new_york_days(first: dt.date, last: dt.date) -> tuple[str, str]:
    """The run window of New York dates ``first``..``last``, as UTC timestamps: from midnight in New York, so a
    window's daily curve starts with its own first session (a UTC midnight is the previous New York evening)."""
    start = new_york_instant(first, dt.time(0, 0))
    end = new_york_instant(last + dt.timedelta(days=1), dt.time(0, 0)) - dt.timedelta(microseconds=1)
    return utc_text(start), utc_text(end)


def parse_windows(text: str) -> tuple[int, int]:
    """``40d:20d`` -> (40, 20) calendar days."""
    match = _WINDOWS.match(text.strip())
    if match is None or int(match["train"]) < 1 or int(match["test"]) < 1:
        raise SweepError(
            f"--walk-forward {text!r} must look like TRAINd:TESTd, e.g. 40d:20d (calendar days, each >= 1)"
        )
    return int(match["train"]), int(match["test"])


def folds(manifest: CatalogManifest, text: str) -> list[Fold]:
    """The rolling folds over the catalog's dates; a SweepError when not even one fits."""
    train, test = parse_windows(text)
    first, last = pd.Timestamp(manifest.start).date(), pd.Timestamp(manifest.end).date()
    out: list[Fold] = []
    while True:
        train_start = first + dt.timedelta(days=len(out) * test)
        train_end = train_start + dt.timedelta(days=train - 1)
        test_start = train_end + dt.timedelta(days=1)
        if test_start > last:
            break
        test_end = min(test_start + dt.timedelta(days=test - 1), last)
        out.append(Fold(len(out), train_start, train_end, test_start, test_end))
    if not out:
        days = (last - first).days + 1
        raise SweepError(
            f"--walk-forward {text}: the catalog covers {first}..{last} ({days} days), too short for a {train}-day "
            "training window and a test window after it"
        )
    return out


@dataclass(frozen=True)
class FoldResult:
    fold: Fold
    winner: dict[str, Any] | None  # the best training trial's record, None when no trial was feasible
    test: dict[str, Any] | None  # the winner's record on the test window


def write_report(
    out: Path, results: Sequence[FoldResult], objective: Objective, keys: Sequence[str], starting_balance: float
) -> dict[str, Any]:
    """Write ``walk_forward/`` and return its summary for ``sweep.json``."""
    folder = out / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    chained: list[dict[str, Any]] = []
    in_sample: dict[int, pd.DataFrame] = {}
    equity = starting_balance
    scores: list[tuple[int, float | None, float | None]] = []  # fold, in-sample, out-of-sample
    for result in results:
        fold, winner, test = result.fold, result.winner, result.test
        is_score = None if winner is None else objective.score(winner["statistics"])
        oos_score = None if test is None else objective.score(test["statistics"])
        scores.append((fold.number, is_score, oos_score))
        rows.append(
            {
                "fold": fold.number,
                "train_start": fold.train_start.isoformat(),
                "train_end": fold.train_end.isoformat(),
                "test_start": fold.test_start.isoformat(),
                "test_end": fold.test_end.isoformat(),
                **{key: None if winner is None else winner["params"].get(key) for key in keys},
                f"in_sample_{objective.stat}": is_score,
                f"out_of_sample_{objective.stat}": oos_score,
                "decay": None if is_score is None or oos_score is None else is_score - oos_score,
                "in_sample_return_pct": _stat(winner, "total_return_pct"),
                "out_of_sample_return_pct": _stat(test, "total_return_pct"),
                "out_of_sample_max_drawdown_pct": _stat(test, "max_drawdown_pct"),
                "train_trial": None if winner is None else f"trials/{winner['key']}",
                "test_trial": None if test is None else f"trials/{test['key']}",
                "test_error": None if test is None else test["error"],
            }
        )
        if winner is not None:
            in_sample[fold.number] = _daily(out, winner)
        if test is not None:
            for _, day in _daily(out, test).iterrows():
                equity *= 1 + float(day["return"])
                chained.append(
                    {
                        "session": day["session"],
                        "fold": fold.number,
                        "return": day["return"],
                        "equity": round(equity, 2),
                    }
                )
    table = pd.DataFrame(rows)
    curve = pd.DataFrame(chained, columns=["session", "fold", "return", "equity"])
    write_atomically(folder / "folds.csv", lambda tmp: table.to_csv(tmp, index=False))
    write_atomically(folder / "oos_equity.csv", lambda tmp: curve.to_csv(tmp, index=False))
    _html(curve, in_sample, starting_balance, folder / "equity.html")
    _png(curve, in_sample, starting_balance, folder / "equity.png")
    is_scores = [float(score) for _, score, _ in scores if score is not None]
    oos_scores = [float(score) for _, _, score in scores if score is not None]
    mean_is = sum(is_scores) / len(is_scores) if is_scores else None
    mean_oos = sum(oos_scores) / len(oos_scores) if oos_scores else None
    return {
        "folds": len(rows),
        "mean_in_sample": mean_is,
        "mean_out_of_sample": mean_oos,
        "mean_decay": None if mean_is is None or mean_oos is None else mean_is - mean_oos,
        "out_of_sample_return_pct": round(100 * (equity / starting_balance - 1), 4),
    }


def _stat(record: dict[str, Any] | None, name: str) -> float | None:
    return None if record is None or record["statistics"] is None else record["statistics"].get(name)


def _daily(out: Path, record: dict[str, Any]) -> pd.DataFrame:
    path = out / "trials" / record["key"] / "equity_daily.csv"
    if record["error"] is not None or not path.is_file():
        return pd.DataFrame(columns=["session", "equity", "return"])
    return pd.read_csv(path)


def _html(curve: pd.DataFrame, in_sample: dict[int, pd.DataFrame], starting: float, path: Path) -> None:
    import plotly.graph_objects as go

    fig = go.Figure()
    for number, daily in in_sample.items():
        fig.add_scatter(
            x=daily["session"],
            y=_normalised(daily, starting),
            mode="lines",
            line={"dash": "dot"},
            name=f"fold {number} in-sample",
        )
    fig.add_scatter(
        x=curve["session"], y=curve["equity"] / starting, mode="lines", name="out-of-sample, joined", line={"width": 3}
    )
    fig.update_layout(title="walk-forward: equity / starting balance", yaxis_title="growth of 1")
    fig.write_html(path, include_plotlyjs="directory")


def _png(curve: pd.DataFrame, in_sample: dict[int, pd.DataFrame], starting: float, path: Path) -> None:
    fig = Figure(figsize=(10, 4), dpi=80)
    ax = fig.subplots()
    for number, daily in in_sample.items():
        ax.plot(
            pd.to_datetime(daily["session"]),
            _normalised(daily, starting),
            linestyle=":",
            label=f"fold {number} in-sample",
        )
    if not curve.empty:
        ax.plot(
            pd.to_datetime(curve["session"]), curve["equity"] / starting, linewidth=2.5, label="out-of-sample, joined"
        )
    ax.set_title("walk-forward: equity / starting balance")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path)


def _normalised(daily: pd.DataFrame, starting: float) -> list[float]:
    growth, values = 1.0, []
    for r in daily["return"]:
        growth *= 1 + (0.0 if math.isnan(float(r)) else float(r))
        values.append(growth)
    return values
