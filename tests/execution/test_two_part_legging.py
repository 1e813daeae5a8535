"""The two-part algorithm in legging mode: per-leg orders, protective legs first, balanced every attempt."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from nautilus_trader.model.enums import OrderSide

from tests.support.two_part import Worked, assert_balanced, work

THIN = {"max_size": 3}


@pytest.fixture(scope="module", params=["BUY", "SELL"])
def legged(request: pytest.FixtureRequest) -> Iterator[Worked]:
    worked = work(quantity=20, side=request.param, market=THIN, params={"mode": "legging"})
    yield worked
    worked.engine.dispose()


def protective_leg(worked: Worked):
    """The leg the trade buys: the long leg of a bought vertical, the short leg of a sold one."""
    (long_id, _), (short_id, _) = worked.spread.legs()
    return long_id if worked.primary.side == OrderSide.BUY else short_id


def test_children_are_leg_orders_tagged_with_the_group(legged: Worked) -> None:
    leg_ids = {leg_id for leg_id, _ in legged.spread.legs()}
    assert legged.children and {o.instrument_id for o in legged.children} == leg_ids
    assert all(o.tags[:3] == legged.primary.tags for o in legged.children)
    assert legged.result["mode"] == "legging"


def test_protective_leg_goes_first_in_every_attempt(legged: Worked) -> None:
    first = legged.ladder_children[0]
    assert first.instrument_id == protective_leg(legged) and first.side == OrderSide.BUY
    for child in legged.ladder_children:
        if child.side == OrderSide.SELL:  # a sold leg only after the attempt's bought leg has ended
            bought = [o for o in legged.ladder_children if o.side == OrderSide.BUY and o.ts_init <= child.ts_init]
            assert bought and bought[-1].ts_last <= child.ts_init


def _holdings_over_time(worked: Worked) -> list[tuple[int, Decimal, Decimal]]:
    """(ts, bought leg held, sold leg held) after every instant with a fill, both as positive quantities."""
    protective = protective_leg(worked)
    fills = sorted(
        (e.ts_event, o.instrument_id == protective, e.last_qty.as_decimal())
        for o in worked.children
        for e in o.events
        if type(e).__name__ == "OrderFilled"
    )
    bought = sold = Decimal(0)
    out = []
    for ts, is_protective, qty in fills:
        if is_protective:
            bought += qty
        else:
            sold += qty
        if out and out[-1][0] == ts:
            out[-1] = (ts, bought, sold)
        else:
            out.append((ts, bought, sold))
    return out


def test_sold_leg_never_exceeds_its_protection(legged: Worked) -> None:
    assert all(sold <= bought for _, bought, sold in _holdings_over_time(legged))


def test_legs_are_even_before_every_new_attempt(legged: Worked) -> None:
    timeline = _holdings_over_time(legged)
    starts = [o.ts_init for o in legged.ladder_children if o.instrument_id == protective_leg(legged)][1:]
    assert starts
    for start in starts:
        before = [(bought, sold) for ts, bought, sold in timeline if ts < start]
        assert not before or before[-1][0] == before[-1][1]  # no leg left unprotected past its attempt


def test_legging_ends_balanced(legged: Worked) -> None:
    assert legged.result["filled_units"] > 0
    assert_balanced(legged)


def test_fill_stats_per_leg(legged: Worked) -> None:
    table = legged.algorithm.fill_rate_table()
    assert set(table["leg"]) == {"buy_call", "sell_call"}
    assert set(table["mode"]) == {"legging"}
