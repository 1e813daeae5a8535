"""The group view on hand-made order histories: cases a backtest cannot be made to produce on demand."""

from __future__ import annotations

import pytest
from nautilus_trader.model.enums import OrderSide

from hybrid.tracking import PositionGroup, rebuild_groups
from tests.support.order_history import FEE, LONG, MINUTE, SHORT, SPREAD, T0, History


def only_group(history: History) -> PositionGroup:
    (group,) = list(rebuild_groups(history.cache))
    return group


def test_a_gap_is_judged_while_the_order_works_and_reported_with_when_and_how_much() -> None:
    h = History()
    order = h.order(SPREAD, OrderSide.BUY, 10, T0)
    h.spread_fill(order, 4, 5.00, 4.00, T0 + MINUTE)
    h.fill(order, 3, 1.00, T0 + 2 * MINUTE)  # the venue mirrored no legs for this one
    group = only_group(h)  # still working, which is no reason to look away
    assert not group.balanced and group.unbalanced_at_ns == T0 + 2 * MINUTE and group.working_orders == 1
    (gap,) = group.out_of_ratio
    assert (gap.since_ns, gap.until_ns) == (T0 + 2 * MINUTE, None)
    assert gap.gaps == {LONG.id.value: -3, SHORT.id.value: 3}
    h.cancel(order, T0 + 3 * MINUTE)
    group = only_group(h)
    assert [(leg.quantity, leg.expected) for leg in group.legs] == [(4, 7), (-4, -7)]
    assert group.working_orders == 0 and group.status == "open" and len(group.out_of_ratio) == 1


def test_a_gap_closed_by_a_repair_ends_its_run_and_the_worst_gap_is_kept() -> None:
    h = History()
    order = h.order(SPREAD, OrderSide.BUY, 5, T0)
    h.fill(order, 2, 1.00, T0 + MINUTE)  # no leg fills
    h.spread_fill(order, 3, 5.00, 4.00, T0 + 2 * MINUTE)  # legs of these 3 only: still 2 short
    repair = h.order(LONG.id, OrderSide.BUY, 2, T0 + 3 * MINUTE)
    h.fill(repair, 2, 5.00, T0 + 3 * MINUTE)
    short = h.order(SHORT.id, OrderSide.SELL, 2, T0 + 4 * MINUTE)
    h.fill(short, 2, 4.00, T0 + 4 * MINUTE)
    group = only_group(h)
    assert [leg.quantity for leg in group.legs] == [5, -5]
    (gap,) = group.out_of_ratio
    assert (gap.since_ns, gap.until_ns) == (T0 + MINUTE, T0 + 4 * MINUTE)
    assert gap.gaps == {LONG.id.value: -2, SHORT.id.value: 2}
    assert group.to_dict()["out_of_ratio"] == [
        {"since_ns": T0 + MINUTE, "until_ns": T0 + 4 * MINUTE, "gaps": {LONG.id.value: -2, SHORT.id.value: 2}}
    ]


def test_an_execution_algorithm_legging_in_is_not_judged_half_way() -> None:
    h = History()
    primary = h.order(SPREAD, OrderSide.BUY, 2, T0, algorithm=True)
    long_leg = h.order(LONG.id, OrderSide.BUY, 2, T0 + MINUTE, algorithm=True)
    h.fill(long_leg, 2, 5.00, T0 + MINUTE)  # one leg in, the other still to come
    assert only_group(h).balanced
    h.cancel(primary, T0 + 2 * MINUTE)  # the algorithm stopped with one leg: now it counts
    group = only_group(h)
    assert not group.balanced and group.unbalanced_at_ns == T0 + 2 * MINUTE


def test_a_working_order_with_matching_legs_is_open_and_balanced() -> None:
    h = History()
    order = h.order(SPREAD, OrderSide.BUY, 10, T0)
    h.spread_fill(order, 4, 5.00, 4.00, T0 + MINUTE)
    group = only_group(h)
    assert group.balanced and group.status == "open" and group.working_orders == 1
    assert group.units == 4 and group.entry_premium == 1.00


def test_a_repaired_group_matches_now_but_stays_marked_unbalanced() -> None:
    h = History()
    order = h.order(SPREAD, OrderSide.BUY, 2, T0)
    h.fill(order, 2, 1.00, T0 + MINUTE)
    h.leg_fill(order, LONG, OrderSide.BUY, 2, 5.00, T0 + MINUTE)  # the short leg fill is missing
    repair = h.order(SHORT.id, OrderSide.SELL, 2, T0 + 2 * MINUTE)
    h.fill(repair, 2, 4.00, T0 + 3 * MINUTE)
    group = only_group(h)
    assert [(leg.quantity, leg.expected) for leg in group.legs] == [(2, 2), (-2, -2)]
    assert not group.balanced and group.unbalanced_at_ns == T0 + MINUTE
    assert group.order_ids == [order.client_order_id.value, repair.client_order_id.value]


def test_a_round_trip_closes_with_entry_exit_and_pnl_from_the_leg_fills() -> None:
    h = History()
    entry = h.order(SPREAD, OrderSide.BUY, 2, T0)
    h.spread_fill(entry, 2, 5.00, 4.00, T0 + MINUTE)
    exit_ = h.order(SPREAD, OrderSide.SELL, 2, T0 + 10 * MINUTE)
    h.spread_fill(exit_, 2, 5.80, 4.30, T0 + 11 * MINUTE)
    group = only_group(h)
    assert group.status == "closed" and group.balanced
    # the premiums of both trades, signed as paid: the spread bought for a 1.00 debit, sold for a 1.50 credit
    assert (group.entry_premium, group.exit_premium, group.opened_units, group.units) == (1.00, -1.50, 2, 0)
    commissions = 4 * 2 * FEE  # four leg fills of 2 contracts; the spread-level fills are not charged
    assert group.commissions == pytest.approx(commissions)
    assert group.pnl == pytest.approx(2 * 100 * ((5.80 - 5.00) - (4.30 - 4.00)) - commissions)
