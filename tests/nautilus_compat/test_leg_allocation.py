"""The leg price rule of :mod:`hybrid.nautilus_compat.leg_prices`: examples, then properties over random spreads
(debit and credit, ratio legs, zero-bid wings, locked and wide quotes, fills inside and outside the natural)."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hybrid.nautilus_compat.leg_prices import LegMarket, allocate_leg_prices, natural_market

PROPERTY_SETTINGS = settings(max_examples=400, deadline=None)


def _sum(legs: list[LegMarket], prices: tuple[int, ...]) -> int:
    return sum(leg.ratio * p for leg, p in zip(legs, prices, strict=True))


def _inside(legs: list[LegMarket], prices: tuple[int, ...]) -> bool:
    return all(leg.bid <= p <= leg.ask for leg, p in zip(legs, prices, strict=True))


def _in_quote_sums(legs: list[LegMarket]) -> set[int]:
    """Every ratio-weighted sum of tick prices inside the legs' quotes (the oracle: plain enumeration)."""
    sums = {0}
    for leg in legs:
        ticks = range(math.ceil(leg.bid / leg.tick), leg.ask // leg.tick + 1)
        sums = {s + leg.ratio * x * leg.tick for s in sums for x in ticks}
    return sums


BUTTERFLY = [LegMarket(1, 1459, 1473), LegMarket(-2, 1130, 1145), LegMarket(1, 870, 883)]  # cents


def test_the_demo_butterfly_bought_at_071_keeps_every_leg_inside_its_quote() -> None:
    """NautilusTrader 1.231 priced this fill's first leg at 14.92 against 14.59 / 14.73."""
    prices = allocate_leg_prices(BUTTERFLY, 71)
    assert prices == (1467, 1137, 878)  # f = (71 - 39) / (96 - 39) of each quote, remainder on the last wing
    assert _sum(BUTTERFLY, prices) == 71
    assert _inside(BUTTERFLY, prices)


@pytest.mark.parametrize(
    ("spread_price", "expected"),
    [(45, (100, 55)), (60, (110, 50)), (50, (103, 53)), (55, (107, 52))],
    ids=["at the bid", "at the ask", "a third in", "two thirds in"],
)
def test_a_vertical_puts_both_legs_at_the_fraction_of_its_natural(spread_price: int, expected: tuple[int, int]) -> None:
    legs = [LegMarket(1, 100, 110), LegMarket(-1, 50, 55)]  # natural 45 .. 60, width 15
    assert allocate_leg_prices(legs, spread_price) == expected


def test_a_credit_condor_sold_at_its_natural_sells_the_body_at_the_bids_and_buys_the_wings_at_the_asks() -> None:
    condor = [LegMarket(1, 20, 25), LegMarket(-1, 60, 64), LegMarket(-1, 70, 75), LegMarket(1, 30, 33)]
    bid, ask = natural_market(condor)
    assert (bid, ask) == (-89, -72)
    assert allocate_leg_prices(condor, bid) == (20, 64, 75, 30)
    assert allocate_leg_prices(condor, ask) == (25, 60, 70, 33)


def test_a_zero_bid_wing_is_never_priced_below_zero() -> None:
    legs = [LegMarket(-1, 0, 2), LegMarket(1, 0, 1)]  # a credit of 0 .. 2 cents
    for spread_price in range(-2, 2):
        prices = allocate_leg_prices(legs, spread_price)
        assert min(prices) >= 0
        assert _sum(legs, prices) == spread_price
        assert _inside(legs, prices)


def test_a_fill_outside_the_natural_still_sums_with_the_fewest_ticks_outside() -> None:
    """A resting limit traded through fills at its limit: two ticks under the natural bid of 45."""
    legs = [LegMarket(1, 100, 110), LegMarket(-1, 50, 55)]
    prices = allocate_leg_prices(legs, 43)
    assert _sum(legs, prices) == 43
    outside = sum(max(leg.bid - p, p - leg.ask, 0) for leg, p in zip(legs, prices, strict=True))
    assert outside == 2


def test_a_unit_leg_locked_in_a_1x2_can_push_the_other_leg_one_tick_out() -> None:
    legs = [LegMarket(1, 5, 5), LegMarket(-2, 3, 4)]  # natural -3 .. -1; -2 needs the short leg at 3.5
    prices = allocate_leg_prices(legs, -2)
    assert _sum(legs, prices) == -2
    assert sum(max(leg.bid - p, p - leg.ask, 0) for leg, p in zip(legs, prices, strict=True)) == 1


def test_ratios_sharing_a_factor_cannot_reach_an_odd_price() -> None:
    with pytest.raises(ValueError, match="no non-negative tick prices"):
        allocate_leg_prices([LegMarket(2, 10, 14), LegMarket(-2, 4, 6)], 11)


def test_legs_are_priced_in_their_own_ticks() -> None:
    legs = [LegMarket(1, 300, 320, tick=5), LegMarket(-1, 100, 104)]  # a nickel leg against a penny leg
    prices = allocate_leg_prices(legs, 207)
    assert prices[0] % 5 == 0
    assert _sum(legs, prices) == 207
    assert _inside(legs, prices)


@st.composite
def spreads(draw: st.DrawFn) -> tuple[list[LegMarket], int]:
    """2-4 legs with ratios -3..3, at least one long and one short (every spread the project trades),
    penny and nickel ticks, quotes from zero-bid wings to wide ones, locked ones included, and a price
    around the natural."""
    n = draw(st.integers(2, 4))
    ratios = draw(
        st.lists(st.sampled_from([-3, -2, -1, 1, 2, 3]), min_size=n, max_size=n).filter(lambda r: min(r) < 0 < max(r))
    )
    legs = []
    for ratio in ratios:
        tick = draw(st.sampled_from([1, 1, 1, 5]))  # now and then a nickel leg
        bid = tick * draw(st.one_of(st.just(0), st.integers(0, 400)))
        legs.append(LegMarket(ratio, bid, bid + tick * draw(st.integers(0, 12)), tick))
    low, high = natural_market(legs)
    return legs, draw(st.integers(low - 6, high + 6))


@PROPERTY_SETTINGS
@given(spreads())
def test_leg_prices_sum_to_the_spread_price_never_negative_and_inside_every_quote_when_they_can(
    case: tuple[list[LegMarket], int],
) -> None:
    legs, spread_price = case
    if spread_price % math.gcd(*(leg.ratio * leg.tick for leg in legs)):
        with pytest.raises(ValueError):
            allocate_leg_prices(legs, spread_price)
        return
    prices = allocate_leg_prices(legs, spread_price)
    assert _sum(legs, prices) == spread_price
    assert min(prices) >= 0
    assert _inside(legs, prices) == (spread_price in _in_quote_sums(legs))


@PROPERTY_SETTINGS
@given(spreads())
def test_without_rounding_every_leg_sits_at_the_spread_fill_s_fraction_of_its_own_quote(
    case: tuple[list[LegMarket], int],
) -> None:
    """With every quote 0 or ``w`` wide, a fill at a multiple of the natural's step needs no remainder."""
    legs, _ = case
    width = 6
    legs = [LegMarket(leg.ratio, leg.bid, leg.bid + (width if leg.ask > leg.bid else 0)) for leg in legs]
    low, high = natural_market(legs)
    if high == low:
        return
    for k in range(width + 1):
        spread_price = low + (high - low) * k // width
        f = Fraction(spread_price - low, high - low)
        ideal = [
            leg.bid + f * (leg.ask - leg.bid) if leg.ratio > 0 else leg.ask - f * (leg.ask - leg.bid) for leg in legs
        ]
        assert allocate_leg_prices(legs, spread_price) == tuple(int(x) for x in ideal)
