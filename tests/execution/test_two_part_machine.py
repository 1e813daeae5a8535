"""The two-part algorithm's decisions on plain events, without an engine: phases, actions, balanced legs."""

from __future__ import annotations

import dataclasses
import random
from decimal import Decimal
from typing import Any

from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.identifiers import InstrumentId

from hybrid.execution.ladder import Market, TickRule
from hybrid.execution.two_part_machine import (
    SECOND_NS,
    Action,
    AwaitQuote,
    CancelChild,
    CancelTimer,
    Course,
    Ending,
    Finish,
    LegSpec,
    Log,
    Moment,
    Phase,
    Primary,
    RecordAttempt,
    RecordUnits,
    SetTimer,
    Settings,
    SpawnChild,
    StartRung,
    Stop,
    SubmitLegOrder,
    TimerKind,
    TwoPartMachine,
)
from hybrid.options.two_part_params import DEFAULTS

LONG = InstrumentId.from_str("C100.SIM")
SHORT = InstrumentId.from_str("C105.SIM")
SPREAD = InstrumentId.from_str("VERTICAL.SIM")
# the spread's market from its legs: bid 2.00 - 1.00 = 1.00, ask 2.10 - 0.90 = 1.20, mid 1.10
MARKETS = {LONG: Market(2.00, 2.10), SHORT: Market(0.90, 1.00)}
SETTINGS = Settings(
    bound_fraction=1.0,
    child_timeout_seconds=2.5,
    wait_min_seconds=3.0,
    wait_max_seconds=15.0,
    repair_slippage_ticks=2,
    max_repair_rounds=5,
    leg_rule=TickRule.PENNY,
    spread_quotes=True,
)


def machine(
    units: int = 4,
    side: OrderSide = OrderSide.BUY,
    start_rung: StartRung | None = None,
    settings: Settings = SETTINGS,
    **params: Any,
) -> TwoPartMachine:
    """A bought 100/105 call vertical (the long leg is the protective one) of ``units`` units."""
    primary = Primary(
        name="P-1",
        instrument_id=SPREAD,
        side=side,
        units=units,
        increment=0.01,
        spread=True,
        legs=(LegSpec(LONG, 1, 0.01, "call"), LegSpec(SHORT, -1, 0.01, "call")),
        params=dataclasses.replace(DEFAULTS, **params),
        underlying="SPY",
    )
    return TwoPartMachine(primary, settings, random.Random(0), start_rung)


def at(seconds: float, markets: dict[InstrumentId, Market] = MARKETS, spread_quoted: bool = True) -> Moment:
    return Moment(int(seconds * SECOND_NS), markets, spread_quoted)


def only[T](actions: list[Action], kind: type[T]) -> list[T]:
    return [a for a in actions if isinstance(a, kind)]


def timer(actions: list[Action], kind: TimerKind) -> SetTimer:
    (found,) = [a for a in only(actions, SetTimer) if a.kind == kind]
    return found


def fill(m: TwoPartMachine, key: str, qty: int, price: float, side: OrderSide, now: Moment) -> list[Action]:
    return m.on_fill(key, Decimal(qty), price, side, now.ts_ns, True, now)


def test_the_first_part_goes_at_mid_with_a_deadline_and_a_timeout() -> None:
    m = machine()
    actions = m.start(at(0))
    assert m.parts == (1, 3)
    assert actions == [
        SetTimer("P-1:deadline", 180 * SECOND_NS, TimerKind.DEADLINE),
        SpawnChild("S1", 1, 1.10, int(2.5 * SECOND_NS)),
    ]
    assert (m.phase, m.working) == (Phase.LADDER, ("S1",))


def test_a_spread_without_a_quote_waits_for_its_first_one_and_says_why() -> None:
    m = machine()
    (awaited,) = only(m.start(at(0, spread_quoted=False)), AwaitQuote)
    assert awaited.instrument_ids == (SPREAD,) and "no quote yet" in awaited.reason
    assert m.phase == Phase.WAIT and m.attempt == 0
    assert only(m.on_quote(at(1)), SpawnChild) == [SpawnChild("S1", 1, 1.10, int(3.5 * SECOND_NS))]
    assert m.on_quote(at(2)) == []  # no longer awaited


