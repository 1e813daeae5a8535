"""The report folder of a finished run: NautilusTrader's reports, groups, statistics, equity curve, summary.json.

Files (schemas in docs/backtest.md; byte-identical for the same catalog, config and seed, but for the
random event ids NautilusTrader writes in fills.csv, leg_fills.csv and orders.csv):
orders.csv, fills.csv, positions.csv, account.csv   NautilusTrader's trader reports (snapshot ids made deterministic)
leg_fills.csv        the synthetic per-leg fills of spread orders, each once (same columns as fills.csv)
groups.csv           one row per position group: status, premiums, commissions, P&L at mid and at the closing side
statistics.json      the run's performance by group and from the daily equity curve (hybrid.backtest.performance)
nautilus_position_statistics.json   NautilusTrader's portfolio analyzer: per leg position, not per group
equity.png, equity.html, equity.csv   equity marked to mid, sampled on simulated time
equity_daily.csv     the session closes of that curve and their returns (Sharpe, Sortino, drawdown)
fill_rates.csv       the two-part algorithm's fill-rate table of this run (docs/execution.md)
actions.csv          the bot manager's and recurring templates' action log of this run (docs/management.md)
refusals.csv         every pre-trade refusal of the account risk gate, with the limit and its reason (hybrid.risk.account)
summary.json         counts, statistics.json, commissions, range, seed, the position groups, the bot actions, the fill rates
                     and the run's notices (e.g. a strategy that could not trade for lack of IV history)
"""

from __future__ import annotations

import datetime as dt
import json
import math
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
from nautilus_trader.analysis import ReportProvider
from nautilus_trader.cache.cache import Cache
from nautilus_trader.model.currencies import USD
from nautilus_trader.model.events import OrderFilled

from hybrid.backtest.equity import EQUITY_CACHE_KEY
from hybrid.backtest.equity_chart import write_html, write_png
from hybrid.backtest.performance import daily_equity, daily_returns, equity_statistics, group_statistics
from hybrid.backtest.runner import BacktestRun, run_backtest
from hybrid.execution.two_part_report import fill_rates
from hybrid.management.action_feed import actions_frame, actions_summary, cached_actions
from hybrid.risk.account import REFUSAL_COLUMNS, cached_refusals
from hybrid.runconfig.settings import RunSettings
from hybrid.tracking import GroupBook, synthetic_leg_fills
from hybrid.tracking.book import group_book
from hybrid.tracking.groups import closing_pnl
from hybrid.tracking.notices import cached_notices
from hybrid.valuation.pnl import marked_equity

SUMMARY_SCHEMA_VERSION = 2
GROUP_COLUMNS = [
    "group_id",
    "strategy_id",
    "structure",
    "source",
    "instrument_id",
    "status",
    "opened_units",
    "units",
    "entry_premium",
    "exit_premium",
    "commissions",
    "pnl",
    "pnl_closing",
    "balanced",
    "unbalanced_at_ns",
    "working_orders",
]


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
    _csv(positions_report(cache), out_dir / "positions.csv", "position_id")
    _csv(trader.generate_account_report(run.venue), out_dir / "account.csv", "ts_event")
    _json(nautilus_statistics(run), out_dir / "nautilus_position_statistics.json")
    groups = group_book(cache, run.engine.kernel.msgbus).groups()  # the run's own book
    rows = group_rows(run, groups)
    pd.DataFrame(rows, columns=GROUP_COLUMNS).to_csv(out_dir / "groups.csv", index=False)
    curve = equity_curve(run)
    pd.DataFrame(curve, columns=["ts_ns", "equity"]).to_csv(out_dir / "equity.csv", index=False)
    daily = daily_equity(curve)
    returns = daily_returns(run.settings.venue.starting_balance, daily)
    pd.DataFrame(
        [(day.isoformat(), equity, r) for (day, equity), r in zip(daily, returns, strict=True)],
        columns=["session", "equity", "return"],
    ).to_csv(out_dir / "equity_daily.csv", index=False)
    stats = statistics(run, rows, daily)
    _json(stats, out_dir / "statistics.json")
    title = f"{run.settings.name}: equity marked to mid"
    write_png(curve, out_dir / "equity.png", title)
    write_html(curve, out_dir / "equity.html", title)
    rates = fill_rates(trader.exec_algorithms())
    rates.to_csv(out_dir / "fill_rates.csv", index=False)
    actions_frame(cached_actions(cache)).to_csv(out_dir / "actions.csv", index=False)
    pd.DataFrame(cached_refusals(cache), columns=REFUSAL_COLUMNS).to_csv(out_dir / "refusals.csv", index=False)
    _json(
        summary(run, len(leg_fills), groups, rows, stats) | {"fill_rates": json.loads(rates.to_json(orient="records"))},
        out_dir / "summary.json",
    )
    return out_dir


