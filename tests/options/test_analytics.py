"""``analyze`` and the payoff maths against closed forms: verticals, straddles, boxes, covered calls,
naked and long options, condors, calendars, Greeks and the JSON contract."""

from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np
import pytest
from nautilus_trader.core import nautilus_pyo3
from scipy.stats import norm

from hybrid.options.analytics import analyze
from hybrid.options.greeks import implied_volatility, implied_vols, position_greeks
from hybrid.options.legs import Leg
from hybrid.options.payoff import Structure, pnl
from hybrid.options.pricing import bs_price
from hybrid.valuation.marks import LegQuote, NetPremium, net_premium

AS_OF = dt.date(2024, 6, 3)
EXPIRY = AS_OF + dt.timedelta(days=30)
T = 30 / 365
KEYS = {"net_premium", "max_profit", "max_loss", "breakevens", "probability_of_profit", "greeks", "payoff"}


def call(strike: float, quantity: int, price: float | None = None, expiry: dt.date = EXPIRY, iv=None) -> Leg:
    return Leg("call", strike, expiry, quantity, price, iv)


def put(strike: float, quantity: int, price: float | None = None, expiry: dt.date = EXPIRY, iv=None) -> Leg:
    return Leg("put", strike, expiry, quantity, price, iv)


def shares(quantity: int, price: float) -> Leg:
    return Leg("underlying", None, None, quantity, price)


def run(legs: list[Leg], spot: float = 100.0, vol: float = 0.25, rate: float = 0.0, dividend: float = 0.0, **kw):
    return analyze(legs, spot, vol, rate, dividend, as_of=kw.pop("as_of", AS_OF), **kw)


def lognormal_above(level: float, spot: float, vol: float, t: float, rate: float = 0.0, dividend: float = 0.0) -> float:
    """P(S_T > level) for a risk-neutral lognormal price."""
    d2 = (math.log(spot / level) + (rate - dividend - 0.5 * vol * vol) * t) / (vol * math.sqrt(t))
    return float(norm.cdf(d2))


def test_bull_call_spread_closed_forms() -> None:
    debit = 3.10 - 1.05
    r = run([call(100, 1, 3.10), call(105, -1, 1.05)])
    assert r.net_premium == pytest.approx(debit * 100)
    assert r.max_profit == pytest.approx((5 - debit) * 100)
    assert r.max_loss == pytest.approx(-debit * 100)
    assert r.breakevens == pytest.approx((100 + debit,))
    assert r.probability_of_profit == pytest.approx(lognormal_above(100 + debit, 100, 0.25, T))


def test_straddle_breakevens_are_strike_plus_minus_premium() -> None:
    premium = 4.0 + 3.5
    r = run([call(100, 1, 4.0), put(100, 1, 3.5)], rate=0.03, dividend=0.01)
    assert r.breakevens == pytest.approx((100 - premium, 100 + premium))
    assert r.max_profit is None  # unbounded above
    assert r.max_loss == pytest.approx(-premium * 100)
    above = lognormal_above(100 + premium, 100, 0.25, T, 0.03, 0.01)
    outside = above + 1 - lognormal_above(100 - premium, 100, 0.25, T, 0.03, 0.01)
    assert r.probability_of_profit == pytest.approx(outside)
    short = run([call(100, -1, 4.0), put(100, -1, 3.5)], rate=0.03, dividend=0.01)
    assert short.max_loss is None and short.max_profit == pytest.approx(premium * 100)
    assert short.probability_of_profit == pytest.approx(1 - r.probability_of_profit)