def test_waiting_for_a_first_quote_counts_against_the_deadline() -> None:
    m = machine(deadline_seconds=5.0)
    m.start(at(0, spread_quoted=False))
    actions = m.on_timer(TimerKind.DEADLINE, at(5, spread_quoted=False))
    assert Log("warning", "deadline while the spread had no quote yet: nothing was sent") in actions
    (finish,) = only(actions, Finish)
    assert finish.summary["status"] == "deadline" and finish.summary["waited_for_quote_s"] == 5.0


def test_an_unfilled_child_is_cancelled_at_its_timeout_and_the_next_attempt_steps_a_rung_after_a_wait() -> None:
    m = machine()
    m.start(at(0))
    assert m.on_child_timeout("S1") == [CancelChild("S1")]
    closed = m.on_child_closed("S1", at(2.5))
    assert only(closed, RecordAttempt)[0].filled == 0 and only(closed, RecordAttempt)[0].step == 0
    settle = timer(closed, TimerKind.SETTLE)
    assert settle.at_ns == int(2.5 * SECOND_NS)  # the end of this instant

    waited = m.on_timer(TimerKind.SETTLE, at(2.5))
    wait = timer(waited, TimerKind.WAIT)
    assert (m.phase, m.attempt) == (Phase.WAIT, 1)
    assert 3.0 <= (wait.at_ns - settle.at_ns) / SECOND_NS <= 15.0
    assert only(m.on_timer(TimerKind.WAIT, at(wait.at_ns / SECOND_NS)), SpawnChild)[0].price == 1.12  # rung 1
    assert m.on_child_timeout("S9") == []  # not a child (any more)


def test_a_filled_first_part_with_its_leg_fills_is_followed_by_the_second_part() -> None:
    m = machine()
    m.start(at(0))
    recorded = only(fill(m, "S1", 1, 1.10, OrderSide.BUY, at(1)), RecordAttempt)
    assert recorded[0].filled == 1 and recorded[0].part == 1 and recorded[0].leg == "combo"
    m.on_leg_fill(LONG, Decimal(1))
    m.on_leg_fill(SHORT, Decimal(-1))
    wait = timer(m.on_timer(TimerKind.SETTLE, at(1)), TimerKind.WAIT)
    assert (m.phase, m.part, m.attempt, m.filled_units) == (Phase.WAIT, 1, 0, 1)
    assert only(m.on_timer(TimerKind.WAIT, at(wait.at_ns / SECOND_NS)), SpawnChild)[0].quantity == 3  # at mid again


def test_a_spread_fill_without_leg_fills_is_repaired_protective_leg_first() -> None:
    m = machine()
    m.start(at(0))
    fill(m, "S1", 1, 1.10, OrderSide.BUY, at(1))  # the venue generated no leg fills
    repairs = only(m.on_timer(TimerKind.SETTLE, at(1)), SubmitLegOrder)
    assert m.phase == Phase.REPAIR
    assert [(r.instrument_id, r.side, r.quantity, r.price, r.repair, r.timeout_at_ns) for r in repairs] == [
        (LONG, OrderSide.BUY, 1, 2.12, True, None),  # IOC, two ticks beyond the ask
        (SHORT, OrderSide.SELL, 1, 0.88, True, None),
    ]
    recorded = [only(fill(m, r.key, 1, r.price, r.side, at(1)), RecordAttempt)[0] for r in repairs]
    assert [(r.kind, r.step, r.leg, r.filled) for r in recorded] == [  # balancing trades are statistics too
        ("balance", -1, "buy_call", 1),
        ("balance", -1, "sell_call", 1),
    ]
    m.on_timer(TimerKind.SETTLE, at(1))
    assert m.held() == {LONG: 1, SHORT: -1}
    assert (m.phase, m.filled_units) == (Phase.WAIT, 1)


