"""A real backtest of the spread demo over the small catalog: report files, leg fills, groups, statistics,
determinism."""

from __future__ import annotations

import json
import math
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from nautilus_trader.model.identifiers import InstrumentId, generic_spread_id_to_list

from hybrid.backtest import run_and_report
from hybrid.calendar.nyse import is_trading_day
from hybrid.runconfig import load_settings

pytestmark = pytest.mark.slow  # a backtest, a server or a subprocess per test

CONFIG = Path(__file__).resolve().parents[1] / "support" / "backtest_small.toml"
NONDETERMINISTIC = ["event_id"]  # a fresh UUID4 per event


def run(catalog: Path, out: Path) -> Path:
    return run_and_report(load_settings(CONFIG, catalog=catalog, out=out))


@pytest.fixture(scope="module")
def report(small_catalog: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return run(small_catalog, tmp_path_factory.mktemp("report") / "first")


@pytest.fixture(scope="module")
def summary(report: Path) -> dict:
    return json.loads((report / "summary.json").read_text())


def test_report_files_exist_and_parse(report: Path) -> None:
    for name in (
        "orders.csv",
        "fills.csv",
        "leg_fills.csv",
        "positions.csv",
        "account.csv",
        "equity.csv",
        "equity_daily.csv",
        "groups.csv",
    ):
        assert len(pd.read_csv(report / name)) > 0, name
    stats = json.loads((report / "statistics.json").read_text())
    assert set(stats) == {"pnl", "groups", "by_structure", "equity"}
    nautilus = json.loads((report / "nautilus_position_statistics.json").read_text())
    assert set(nautilus) == {"pnls", "returns", "general"}
    assert "PnL (total)" in nautilus["pnls"]
    assert (report / "equity.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = (report / "equity.html").read_text()
    assert "<svg" in page and "<polyline" in page
    offline = page.replace("http://www.w3.org/2000/svg", "")  # the SVG namespace is a name, not a fetch
    assert "http:" not in offline and "https:" not in offline and "<script" not in offline


def test_every_spread_fill_has_leg_fills_of_ratio_times_its_quantity(report: Path) -> None:
    fills = pd.read_csv(report / "fills.csv")
    legs = pd.read_csv(report / "leg_fills.csv")
    assert len(fills) > 0
    for order_id, spread_fills in fills.groupby("client_order_id"):
        spread_id = InstrumentId.from_str(spread_fills["instrument_id"].iloc[0])
        quantity = spread_fills["last_qty"].sum()
        side = spread_fills["order_side"].iloc[0]
        for leg_id, ratio in generic_spread_id_to_list(spread_id):
            rows = legs[legs["client_order_id"] == f"{order_id}-LEG-{leg_id.symbol.value}"]
            assert rows["last_qty"].sum() == abs(ratio) * quantity, (order_id, leg_id)
            expected_side = side if ratio > 0 else ("SELL" if side == "BUY" else "BUY")
            assert set(rows["order_side"]) == {expected_side}
        # sum(ratio x leg price) is the spread price to the cent (hybrid.nautilus_compat.leg_prices)
        mine = legs[legs["client_order_id"].str.startswith(f"{order_id}-LEG-")]
        by_leg = {InstrumentId.from_str(i): px for i, px in zip(mine["instrument_id"], mine["last_px"], strict=True)}
        net = sum(ratio * Decimal(str(by_leg[leg_id])) for leg_id, ratio in generic_spread_id_to_list(spread_id))
        assert net == Decimal(str(spread_fills["last_px"].iloc[0]))


def test_summary_groups_are_balanced_and_add_up(report: Path, summary: dict) -> None:
    groups = summary["groups"]
    traded = [g for g in groups if g["opened_units"] > 0]
    assert traded, "the demo opened no group"
    assert any(g["status"] == "closed" for g in groups)
    for group in groups:
        assert group["balanced"] and group["unbalanced_at_ns"] is None
        assert group["source"] == "autonomous" and group["structure"] == "bull_call_spread"
        for leg in group["legs"]:
            assert leg["filled_quantity"] == leg["expected_quantity"] == leg["ratio"] * group["units"]
    for group in traded:
        assert group["entry_premium"] > 0
    assert summary["all_groups_balanced"] is True
    pnl = summary["statistics"]["pnl"]
    assert sum(g["pnl"] for g in groups) == pytest.approx(pnl["total"], abs=0.01)
    assert sum(g["pnl_closing"] for g in groups) == pytest.approx(pnl["total_closing"], abs=0.01)
    assert sum(g["commissions"] for g in groups) == pytest.approx(summary["commissions"], abs=0.01)
    assert pnl["total"] == pytest.approx(pnl["realized"] + pnl["unrealized"], abs=0.01)
    assert pnl["outside_groups"] == 0
    counts = summary["counts"]
    assert counts["fills"] == len(pd.read_csv(report / "fills.csv"))
    assert counts["leg_fills"] == len(pd.read_csv(report / "leg_fills.csv"))
    assert counts["orders"] == len(pd.read_csv(report / "orders.csv"))
    assert counts["groups"] == len(groups)


def test_statistics_agree_with_the_equity_curve_and_the_groups(report: Path, summary: dict) -> None:
    """Every figure of statistics.json recomputed from equity.csv and groups.csv (docs/backtest.md)."""
    stats = json.loads((report / "statistics.json").read_text())
    assert summary["statistics"] == stats
    start = summary["starting_balance"]
    groups = pd.read_csv(report / "groups.csv")
    assert groups["group_id"].tolist() == [g["group_id"] for g in summary["groups"]]
    closed = groups[groups["status"] == "closed"]["pnl"]
    still_open = groups[groups["status"] == "open"]
    assert len(closed) > 0 and len(still_open) > 0
    wins, losses = closed[closed > 0], closed[closed < 0]
    pnl, trades = stats["pnl"], stats["groups"]
    assert pnl["realized"] == pytest.approx(closed.sum(), abs=0.005)
    assert pnl["unrealized"] == pytest.approx(still_open["pnl"].sum(), abs=0.005)
    assert pnl["unrealized_closing"] == pytest.approx(still_open["pnl_closing"].sum(), abs=0.005)
    assert (still_open["pnl_closing"] < still_open["pnl"]).all()  # closing pays the half-spreads
    assert trades["closed"] == len(closed) and trades["open"] == len(still_open)
    assert trades["win_rate"] == pytest.approx(len(wins) / len(closed), abs=1e-4)
    assert trades["expectancy"] == pytest.approx(closed.mean(), abs=0.005)
    if len(losses):
        assert trades["average_loser"] == pytest.approx(losses.mean(), abs=0.005)
        assert trades["profit_factor"] == pytest.approx(wins.sum() / -losses.sum(), abs=1e-4)
    if len(wins):
        assert trades["average_winner"] == pytest.approx(wins.mean(), abs=0.005)

    curve = pd.read_csv(report / "equity.csv")
    assert pnl["total"] == pytest.approx(curve["equity"].iloc[-1] - start, abs=0.005)
    assert summary["ending_equity"] == pytest.approx(start + pnl["total"], abs=0.005)
    assert summary["ending_equity_closing"] == pytest.approx(start + pnl["total_closing"], abs=0.005)
    day = pd.to_datetime(curve["ts_ns"], unit="ns", utc=True).dt.tz_convert("America/New_York").dt.date
    closes = curve.groupby(day)["equity"].last()
    closes = closes[[is_trading_day(d) for d in closes.index]]
    assert pd.read_csv(report / "equity_daily.csv")["equity"].tolist() == closes.tolist()
    returns = pd.concat([pd.Series([start]), closes.reset_index(drop=True)]).pct_change().dropna()
    equity = stats["equity"]
    assert equity["sessions"] == len(closes) == 4
    assert equity["sharpe"] == pytest.approx(returns.mean() / returns.std() * math.sqrt(252), abs=1e-4)
    downside = math.sqrt((returns.clip(upper=0) ** 2).mean())
    assert equity["sortino"] == pytest.approx(returns.mean() / downside * math.sqrt(252), abs=1e-4)
    peaks = pd.concat([pd.Series([start]), closes.reset_index(drop=True)]).cummax()
    assert equity["max_drawdown"] == pytest.approx((peaks.iloc[1:] - closes.to_numpy()).max(), abs=0.005)


def test_equity_is_sampled_on_simulated_time_not_only_at_fills(report: Path, summary: dict) -> None:
    curve = pd.read_csv(report / "equity.csv")
    steps = curve["ts_ns"].diff().dropna()
    assert (steps[:-1] == 30 * 60 * 1_000_000_000).all()  # every 30 simulated minutes, then the final sample
    assert len(curve) > 10 * summary["counts"]["fills"]
    assert curve["equity"].iloc[0] == summary["starting_balance"]
    assert curve["equity"].iloc[-1] == pytest.approx(summary["ending_equity"], abs=0.01)


def test_same_seed_gives_identical_fills(report: Path, summary: dict, small_catalog: Path, tmp_path: Path) -> None:
    again = run(small_catalog, tmp_path / "second")
    for name in ("fills.csv", "leg_fills.csv"):
        first = pd.read_csv(report / name).drop(columns=NONDETERMINISTIC)
        second = pd.read_csv(again / name).drop(columns=NONDETERMINISTIC)
        pd.testing.assert_frame_equal(first, second)
    assert json.loads((again / "summary.json").read_text()) == summary
