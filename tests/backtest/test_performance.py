"""The report's performance figures on hand-made groups and equity curves: trades, daily curve, Sharpe, drawdown."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from hybrid.backtest.performance import (
    daily_equity,
    daily_returns,
    equity_statistics,
    group_statistics,
    max_drawdown,
    trade_statistics,
)
from hybrid.calendar.exchange_time import NEW_YORK


def ns(day: dt.date, hour: int, minute: int = 0) -> int:
    return int(dt.datetime.combine(day, dt.time(hour, minute), tzinfo=NEW_YORK).timestamp() * 1e9)


TUE, WED, FRI, SAT = dt.date(2024, 1, 2), dt.date(2024, 1, 3), dt.date(2024, 1, 5), dt.date(2024, 1, 6)


def test_a_win_is_a_closed_trade_above_zero_and_a_loss_one_below() -> None:
    stats = trade_statistics([300.0, -100.0, 0.0, 100.0, -300.0])
    assert stats == {
        "winners": 2,
        "losers": 2,
        "win_rate": 0.4,  # the break-even trade counts as a trade, neither a win nor a loss
        "average_winner": 200.0,
        "average_loser": -200.0,
        "largest_winner": 300.0,
        "largest_loser": -300.0,
        "gross_profit": 400.0,
        "gross_loss": -400.0,
        "profit_factor": 1.0,
        "expectancy": 0.0,
    }


def test_without_trades_or_losers_the_ratios_are_null() -> None:
    none = trade_statistics([])
    assert none["win_rate"] is None and none["expectancy"] is None and none["profit_factor"] is None
    only_wins = trade_statistics([10.0, 30.0])
    assert only_wins["profit_factor"] is None and only_wins["win_rate"] == 1.0 and only_wins["expectancy"] == 20.0


def test_closed_groups_are_realized_and_open_ones_unrealized_at_mid_and_at_the_closing_side() -> None:
    groups = [
        {"status": "closed", "pnl": 120.0, "pnl_closing": 120.0},
        {"status": "closed", "pnl": -20.0, "pnl_closing": -20.0},
        {"status": "open", "pnl": 50.0, "pnl_closing": 10.0},
        {"status": "open", "pnl": None, "pnl_closing": None},  # a held leg without a mark
        {"status": "unfilled", "pnl": 0.0, "pnl_closing": 0.0},
    ]
    stats = group_statistics(groups)
    assert (stats["count"], stats["closed"], stats["open"], stats["unfilled"], stats["unpriced_open"]) == (
        5,
        2,
        2,
        1,
        1,
    )
    assert (stats["realized"], stats["unrealized"], stats["unrealized_closing"]) == (100.0, 50.0, 10.0)
    assert (stats["winners"], stats["losers"], stats["win_rate"], stats["profit_factor"]) == (1, 1, 0.5, 6.0)


def test_the_daily_curve_is_the_last_sample_of_each_session() -> None:
    curve = [
        (ns(TUE, 10), 100_000.0),
        (ns(TUE, 15, 30), 100_100.0),
        (ns(TUE, 23, 30), 100_200.0),  # after the close, still Tuesday in New York
        (ns(WED, 0, 30), 100_200.0),  # 05:30 UTC Wednesday
        (ns(WED, 16), 99_900.0),
        (ns(SAT, 12), 99_900.0),  # no session: left out
    ]
    assert daily_equity(curve) == [(TUE, 100_200.0), (WED, 99_900.0)]
    assert daily_equity([]) == []


def test_returns_start_from_the_starting_balance() -> None:
    returns = daily_returns(100_000.0, [(TUE, 101_000.0), (WED, 99_990.0)])
    assert returns == pytest.approx([0.01, 99_990 / 101_000 - 1])


def test_sharpe_and_sortino_are_annualized_daily_ratios_with_a_zero_risk_free_rate() -> None:
    daily = [(TUE, 101_000.0), (WED, 100_495.0), (FRI, 101_500.0)]
    returns = daily_returns(100_000.0, daily)
    mean = sum(returns) / 3
    sd = math.sqrt(sum((r - mean) ** 2 for r in returns) / 2)
    downside = math.sqrt(sum(min(r, 0) ** 2 for r in returns) / 3)
    stats = equity_statistics(100_000.0, daily)
    assert stats["sharpe"] == pytest.approx(mean / sd * math.sqrt(252), abs=1e-4)
    assert stats["sortino"] == pytest.approx(mean / downside * math.sqrt(252), abs=1e-4)
    assert stats["total_return_pct"] == 1.5 and stats["sessions"] == 3
    assert (stats["first_session"], stats["last_session"]) == ("2024-01-02", "2024-01-05")
    assert stats["mean_daily_return_pct"] == pytest.approx(100 * mean, abs=1e-4)


def test_one_session_or_no_losing_day_leaves_the_undefined_ratio_null() -> None:
    one = equity_statistics(100_000.0, [(TUE, 100_500.0)])
    assert one["sharpe"] is None and one["daily_volatility_pct"] is None
    rising = equity_statistics(100_000.0, [(TUE, 100_500.0), (WED, 101_000.0)])
    assert rising["sortino"] is None and rising["sharpe"] is not None
    assert equity_statistics(100_000.0, [])["ending_equity"] == 100_000.0


def test_the_max_drawdown_is_the_largest_fall_from_a_running_peak() -> None:
    daily = [(TUE, 102_000.0), (WED, 99_960.0), (FRI, 103_000.0), (SAT, 101_000.0)]
    assert max_drawdown(100_000.0, daily) == {
        "max_drawdown": 2_040.0,
        "max_drawdown_pct": 2.0,
        "max_drawdown_peak": "2024-01-02",
        "max_drawdown_trough": "2024-01-03",
    }
    falling = max_drawdown(100_000.0, [(TUE, 99_000.0)])
    assert falling["max_drawdown_peak"] is None and falling["max_drawdown"] == 1_000.0  # from the starting balance
    assert max_drawdown(100_000.0, [(TUE, 101_000.0)])["max_drawdown_trough"] is None