def test_a_balancing_order_left_short_is_sent_again_at_the_next_quote() -> None:
    m = machine()
    m.start(at(0))
    fill(m, "S1", 1, 1.10, OrderSide.BUY, at(1))
    m.on_leg_fill(LONG, Decimal(1))  # the short leg's synthetic fill is missing
    (repair,) = only(m.on_timer(TimerKind.SETTLE, at(1)), SubmitLegOrder)
    m.on_child_closed(repair.key, at(1))  # the IOC found no bid size
    (awaited,) = only(m.on_timer(TimerKind.SETTLE, at(1)), AwaitQuote)  # not again on the same quote
    assert awaited.instrument_ids == (SHORT,) and m.phase == Phase.REPAIR
    (again,) = only(m.on_quote(at(1.25)), SubmitLegOrder)
    assert (again.instrument_id, again.side, again.quantity) == (SHORT, OrderSide.SELL, 1)


def test_legs_that_stay_unbalanced_end_the_order_as_unbalanced() -> None:
    m = machine(settings=dataclasses.replace(SETTINGS, max_repair_rounds=2))
    m.start(at(0))
    fill(m, "S1", 1, 1.10, OrderSide.BUY, at(1))
    m.on_timer(TimerKind.SETTLE, at(1))
    m.on_child_closed("L1", at(1))  # both IOC repairs find nothing
    m.on_child_closed("L2", at(1))
    m.on_timer(TimerKind.SETTLE, at(1))
    assert {a.key for a in only(m.on_quote(at(2)), SubmitLegOrder)} == {"L3", "L4"}  # a second round
    m.on_child_closed("L3", at(2))
    m.on_child_closed("L4", at(2))
    actions = m.on_timer(TimerKind.SETTLE, at(2))
    assert only(actions, Log)[0].level == "error"
    assert m.stop == Stop(Ending.UNBALANCED) and m.phase == Phase.DONE
    (finish,) = only(actions, Finish)
    assert finish.summary["balanced"] is False and finish.summary["status"] == "unbalanced"


def test_the_deadline_during_a_wait_ends_the_order() -> None:
    m = machine(deadline_seconds=5.0)
    m.start(at(0))
    m.on_child_closed("S1", at(2.5))
    wait = timer(m.on_timer(TimerKind.SETTLE, at(2.5)), TimerKind.WAIT)
    actions = m.on_timer(TimerKind.DEADLINE, at(5))
    assert actions[0] == CancelTimer(wait.name)
    assert CancelTimer("P-1:deadline") in actions
    (finish,) = only(actions, Finish)
    assert finish.summary == {
        "status": "deadline",
        "mode": "combo",
        "units": 4,
        "parts": [1, 3],
        "filled_units": 0,
        "balanced": True,
        "legs": {"C100.SIM": "0", "C105.SIM": "0"},
        "waited_for_quote_s": 0.0,
    }
    assert m.phase == Phase.DONE and m.on_timer(TimerKind.WAIT, at(6)) == []


def test_the_deadline_cancels_working_children_and_complete_tries_once_more_at_the_bound() -> None:
    m = machine(on_deadline="complete")
    m.start(at(0))
    assert m.on_timer(TimerKind.DEADLINE, at(1)) == [CancelChild("S1")]
    assert m.stop == Stop(Ending.DEADLINE, cancelling=True)
    m.on_child_closed("S1", at(1))
    spawned = only(m.on_timer(TimerKind.SETTLE, at(1)), SpawnChild)
    assert spawned == [SpawnChild("S2", 4, 1.20, int(3.5 * SECOND_NS))]  # every unit, at the ask
    assert m.course == Course.COMPLETION and m.stop == Stop(Ending.DEADLINE)
    m.on_child_closed("S2", at(3.5))
    (finish,) = only(m.on_timer(TimerKind.SETTLE, at(3.5)), Finish)  # no second completion
    assert finish.summary["status"] == "deadline"


