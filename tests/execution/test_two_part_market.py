"""The two-part algorithm in the market it meets: legging without round trips, legs that always finish
balanced (thin books, worthless wings), deadlines on time when they land on a data timestamp."""

from __future__ import annotations

from pathlib import Path

import pytest
from nautilus_trader.model.events import OrderFilled

from bench.exec_simulation import SimMarket
from hybrid.execution.fill_stats import Attempt, FillStats
from hybrid.store.db import Database
from hybrid.tracking import rebuild_groups
from tests.support.two_part import (
    CONDOR,
    CONDOR_MARKET,
    FIRST_AT_S,
    assert_balanced,
    canceled_at,
    net_premium,
    no_bid,
    round_trips,
    work,
)

pytestmark = pytest.mark.slow  # a backtest, a server or a subprocess per test

LEGGING = {"mode": "legging"}
THIN = {"max_size": 3}


def adapted_history(path: Path, rungs: dict[str, int]) -> None:
    """Fill statistics in which each leg role always filled at its rung (and was never tried below it)."""
    stats = FillStats(Database(path))
    for role, rung in rungs.items():
        for _ in range(30):
            stats.record(
                Attempt(
                    "backtest",
                    "history",
                    0,
                    "SPY",
                    "legging",
                    1,
                    4,
                    rung,
                    role,
                    "x",
                    "BUY",
                    1.0,
                    1.0,
                    1.0,
                    1.0,
                    1.0,
                    0.0,
                    1.0,
                )
            )
    stats.flush()
    stats.db.close()


def test_an_iron_condor_legged_with_legs_adapted_to_different_rungs_makes_no_round_trip(tmp_path: Path) -> None:
    db = tmp_path / "stats.sqlite"
    adapted_history(db, {"buy_call": 4, "buy_put": 0})  # the call wing learnt to cross, the put wing did not
    worked = work(
        quantity=6,
        legs=CONDOR,
        market=CONDOR_MARKET,
        params=LEGGING,
        config={"stats_db": str(db)},
        prob_fill_on_touch=0.0,
    )
    try:
        assert worked.result["status"] == "filled"
        assert round_trips(worked) == {}  # no wing bought and sold back for lack of its partner
        assert_balanced(worked)
        rows = worked.algorithm.stats.db.query(
            "SELECT step, leg FROM fill_attempts WHERE run_id = ? AND kind = 'ladder' ORDER BY id",
            (worked.algorithm.run_id,),
        )
        first = {}
        for row in rows:
            first.setdefault(row["leg"], row["step"])
        assert first == {"buy_call": 4, "buy_put": 4, "sell_call": 4, "sell_put": 4}  # one rung for every leg
        group = next(iter(rebuild_groups(worked.engine.cache)))
        assert group.entry_premium == pytest.approx(net_premium(worked), abs=1e-6)
    finally:
        worked.engine.dispose()


def test_a_short_leg_partly_filled_is_completed_on_the_next_quotes_and_the_group_ends_balanced() -> None:
    # thin books: each sold leg's child and each balancing order gets one to three contracts per quote
    worked = work(quantity=20, legs=CONDOR, market=CONDOR_MARKET | THIN, params=LEGGING | {"deadline_seconds": 30})
    try:
        sold_ids = {worked.market.options[i].id for i, ratio in CONDOR if ratio < 0}
        partly = [o for o in worked.children if o.instrument_id in sold_ids and 0 < o.filled_qty < o.quantity]
        assert partly  # a sold leg was left short by an order, and completed by the next ones
        assert worked.repairs and all(o.time_in_force.name == "IOC" for o in worked.repairs)
        assert_balanced(worked)
        assert worked.result["filled_units"] > 0
        assert round_trips(worked) == {}
        table = worked.algorithm.fill_rate_table()
        balancing = table[table["kind"] == "balance"]
        assert balancing["attempts"].sum() == len(worked.repairs)  # every balancing trade is in the statistics
        assert balancing["filled"].sum() == sum(o.filled_qty.as_double() for o in worked.repairs)
    finally:
        worked.engine.dispose()


def test_a_worthless_wing_is_sold_at_its_zero_bid_and_the_group_ends_balanced() -> None:
    # closing the condor (a SELL of it): the short body is bought back first, then the wings are sold; the
    # 90 put wing is quoted 0.00/0.01 throughout, so it can only go at the zero bid
    worked = work(quantity=4, side="SELL", legs=CONDOR, market=CONDOR_MARKET, params=LEGGING, quotes=no_bid(0))
    try:
        wing = worked.market.options[0].id
        sold = [e for o in worked.children if o.instrument_id == wing for e in o.events if isinstance(e, OrderFilled)]
        assert sold and all(e.last_px.as_double() == 0.0 for e in sold)
        assert_balanced(worked)
        assert worked.result["filled_units"] == 4
        assert round_trips(worked) == {}
    finally:
        worked.engine.dispose()


SPARSE = {"interval_ms": 5000}  # quotes every 5 s: the order arrives at 5 s, its 20 s deadline lands on quotes


@pytest.mark.parametrize("on_deadline", ["cancel", "complete"])
@pytest.mark.parametrize("mode", ["combo", "legging"])
def test_a_deadline_on_a_data_timestamp_fires_at_the_deadline_never_before(mode: str, on_deadline: str) -> None:
    worked = work(
        quantity=20,
        market=SPARSE | THIN,
        params={"mode": mode, "deadline_seconds": 20, "on_deadline": on_deadline},
        prob_fill_on_touch=0.0,
    )
    try:
        deadline_ns = worked.primary.ts_init + 20_000_000_000
        assert worked.seconds(worked.primary.ts_init) == FIRST_AT_S
        assert (deadline_ns - worked.market.start_ns) % 5_000_000_000 == 0  # on a data timestamp
        assert worked.result["status"] == "deadline"
        assert worked.primary.ts_last >= deadline_ns  # it ended at its deadline, not before
        attempts = [o for o in worked.ladder_children if o.ts_init < deadline_ns]
        completion = [o for o in worked.ladder_children if o.ts_init >= deadline_ns]
        if on_deadline == "complete":  # the completion at the bound starts at the deadline
            assert completion and deadline_ns <= completion[0].ts_init < deadline_ns + 1_000_000
        else:
            assert completion == []
        cut = [o for o in attempts if (canceled_at(o) or 0) >= deadline_ns]
        assert all(canceled_at(o) == deadline_ns for o in cut)  # what the deadline cancelled, it cancelled on time
        assert_balanced(worked)
    finally:
        worked.engine.dispose()


def test_waiting_for_a_first_quote_counts_against_the_deadline() -> None:
    # the vertical's legs are first quoted 30 s into the market, the order comes at 5 s with a 20 s deadline
    def late(sim: SimMarket) -> None:
        legs = {sim.options[0].id, sim.options[1].id}
        sim.quotes = [q for q in sim.quotes if q.instrument_id not in legs or q.ts_init >= sim.start_ns + 30 * 10**9]

    worked = work(quantity=4, params={"deadline_seconds": 20}, quotes=late)
    try:
        assert worked.result["status"] == "deadline" and worked.result["filled_units"] == 0
        assert worked.children == []
        assert worked.result["waited_for_quote_s"] == pytest.approx(20.0)
        assert worked.primary.ts_last == worked.primary.ts_init + 20_000_000_000
    finally:
        worked.engine.dispose()
