"""Intraday continuation of the daily path: correlated Brownian bridges between consecutive closes.

Each window day's log spot and log IV move from the previous close to that day's close through an
overnight gap and regular-hours steps of ``underlying_interval_s``; the bridge pins both ends, so the
intraday quotes close exactly on the daily model that the stored IV history and IV-rank tests use.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from data.synthetic.config import MarketConfig
from data.synthetic.random_streams import INTRADAY, stream
from data.synthetic.regime_path import DailyPath
from hybrid.calendar import nyse as calendar
from hybrid.options.ivrank import TRADING_DAYS

FULL_SESSION_S = 6.5 * 3600


@dataclass(frozen=True)
class IntradayPath:
    """The model at every underlying quote time of the window (all days concatenated, time-ordered)."""

    ts_ns: np.ndarray  # uint64 UTC nanoseconds, session open to close minus one interval
    spot: np.ndarray
    iv30: np.ndarray
    day: np.ndarray  # window-day index of each point
    step_in_day: np.ndarray  # 0 at the open, +1 per underlying interval
    open_ns: np.ndarray  # int64 session open of each window day


def _bridge(start: float, end: float, walk: np.ndarray, tau: np.ndarray) -> np.ndarray:
    """A random walk sampled at variance-times ``tau`` (last = the close) pinned to ``start`` and ``end``."""
    return start + walk - tau / tau[-1] * (walk[-1] - (end - start))


def intraday_path(config: MarketConfig, daily: DailyPath) -> IntradayPath:
    """Sample spot and 30-day ATM IV every ``underlying_interval_s`` through each window session."""
    vm = config.vol
    interval = config.underlying_interval_s
    step_share = (1.0 - vm.overnight_variance_share) * interval / FULL_SESSION_S
    day_var = 1.0 / TRADING_DAYS
    rho = vm.spot_vol_corr
    vol_of_vol = np.asarray(vm.regime_vol_of_vol)
    rng = stream(config.seed, INTRADAY)

    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("ts", "spot", "iv", "day", "step")}
    opens = []
    for i, day in enumerate(daily.window_dates):
        d = daily.window_start + i
        open_, close = calendar.session_open_close(day)
        steps = int((close - open_).total_seconds()) // interval
        # variance-time at the open (after the overnight gap), then at each step up to the close
        dtau = np.full(steps + 1, step_share)
        dtau[0] = vm.overnight_variance_share
        tau = np.cumsum(dtau)
        z_vol, z_ind = rng.standard_normal((2, steps + 1))
        z_spot = rho * z_vol + np.sqrt(1.0 - rho * rho) * z_ind
        scale = np.sqrt(dtau * day_var)
        sigma = vm.realized_to_implied * daily.iv30[d - 1]
        log_spot = _bridge(np.log(daily.spot[d - 1]), np.log(daily.spot[d]), np.cumsum(sigma * scale * z_spot), tau)
        log_iv = _bridge(
            np.log(daily.iv30[d - 1]),
            np.log(daily.iv30[d]),
            np.cumsum(vol_of_vol[daily.regime[d]] * scale * z_vol),
            tau,
        )
        step = np.arange(steps)
        parts["ts"].append(open_.value + step.astype(np.int64) * interval * 1_000_000_000)
        parts["spot"].append(np.exp(log_spot[:-1]))
        parts["iv"].append(np.exp(log_iv[:-1]))
        parts["day"].append(np.full(steps, i, dtype=np.int32))
        parts["step"].append(step)
        opens.append(open_.value)

    return IntradayPath(
        ts_ns=np.concatenate(parts["ts"]).astype(np.uint64),
        spot=np.concatenate(parts["spot"]),
        iv30=np.concatenate(parts["iv"]),
        day=np.concatenate(parts["day"]),
        step_in_day=np.concatenate(parts["step"]),
        open_ns=np.asarray(opens, dtype=np.int64),
    )