def test_the_last_attempt_ends_the_order() -> None:
    m = machine(max_attempts=2)
    m.start(at(0))
    m.on_child_closed("S1", at(2.5))
    wait = timer(m.on_timer(TimerKind.SETTLE, at(2.5)), TimerKind.WAIT)
    m.on_timer(TimerKind.WAIT, at(wait.at_ns / SECOND_NS))
    m.on_child_closed("S2", at(20))
    (finish,) = only(m.on_timer(TimerKind.SETTLE, at(20)), Finish)
    assert finish.summary["status"] == "attempts" and m.attempt == 2


def test_a_cancelled_primary_stops_without_completing() -> None:
    m = machine(on_deadline="complete")
    m.start(at(0))
    assert m.on_primary_canceled(at(1)) == [CancelChild("S1")]
    m.on_child_closed("S1", at(1))
    (finish,) = only(m.on_timer(TimerKind.SETTLE, at(1)), Finish)
    assert finish.summary["status"] == "cancelled"
    assert m.on_primary_canceled(at(2)) == []  # the local close of the primary arrives when done


def test_legging_buys_the_protective_leg_then_sells_the_covered_units_and_records_them() -> None:
    m = machine(mode="legging")
    bought = only(m.start(at(0)), SubmitLegOrder)
    assert [(o.key, o.instrument_id, o.side, o.quantity, o.price) for o in bought] == [
        ("L1", LONG, OrderSide.BUY, 1, 2.05)
    ]
    assert m.phase == Phase.PROTECT
    fill(m, "L1", 1, 2.05, OrderSide.BUY, at(1))
    sold = only(m.on_timer(TimerKind.SETTLE, at(1)), SubmitLegOrder)
    assert [(o.key, o.instrument_id, o.side, o.quantity, o.price) for o in sold] == [
        ("L2", SHORT, OrderSide.SELL, 1, 0.95)
    ]
    assert m.phase == Phase.SHORT
    assert only(fill(m, "L2", 1, 0.95, OrderSide.SELL, at(1.5)), RecordAttempt)[0].leg == "sell_call"
    actions = m.on_timer(TimerKind.SETTLE, at(1.5))
    assert only(actions, RecordUnits) == [RecordUnits(1, 1.10)]  # 2.05 paid, 0.95 received
    assert (m.phase, m.filled_units, m.mode) == (Phase.WAIT, 1, "legging")


def test_legging_halted_after_the_protective_leg_completes_the_short_leg_at_once() -> None:
    m = machine(mode="legging")
    m.start(at(0))
    assert m.on_timer(TimerKind.DEADLINE, at(0.5)) == [CancelChild("L1")]
    fill(m, "L1", 1, 2.05, OrderSide.BUY, at(0.6))
    (repair,) = only(m.on_timer(TimerKind.SETTLE, at(0.6)), SubmitLegOrder)
    assert (repair.instrument_id, repair.side, repair.quantity, repair.repair) == (SHORT, OrderSide.SELL, 1, True)
    fill(m, repair.key, 1, 0.88, OrderSide.SELL, at(0.8))
    actions = m.on_timer(TimerKind.SETTLE, at(0.8))
    assert m.held() == {LONG: 1, SHORT: -1}
    assert only(actions, Finish)[0].summary["filled_units"] == 1


def test_legging_beyond_the_limit_at_mid_skips_the_attempt() -> None:
    m = machine(mode="legging", limit_price=1.00)  # the legs cost 1.10 at mid
    actions = m.start(at(0))
    assert only(actions, Log) == [Log("warning", "legs at mid cost 1.10 per unit, beyond the limit 1.0")]
    assert not only(actions, SubmitLegOrder) and timer(actions, TimerKind.SETTLE)


def test_a_missing_quote_skips_the_attempt() -> None:
    m = machine()
    actions = m.start(at(0, markets={LONG: MARKETS[LONG]}))
    assert not only(actions, SpawnChild) and timer(actions, TimerKind.SETTLE)


