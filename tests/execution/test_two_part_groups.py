"""Legging executions in the group view: units counted at the structure level, so groups are balanced
and a strategy's LegBalancer leaves their legs alone; combo groups are counted as before."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from itertools import groupby
from pathlib import Path

import pytest
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.events import OrderFilled
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.instruments import OptionSpread

from hybrid.runconfig.settings import ComponentSpec
from hybrid.tracking import PositionGroup, legged_units, rebuild_groups
from tests.support.iv_rank_runs import run_iv_rank
from tests.support.two_part import Worked, net_premium, work

pytestmark = pytest.mark.slow  # a backtest, a server or a subprocess per test

THIN = {"max_size": 3}
LEGGING = {"mode": "legging"}


def only_group(worked: Worked) -> PositionGroup:
    (group,) = rebuild_groups(worked.engine.cache)
    return group


def sign_of(worked: Worked) -> int:
    return 1 if worked.primary.side == OrderSide.BUY else -1


def assert_held_at(group: PositionGroup, units: int) -> None:
    assert group.units == units
    assert group.balanced and group.unbalanced_at_ns is None
    assert all(leg.quantity == leg.expected == leg.ratio * units for leg in group.legs)


@pytest.fixture(scope="module", params=["BUY", "SELL"])
def completed(request: pytest.FixtureRequest) -> Iterator[Worked]:
    worked = work(quantity=6, side=request.param, params=LEGGING)
    yield worked
    worked.engine.dispose()


def test_a_completed_legging_execution_is_a_balanced_group_at_its_units(completed: Worked) -> None:
    assert completed.result["status"] == "filled" and completed.result["mode"] == "legging"
    group = only_group(completed)
    assert_held_at(group, 6 * sign_of(completed))
    assert group.opened_units == 6 and group.status == "open" and group.working_orders == 0
    assert group.entry_premium == pytest.approx(net_premium(completed), abs=1e-6)
    # a debit when bought, a credit when sold, of the 100/105 vertical: below the 100 call (about 6.00)
    assert 0 < sign_of(completed) * group.entry_premium < 6.00


def test_the_units_are_counted_when_the_legs_are_even(completed: Worked) -> None:
    legged = legged_units(completed.engine.cache, completed.primary.client_order_id)
    assert legged is not None and legged.units == 6
    last_leg_fill = max(e.ts_event for o in completed.children for e in o.events if isinstance(e, OrderFilled))
    assert last_leg_fill <= legged.ts_ns <= completed.primary.ts_last


def test_a_legging_execution_cut_by_the_deadline_is_balanced_at_the_units_filled() -> None:
    worked = work(quantity=20, market=THIN, params=LEGGING | {"deadline_seconds": 25}, config={"wait_max_seconds": 6.0})
    try:
        assert worked.result["status"] == "deadline"
        filled = worked.result["filled_units"]
        assert 0 < filled < 20
        group = only_group(worked)
        assert_held_at(group, filled)
        assert group.working_orders == 0
        assert group.entry_premium == pytest.approx(net_premium(worked), abs=1e-6)
    finally:
        worked.engine.dispose()


def _last_uneven_instant(worked: Worked) -> int:
    """The last instant after whose fills the legs made different numbers of units."""
    ratios = dict(worked.spread.legs())
    held = dict.fromkeys(ratios, Decimal(0))
    fills = sorted(
        (e.ts_event, o.instrument_id.value, e.last_qty.as_decimal() * (1 if e.order_side == OrderSide.BUY else -1))
        for o in worked.children
        for e in o.events
        if isinstance(e, OrderFilled)
    )
    uneven_at = []
    for ts, instant in groupby(fills, key=lambda f: f[0]):
        for _, leg, qty in instant:
            held[InstrumentId.from_str(leg)] += qty
        if len({held[leg_id] / ratio for leg_id, ratio in ratios.items()}) > 1:
            uneven_at.append(ts)
    return uneven_at[-1]


def test_while_it_works_the_group_holds_the_units_so_far_and_is_not_judged() -> None:
    full = work(quantity=20, market=THIN, params=LEGGING)
    try:
        stop_s = full.seconds(_last_uneven_instant(full)) + 1e-6  # just after that instant (float seconds)
    finally:
        full.engine.dispose()
    worked = work(quantity=20, market=THIN, params=LEGGING, until_s=stop_s)
    try:
        assert worked.result is None and not worked.primary.is_closed  # the algorithm is still working
        legged = legged_units(worked.engine.cache, worked.primary.client_order_id)
        assert legged is not None and 0 < legged.units < 20
        group = only_group(worked)
        assert group.units == legged.units and group.working_orders >= 1
        assert any(leg.quantity != leg.expected for leg in group.legs)  # mid-attempt: legs uneven...
        assert group.balanced  # ...but nothing is judged while its orders work
    finally:
        worked.engine.dispose()


def test_combo_groups_are_counted_from_their_spread_fills_only() -> None:
    worked = work(quantity=6)
    try:
        assert worked.result["mode"] == "combo"
        assert legged_units(worked.engine.cache, worked.primary.client_order_id) is None
        group = only_group(worked)
        assert_held_at(group, worked.result["filled_units"])
        spread_fills = [
            (e.last_px.as_double(), e.last_qty.as_double())
            for o in worked.children
            if isinstance(worked.engine.cache.instrument(o.instrument_id), OptionSpread)
            for e in o.events
            if isinstance(e, OrderFilled)
        ]
        assert sum(q for _, q in spread_fills) == group.opened_units  # each spread unit once
        assert group.entry_premium == pytest.approx(
            sign_of(worked) * sum(p * q for p, q in spread_fills) / float(group.opened_units), abs=1e-6
        )
    finally:
        worked.engine.dispose()


# -- a GroupTrader strategy (the autonomous IV-rank strategy) routing its groups through TwoPart legging --

LEGGING_EXECUTION = {"mode": "two_part", "exec_algorithm_id": "TwoPart", "exec_algorithm_params": {"mode": "legging"}}


def two_part(tmp_path: Path) -> ComponentSpec:
    config = {"stats_db": str(tmp_path / "stats.sqlite"), "deadline_seconds": 1800.0, "child_timeout_seconds": 300.0}
    return ComponentSpec(
        "exec_algorithms", 0, "hybrid.execution.two_part:TwoPart", "hybrid.execution.two_part:TwoPartConfig", config
    )


def test_group_trader_legging_groups_stay_open_balanced_and_unflattened(
    scenario_catalog: Callable[[str], Path],
    tmp_path: Path,
) -> None:
    out = run_iv_rank(
        scenario_catalog("high_iv"), tmp_path, {"execution": LEGGING_EXECUTION}, actors=(two_part(tmp_path),)
    )
    assert out.groups and out.summary["all_groups_balanced"]
    for group in out.groups:
        assert group["status"] == "open" and group["units"] > 0 and group["entry_premium"] is not None
        assert all(leg["filled_quantity"] == leg["expected_quantity"] != 0 for leg in group["legs"])
    assert out.repairs == 0  # the strategy's LegBalancer found nothing to flatten
    assert (out.orders()["exec_algorithm_id"] == "TwoPart").all()


def test_group_trader_closes_legging_groups_before_expiry(
    scenario_catalog: Callable[[str], Path], tmp_path: Path
) -> None:
    strategy = {"execution": LEGGING_EXECUTION, "min_dte": 1, "max_dte": 4}
    out = run_iv_rank(scenario_catalog("high_iv"), tmp_path, strategy, actors=(two_part(tmp_path),))
    closed = [g for g in out.groups if g["status"] == "closed"]
    assert closed and out.summary["all_groups_balanced"]
    for group in closed:
        assert group["units"] == 0 and group["opened_units"] > 0 and group["exit_premium"] is not None
        assert all(leg["filled_quantity"] == 0 for leg in group["legs"])
    assert out.repairs == 0 and out.open_positions == 0
