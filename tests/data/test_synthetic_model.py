"""The synthetic market's model without writing quotes: regimes, IV rank, scenarios, surface, pricing."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from nautilus_trader.core import nautilus_pyo3

from data.synthetic import MarketConfig
from data.synthetic.chain import ListedContract
from data.synthetic.config import SCENARIOS
from data.synthetic.intraday import intraday_path
from data.synthetic.option_grid import OptionGrid
from data.synthetic.regime_path import SCENARIO_BANDS, SCENARIO_LEAD_DAYS, daily_path
from data.synthetic.surface import atm_vol, smile_vol
from hybrid.options.ivrank import iv_rank_series
from hybrid.options.pricing import bs_greeks

R, Q = 0.045, 0.013


def window_ranks(config: MarketConfig) -> np.ndarray:
    path = daily_path(config)
    ranks = iv_rank_series(pd.Series(path.iv30))["rank"]
    return ranks.iloc[path.window_start - len(path.iv30) :].to_numpy()


@pytest.fixture(scope="module")
def long_paths() -> list:
    """Three years of daily model for a few seeds: enough days to see every regime."""
    return [daily_path(MarketConfig.profile("demo", seed=s, history_days=750, days=260)) for s in range(6)]


def test_demo_default_seed_visits_high_and_middle_iv_rank():
    ranks = window_ranks(MarketConfig.profile("demo"))
    assert len(ranks) == 63
    assert (ranks > 50).sum() >= 15
    assert ((ranks >= 30) & (ranks <= 50)).sum() >= 15


@pytest.mark.parametrize("scenario", ["high_iv", "mid_iv", "low_iv"])
def test_scenario_forces_iv_rank_band_over_the_whole_window(scenario):
    low, high = {"high_iv": (50, 100), "mid_iv": (30, 50), "low_iv": (0, 30)}[scenario]
    for seed in range(4):
        for days in (4, 20):
            ranks = window_ranks(MarketConfig.profile("small", seed=seed, days=days, scenario=scenario))
            assert len(ranks) == days
            assert ((ranks > low) & (ranks < high)).all(), (seed, days, ranks)
    assert set(SCENARIO_BANDS) == set(SCENARIOS)


def test_scenario_changes_only_the_end_of_the_history():
    plain = daily_path(MarketConfig.profile("small", seed=3))
    forced = daily_path(MarketConfig.profile("small", seed=3, scenario="high_iv"))
    assert forced.dates == plain.dates
    unforced = forced.window_start - SCENARIO_LEAD_DAYS
    np.testing.assert_array_equal(forced.iv30[:unforced], plain.iv30[:unforced])
    assert not np.allclose(forced.iv30[forced.window_start :], plain.iv30[plain.window_start :])


def test_iv_mostly_10_to_35_percent_with_spikes_to_60_80(long_paths):
    iv = np.concatenate([p.iv30 for p in long_paths])
    assert ((iv >= 0.10) & (iv <= 0.35)).mean() > 0.85
    assert iv.min() > 0.07 and iv.max() < 1.0
    assert sum(p.iv30.max() >= 0.6 for p in long_paths) >= 3  # most 3-year paths see a spike


def test_regimes_persist_for_weeks(long_paths):
    runs = {0: [], 1: [], 2: []}
    for p in long_paths:
        change = np.flatnonzero(np.diff(p.regime)) + 1
        for segment in np.split(p.regime, change):
            runs[int(segment[0])].append(len(segment))
    assert np.mean(runs[0]) > 20 and np.mean(runs[1]) > 8
    assert all(len(r) > 0 for r in runs.values())


def test_iv_rank_spans_0_to_100(long_paths):
    ranks = np.concatenate([iv_rank_series(pd.Series(p.iv30))["rank"].to_numpy() for p in long_paths])
    share_by_decile = np.histogram(ranks, bins=10, range=(0, 100))[0] / len(ranks)
    assert (share_by_decile > 0.02).all(), share_by_decile


def test_spot_and_vol_move_against_each_other(long_paths):
    corr = [np.corrcoef(np.diff(np.log(p.spot)), np.diff(np.log(p.iv30)))[0, 1] for p in long_paths]
    assert max(corr) < -0.4


def test_spot_starts_at_the_configured_price():
    path = daily_path(MarketConfig.profile("small", spot=123.0))
    assert path.spot[path.window_start - 1] == pytest.approx(123.0)


def test_term_structure_slopes_up_in_calm_and_inverts_in_stress(long_paths):
    model = MarketConfig().vol
    slope = {0: [], 1: [], 2: []}
    for p in long_paths:
        s = atm_vol(p.iv30, 60 / 365, model) - atm_vol(p.iv30, 7 / 365, model)
        for regime in slope:
            slope[regime].append(s[p.regime == regime])
    calm, stressed, spike = (np.concatenate(slope[k]) for k in range(3))
    assert (calm > 0).mean() > 0.75
    assert (stressed < 0).mean() > 0.75
    assert (spike < 0).all()


def _strike_at_delta(iv30: float, days: int, target: float, is_call: bool) -> tuple[float, float]:
    spot, model = 450.0, MarketConfig().vol
    strikes = np.arange(300.0, 600.0, 0.5)
    t = days / 365
    iv = smile_vol(spot, strikes, t, iv30, R - Q, model).iv
    delta = bs_greeks(spot, strikes, t, iv, is_call, R, Q).delta
    i = int(np.argmin(np.abs(delta - target)))
    return strikes[i], iv[i]


@pytest.mark.parametrize("iv30", [0.12, 0.16, 0.30])
def test_put_skew_at_25_delta(iv30):
    atm = float(atm_vol(iv30, 30 / 365, MarketConfig().vol))
    _, put_iv = _strike_at_delta(iv30, 30, -0.25, is_call=False)
    _, call_iv = _strike_at_delta(iv30, 30, 0.25, is_call=True)
    assert 0.015 <= put_iv - atm <= 0.08  # a few vol points above
    assert -0.03 <= call_iv - atm < 0  # slightly below


def test_surface_has_no_static_arbitrage():
    spot, model = 450.0, MarketConfig().vol
    strikes = np.arange(250.0, 700.0, 1.0)
    for days in (0.2, 1, 7, 30, 45, 100):
        for iv30 in (0.08, 0.15, 0.3, 0.7):
            t = days / 365
            iv = smile_vol(spot, strikes, t, iv30, R - Q, model).iv
            calls = bs_greeks(spot, strikes, t, iv, True, R, Q).price
            puts = bs_greeks(spot, strikes, t, iv, False, R, Q).price
            assert (np.diff(calls) <= 1e-9).all() and (np.diff(puts) >= -1e-9).all()
            assert (calls[:-2] - 2 * calls[1:-1] + calls[2:] >= -1e-9).all()


def test_generator_prices_match_nautilus_black_scholes():
    """NautilusTrader's black_scholes_greeks computes in float32; 1e-6 of the spot is its resolution."""
    config = MarketConfig.profile("small")
    daily = daily_path(config)
    grid = OptionGrid(config, intraday_path(config, daily), daily)
    for expiry, cents, right in [(daily.window_dates[3], 45_000, "C"), (dt.date(2024, 2, 16), 40_000, "P")]:
        m = grid.model_values(ListedContract(0, expiry, cents, right), int(grid.ts_ns[0]))
        assert len(m.price) > 10
        reference = [
            nautilus_pyo3.black_scholes_greeks(float(s), R, R - Q, float(v), right == "C", cents / 100, float(t)).price
            for s, v, t in zip(m.spot, m.iv, m.t)
        ]
        np.testing.assert_allclose(m.price, reference, rtol=0, atol=1e-6 * m.spot.max())


def test_intraday_path_runs_through_the_daily_closes():
    config = MarketConfig.profile("small", days=10)
    daily = daily_path(config)
    path = intraday_path(config, daily)
    closes = daily.close_ns[daily.window_start :]
    last = np.flatnonzero(np.diff(path.day, append=path.day[-1] + 1))  # each session's last sample
    assert len(last) == config.days
    assert (closes - path.ts_ns[last].astype(np.int64) == config.underlying_interval_s * 1_000_000_000).all()
    window = slice(daily.window_start, None)
    np.testing.assert_allclose(path.spot[last], daily.spot[window], rtol=0.01)
    np.testing.assert_allclose(path.iv30[last], daily.iv30[window], rtol=0.1)
    first = np.flatnonzero(path.step_in_day == 0)
    assert (path.ts_ns[first].astype(np.int64) == path.open_ns).all()
    assert np.all(np.diff(path.ts_ns.astype(np.int64)) > 0)