def test_the_fill_statistics_choose_the_first_rung_once_per_part() -> None:
    asked = []

    def start_rung(underlying: str, mode: str, roles: tuple[str, ...], steps: int) -> int:
        asked.append((underlying, mode, roles, steps))
        return 2 - len(asked)  # what the statistics say changes with every question

    m = machine(start_rung=start_rung)
    assert only(m.start(at(0)), SpawnChild)[0].price == 1.12  # rung 1
    m.on_child_closed("S1", at(2.5))
    wait = timer(m.on_timer(TimerKind.SETTLE, at(2.5)), TimerKind.WAIT)
    assert only(m.on_timer(TimerKind.WAIT, at(wait.at_ns / SECOND_NS)), SpawnChild)[0].price == 1.15  # rung 2
    assert asked == [("SPY", "combo", ("combo",), 4)]  # the part's start was asked once, not per attempt


def test_a_sold_spread_works_the_other_side() -> None:
    m = machine(side=OrderSide.SELL, deadline_seconds=10.0, on_deadline="complete")
    m.start(at(0))
    m.on_timer(TimerKind.DEADLINE, at(1))
    m.on_child_closed("S1", at(1))
    assert only(m.on_timer(TimerKind.SETTLE, at(1)), SpawnChild)[0].price == 1.00  # the bid


# -- legging an iron condor: two protective wings ------------------------------------------------

CALL_WING, PUT_WING = InstrumentId.from_str("C110.SIM"), InstrumentId.from_str("P90.SIM")
CALL_BODY, PUT_BODY = InstrumentId.from_str("C105.SIM"), InstrumentId.from_str("P95.SIM")
CONDOR_MARKETS = {
    CALL_BODY: Market(1.85, 1.95),
    CALL_WING: Market(0.85, 0.95),
    PUT_WING: Market(0.75, 0.85),
    PUT_BODY: Market(1.55, 1.65),
}


def condor(units: int = 4, start_rung: StartRung | None = None, **params: Any) -> TwoPartMachine:
    """An iron condor sold for a credit, as a BUY of the spread: the wings are the legs it buys."""
    legs = (
        LegSpec(CALL_BODY, -1, 0.01, "call"),
        LegSpec(CALL_WING, 1, 0.01, "call"),
        LegSpec(PUT_WING, 1, 0.01, "put"),
        LegSpec(PUT_BODY, -1, 0.01, "put"),
    )
    primary = Primary(
        "P-2",
        SPREAD,
        OrderSide.BUY,
        units,
        0.01,
        True,
        legs,
        dataclasses.replace(DEFAULTS, mode="legging", **params),
        "SPY",
    )
    return TwoPartMachine(primary, SETTINGS, random.Random(0), start_rung)


def on(seconds: float, markets: dict[InstrumentId, Market] = CONDOR_MARKETS) -> Moment:
    return at(seconds, markets)


def orders(actions: list[Action]) -> list[tuple[InstrumentId, OrderSide, Decimal, float]]:
    return [(o.instrument_id, o.side, o.quantity, o.price) for o in only(actions, SubmitLegOrder)]


def test_legging_prices_every_leg_at_the_one_rung_of_the_part() -> None:
    adapted = {"buy_call": 4, "buy_put": 0, "sell_call": 1, "sell_put": 0}
    m = condor(start_rung=lambda _u, _m, roles, _s: max(adapted[role] for role in roles))
    assert orders(m.start(on(0))) == [  # both wings at rung 4 (the ask), not the put wing at mid
        (CALL_WING, OrderSide.BUY, 1, 0.95),
        (PUT_WING, OrderSide.BUY, 1, 0.85),
    ]


def _call_wing_only(m: TwoPartMachine) -> list[Action]:
    """The first attempt: the call wing fills, the put wing times out unfilled; the end of that instant."""
    m.start(on(0))
    fill(m, "L1", 1, 0.90, OrderSide.BUY, on(1))
    m.on_child_closed("L2", on(2.5))
    return m.on_timer(TimerKind.SETTLE, on(2.5))