def test_box_spread_pays_its_width_at_every_price() -> None:
    cost = 9.80  # per share, for a width of 10
    legs = [put(110, 1, 12.0), put(100, -1, 4.0), call(100, 1, 6.0), call(110, -1, 4.2)]
    r = run(legs)
    assert r.net_premium == pytest.approx(cost * 100)
    np.testing.assert_allclose(r.payoff.expiry_pnl, (10 - cost) * 100, atol=1e-9)
    assert r.max_profit == pytest.approx((10 - cost) * 100)
    assert r.max_loss == pytest.approx(r.max_profit)  # flat: the worst case is the same profit
    assert r.breakevens == () and r.probability_of_profit == 1.0
    assert r.greeks.delta == pytest.approx(0.0, abs=1e-3) and r.greeks.gamma == pytest.approx(0.0, abs=1e-4)
    expensive = run([put(110, 1, 12.0), put(100, -1, 4.0), call(100, 1, 6.0), call(110, -1, 3.9)])
    assert expensive.max_profit == expensive.max_loss == pytest.approx(-0.1 * 100)
    assert expensive.probability_of_profit == 0.0


def test_covered_call_profit_is_capped_and_loss_bounded() -> None:
    stock, strike, premium = 98.0, 105.0, 1.8
    r = run([shares(100, stock), call(strike, -1, premium)])
    assert r.net_premium == pytest.approx((stock - premium) * 100)
    assert r.max_profit == pytest.approx((strike - stock + premium) * 100)
    assert r.max_loss == pytest.approx((premium - stock) * 100)  # the stock going to 0
    assert r.breakevens == pytest.approx((stock - premium,))
    assert r.greeks.delta < 100  # the short call takes some of the 100 shares' delta away


def test_naked_call_loss_is_unbounded() -> None:
    r = run([call(105, -1, 1.5)])
    assert r.max_loss is None
    assert r.max_profit == pytest.approx(150.0)
    assert r.breakevens == pytest.approx((106.5,))
    assert r.probability_of_profit == pytest.approx(1 - lognormal_above(106.5, 100, 0.25, T))


def test_long_put_profit_is_bounded_at_zero_price() -> None:
    r = run([put(95, 1, 2.2)])
    assert r.max_profit == pytest.approx((95 - 2.2) * 100)
    assert r.max_loss == pytest.approx(-220.0)
    assert r.breakevens == pytest.approx((92.8,))


def test_long_call_probability_of_profit_closed_form() -> None:
    r = run([call(100, 1, 3.0)], spot=100.0, vol=0.3, rate=0.05, dividend=0.02)
    assert r.max_profit is None and r.max_loss == pytest.approx(-300.0)
    assert r.probability_of_profit == pytest.approx(lognormal_above(103.0, 100.0, 0.3, T, 0.05, 0.02), abs=1e-12)


def test_iron_condor_profit_between_breakevens() -> None:
    legs = [put(90, 1, 0.6), put(95, -1, 1.4), call(105, -1, 1.2), call(110, 1, 0.4)]
    r = run(legs, spot=100.0, vol=0.2, rate=0.03, dividend=0.01)
    assert r.net_premium == pytest.approx(-160.0)
    assert (r.max_profit, r.max_loss) == pytest.approx((160.0, -340.0))
    assert r.breakevens == pytest.approx((93.4, 106.6))
    inside = lognormal_above(93.4, 100, 0.2, T, 0.03, 0.01) - lognormal_above(106.6, 100, 0.2, T, 0.03, 0.01)
    assert r.probability_of_profit == pytest.approx(inside, abs=1e-12)


def test_butterfly_at_zero_cost_is_never_a_loss() -> None:
    r = run([call(95, 1, 6.0), call(100, -2, 3.0), call(105, 1, 0.0)])
    assert r.net_premium == pytest.approx(0.0)
    assert r.max_loss == pytest.approx(0.0) and r.max_profit == pytest.approx(500.0)
    assert r.breakevens == pytest.approx((95.0, 105.0))
    inside = lognormal_above(95, 100, 0.25, T) - lognormal_above(105, 100, 0.25, T)
    assert r.probability_of_profit == pytest.approx(inside)


