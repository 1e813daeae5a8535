"""Price ladders: ticks, passive rounding, rungs from mid to the bound, spread markets from legs."""

from __future__ import annotations

import pytest
from nautilus_trader.model.enums import OrderSide

from hybrid.execution.ladder import (
    Market,
    TickRule,
    build_ladder,
    combine,
    marketable_price,
    parse_tick_rule,
    round_passive,
    tick_size,
)

BUY, SELL = OrderSide.BUY, OrderSide.SELL


def test_tick_rules() -> None:
    assert tick_size(0.50, TickRule.PENNY, 0.01) == 0.01
    assert tick_size(12.0, TickRule.PENNY, 0.01) == 0.01
    assert tick_size(2.95, TickRule.NICKEL_DIME, 0.01) == 0.05
    assert tick_size(3.00, TickRule.NICKEL_DIME, 0.01) == 0.10
    assert tick_size(-2.0, TickRule.NICKEL_DIME, 0.01) == 0.05  # the break uses the absolute price
    assert tick_size(1.0, TickRule.INSTRUMENT, 0.05) == 0.05
    assert tick_size(1.0, TickRule.PENNY, 0.05) == 0.05  # never finer than the instrument


def test_rounding_is_passive() -> None:
    assert round_passive(1.237, BUY, TickRule.PENNY, 0.01) == 1.23
    assert round_passive(1.231, SELL, TickRule.PENNY, 0.01) == 1.24
    assert round_passive(1.24, BUY, TickRule.PENNY, 0.01) == 1.24  # on tick stays
    assert round_passive(1.23, BUY, TickRule.NICKEL_DIME, 0.01) == 1.20
    assert round_passive(1.23, SELL, TickRule.NICKEL_DIME, 0.01) == 1.25
    assert round_passive(3.17, BUY, TickRule.NICKEL_DIME, 0.01) == 3.10
    assert round_passive(2.97, SELL, TickRule.NICKEL_DIME, 0.01) == 3.00  # up across the break: a dime price
    assert round_passive(-0.437, BUY, TickRule.INSTRUMENT, 0.01) == -0.44
    assert round_passive(-0.437, SELL, TickRule.INSTRUMENT, 0.01) == -0.43


def test_buy_ladder_walks_from_mid_to_the_ask() -> None:
    ladder = build_ladder(Market(2.00, 2.20), BUY, 4)
    assert ladder.mid == pytest.approx(2.10)
    assert ladder.prices == (2.10, 2.12, 2.15, 2.17, 2.20)
    assert ladder.bound == 2.20 and ladder.steps == 4
    assert ladder.price(9) == 2.20  # beyond the last rung is the bound


def test_sell_ladder_walks_from_mid_to_the_bid() -> None:
    ladder = build_ladder(Market(2.00, 2.20), SELL, 4)
    assert ladder.prices == (2.10, 2.08, 2.05, 2.03, 2.00)


def test_bound_fraction_and_limit_cap_the_ladder() -> None:
    assert build_ladder(Market(2.00, 2.20), BUY, 2, bound_fraction=0.5).prices == (2.10, 2.12, 2.15)
    capped = build_ladder(Market(2.00, 2.20), BUY, 4, limit=2.13)
    assert capped.prices == (2.10, 2.10, 2.11, 2.12, 2.13)  # the rungs spread between mid and the limit
    below_mid = build_ladder(Market(2.00, 2.20), SELL, 2, limit=2.15)
    assert below_mid.prices == (2.15, 2.15, 2.15)


def test_nickel_ladder_stays_on_nickels() -> None:
    ladder = build_ladder(Market(1.10, 1.30), BUY, 3, rule=TickRule.NICKEL_DIME)
    assert ladder.prices == (1.20, 1.20, 1.25, 1.30)
    assert all(round(p * 100) % 5 == 0 for p in ladder.prices)


def test_credit_ladder_with_negative_prices() -> None:
    # buying back a credit spread quoted -0.60 / -0.50: mid -0.55 toward -0.50
    ladder = build_ladder(Market(-0.60, -0.50), BUY, 2)
    assert ladder.prices == (-0.55, -0.53, -0.50)


def test_spread_market_from_legs() -> None:
    market = combine([(Market(6.00, 6.04), 1), (Market(3.20, 3.24), -1)])
    assert market.bid == pytest.approx(2.76)
    assert market.ask == pytest.approx(2.84)
    ratio = combine([(Market(1.00, 1.10), 1), (Market(0.50, 0.55), -2)])
    assert (ratio.bid, ratio.ask) == (pytest.approx(-0.10), pytest.approx(0.10))


def test_marketable_price_is_beyond_the_natural() -> None:
    assert marketable_price(Market(2.00, 2.20), BUY, 2, TickRule.PENNY, 0.01) == 2.22
    assert marketable_price(Market(2.00, 2.20), SELL, 2, TickRule.PENNY, 0.01) == 1.98
    assert marketable_price(Market(1.10, 1.30), BUY, 1, TickRule.NICKEL_DIME, 0.01) == 1.35
    assert marketable_price(Market(0.01, 0.05), SELL, 3, TickRule.PENNY, 0.01) == 0.0  # never below zero
    assert marketable_price(Market(0.00, 0.01), SELL, 2, TickRule.PENNY, 0.01) == 0.0  # a zero bid is sold at it


def test_bad_input_is_named() -> None:
    with pytest.raises(ValueError, match="ladder steps must be at least 1"):
        build_ladder(Market(1.0, 1.1), BUY, 0)
    with pytest.raises(ValueError, match="crossed market"):
        build_ladder(Market(1.2, 1.1), BUY, 2)
    with pytest.raises(ValueError, match="tick rule must be one of instrument, penny, nickel_dime"):
        parse_tick_rule("dime")
