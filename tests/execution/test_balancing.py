"""Leg balancing as a pure rule: what each leg is repaired to, which way, and in which order."""

from __future__ import annotations

from decimal import Decimal

import pytest
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.identifiers import InstrumentId

from hybrid.execution.balancing import LegHolding, holdings, plan_repairs
from hybrid.tracking.groups import LegState, PositionGroup

LONG_PUT = InstrumentId.from_str("SPY   240216P00420000.OPRA")
SHORT_PUT = InstrumentId.from_str("SPY   240216P00425000.OPRA")
SHORT_CALL = InstrumentId.from_str("SPY   240216C00475000.OPRA")
LONG_CALL = InstrumentId.from_str("SPY   240216C00480000.OPRA")
SHARES = InstrumentId.from_str("SPY.OPRA")
CONDOR = {LONG_PUT: 1, SHORT_PUT: -1, SHORT_CALL: -1, LONG_CALL: 1}


def condor(held: dict[InstrumentId, int]) -> list[LegHolding]:
    return [LegHolding(i, ratio, Decimal(held.get(i, 0))) for i, ratio in CONDOR.items()]


def test_balanced_group_needs_no_repair() -> None:
    assert plan_repairs(condor({LONG_PUT: 5, SHORT_PUT: -5, SHORT_CALL: -5, LONG_CALL: 5}), 5) == []


def test_leg_fill_bug_completes_every_leg_to_ratio_times_units() -> None:
    # 12 units filled at the spread level, the legs only got the first match's 5
    repairs = plan_repairs(condor({LONG_PUT: 5, SHORT_PUT: -5, SHORT_CALL: -5, LONG_CALL: 5}), 12)
    assert {(r.instrument_id, r.side, r.quantity, r.kind) for r in repairs} == {
        (LONG_PUT, OrderSide.BUY, 7, "complete"),
        (LONG_CALL, OrderSide.BUY, 7, "complete"),
        (SHORT_PUT, OrderSide.SELL, 7, "complete"),
        (SHORT_CALL, OrderSide.SELL, 7, "complete"),
    }


def test_protective_longs_go_first_and_missing_shorts_last() -> None:
    repairs = plan_repairs(condor({}), 3)  # a spread fill with no leg fills at all
    assert [r.side for r in repairs] == [OrderSide.BUY, OrderSide.BUY, OrderSide.SELL, OrderSide.SELL]
    assert {r.instrument_id for r in repairs[:2]} == {LONG_PUT, LONG_CALL}


def test_excess_short_is_flattened_before_anything_is_sold() -> None:
    held = {LONG_PUT: 2, SHORT_PUT: -6, SHORT_CALL: -1, LONG_CALL: 4}
    repairs = plan_repairs(condor(held), 2)
    assert [(r.instrument_id, r.side, r.quantity, r.kind) for r in repairs] == [
        (SHORT_PUT, OrderSide.BUY, 4, "flatten"),  # excess short: reduces risk, first
        (LONG_CALL, OrderSide.SELL, 2, "flatten"),  # excess long
        (SHORT_CALL, OrderSide.SELL, 1, "complete"),  # missing short: last
    ]


def test_closed_group_flattens_whatever_legs_remain() -> None:
    repairs = plan_repairs(condor({LONG_PUT: 3, SHORT_PUT: -3}), 0)
    assert [(r.instrument_id, r.side, r.quantity, r.target) for r in repairs] == [
        (SHORT_PUT, OrderSide.BUY, 3, 0),
        (LONG_PUT, OrderSide.SELL, 3, 0),
    ]


def test_leg_past_zero_on_the_other_side_is_a_flatten() -> None:
    (repair,) = plan_repairs([LegHolding(LONG_CALL, 1, Decimal(-2))], 3)
    assert (repair.side, repair.quantity, repair.kind) == (OrderSide.BUY, 5, "flatten")


def test_sold_structure_targets_negated_legs() -> None:
    (repair,) = plan_repairs([LegHolding(SHORT_PUT, -1, Decimal(2))], -4)  # 4 units sold: the leg is +4
    assert (repair.side, repair.quantity, repair.kind) == (OrderSide.BUY, 2, "complete")


def test_holdings_treat_the_underlying_leg_like_any_other_leg() -> None:
    group_legs = [LegState(SHORT_CALL, 1, Decimal(-2)), LegState(SHARES, -100)]
    group = PositionGroup("g", "S-1", "covered_call", "manual", SHORT_CALL, group_legs, [])
    legs = holdings(group)
    assert legs == [LegHolding(SHORT_CALL, 1, Decimal(-2)), LegHolding(SHARES, -100, Decimal(0))]
    (repair,) = plan_repairs(legs, -2)  # two calls sold: 200 shares held
    assert (repair.instrument_id, repair.side, repair.quantity) == (SHARES, OrderSide.BUY, 200)


def test_describe_is_one_line() -> None:
    (repair,) = plan_repairs([LegHolding(LONG_PUT, 1, Decimal(2))], 5)
    assert repair.describe() == f"complete {LONG_PUT}: BUY 3 (held 2, target 5)"
    assert "\n" not in repair.describe()


@pytest.mark.parametrize("units", [0, 1, 7])
def test_applying_the_repairs_balances_the_legs(units: int) -> None:
    legs = condor({LONG_PUT: 3, SHORT_PUT: -1, LONG_CALL: 9})
    after = {leg.instrument_id: leg.held for leg in legs}
    for repair in plan_repairs(legs, units):
        after[repair.instrument_id] += repair.signed_quantity
    assert after == {i: ratio * units for i, ratio in CONDOR.items()}
