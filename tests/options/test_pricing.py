"""Black-Scholes arrays, chain implied vols and the day count, against closed forms and NautilusTrader."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nautilus_trader.core import nautilus_pyo3

from hybrid.calendar.exchange_time import NEW_YORK
from hybrid.options.pricing import (
    IVStatus,
    as_of_datetime,
    bs_greeks,
    bs_price,
    chain_iv_greeks,
    implied_vol,
    years_to_expiry,
)

R, Q = 0.045, 0.013


def _chain(n: int = 2000, spot: float = 450.0, seed: int = 7):
    """A realistic chain: strikes +-40% around spot, 1 day to 2 years, vols 8-90%, prices worth quoting."""
    rng = np.random.default_rng(seed)
    strikes = np.round(spot * np.exp(rng.uniform(-0.4, 0.4, n)))
    t = rng.choice([1, 2, 5, 7, 14, 30, 60, 90, 180, 365, 730], n) / 365
    is_call = rng.random(n) < 0.5
    vol = rng.uniform(0.08, 0.9, n)
    price = bs_price(spot, strikes, t, vol, is_call, R, Q)
    intrinsic = bs_price(spot, strikes, t, 0.0, is_call, R, Q)
    quoted = (price >= 0.01) & (price - intrinsic >= 0.005)  # at least half a cent of time value
    return spot, strikes[quoted], t[quoted], is_call[quoted], vol[quoted], price[quoted]


def test_put_call_parity() -> None:
    spot, k, t, _, vol, _ = _chain(500)
    call = bs_price(spot, k, t, vol, True, R, Q)
    put = bs_price(spot, k, t, vol, False, R, Q)
    np.testing.assert_allclose(call - put, spot * np.exp(-Q * t) - k * np.exp(-R * t), atol=1e-9)


def test_price_matches_textbook_value() -> None:
    # Hull's example: S=42, K=40, r=10%, vol=20%, t=0.5 -> call 4.76, put 0.81.
    assert bs_price(42.0, 40.0, 0.5, 0.2, True, 0.1) == pytest.approx(4.7594, abs=1e-4)
    assert bs_price(42.0, 40.0, 0.5, 0.2, False, 0.1) == pytest.approx(0.8086, abs=1e-4)


def test_limits_at_zero_time_zero_vol_and_zero_spot() -> None:
    k = np.array([90.0, 100.0, 110.0])
    np.testing.assert_allclose(bs_price(100.0, k, 0.0, 0.3, True), [10.0, 0.0, 0.0])
    np.testing.assert_allclose(bs_price(100.0, k, 0.0, 0.3, False), [0.0, 0.0, 10.0])
    # Zero vol with time left: discounted forward intrinsic.
    forward_intrinsic = np.maximum(100.0 * math.exp(-Q) - k * math.exp(-R), 0.0)
    np.testing.assert_allclose(bs_price(100.0, k, 1.0, 0.0, True, R, Q), forward_intrinsic)
    np.testing.assert_allclose(bs_price(0.0, k, 0.5, 0.2, False, R), k * math.exp(-R * 0.5))
    g = bs_greeks(100.0, k, 0.0, 0.3, True)
    np.testing.assert_array_equal(g.delta, [1.0, 0.5, 0.0])
    for greek in (g.gamma, g.vega, g.theta):
        np.testing.assert_array_equal(greek, 0.0)


def test_greeks_are_the_derivatives_of_the_price() -> None:
    """Double-precision check of every Greek by central differences of the price."""
    spot, k, t, is_call, vol, _ = _chain(300, spot=100.0)
    t = np.maximum(t, 7 / 365)
    g = bs_greeks(spot, k, t, vol, is_call, R, Q)
    h = 1e-3

    def price(s=spot, v=vol, tt=t):
        return bs_price(s, k, tt, v, is_call, R, Q)

    np.testing.assert_allclose(g.price, price(), rtol=1e-12)
    np.testing.assert_allclose(g.delta, (price(s=spot + h) - price(s=spot - h)) / (2 * h), atol=1e-7)
    np.testing.assert_allclose(g.gamma, (price(s=spot + h) - 2 * price() + price(s=spot - h)) / h**2, atol=1e-5)
    np.testing.assert_allclose(g.vega, (price(v=vol + 1e-5) - price(v=vol - 1e-5)) / 2e-5 * 0.01, atol=1e-7)
    dt_year = 1e-6
    theta_per_year = -(price(tt=t + dt_year) - price(tt=t - dt_year)) / (2 * dt_year)
    np.testing.assert_allclose(g.theta, theta_per_year / 365.25, atol=1e-6)


def test_chain_iv_matches_nautilus_and_round_trips() -> None:
    spot, k, t, is_call, vol, price = _chain()
    assert k.size > 1000
    result = chain_iv_greeks(spot, k, t, is_call, price, R, Q)
    assert result.valid.all()
    np.testing.assert_allclose(result.iv, vol, atol=1e-6)
    reference = [
        nautilus_pyo3.imply_vol_and_greeks(spot, R, R - Q, bool(c), float(kk), float(tt), float(p))
        for kk, tt, c, p in zip(k, t, is_call, price)
    ]
    np.testing.assert_allclose(result.iv, [g.vol for g in reference], atol=1e-6)
    # NautilusTrader evaluates Greeks in single precision: agreement to its float32 accuracy.
    for name in ("delta", "gamma", "vega", "theta"):
        theirs = np.array([getattr(g, name) for g in reference])
        np.testing.assert_allclose(getattr(result, name), theirs, rtol=2e-4, atol=2e-5, err_msg=name)


def test_greeks_match_nautilus_black_scholes_greeks() -> None:
    spot, k, t, is_call, vol, _ = _chain(400, spot=100.0, seed=3)
    ours = bs_greeks(spot, k, t, vol, is_call, R, Q)
    theirs = [
        nautilus_pyo3.black_scholes_greeks(spot, R, R - Q, float(v), bool(c), float(kk), float(tt))
        for kk, tt, c, v in zip(k, t, is_call, vol)
    ]
    for name in ("price", "delta", "gamma", "vega", "theta"):
        reference = np.array([getattr(g, name) for g in theirs])
        np.testing.assert_allclose(getattr(ours, name), reference, rtol=2e-4, atol=2e-5, err_msg=name)


def test_guards_give_status_not_made_up_vols() -> None:
    k = np.array([90.0, 90.0, 110.0, 100.0, 100.0])
    t = np.array([0.5, 0.5, 0.5, 0.0, 0.5])
    is_call = np.array([True, True, False, True, True])
    # below intrinsic, above S, below K e^-rt - S e^-qt (8.2), expired, fine
    price = np.array([5.0, 250.0, 7.0, 3.0, 4.0])
    result = chain_iv_greeks(100.0, k, t, is_call, price, R, Q)
    assert result.status.tolist() == [
        IVStatus.NO_TIME_VALUE,
        IVStatus.ABOVE_MAXIMUM,
        IVStatus.NO_TIME_VALUE,
        IVStatus.EXPIRED,
        IVStatus.OK,
    ]
    assert result.iv[:4].tolist() == [0.0] * 4 and result.iv[4] > 0
    assert result.delta[3] == 0.5  # expired exactly at the money: half of the limit
    assert result.gamma[:4].tolist() == [0.0] * 4 and result.vega[:4].tolist() == [0.0] * 4
    for field in result:
        assert np.isfinite(field).all()
    assert IVStatus.NO_TIME_VALUE.reason and IVStatus.OK.reason is None


@settings(max_examples=300, deadline=None)
@given(
    spot=st.floats(1.0, 2000.0),
    moneyness=st.floats(-1.0, 1.0),
    t=st.floats(1 / 365 / 24, 3.0),
    vol=st.floats(0.01, 3.0),
    is_call=st.booleans(),
    r=st.floats(-0.01, 0.1),
    q=st.floats(0.0, 0.08),
)
def test_implied_vol_round_trip(spot, moneyness, t, vol, is_call, r, q) -> None:
    k = spot * math.exp(moneyness)
    price = float(bs_price(spot, k, t, vol, is_call, r, q))
    time_value = price - float(bs_price(spot, k, t, 0.0, is_call, r, q))
    iv, status = implied_vol(spot, k, t, is_call, price, r, q)
    if time_value < 1e-9 * max(spot, k):  # nothing left to read a volatility from
        return
    assert status == IVStatus.OK
    assert iv == pytest.approx(vol, rel=1e-6)


@settings(max_examples=300, deadline=None)
@given(
    spot=st.floats(0.01, 5000.0),
    k=st.floats(0.01, 5000.0),
    t=st.one_of(st.just(0.0), st.floats(0.0, 5.0)),
    price=st.floats(0.0, 6000.0),
    is_call=st.booleans(),
    r=st.floats(-0.05, 0.2),
    q=st.floats(-0.05, 0.2),
)
def test_chain_never_returns_nan_or_inf(spot, k, t, price, is_call, r, q) -> None:
    result = chain_iv_greeks(spot, k, t, is_call, price, r, q)
    for field in result:
        assert np.isfinite(field).all()
    assert (result.iv >= 0).all()
    assert result.valid == (result.iv > 0)


def test_day_count_is_new_york_close_over_365_days() -> None:
    friday = dt.date(2024, 6, 21)
    assert years_to_expiry(friday, as_of_datetime(dt.date(2024, 6, 14))) == 7 / 365
    assert years_to_expiry(friday, as_of_datetime(friday)) == 0.0
    morning = as_of_datetime(dt.datetime(2024, 6, 21, 9, 30))  # naive = New York time
    assert years_to_expiry(friday, morning) * 365 * 24 == pytest.approx(6.5)
    utc = as_of_datetime(dt.datetime(2024, 6, 21, 13, 30, tzinfo=dt.UTC))  # 09:30 New York
    assert utc.tzinfo is NEW_YORK and years_to_expiry(friday, utc) == years_to_expiry(friday, morning)
    # Across the November DST change the count stays in whole New York days.
    assert years_to_expiry(dt.date(2024, 11, 8), as_of_datetime(dt.date(2024, 11, 1))) == 7 / 365
    assert years_to_expiry(friday, as_of_datetime(dt.date(2024, 6, 24))) < 0