def test_a_protective_leg_bought_without_its_partner_waits_for_it_instead_of_being_sold_back() -> None:
    m = condor()
    settled = _call_wing_only(m)
    assert not only(settled, SubmitLegOrder) and not only(settled, RecordUnits)  # nothing sold back
    assert m.held() == {CALL_BODY: 0, CALL_WING: 1, PUT_WING: 0, PUT_BODY: 0} and m.phase == Phase.WAIT
    wait = timer(settled, TimerKind.WAIT)
    # the next attempt asks only the put wing for its unit (one rung up), then the body is sold for it
    assert orders(m.on_timer(TimerKind.WAIT, on(wait.at_ns / SECOND_NS))) == [(PUT_WING, OrderSide.BUY, 1, 0.81)]


def test_at_the_end_the_unit_in_progress_is_completed_at_the_touch() -> None:
    m = condor()
    _call_wing_only(m)
    actions = m.on_timer(TimerKind.DEADLINE, on(3))  # during the wait
    assert orders(actions) == [(PUT_WING, OrderSide.BUY, 1, 0.87)]  # IOC, two ticks beyond the ask
    (wing,) = only(actions, SubmitLegOrder)
    fill(m, wing.key, 1, 0.85, OrderSide.BUY, on(3))
    body = m.on_timer(TimerKind.SETTLE, on(3))
    assert orders(body) == [(CALL_BODY, OrderSide.SELL, 1, 1.83), (PUT_BODY, OrderSide.SELL, 1, 1.53)]
    for order in only(body, SubmitLegOrder):
        fill(m, order.key, 1, order.price, OrderSide.SELL, on(3))
    done = m.on_timer(TimerKind.SETTLE, on(3))
    assert only(done, RecordUnits) == [RecordUnits(1, round(0.90 + 0.85 - 1.83 - 1.53, 6))]  # what was paid
    assert only(done, Finish)[0].summary["filled_units"] == 1


def test_a_cancelled_order_reduces_the_unit_in_progress() -> None:
    m = condor()
    _call_wing_only(m)
    assert orders(m.on_primary_canceled(on(3))) == [(CALL_WING, OrderSide.SELL, 1, 0.83)]


def test_a_leg_nobody_bids_for_is_not_sold_back_the_unit_is_completed() -> None:
    m = condor()
    _call_wing_only(m)
    worthless = CONDOR_MARKETS | {CALL_WING: Market(0.00, 0.01)}
    assert orders(m.on_primary_canceled(on(3, worthless))) == [(PUT_WING, OrderSide.BUY, 1, 0.87)]


def test_sold_legs_that_cannot_be_completed_have_the_protective_legs_reduced_to_them() -> None:
    m = machine(mode="legging", settings=dataclasses.replace(SETTINGS, max_repair_rounds=2))
    m.start(at(0))
    fill(m, "L1", 1, 2.05, OrderSide.BUY, at(1))
    m.on_timer(TimerKind.SETTLE, at(1))  # the short leg's ladder child L2
    m.on_child_closed("L2", at(3.5))
    (first,) = only(m.on_timer(TimerKind.SETTLE, at(3.5)), SubmitLegOrder)
    m.on_child_closed(first.key, at(3.5))  # no bid size
    assert only(m.on_timer(TimerKind.SETTLE, at(3.5)), AwaitQuote)
    (second,) = only(m.on_quote(at(4)), SubmitLegOrder)
    assert (second.instrument_id, second.side) == (SHORT, OrderSide.SELL)
    m.on_child_closed(second.key, at(4))
    actions = m.on_timer(TimerKind.SETTLE, at(4))
    assert only(actions, Log)[0].message.startswith("sold legs not completed, protective legs reduced")
    assert orders(actions) == [(LONG, OrderSide.SELL, 1, 1.98)]
