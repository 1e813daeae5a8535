"""IV rank, IV percentile and constant-maturity ATM IV."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hybrid.options.ivrank import IVRank, constant_maturity_atm_iv, iv_rank, iv_rank_series


def _daily(values) -> pd.Series:
    start = dt.date(2023, 1, 2)
    return pd.Series(values, index=[start + dt.timedelta(days=i) for i in range(len(values))], dtype=float)


def test_rank_and_percentile_by_hand() -> None:
    iv = _daily([0.20, 0.10, 0.30, 0.25, 0.15])
    r = iv_rank(iv, window=5)
    assert r.rank == pytest.approx((0.15 - 0.10) / (0.30 - 0.10) * 100)  # 25
    assert r.percentile == pytest.approx(1 / 4 * 100)  # only 0.10 of the 4 other days is lower
    assert iv_rank(iv, window=3) == IVRank(rank=pytest.approx(0.0), percentile=pytest.approx(0.0))


def test_series_matches_a_plain_loop_and_the_single_value() -> None:
    rng = np.random.default_rng(11)
    iv = _daily(0.2 * np.exp(np.cumsum(rng.normal(0, 0.06, 400))))
    iv.iloc[50:60] = iv.iloc[49]  # ties
    window = 30
    frame = iv_rank_series(iv, window)
    assert list(frame.columns) == ["rank", "percentile"]
    assert frame.index[0] == iv.index[window - 1] and len(frame) == len(iv) - window + 1
    for end in range(window, len(iv) + 1, 7):
        days = iv.iloc[end - window : end].to_numpy()
        today = days[-1]
        expected_rank = 50.0 if days.max() == days.min() else (today - days.min()) / (days.max() - days.min()) * 100
        assert frame["rank"].iloc[end - window] == pytest.approx(expected_rank)
        assert frame["percentile"].iloc[end - window] == pytest.approx((days[:-1] < today).mean() * 100)
    last = iv_rank(iv, window)
    assert (last.rank, last.percentile) == pytest.approx(tuple(frame.iloc[-1]))


def test_flat_window_is_neither_high_nor_low() -> None:
    r = iv_rank([0.2] * 252)
    assert r == IVRank(rank=50.0, percentile=0.0)


@pytest.mark.parametrize(
    ("values", "window", "message"),
    [
        ([0.2] * 100, 252, "at least 252 daily observations, got 100"),
        ([0.2, math.nan, 0.3], 2, "finite and > 0"),
        ([0.2, 0.0, 0.3], 2, "finite and > 0"),
        ([0.2] * 10, 1, "window must be >= 2"),
    ],
)
def test_clear_errors(values, window, message) -> None:
    with pytest.raises(ValueError, match=message):
        iv_rank(values, window)


def test_series_must_be_in_date_order() -> None:
    with pytest.raises(ValueError, match="date order"):
        iv_rank_series(_daily([0.2, 0.3, 0.25]).iloc[::-1], window=2)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(0.01, 3.0), min_size=5, max_size=60), st.integers(2, 5))
def test_rank_and_percentile_stay_in_0_100(values, window) -> None:
    frame = iv_rank_series(values, window)
    assert frame.notna().all().all()
    assert ((frame >= 0) & (frame <= 100)).all().all()


def test_constant_maturity_interpolates_total_variance_linearly_in_time() -> None:
    years = [21 / 365, 7 / 365, 49 / 365]  # any order
    ivs = [0.22, 0.30, 0.20]
    target = 30 / 365
    expected_variance = 0.22**2 * 21 / 365 + (0.20**2 * 49 / 365 - 0.22**2 * 21 / 365) * (30 - 21) / (49 - 21)
    assert constant_maturity_atm_iv(years, ivs, target) == pytest.approx(math.sqrt(expected_variance / target))
    assert constant_maturity_atm_iv(years, ivs, 21 / 365) == pytest.approx(0.22)  # on an expiry: its own IV
    flat = constant_maturity_atm_iv([10 / 365, 60 / 365], [0.25, 0.25])
    assert flat == pytest.approx(0.25)


def test_constant_maturity_needs_a_bracket_unless_extrapolating() -> None:
    with pytest.raises(ValueError, match="bracket"):
        constant_maturity_atm_iv([35 / 365, 63 / 365], [0.2, 0.21])
    assert constant_maturity_atm_iv([35 / 365, 63 / 365], [0.2, 0.21], extrapolate=True) == 0.2
    assert constant_maturity_atm_iv([7 / 365, 14 / 365], [0.3, 0.28], extrapolate=True) == 0.28
    with pytest.raises(ValueError, match="same time to expiry"):
        constant_maturity_atm_iv([7 / 365, 7 / 365, 40 / 365], [0.3, 0.31, 0.2])
    with pytest.raises(ValueError, match="one ATM IV per expiry"):
        constant_maturity_atm_iv([7 / 365], [0.3, 0.31])
