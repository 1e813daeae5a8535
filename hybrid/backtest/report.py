"""The report folder of a finished run: NautilusTrader's reports, statistics, equity curve, summary.json.

Files (schema of summary.json in docs/backtest.md):
orders.csv, fills.csv, positions.csv, account.csv   NautilusTrader's trader reports
leg_fills.csv        the synthetic per-leg fills of spread orders (same columns as fills.csv)
statistics.json      the portfolio analyzer's PnL, returns and general statistics
equity.png, equity.html, equity.csv   equity marked to mid, sampled on simulated time
fill_rates.csv       the two-part algorithm's fill-rate table of this run (docs/execution.md)
actions.csv          the bot manager's and recurring templates' action log of this run (docs/management.md)
summary.json         counts, P&L, commissions, range, seed, the position groups, the bot actions and the fill rates
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
from nautilus_trader.analysis import ReportProvider
from nautilus_trader.model.currencies import USD
from nautilus_trader.model.events import OrderFilled

from hybrid.backtest.equity import EQUITY_CACHE_KEY
from hybrid.backtest.equity_chart import write_html, write_png
from hybrid.backtest.runner import BacktestRun, run_backtest
from hybrid.execution.two_part_report import fill_rates
from hybrid.management.action_feed import actions_frame, actions_summary, cached_actions
from hybrid.runconfig.settings import RunSettings
from hybrid.tracking import rebuild_groups, synthetic_leg_fills
from hybrid.valuation.pnl import marked_equity

SUMMARY_SCHEMA_VERSION = 1


def run_and_report(settings: RunSettings) -> Path:
    """Run the backtest and write its report to ``settings.out`` or a new timestamped folder."""
    with run_backtest(settings) as run:
        return write_report(run, settings.out or default_report_dir(settings.name, settings.reports_dir))


def default_report_dir(run_name: str, reports_dir: Path) -> Path:
    """``<reports_dir>/<name>-<UTC timestamp>``, suffixed when that folder already exists."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    candidate = reports_dir / f"{run_name}-{stamp}"
    n = 1
    while candidate.exists():
        candidate = reports_dir / f"{run_name}-{stamp}-{n}"
        n += 1
    return candidate


def write_report(run: BacktestRun, out_dir: Path) -> Path:
    """Write every report file into ``out_dir`` (created) and return it."""
    out_dir.mkdir(parents=True, exist_ok=True)
    trader, cache = run.engine.trader, run.engine.cache
    leg_fills = [fill for fills in synthetic_leg_fills(cache).values() for fill in fills]
    _csv(trader.generate_orders_report(), out_dir / "orders.csv", "client_order_id")
    _csv(trader.generate_fills_report(), out_dir / "fills.csv", "client_order_id")
    leg_fills_report = ReportProvider.generate_fills_report([SimpleNamespace(events=leg_fills)])
    _csv(leg_fills_report, out_dir / "leg_fills.csv", "client_order_id")
    _csv(trader.generate_positions_report(), out_dir / "positions.csv", "position_id")
    _csv(trader.generate_account_report(run.venue), out_dir / "account.csv", "ts_event")
    _json(statistics(run), out_dir / "statistics.json")
    curve = equity_curve(run)
    pd.DataFrame(curve, columns=["ts_ns", "equity"]).to_csv(out_dir / "equity.csv", index=False)
    title = f"{run.settings.name}: equity marked to mid"
    write_png(curve, out_dir / "equity.png", title)
    write_html(curve, out_dir / "equity.html", title)
    rates = fill_rates(trader.exec_algorithms())
    rates.to_csv(out_dir / "fill_rates.csv", index=False)
    actions_frame(cached_actions(cache)).to_csv(out_dir / "actions.csv", index=False)
    _json(
        summary(run, len(leg_fills)) | {"fill_rates": json.loads(rates.to_json(orient="records"))},
        out_dir / "summary.json",
    )
    return out_dir


def statistics(run: BacktestRun) -> dict:
    """The portfolio analyzer's statistics (NaN as null)."""
    analyzer = run.engine.portfolio.analyzer
    sections = {
        "pnls": analyzer.get_performance_stats_pnls(USD),
        "returns": analyzer.get_performance_stats_returns(),
        "general": analyzer.get_performance_stats_general(),
    }
    return {name: _finite(stats) for name, stats in sections.items()}


def equity_curve(run: BacktestRun) -> list[tuple[int, float]]:
    """The samples the EquitySampler stored in the cache."""
    raw = run.engine.cache.get(EQUITY_CACHE_KEY)
    return [(int(ts), float(v)) for ts, v in json.loads(raw)] if raw else []


def summary(run: BacktestRun, leg_fill_count: int) -> dict:
    """The run in one deterministic JSON document (no wall-clock values)."""
    cache, settings = run.engine.cache, run.settings
    account = run.engine.portfolio.account(run.venue)
    balance = account.balance_total(USD).as_double()
    equity = marked_equity(cache, run.engine.portfolio, run.venue)
    positions = [*cache.positions(), *cache.position_snapshots()]
    realized = sum(p.realized_pnl.as_double() for p in positions if p.realized_pnl is not None)
    commissions = account.commissions().get(USD)
    orders = cache.orders()
    groups = rebuild_groups(cache)
    return {
        "schema_version": SUMMARY_SCHEMA_VERSION,
        "name": settings.name,
        "config_file": str(settings.config_file),
        "catalog": str(settings.catalog),
        "venue": run.venue.value,
        "start": run.start.isoformat(),
        "end": run.end.isoformat(),
        "seed": settings.seed,
        "fill_model": run.fill_model.assumptions(),
        "fee_per_contract": settings.venue.fee_per_contract,
        "starting_balance": settings.venue.starting_balance,
        "ending_balance": round(balance, 2),
        "ending_equity": round(equity, 2),
        "total_pnl": round(equity - settings.venue.starting_balance, 2),
        "realized_pnl": round(realized, 2),
        "unrealized_pnl": round(equity - settings.venue.starting_balance - realized, 2),
        "commissions": round(commissions.as_double(), 2) if commissions is not None else 0.0,
        "counts": {
            "data": run.result.iterations,
            "orders": len(orders),
            "fills": sum(isinstance(e, OrderFilled) for o in orders for e in o.events),
            "leg_fills": leg_fill_count,
            "positions": len(positions),
            "groups": len(groups),
        },
        "strategies": sorted(s.id.value for s in run.engine.trader.strategies()),
        "all_groups_balanced": all(group.balanced for group in groups),
        "groups": groups.to_list(),
        "actions": actions_summary(cached_actions(cache), groups),
    }


def _csv(frame: pd.DataFrame, path: Path, index_name: str) -> None:
    # An empty NautilusTrader report has no columns; keep the file parseable with its index header.
    (frame if not frame.empty else pd.DataFrame().rename_axis(index_name)).to_csv(path)


def _json(data: dict, path: Path) -> None:
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")


def _finite(value: object) -> object:
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
