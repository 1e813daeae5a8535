"""The two-part algorithm in real backtests (combo mode and what is common to both modes).

A small sub-second market (bench.exec_simulation) behind a simulated venue with the touch fill
model; one primary order on a call vertical routed with exec_algorithm_id=TwoPart.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from nautilus_trader.model.enums import OrderStatus

from hybrid.execution.fill_stats import Attempt, FillStats
from hybrid.store.db import Database
from hybrid.tracking import rebuild_groups
from tests.support.two_part import FIRST_AT_S, Worked, assert_balanced, canceled_at, fills_of, work

pytestmark = pytest.mark.slow  # a backtest, a server or a subprocess per test

THIN = {"max_size": 3}  # displayed sizes of 1-3 contracts: partial fills


@pytest.fixture(scope="module")
def combo() -> Iterator[Worked]:
    worked = work(quantity=20, market=THIN)
    yield worked
    worked.engine.dispose()


def test_split_35_65_and_each_child_asks_for_what_is_left(combo: Worked) -> None:
    assert combo.result["parts"] == [7, 13]
    ladder = combo.ladder_children
    assert all(o.instrument_id == combo.spread.id for o in ladder)
    # the first child goes out at the spread's first aggregated quote, the next leg quote (250 ms), once
    # every quote of that instant is in (one nanosecond later)
    assert FIRST_AT_S < combo.seconds(ladder[0].ts_init) <= FIRST_AT_S + 0.25 + 1e-9
    assert ladder[0].quantity.as_double() == 7
    filled = 0.0
    for child in ladder:
        goal = 7 if filled < 7 else 20
        assert child.quantity.as_double() == goal - filled  # the next part's size is recomputed from what is left
        filled += child.filled_qty.as_double()
    assert any(o.quantity.as_double() == 13 for o in ladder)  # part 2 started with exactly 13 left


def test_unfilled_child_is_cancelled_after_2_5_seconds(combo: Worked) -> None:
    cancelled = [o for o in combo.ladder_children if o.status == OrderStatus.CANCELED]
    assert cancelled
    for child in cancelled:
        assert canceled_at(child) - child.ts_init == 2_500_000_000


def test_next_attempt_waits_3_to_15_seconds(combo: Worked) -> None:
    # from the end of an attempt (its last child closed, balancing orders included) to the next child
    gaps = []
    for child in combo.ladder_children[1:]:
        ended = max(o.ts_last for o in combo.children if o.ts_init < child.ts_init)
        gaps.append((child.ts_init - ended) / 1e9)
    assert len(gaps) >= 5
    assert all(3.0 <= gap <= 15.0 for gap in gaps)
    assert len(set(gaps)) == len(gaps)  # drawn, not fixed


def test_partial_fills_are_counted_and_the_rest_retried(combo: Worked) -> None:
    ladder = combo.ladder_children
    retried = 0
    filled = 0.0
    for child, nxt in itertools.pairwise(ladder):
        filled += child.filled_qty.as_double()
        goal = 7 if filled < 7 else 20
        partial = child.status == OrderStatus.CANCELED and 0 < child.filled_qty.as_double() < child.quantity.as_double()
        if partial:  # cut short: the next child asks for what its part still lacks
            assert nxt.quantity.as_double() == goal - filled
            retried += 1
    assert retried >= 1


def test_ladder_steps_up_from_mid_within_a_part(combo: Worked) -> None:
    combo.algorithm.stats.flush()
    rows = combo.algorithm.stats.db.query(
        "SELECT part, step FROM fill_attempts WHERE kind = 'ladder' ORDER BY ts_submit"
    )
    by_part: dict[int, list[int]] = {}
    for row in rows:
        by_part.setdefault(row["part"], []).append(row["step"])
    for steps in by_part.values():
        assert steps == [min(k, 4) for k in range(len(steps))]


def test_combo_legs_end_balanced_despite_missing_leg_fills(combo: Worked) -> None:
    assert_balanced(combo)
    assert combo.repairs  # NautilusTrader 1.231 dropped leg fills here; the algorithm repaired them
    assert all(o.instrument_id != combo.spread.id for o in combo.repairs)
    group = next(iter(rebuild_groups(combo.engine.cache)))
    assert group.balanced and group.units == combo.result["filled_units"]
    assert all(leg.quantity == leg.expected for leg in group.legs)


def test_fill_rate_table_of_the_run(combo: Worked) -> None:
    table = combo.algorithm.fill_rate_table()
    assert set(table["part"]) == {1, 2}
    ladder, balance = table[table["kind"] == "ladder"], table[table["kind"] == "balance"]
    assert set(ladder["leg"]) == {"combo"}
    assert ladder["attempts"].sum() == len(combo.ladder_children)
    assert ladder["fills"].sum() == sum(o.filled_qty.as_double() > 0 for o in combo.ladder_children)
    assert ladder["filled"].sum() == sum(o.filled_qty.as_double() for o in combo.ladder_children)
    # every balancing trade is a row too, by leg, with no rung
    assert set(balance["step"]) == {-1} and set(balance["leg"]) <= {"buy_call", "sell_call"}
    assert balance["attempts"].sum() == len(combo.repairs)
    assert balance["filled"].sum() == sum(o.filled_qty.as_double() for o in combo.repairs)


def test_same_seed_same_orders_and_fills() -> None:
    runs = [work(quantity=12, market=THIN) for _ in range(2)]
    try:
        shapes = [
            [
                (o.client_order_id.value, o.quantity.as_double(), o.price.as_double(), o.ts_init, o.status, fills_of(o))
                for o in w.children
            ]
            for w in runs
        ]
        assert shapes[0] == shapes[1]
    finally:
        for w in runs:
            w.engine.dispose()


@pytest.mark.parametrize("mode", ["combo", "legging"])
def test_deadline_mid_way_cancels_the_rest_and_balances(mode: str) -> None:
    # thin displayed sizes: 20 units take longer than the 25 s deadline
    worked = work(
        quantity=20, market=THIN, params={"mode": mode, "deadline_seconds": 25}, config={"wait_max_seconds": 6.0}
    )
    try:
        assert worked.result["status"] == "deadline"
        assert 0 < worked.result["filled_units"] < 20
        deadline_ns = worked.primary.ts_init + 25_000_000_000
        assert all(o.ts_init <= deadline_ns for o in worked.ladder_children)  # nothing new after the deadline
        assert worked.primary.status == OrderStatus.CANCELED
        assert_balanced(worked)
    finally:
        worked.engine.dispose()


def test_on_deadline_complete_tries_the_remainder_at_the_bound() -> None:
    worked = work(
        quantity=10,
        params={"deadline_seconds": 12, "on_deadline": "complete", "ladder_steps": 20},
        market={"max_size": 20},
        prob_fill_on_touch=0.0,
    )
    try:
        last = worked.ladder_children[-1]
        assert last.ts_init >= worked.primary.ts_init + 12_000_000_000
        earlier = sum(o.filled_qty.as_double() for o in worked.ladder_children[:-1])
        assert last.quantity.as_double() == 10 - earlier
        worked.algorithm.stats.flush()
        step = worked.algorithm.stats.db.query(
            "SELECT step FROM fill_attempts WHERE kind = 'ladder' ORDER BY ts_submit DESC LIMIT 1"
        )[0]["step"]
        assert step == 20  # the bound: the natural price
        assert worked.result["status"] == "filled"
        assert_balanced(worked)
    finally:
        worked.engine.dispose()


def test_strategy_cancelling_the_primary_stops_and_balances() -> None:
    worked = work(quantity=20, market=THIN, cancel_after_seconds=12.0)
    try:
        assert worked.result["status"] == "cancelled"
        stop_ns = worked.primary.ts_init + 12_000_000_000
        assert all(o.ts_init <= stop_ns for o in worked.ladder_children)
        assert_balanced(worked)
    finally:
        worked.engine.dispose()


def test_one_unit_is_one_part() -> None:
    worked = work(quantity=1)
    try:
        assert worked.result["parts"] == [1]
        assert all(o.quantity.as_double() == 1 for o in worked.ladder_children)
        assert_balanced(worked)
    finally:
        worked.engine.dispose()


def test_single_contract_primary_on_penny_ticks() -> None:
    worked = work(quantity=5, instrument="option", params={"mode": "legging"})
    try:
        assert worked.result["mode"] == "combo"  # one leg: nothing to leg
        assert {o.instrument_id for o in worked.children} == {worked.market.options[0].id}
        assert worked.result["status"] == "filled"
        held = sum(
            p.signed_decimal_qty() for p in worked.engine.cache.positions(instrument_id=worked.market.options[0].id)
        )
        assert held == Decimal(5)
    finally:
        worked.engine.dispose()


def test_limit_price_bounds_every_child() -> None:
    worked = work(quantity=6, limit_price=2.70, params={"deadline_seconds": 40})
    try:
        assert worked.ladder_children
        assert all(o.price.as_double() <= 2.70 for o in worked.ladder_children)
        assert_balanced(worked)
    finally:
        worked.engine.dispose()


def test_bad_params_deny_the_primary_with_the_reason() -> None:
    worked = work(quantity=5, params={"first_fraction": 1.5})
    try:
        assert worked.primary.status == OrderStatus.DENIED
        denied = worked.primary.events[-1]
        assert "'first_fraction' must be a number between 0 and 1" in denied.reason
        assert worked.children == []
    finally:
        worked.engine.dispose()


def test_passive_fills_depend_on_the_touch_probability() -> None:
    rates = []
    for probability in (0.0, 1.0):
        worked = work(
            quantity=20, config={"bound_fraction": 0.0}, params={"deadline_seconds": 60}, prob_fill_on_touch=probability
        )
        table = worked.algorithm.fill_rate_table()
        table = table[table["kind"] == "ladder"]
        rates.append(table["fills"].sum() / table["attempts"].sum())
        worked.engine.dispose()
    assert rates[0] < rates[1]


def test_stats_persist_and_adaptation_moves_the_starting_rung(tmp_path: Path) -> None:
    path = tmp_path / "stats.sqlite"
    worked = work(quantity=6, config={"stats_db": str(path)})
    run_rows = len(worked.ladder_children)
    worked.engine.dispose()
    db = Database(path)  # a restart: a new connection to the file
    assert db.query("SELECT COUNT(*) AS n FROM fill_attempts WHERE kind = 'ladder'")[0]["n"] == run_rows
    first_steps = db.query("SELECT step FROM fill_attempts WHERE part = 1 ORDER BY ts_submit LIMIT 1")
    assert first_steps[0]["step"] == 0  # not enough samples yet: start at mid
    stats = FillStats(db)
    history = {
        "scope": "backtest",
        "run_id": "history",
        "ts_submit": 0,
        "underlying": "SPY",
        "mode": "combo",
        "part": 1,
        "ladder_steps": 4,
        "leg": "combo",
        "instrument_id": "x",
        "side": "BUY",
        "quantity": 1.0,
        "price": 1.0,
        "mid": 1.0,
    }
    for _ in range(30):
        stats.record(Attempt(step=0, filled=0.0, avg_px=None, slippage=None, time_to_fill_s=None, **history))
        stats.record(Attempt(step=2, filled=1.0, avg_px=1.0, slippage=0.0, time_to_fill_s=1.0, **history))
    stats.flush()
    db.close()
    adapted = work(quantity=6, config={"stats_db": str(path)})
    try:
        adapted.algorithm.stats.flush()
        rows = adapted.algorithm.stats.db.query(
            "SELECT step FROM fill_attempts WHERE run_id = ? AND kind = 'ladder' ORDER BY ts_submit",
            (adapted.algorithm.run_id,),
        )
        assert rows[0]["step"] == 2  # step 0 never fills, step 2 does: start there
        assert all(row["step"] >= 2 for row in rows)
    finally:
        adapted.engine.dispose()
