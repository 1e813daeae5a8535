"""The daily model: a Markov regime chain driving the 30-day ATM implied vol and the spot's closes.

Everything else (intraday path, surface, quotes, the stored IV history) is derived from this path, so
tests of IV rank and regimes can run it alone, cheaply. A ``scenario`` steers the intraday window's IV
into an IV-rank band computed from the trailing year, keeping the model's day-to-day dynamics inside it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from data.synthetic.config import MarketConfig
from data.synthetic.random_streams import DAILY, stream
from hybrid.calendar import nyse as calendar
from hybrid.options.ivrank import TRADING_DAYS  # one trading year: the time step and the IV-rank window

# IV-rank bands (fractions of the trailing min-max range) a scenario keeps every window day inside.
SCENARIO_BANDS = {"high_iv": (0.58, 0.95), "mid_iv": (0.33, 0.47), "low_iv": (0.03, 0.25)}
# A scenario starts steering this many sessions before the window, so the window opens inside its band.
SCENARIO_LEAD_DAYS = 5


@dataclass(frozen=True)
class DailyPath:
    """Daily closes of the model: warm-up history first, then the intraday window (``window_start`` on)."""

    dates: list[dt.date]
    close_ns: np.ndarray  # int64 UTC nanoseconds of each session's close
    regime: np.ndarray  # int8 index into config.REGIMES
    iv30: np.ndarray  # 30-day constant-maturity ATM implied vol at the close
    spot: np.ndarray  # underlying close
    window_start: int

    @property
    def window_dates(self) -> list[dt.date]:
        return self.dates[self.window_start :]


def _stationary(transition: np.ndarray) -> np.ndarray:
    return np.linalg.matrix_power(transition, 2048)[0]


def _nearest_regime(log_iv: float, log_targets: np.ndarray) -> int:
    return int(np.argmin(np.abs(log_targets - log_iv)))


def _steer_into_band(candidate: float, low: float, high: float, band: tuple[float, float]) -> float:
    """Map a candidate IV into the rank band: identity-like near the band centre, never outside it."""
    lo, hi = band
    centre, width = (lo + hi) / 2, hi - lo
    rank = (candidate - low) / (high - low)
    squashed = lo + width / (1.0 + np.exp(-4.0 * (rank - centre) / width))
    return float(low + squashed * (high - low))


def daily_path(config: MarketConfig) -> DailyPath:
    """Simulate the regime chain, log-IV Ornstein-Uhlenbeck and spot closes for history + window."""
    window = calendar.next_sessions(config.start, config.days)
    history = calendar.previous_sessions(window[0], config.history_days)
    dates = history + window
    n, w = len(dates), len(history)
    vm = config.vol
    step = 1.0 / TRADING_DAYS
    root_step = np.sqrt(step)
    transition = np.asarray(vm.transition)
    cumulative = np.cumsum(transition, axis=1)
    log_targets = np.log(np.asarray(vm.regime_iv))
    vol_of_vol = np.asarray(vm.regime_vol_of_vol)
    rho = vm.spot_vol_corr
    kappa = np.asarray(vm.regime_mean_reversion)
    band = SCENARIO_BANDS.get(config.scenario) if config.scenario else None
    first_forced = max(w - SCENARIO_LEAD_DAYS, TRADING_DAYS - 1)

    rng = stream(config.seed, DAILY)
    uniform = rng.random(n)
    z_vol = rng.standard_normal(n)
    z_spot = rng.standard_normal(n)

    regime = np.empty(n, dtype=np.int8)
    log_iv = np.empty(n)
    log_spot = np.zeros(n)
    regime[0] = int(np.searchsorted(np.cumsum(_stationary(transition)), uniform[0]))
    log_iv[0] = log_targets[regime[0]]
    for d in range(1, n):
        reg = int(np.searchsorted(cumulative[regime[d - 1]], uniform[d]))
        prev = log_iv[d - 1]
        forced = band if d >= first_forced else None
        if forced is not None:
            trailing = np.exp(log_iv[d - TRADING_DAYS + 1 : d])
            low, high = float(trailing.min()), float(trailing.max())
            target = np.log(low + (forced[0] + forced[1]) / 2 * (high - low))
        else:
            target = log_targets[reg]
        speed = kappa[reg] * (vm.upward_reversion_multiple if target > prev else 1.0)
        drift = (target - prev) * -np.expm1(-speed * step)  # exact OU mean step, never overshoots
        shock = vol_of_vol[reg] * root_step * z_vol[d]
        log_iv[d] = prev + drift + shock
        if forced is not None:
            log_iv[d] = np.log(_steer_into_band(float(np.exp(log_iv[d])), low, high, forced))
            reg = _nearest_regime(log_iv[d], log_targets)
            shock = log_iv[d] - prev - drift
        regime[d] = reg
        z_v = np.clip(shock / (vol_of_vol[reg] * root_step), -5.0, 5.0)
        sigma = vm.realized_to_implied * np.exp(prev)
        z_s = rho * z_v + np.sqrt(1.0 - rho * rho) * z_spot[d]
        log_spot[d] = log_spot[d - 1] + (vm.spot_drift - 0.5 * sigma * sigma) * step + sigma * root_step * z_s

    spot = config.spot * np.exp(log_spot - log_spot[w - 1])
    close_ns = np.array([calendar.session_open_close(day)[1].value for day in dates], dtype=np.int64)
    return DailyPath(dates, close_ns, regime, np.exp(log_iv), spot, w)
