"""What a sweep optimises: one of the report's statistics (statistics.json, docs/backtest.md), with an optional
constraint on another, e.g. ``max_drawdown_pct<=10`` ("the maximum drawdown above -10 %": the report counts a
drawdown as a positive percent of the peak).

A trial that breaks the constraint, failed, or has no value for the statistic (a Sharpe ratio of a flat
curve, a profit factor without losers) is infeasible: it has no score and ranks after every feasible trial.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from hybrid.sweep.errors import SweepError

# name -> (section of statistics.json, key, the direction that is better)
STATISTICS: dict[str, tuple[str, str, str]] = {
    "sharpe": ("equity", "sharpe", "max"),
    "sortino": ("equity", "sortino", "max"),
    "total_return_pct": ("equity", "total_return_pct", "max"),
    "max_drawdown_pct": ("equity", "max_drawdown_pct", "min"),
    "max_drawdown": ("equity", "max_drawdown", "min"),
    "pnl": ("pnl", "total", "max"),
    "pnl_closing": ("pnl", "total_closing", "max"),
    "realized": ("pnl", "realized", "max"),
    "profit_factor": ("groups", "profit_factor", "max"),
    "win_rate": ("groups", "win_rate", "max"),
    "expectancy": ("groups", "expectancy", "max"),
    "groups": ("groups", "count", "max"),
    "closed_groups": ("groups", "closed", "max"),
}
OBJECTIVES = ("sharpe", "pnl_closing", "max_drawdown_pct", "profit_factor", "total_return_pct", "sortino", "expectancy")
_CONSTRAINT = re.compile(r"^\s*(?P<stat>[a-z_]+)\s*(?P<op><=|>=|<|>)\s*(?P<bound>-?[0-9.]+(?:e-?[0-9]+)?)\s*$")
_OPS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "<": operator.lt,
    ">": operator.gt,
}


def trial_statistics(statistics: Mapping[str, Any]) -> dict[str, float | None]:
    """The flat figures of one report's statistics.json that the results table carries."""
    flat: dict[str, float | None] = {}
    for name, (section, key, _) in STATISTICS.items():
        value = statistics.get(section, {}).get(key)
        flat[name] = None if value is None or not math.isfinite(float(value)) else float(value)
    return flat


@dataclass(frozen=True)
class Constraint:
    stat: str
    op: str
    bound: float

    def holds(self, stats: Mapping[str, float | None]) -> bool:
        value = stats.get(self.stat)
        return value is not None and _OPS[self.op](value, self.bound)

    def __str__(self) -> str:
        return f"{self.stat}{self.op}{self.bound:g}"


@dataclass(frozen=True)
class Objective:
    """The statistic to optimise, its direction and the constraint a trial must meet to count."""

    stat: str
    constraint: Constraint | None = None

    @property
    def mode(self) -> str:
        return STATISTICS[self.stat][2]

    def score(self, stats: Mapping[str, float | None] | None) -> float | None:
        """The trial's objective value; None when it is infeasible (module docstring)."""
        if stats is None or (self.constraint is not None and not self.constraint.holds(stats)):
            return None
        return stats.get(self.stat)

    def rank_key(self, score: float | None) -> tuple[int, float]:
        """Sorts the best first: feasible trials by score in the objective's direction, then the rest."""
        if score is None:
            return (1, 0.0)
        return (0, -score if self.mode == "max" else score)

    def search_value(self, score: float | None) -> float:
        """What a sequential searcher is told: the score, or a value worse than any score when infeasible."""
        if score is not None:
            return score
        return -1e12 if self.mode == "max" else 1e12

    def describe(self) -> str:
        text = f"{self.mode}imise {self.stat}"
        return text + (f" subject to {self.constraint}" if self.constraint else "")


def parse_objective(name: str, constraint: str | None) -> Objective:
    if name not in OBJECTIVES:
        raise SweepError(f"objective {name!r} is unknown (valid: {', '.join(OBJECTIVES)})")
    return Objective(stat=name, constraint=None if not constraint else parse_constraint(constraint))


def parse_constraint(text: str) -> Constraint:
    match = _CONSTRAINT.match(text)
    if match is None or match["stat"] not in STATISTICS:
        raise SweepError(
            f"constraint {text!r} must look like STAT<=NUMBER (or >=, <, >) with STAT one of {', '.join(STATISTICS)}"
        )
    return Constraint(stat=match["stat"], op=match["op"], bound=float(match["bound"]))
