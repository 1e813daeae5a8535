"""IV rank and IV percentile of a daily at-the-money implied-volatility series, and the constant-maturity
ATM IV that such a series is made of.

Definitions, over a trailing window of ``window`` daily observations ending today (inclusive):

- IV rank = (iv_today - min) / (max - min) x 100, the position of today's IV in the window's range;
  a flat window (max = min) has no range to be placed in and gets 50, neither high nor low;
- IV percentile = share of the other ``window - 1`` days of the window whose IV is below today's, x 100.

Both lie in [0, 100]. A constant maturity (30 calendar days by default) keeps the series comparable from
day to day, whereas a fixed expiry's IV drifts as it ages.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

TRADING_DAYS = 252
CONSTANT_MATURITY_YEARS = 30 / 365
_FLAT_RANK = 50.0


@dataclass(frozen=True, slots=True)
class IVRank:
    """IV rank and IV percentile of the latest observation, both in [0, 100]."""

    rank: float
    percentile: float


def _checked(iv: pd.Series | Sequence[float], window: int) -> pd.Series:
    if window < 2:
        raise ValueError(f"window must be >= 2 observations, got {window}")
    series = iv if isinstance(iv, pd.Series) else pd.Series(np.asarray(iv, dtype=float))
    if len(series) < window:
        raise ValueError(f"IV rank over {window} days needs at least {window} daily observations, got {len(series)}")
    values = series.to_numpy(dtype=float)
    bad = ~(np.isfinite(values) & (values > 0))
    if bad.any():
        first = series.index[bad.argmax()]
        raise ValueError(f"implied volatilities must be finite and > 0; first bad one at {first!r}")
    if not series.index.is_monotonic_increasing:
        raise ValueError("the IV series must be in date order (ascending index)")
    return series.astype(float)


def iv_rank_series(iv: pd.Series | Sequence[float], window: int = TRADING_DAYS) -> pd.DataFrame:
    """IV rank and percentile for every day with a full trailing window (columns ``rank``, ``percentile``).

    The first ``window - 1`` days have no full window and are left out, so the frame has no gaps.
    """
    series = _checked(iv, window)
    rolling = series.rolling(window)
    low, high = rolling.min(), rolling.max()
    span = high - low
    rank = ((series - low) / span.where(span > 0) * 100.0).fillna(_FLAT_RANK)
    below = rolling.rank(method="min") - 1.0  # days of the window with a lower IV
    percentile = below / (window - 1) * 100.0
    return pd.DataFrame({"rank": rank, "percentile": percentile}).iloc[window - 1 :]


def iv_rank(iv: pd.Series | Sequence[float], window: int = TRADING_DAYS) -> IVRank:
    """IV rank and percentile of the last observation of a daily ATM IV series (oldest first)."""
    series = _checked(iv, window)
    latest = iv_rank_series(series.iloc[-window:], window).iloc[-1]
    return IVRank(rank=float(latest["rank"]), percentile=float(latest["percentile"]))


def constant_maturity_atm_iv(
    years: ArrayLike, atm_ivs: ArrayLike, target_years: float = CONSTANT_MATURITY_YEARS, extrapolate: bool = False
) -> float:
    """ATM implied volatility at ``target_years`` from the ATM IVs of listed expiries on one day.

    Total variance iv^2 t is interpolated linearly in time between the two expiries that bracket the
    target (arbitrage-free when variance grows with time, unlike interpolating vols). A target outside
    the listed expiries is an error unless ``extrapolate``, which then holds the nearest expiry's IV flat.
    """
    t = np.asarray(years, dtype=float).reshape(-1)
    iv = np.asarray(atm_ivs, dtype=float).reshape(-1)
    if t.size == 0 or t.size != iv.size:
        raise ValueError(f"need one ATM IV per expiry, got {t.size} times and {iv.size} IVs")
    if not (np.all(np.isfinite(t) & (t > 0)) and np.all(np.isfinite(iv) & (iv > 0))):
        raise ValueError("times to expiry and ATM IVs must be finite and > 0")
    if not (math.isfinite(target_years) and target_years > 0):
        raise ValueError(f"target_years must be finite and > 0, got {target_years}")
    order = np.argsort(t)
    t, iv = t[order], iv[order]
    if np.any(np.diff(t) == 0):
        raise ValueError("two ATM IVs for the same time to expiry")
    if not t[0] <= target_years <= t[-1]:
        if not extrapolate:
            listed = f"{t[0] * 365:.1f} to {t[-1] * 365:.1f} days"
            raise ValueError(f"no two expiries bracket {target_years * 365:.1f} days (listed: {listed})")
        return float(iv[0] if target_years < t[0] else iv[-1])
    variance = float(np.interp(target_years, t, iv * iv * t))
    return math.sqrt(variance / target_years)
