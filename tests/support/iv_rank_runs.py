"""Run configs/iv_rank_small.toml (with strategy overrides) through the real runner and keep what tests read."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd
from nautilus_trader.model.currencies import USD
from nautilus_trader.model.enums import TradingState

from hybrid.backtest import write_report
from hybrid.backtest.runner import run_backtest
from hybrid.risk import Trip
from hybrid.runconfig import load_settings
from hybrid.runconfig.settings import ComponentSpec

CONFIG = Path(__file__).resolve().parents[2] / "configs" / "iv_rank_small.toml"


@dataclass
class Outcome:
    """A finished run: its report folder and summary, and what the strategy and engine ended with."""

    report: Path
    summary: dict
    decisions: list[dict]
    trips: list[Trip]
    repairs: int
    trading_state: TradingState
    locked: float
    open_positions: int
    actors: list

    @property
    def groups(self) -> list[dict]:
        return self.summary["groups"]

    def orders(self) -> pd.DataFrame:
        return pd.read_csv(self.report / "orders.csv")


def merged(base: dict, overrides: dict) -> dict:
    """``base`` with ``overrides`` applied; nested tables merge key by key."""
    out = dict(base)
    for key, value in overrides.items():
        out[key] = merged(out.get(key, {}), value) if isinstance(value, dict) else value
    return out


def run_iv_rank(
    catalog: Path, out: Path, strategy: dict | None = None, actors: tuple[ComponentSpec, ...] = ()
) -> Outcome:
    """One backtest of the IV-rank strategy over ``catalog``; ``strategy`` overrides its config table."""
    settings = load_settings(CONFIG, catalog=catalog, out=out)
    spec = settings.components[0]
    settings = replace(settings, components=(replace(spec, config=merged(spec.config, strategy or {})), *actors))
    with run_backtest(settings) as run:
        report = write_report(run, out)
        iv_rank = next(s for s in run.engine.trader.strategies() if type(s).__name__ == "IVRankStrategy")
        balance = run.engine.portfolio.account(run.venue).balances()[USD]
        return Outcome(
            report=report,
            summary=json.loads((report / "summary.json").read_text()),
            decisions=list(iv_rank.decisions),
            trips=list(iv_rank.breaker.trips),
            repairs=iv_rank.trader.balancer.repairs_submitted,
            trading_state=run.engine.kernel.risk_engine.trading_state,
            locked=balance.locked.as_double(),
            open_positions=len(run.engine.cache.positions_open()),
            actors=list(run.engine.trader.actors()),
        )