def test_net_premium_at_bid_mid_and_ask() -> None:
    legs = [put(90, 1), put(95, -1), call(105, -1), call(110, 1)]
    quotes = [LegQuote(0.55, 0.65), LegQuote(1.35, 1.45), LegQuote(1.15, 1.25), LegQuote(0.35, 0.45)]
    assert net_premium(legs, quotes) == NetPremium(
        bid=pytest.approx(-(1.45 + 1.25 - 0.55 - 0.35) * 100),  # sell the condor back: buy shorts at ask
        mid=pytest.approx(-160.0),
        ask=pytest.approx(-(1.35 + 1.15 - 0.65 - 0.45) * 100),  # open it: buy longs at ask, sell at bid
    )
    priced = [put(90, 1, 0.6), shares(100, 50.0)]
    assert net_premium(priced) == NetPremium(5060.0, 5060.0, 5060.0)
    with pytest.raises(ValueError, match="neither a quote nor a price"):
        net_premium(legs)
    with pytest.raises(ValueError, match="bid <= ask"):
        net_premium(legs[:1], [LegQuote(1.0, 0.5)])


def test_today_pnl_is_black_scholes_of_each_leg() -> None:
    legs = [call(100, 1, 3.0, iv=0.3), put(95, -2, 1.0)]
    r = run(legs, vol=0.2, rate=0.04, dividend=0.01)
    s = r.payoff.price
    expected = 100 * bs_price(s, 100, T, 0.3, True, 0.04, 0.01) - 200 * bs_price(s, 95, T, 0.2, False, 0.04, 0.01) - 100
    np.testing.assert_allclose(r.payoff.today_pnl, expected, atol=1e-9)
    intrinsic = 100 * np.maximum(s - 100, 0) - 200 * np.maximum(95 - s, 0) - 100
    np.testing.assert_allclose(r.payoff.expiry_pnl, intrinsic, atol=1e-9)
    assert {100.0, 95.0} <= set(s.tolist())  # kinks are on the grid


def test_calendar_is_valued_at_the_first_expiry() -> None:
    far = EXPIRY + dt.timedelta(days=35)
    legs = [call(100, -1, 2.5), call(100, 1, 4.0, far, iv=0.28)]
    r = run(legs, spot=100.0, vol=0.25, rate=0.02)
    tau = 35 / 365
    s = r.payoff.price
    expected = -100 * np.maximum(s - 100, 0) + 100 * bs_price(s, 100, tau, 0.28, True, 0.02) - 150
    np.testing.assert_allclose(r.payoff.expiry_pnl, expected, atol=1e-9)
    peak = 100 * float(bs_price(100.0, 100, tau, 0.28, True, 0.02)) - 150
    assert r.max_profit == pytest.approx(peak, rel=1e-9)  # the peak of a call calendar is at its strike
    assert r.max_loss == pytest.approx(-150.0)  # both calls worthless at 0; the debit at worst
    assert len(r.breakevens) == 2
    structure = Structure.build(legs, 100.0, 0.25, 0.02, 0.0, AS_OF)
    np.testing.assert_allclose(pnl(structure, r.breakevens, structure.horizon), 0.0, atol=1e-6)
    low, high = r.breakevens
    inside = lognormal_above(low, 100, 0.25, T, 0.02) - lognormal_above(high, 100, 0.25, T, 0.02)
    assert r.probability_of_profit == pytest.approx(inside, abs=1e-9)


def test_call_calendar_with_dividend_has_unbounded_loss() -> None:
    far = EXPIRY + dt.timedelta(days=60)
    r = run([call(100, -1, 2.5), call(100, 1, 4.0, far)], dividend=0.03)
    assert r.max_loss is None  # European far call is worth less than the stock it must cover
    assert r.max_profit is not None


def test_position_greeks_are_share_equivalent_nautilus_greeks() -> None:
    legs = [shares(100, 100.0), call(105, -1, 1.5), put(95, 2, 1.1, iv=0.3)]
    r = run(legs, vol=0.22, rate=0.04, dividend=0.015)
    expected = {"delta": 100.0, "gamma": 0.0, "vega": 0.0, "theta": 0.0}
    for k, is_call, q, vol in ((105.0, True, -1, 0.22), (95.0, False, 2, 0.3)):
        g = nautilus_pyo3.black_scholes_greeks(100.0, 0.04, 0.04 - 0.015, vol, is_call, k, T)
        for name in expected:
            expected[name] += q * 100 * getattr(g, name)
    assert r.greeks.to_dict() == pytest.approx(expected, rel=1e-12)


