"""Properties of ``analyze`` over random structures: symmetry of short and long, linearity between
strikes, breakevens at zero P&L, extremes that bound the curve, and JSON-safe output for any input
(expiry day included, leg prices below intrinsic included)."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from hybrid.options.analytics import analyze
from hybrid.options.legs import Leg
from hybrid.options.payoff import Structure, pnl

AS_OF = dt.date(2024, 6, 3)
PROPERTY_SETTINGS = settings(max_examples=150, deadline=None)


@st.composite
def market(draw) -> dict:
    return {
        "spot": draw(st.floats(20.0, 300.0)),
        "vol": draw(st.floats(0.0, 1.5)),
        "rate": draw(st.floats(-0.01, 0.08)),
        "dividend": draw(st.floats(0.0, 0.05)),
        "as_of": AS_OF,
    }


@st.composite
def option_leg(draw, expiries: list[dt.date]) -> Leg:
    return Leg(
        kind=draw(st.sampled_from(["call", "put"])),
        strike=float(draw(st.integers(10, 300))),
        expiry=draw(st.sampled_from(expiries)),
        quantity=draw(st.integers(-3, 3).filter(bool)),
        price=draw(st.one_of(st.none(), st.floats(0.0, 60.0))),
        iv=draw(st.one_of(st.none(), st.floats(0.01, 2.0))),
    )


@st.composite
def structure_legs(draw, expiry_count: int = 1) -> list[Leg]:
    days = draw(st.lists(st.integers(0, 400), min_size=expiry_count, max_size=expiry_count, unique=True))
    expiries = [AS_OF + dt.timedelta(days=d) for d in days]
    legs = draw(st.lists(option_leg(expiries), min_size=1, max_size=4))
    if draw(st.booleans()):
        legs.append(Leg("underlying", None, None, draw(st.sampled_from([-100, 100])), draw(st.floats(1.0, 400.0))))
    return legs


def _short(legs: list[Leg]) -> list[Leg]:
    return [Leg(leg.kind, leg.strike, leg.expiry, -leg.quantity, leg.price, leg.iv) for leg in legs]


def _scale(legs: list[Leg], spot: float) -> float:
    """Dollar size of a structure, for tolerances."""
    return sum(abs(leg.quantity) * 100 * ((leg.strike or spot) + (leg.price or 0) + spot) for leg in legs)


@PROPERTY_SETTINGS
@given(legs=structure_legs(), m=market())
def test_short_structure_is_minus_the_long_one(legs, m) -> None:
    long, short = analyze(legs, **m), analyze(_short(legs), **m)
    np.testing.assert_array_equal(long.payoff.price, short.payoff.price)
    tol = 1e-9 * _scale(legs, m["spot"])
    np.testing.assert_allclose(short.payoff.expiry_pnl, -long.payoff.expiry_pnl, atol=tol)
    np.testing.assert_allclose(short.payoff.today_pnl, -long.payoff.today_pnl, atol=tol)
    assert abs(short.net_premium + long.net_premium) <= tol
    assert (short.max_profit is None) == (long.max_loss is None)
    assert (short.max_loss is None) == (long.max_profit is None)
    if long.max_loss is not None:
        assert abs(short.max_profit + long.max_loss) <= tol
    assert long.probability_of_profit + short.probability_of_profit <= 1.0 + 1e-9


@PROPERTY_SETTINGS
@given(legs=structure_legs(), m=market())
def test_expiry_payoff_is_linear_between_strikes_and_bounded_by_the_extremes(legs, m) -> None:
    r = analyze(legs, **m)
    structure = Structure.build(legs, m["spot"], m["vol"], m["rate"], m["dividend"], AS_OF)
    prices, values = r.payoff.price, r.payoff.expiry_pnl
    tol = 1e-9 * _scale(legs, m["spot"])
    kinks = np.array([leg.strike for leg in legs if leg.is_option])
    for a, b, va, vb in zip(prices[:-1], prices[1:], values[:-1], values[1:]):
        if not np.any((kinks > a) & (kinks < b)):
            assert abs(pnl(structure, [(a + b) / 2], structure.horizon)[0] - (va + vb) / 2) <= tol
    if r.max_profit is not None:
        assert values.max() <= r.max_profit + tol
    else:  # unbounded profit: beyond the grid the P&L keeps rising and ends above all of it
        far = pnl(structure, [prices[-1] * 10, prices[-1] * 100], structure.horizon)
        assert far[1] > far[0] > values[-1] - tol
        assert far[1] > values.max() - tol
    if r.max_loss is not None:
        assert values.min() >= r.max_loss - tol
    else:  # unbounded loss: beyond the grid the P&L keeps falling and ends below all of it
        far = pnl(structure, [prices[-1] * 10, prices[-1] * 100], structure.horizon)
        assert far[1] < far[0] < values[-1] + tol
        assert far[1] < values.min() + tol


@PROPERTY_SETTINGS
@given(legs=structure_legs(), m=market())
def test_breakevens_have_zero_pnl_and_output_is_json_safe(legs, m) -> None:
    r = analyze(legs, **m)
    structure = Structure.build(legs, m["spot"], m["vol"], m["rate"], m["dividend"], AS_OF)
    assert list(r.breakevens) == sorted(r.breakevens) and all(b > 0 for b in r.breakevens)
    at_breakevens = pnl(structure, r.breakevens, structure.horizon)
    np.testing.assert_allclose(at_breakevens, 0.0, atol=1e-6 * _scale(legs, m["spot"]))
    assert 0.0 <= r.probability_of_profit <= 1.0
    json.dumps(r.to_dict(), allow_nan=False)


@settings(max_examples=40, deadline=None)
@given(legs=structure_legs(expiry_count=2), m=market())
def test_multi_expiry_structures_are_consistent_and_json_safe(legs, m) -> None:
    r = analyze(legs, **m)
    structure = Structure.build(legs, m["spot"], m["vol"], m["rate"], m["dividend"], AS_OF)
    tol = 1e-6 * _scale(legs, m["spot"])
    np.testing.assert_allclose(pnl(structure, r.breakevens, structure.horizon), 0.0, atol=tol)
    if r.max_profit is not None:
        assert r.payoff.expiry_pnl.max() <= r.max_profit + tol
    if r.max_loss is not None:
        assert r.payoff.expiry_pnl.min() >= r.max_loss - tol
    assert 0.0 <= r.probability_of_profit <= 1.0
    json.dumps(r.to_dict(), allow_nan=False)
