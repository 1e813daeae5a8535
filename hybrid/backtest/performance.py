"""A run's performance as a trader reads it: the groups as trades, and the daily equity curve marked to mid.

A trade is a position group (:mod:`hybrid.tracking.groups`), not a leg position: a closed group's P&L
is realized, an open one's is unrealized (at mid, and at the side closing it would trade at). A win is
a closed group with P&L > 0, a loss one with P&L < 0. Risk figures come from the daily curve: the
marked equity (:func:`hybrid.valuation.pnl.marked_equity`) at the end of each NYSE session, the last
sample the :class:`hybrid.backtest.equity.EquitySampler` took on that New York date, after the starting
balance. Every figure is computed from the rounded values the report writes (``groups.csv``,
``equity.csv``), so each one can be recomputed from those files; the definitions are in docs/backtest.md.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from itertools import pairwise
from statistics import fmean, stdev

from hybrid.calendar.exchange_time import ns_new_york_date
from hybrid.calendar.nyse import is_trading_day

TRADING_DAYS_PER_YEAR = 252  # Sharpe and Sortino are annualized by sqrt(252), with a risk-free rate of 0
_RATIO_DIGITS = 4


def group_statistics(groups: Sequence[Mapping]) -> dict:
    """Counts, trade figures of the closed groups and the P&L of closed and open ones, from group rows
    (``status``, ``pnl`` and ``pnl_closing`` as in ``groups.csv``)."""
    closed = [g["pnl"] for g in groups if g["status"] == "closed"]
    open_groups = [g for g in groups if g["status"] == "open"]
    priced = [g for g in open_groups if g["pnl"] is not None]
    return {
        "count": len(groups),
        "closed": len(closed),
        "open": len(open_groups),
        "unfilled": sum(1 for g in groups if g["status"] == "unfilled"),
        **trade_statistics(closed),
        "realized": _money(math.fsum(closed)),
        "unrealized": _money(math.fsum(g["pnl"] for g in priced)),
        "unrealized_closing": _money(math.fsum(g["pnl_closing"] for g in priced)),
        "unpriced_open": len(open_groups) - len(priced),
    }


def trade_statistics(pnls: Sequence[float]) -> dict:
    """Win rate, average and largest winner and loser, profit factor and expectancy of closed trades' P&Ls."""
    winners = [p for p in pnls if p > 0]
    losers = [p for p in pnls if p < 0]
    gross_profit, gross_loss = math.fsum(winners), math.fsum(losers)
    return {
        "winners": len(winners),
        "losers": len(losers),
        "win_rate": _ratio(len(winners) / len(pnls)) if pnls else None,
        "average_winner": _money(fmean(winners)) if winners else None,
        "average_loser": _money(fmean(losers)) if losers else None,
        "largest_winner": max(winners, default=None),
        "largest_loser": min(losers, default=None),
        "gross_profit": _money(gross_profit),
        "gross_loss": _money(gross_loss),
        "profit_factor": _ratio(gross_profit / -gross_loss) if losers else None,
        "expectancy": _money(math.fsum(pnls) / len(pnls)) if pnls else None,
    }


def daily_equity(curve: Sequence[tuple[int, float]]) -> list[tuple[dt.date, float]]:
    """The equity at the end of each NYSE session the curve covers: its last sample of that New York date."""
    closes: dict[dt.date, float] = {}
    for ts_ns, equity in curve:
        closes[ns_new_york_date(ts_ns)] = equity
    return sorted((day, equity) for day, equity in closes.items() if is_trading_day(day))


def daily_returns(starting_balance: float, daily: Sequence[tuple[dt.date, float]]) -> list[float]:
    """Each session's return on the previous session's close (the first one's on the starting balance)."""
    values = [starting_balance, *(equity for _, equity in daily)]
    return [now / before - 1 for before, now in pairwise(values)]


def equity_statistics(starting_balance: float, daily: Sequence[tuple[dt.date, float]]) -> dict:
    """Return, volatility, Sharpe, Sortino and the maximum drawdown of the daily curve (module docstring)."""
    returns = daily_returns(starting_balance, daily)
    mean = fmean(returns) if returns else None
    volatility = stdev(returns) if len(returns) > 1 else None
    downside = math.sqrt(fmean([min(r, 0.0) ** 2 for r in returns])) if returns else None
    annual = math.sqrt(TRADING_DAYS_PER_YEAR)
    ending = daily[-1][1] if daily else starting_balance
    return {
        "sessions": len(daily),
        "first_session": daily[0][0].isoformat() if daily else None,
        "last_session": daily[-1][0].isoformat() if daily else None,
        "starting_equity": starting_balance,
        "ending_equity": ending,
        "total_return_pct": _ratio(100 * (ending / starting_balance - 1)),
        "mean_daily_return_pct": None if mean is None else _ratio(100 * mean),
        "daily_volatility_pct": None if volatility is None else _ratio(100 * volatility),
        "sharpe": _ratio(mean / volatility * annual) if mean is not None and volatility else None,
        "sortino": _ratio(mean / downside * annual) if mean is not None and downside else None,
        **max_drawdown(starting_balance, daily),
        "annualization_sessions": TRADING_DAYS_PER_YEAR,
    }


def max_drawdown(starting_balance: float, daily: Sequence[tuple[dt.date, float]]) -> dict:
    """The largest fall of the daily curve from a running peak (the starting balance counts as the first
    peak, dated null), in dollars and in percent of that peak, with the peak's and the trough's sessions."""
    peak_day: dt.date | None = None
    peak = starting_balance
    worst: tuple[float, float, dt.date | None, dt.date | None] = (0.0, 0.0, None, None)  # $, %, peak, trough
    for day, equity in daily:
        if equity > peak:
            peak, peak_day = equity, day
        elif peak - equity > worst[0]:
            worst = (peak - equity, 100 * (peak - equity) / peak, peak_day, day)
    dollars, percent, peak_of, trough = worst
    return {
        "max_drawdown": _money(dollars),
        "max_drawdown_pct": _ratio(percent),
        "max_drawdown_peak": None if peak_of is None else peak_of.isoformat(),
        "max_drawdown_trough": None if trough is None else trough.isoformat(),
    }


def _money(value: float) -> float:
    return round(value, 2)


def _ratio(value: float) -> float:
    return round(value, _RATIO_DIGITS)