def test_expiry_day_is_intrinsic_only() -> None:
    legs = [call(100, 1, 1.0), put(100, 1, 1.5)]
    r = run(legs, spot=101.0, as_of=EXPIRY)
    np.testing.assert_array_equal(r.payoff.today_pnl, r.payoff.expiry_pnl)
    assert r.probability_of_profit == 0.0  # at 101 the straddle is worth 1 < 2.5 paid
    assert r.greeks.to_dict() == {"delta": 100.0, "gamma": 0.0, "vega": 0.0, "theta": 0.0}
    assert run(legs, spot=110.0, as_of=EXPIRY).probability_of_profit == 1.0


def test_legs_without_a_price_are_valued_at_black_scholes() -> None:
    r = run([call(100, 1), shares(-100, 99.0)], vol=0.2)
    assert r.net_premium == pytest.approx(100 * float(bs_price(100.0, 100, T, 0.2, True)) - 9900.0)


def test_to_dict_is_the_json_contract() -> None:
    r = run([call(100, -1, 3.0), put(95, -1, 1.0)])
    d = r.to_dict()
    assert set(d) == KEYS
    assert set(d["greeks"]) == {"delta", "gamma", "vega", "theta"}
    assert set(d["payoff"]) == {"price", "expiry_pnl", "today_pnl"}
    assert len({len(v) for v in d["payoff"].values()}) == 1
    assert d["max_loss"] is None
    json.dumps(d, allow_nan=False)


def test_as_of_defaults_to_today() -> None:
    expiry = dt.date.today() + dt.timedelta(days=45)
    r = analyze([put(95, -1, 1.0, expiry), put(90, 1, 0.5, expiry)], 100.0, 0.2)
    assert r.max_profit == pytest.approx(50.0) and r.max_loss == pytest.approx(-450.0)


@pytest.mark.parametrize(
    ("legs", "kwargs", "message"),
    [
        ([shares(100, 50.0)], {}, "at least one option leg"),
        ([call(100, 1, 1.0, AS_OF - dt.timedelta(days=1))], {}, "expired"),
        ([call(100, 1, 1.0)], {"spot": 0.0}, "spot"),
        ([call(100, 1, 1.0)], {"vol": math.nan}, "vol"),
        ([call(100, 1, -1.0)], {}, "price"),
        ([call(100, 1, 1.0)], {"points": 1}, "points"),
    ],
)
def test_clear_errors(legs, kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        run(legs, **kwargs)


def test_implied_volatility_guards() -> None:
    price = float(bs_price(100.0, 105.0, T, 0.32, True, 0.03, 0.01))
    assert implied_volatility(price, 100.0, 105.0, T, True, 0.03, 0.01).iv == pytest.approx(0.32, abs=1e-7)
    below = implied_volatility(4.0, 100.0, 95.0, T, True)
    assert below.iv is None and "intrinsic" in below.reason
    expired = implied_volatility(5.0, 100.0, 95.0, 0.0, True)
    assert expired.iv is None and "expired" in expired.reason
    vols = implied_vols([call(105, 1, price), put(90, -1), shares(100, 100.0)], 100.0, 0.03, 0.01, AS_OF)
    assert vols[0].iv == pytest.approx(0.32, abs=1e-7)
    assert vols[1].iv is None and vols[1].reason and vols[2] is None


def test_greeks_of_a_leg_at_zero_vol_take_the_limit() -> None:
    structure = Structure.build([call(90, 1, 10.0, iv=0.0)], 100.0, 0.2, 0.0, 0.0, AS_OF)
    g = position_greeks(structure)
    assert (g.delta, g.gamma, g.vega, g.theta) == (100.0, 0.0, 0.0, 0.0)
