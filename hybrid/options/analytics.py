"""``analyze``: everything the CLI and the API show about a multi-leg structure, in one call.

Inputs are per one unit of the structure (``hybrid.options.legs.Leg``: option legs in contracts,
underlying legs in shares, ``price`` = premium per share, ``iv`` = the leg's own vol). Outputs are in
dollars per one unit; ``AnalysisResult.to_dict()`` is the JSON contract, with exactly these keys:

- ``net_premium``: > 0 a debit paid to open one unit, < 0 a credit received (from the legs' prices; a
  leg without one is valued at Black-Scholes, an underlying leg at spot);
- ``max_profit`` / ``max_loss``: highest and lowest P&L at the first expiry over all prices 0..inf
  (``max_loss`` is negative when money can be lost), null when unbounded;
- ``breakevens``: ascending prices where the P&L at the first expiry turns from profit to none;
- ``probability_of_profit``: risk-neutral probability of a P&L above zero at the first expiry
  (lognormal price, drift rate - dividend, the market ``vol``);
- ``greeks``: {"delta", "gamma", "vega", "theta"} share-equivalent, as NautilusTrader reports portfolio
  Greeks (delta in shares, gamma in shares per $1, vega in $ per vol point, theta in $ per day);
- ``payoff``: three equally long arrays {"price", "expiry_pnl", "today_pnl"}: the underlying price,
  the P&L at the first expiry (later legs at Black-Scholes) and the P&L at ``as_of``.

Time: ``as_of`` (default today) is a date, read as its 16:00 New York close, or a datetime; time to
expiry = (expiry 16:00 New York - as_of) / 365 days. No nan or inf anywhere: the results are JSON-safe.
The modules behind it: ``pricing`` (Black-Scholes arrays, day count), ``payoff`` (P&L, extremes,
breakevens, probability), ``greeks`` (NautilusTrader Greeks and implied vols).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from hybrid.options.greeks import PositionGreeks, position_greeks
from hybrid.options.legs import Leg
from hybrid.options.payoff import Structure, pnl, price_grid, profit_profile

DEFAULT_POINTS = 201


@dataclass(frozen=True, slots=True, eq=False)
class PayoffCurve:
    """P&L of one unit over a price grid: at the first expiry and at as_of (dollars)."""

    price: NDArray[np.float64]
    expiry_pnl: NDArray[np.float64]
    today_pnl: NDArray[np.float64]

    def to_dict(self) -> dict[str, list[float]]:
        return {name: getattr(self, name).tolist() for name in ("price", "expiry_pnl", "today_pnl")}


@dataclass(frozen=True, slots=True, eq=False)
class AnalysisResult:
    """What ``analyze`` found; see the module docstring for units and signs."""

    net_premium: float
    max_profit: float | None
    max_loss: float | None
    breakevens: tuple[float, ...]
    probability_of_profit: float
    greeks: PositionGreeks
    payoff: PayoffCurve

    def to_dict(self) -> dict:
        """The JSON contract of the CLI and the API."""
        return {
            "net_premium": self.net_premium,
            "max_profit": self.max_profit,
            "max_loss": self.max_loss,
            "breakevens": list(self.breakevens),
            "probability_of_profit": self.probability_of_profit,
            "greeks": self.greeks.to_dict(),
            "payoff": self.payoff.to_dict(),
        }


def analyze(
    legs: Sequence[Leg],
    spot: float,
    vol: float,
    rate: float = 0.0,
    dividend: float = 0.0,
    as_of: dt.date | None = None,
    multiplier: int = 100,
    points: int = DEFAULT_POINTS,
) -> AnalysisResult:
    """Premium, extremes, breakevens, probability of profit, Greeks and payoff curves of one unit.

    ``vol`` prices legs without their own ``iv`` and drives the probability of profit; ``points`` is the
    number of evenly spaced prices of the payoff curves (the strikes are added to them).
    """
    structure = Structure.build(legs, spot, vol, rate, dividend, as_of, multiplier)
    profile = profit_profile(structure)
    prices = price_grid(structure, points)
    return AnalysisResult(
        net_premium=structure.premium,
        max_profit=profile.max_profit,
        max_loss=profile.max_loss,
        breakevens=profile.breakevens,
        probability_of_profit=profile.probability_of_profit,
        greeks=position_greeks(structure),
        payoff=PayoffCurve(prices, pnl(structure, prices, structure.horizon), pnl(structure, prices, 0.0)),
    )