def positions_report(cache: Cache) -> pd.DataFrame:
    """NautilusTrader's positions report, its NETTING snapshots renamed deterministically: the cache names a
    snapshot ``<position id>-<random UUID4>``, the report ``<position id>-snapshot-<n>`` (n counts that
    position's snapshots from 1 in the order they were taken), sorted as NautilusTrader sorts it."""
    report = ReportProvider.generate_positions_report(cache.positions(), cache.position_snapshots())
    if report.empty:
        return report
    names = {
        snapshot.id.value: f"{position_id.value}-snapshot-{n}"
        for position_id in cache.position_snapshot_ids()
        for n, snapshot in enumerate(cache.position_snapshots(position_id=position_id), start=1)
    }
    report = report.rename(index=names)
    report["_closed"] = pd.to_datetime(report["ts_closed"], utc=True)  # NaT while open, sorted last
    return report.sort_values(["ts_opened", "_closed", "position_id"]).drop(columns="_closed")


def group_rows(run: BacktestRun, groups: GroupBook) -> list[dict]:
    """Each group as summary.json lists it: :meth:`PositionGroup.to_dict` and its P&L at the closing side."""
    rows = []
    for group in groups:
        pnl_closing = closing_pnl(run.engine.cache, group)
        rows.append(group.to_dict() | {"pnl_closing": None if pnl_closing is None else round(pnl_closing, 2)})
    return rows


def statistics(run: BacktestRun, rows: list[dict], daily: list[tuple[dt.date, float]]) -> dict:
    """statistics.json: the P&L totals at mid and at the closing side, the groups as trades (overall and by
    structure) and the daily equity curve's risk figures (docs/backtest.md)."""
    cache, portfolio, starting = run.engine.cache, run.engine.portfolio, run.settings.venue.starting_balance
    total = round(marked_equity(cache, portfolio, run.venue) - starting, 2)
    overall = group_statistics(rows)
    structures = sorted({row["structure"] for row in rows})
    return {
        "pnl": {
            "total": total,
            "total_closing": round(marked_equity(cache, portfolio, run.venue, closing=True) - starting, 2),
            "realized": overall["realized"],
            "unrealized": overall["unrealized"],
            "unrealized_closing": overall["unrealized_closing"],
            "outside_groups": round(total - overall["realized"] - overall["unrealized"], 2),
        },
        "groups": overall,
        "by_structure": {name: group_statistics([r for r in rows if r["structure"] == name]) for name in structures},
        "equity": equity_statistics(starting, daily),
    }


def nautilus_statistics(run: BacktestRun) -> dict:
    """NautilusTrader's portfolio analyzer statistics, computed per leg position (NaN as null)."""
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


def summary(run: BacktestRun, leg_fill_count: int, groups: GroupBook, rows: list[dict], stats: dict) -> dict:
    """The run in one deterministic JSON document (no wall-clock values)."""
    cache, settings, portfolio = run.engine.cache, run.settings, run.engine.portfolio
    account = portfolio.account(run.venue)
    balance = account.balance_total(USD).as_double()
    positions = [*cache.positions(), *cache.position_snapshots()]
    commissions = account.commissions().get(USD)
    orders = cache.orders()
    return {
        "schema_version": SUMMARY_SCHEMA_VERSION,
        "name": settings.name,
        "config_file": str(settings.config_file),
        "catalog": str(settings.catalog),
        "venue": run.venue.value,
        "start": run.start.isoformat(),
        "end": run.end.isoformat(),
        "seed": settings.seed,
        "fill_model": run.fill_model.assumptions() | {"jumped_through": run.leg_pricer.jumped_through},
        "fee_per_contract": settings.venue.fee_per_contract,
        "fee_per_share": settings.venue.fee_per_share,
        "share_fee_minimum": settings.venue.share_fee_minimum,
        "starting_balance": settings.venue.starting_balance,
        "ending_balance": round(balance, 2),
        "ending_equity": round(marked_equity(cache, portfolio, run.venue), 2),
        "ending_equity_closing": round(marked_equity(cache, portfolio, run.venue, closing=True), 2),
        "commissions": round(commissions.as_double(), 2) if commissions is not None else 0.0,
        "statistics": stats,
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
        "out_of_ratio": [{"group_id": g.group_id, **gap.to_dict()} for g in groups for gap in g.out_of_ratio],
        "groups": rows,
        "actions": actions_summary(cached_actions(cache), groups),
        "notices": cached_notices(cache),
        "risk_refusals": cached_refusals(cache),
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
