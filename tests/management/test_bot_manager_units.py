"""The bot manager's bookkeeping without an engine: releasing a refused decision, debounce log lines, lineage
inheritance and P&L, and the report's action summary."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from nautilus_trader.model.identifiers import InstrumentId

from hybrid.management.action_feed import lineages, record_row
from hybrid.management.action_log import ActionLog, ActionRecord
from hybrid.management.bot_manager import BotManager, BotManagerConfig, interrupted_exits
from hybrid.management.exit_rules import evaluate
from hybrid.management.management_rules import ManagementRules
from hybrid.management.management_store import ManagementStore
from hybrid.management.state import ManagementState
from hybrid.options.legs import Leg
from hybrid.store.db import Database
from hybrid.tracking import PositionGroup
from hybrid.valuation.marks import LegQuote, MarkedGroup

T0 = dt.datetime(2024, 3, 1, 15, 0, tzinfo=dt.UTC)
EXPIRY = dt.date(2024, 4, 19)


def credit_spread(cost_to_close: float) -> MarkedGroup:
    """A put spread sold for 1.00 that now costs ``cost_to_close`` (P&L % = (1 - cost) x 100), 4 units."""
    short = cost_to_close + 0.5
    legs = (Leg("put", 450.0, EXPIRY, -1), Leg("put", 445.0, EXPIRY, 1))
    return MarkedGroup("g1", legs, (LegQuote(short - 0.01, short + 0.01), LegQuote(0.49, 0.51)), -1.0, 4, 4)


@pytest.fixture
def store() -> tuple[ManagementStore, ActionLog]:
    db = Database(":memory:")
    log = ActionLog(db)
    return ManagementStore(db, log), log


def test_a_refused_close_is_released_so_the_group_is_managed_again(store: tuple[ManagementStore, ActionLog]) -> None:
    management, log = store
    management.register("g1", T0)
    before = management.state("g1")
    rules = ManagementRules(stop_confirmations=1)
    decision = evaluate(credit_spread(3.5), before, rules, T0)
    management.record_decision("g1", decision, T0)
    assert management.state("g1").exit_requested == "stop_loss"
    assert evaluate(credit_spread(3.5), management.state("g1"), rules, T0).kind == "none"  # waiting for the close
    management.release("g1", before, T0, "close_all refused: trading state is HALTED")
    assert management.state("g1") == before
    assert evaluate(credit_spread(3.5), management.state("g1"), rules, T0).kind == "close_all"
    (released,) = log.query(action="released")
    assert released.reason == "close_all refused: trading state is HALTED"


def test_stop_checks_and_resets_are_logged(store: tuple[ManagementStore, ActionLog]) -> None:
    management, log = store
    management.register("g1", T0)
    rules = ManagementRules(stop_confirmations=3)
    for minute, cost in enumerate((3.5, 3.5, 1.2, 3.5, 3.5, 3.5)):  # beyond, beyond, back inside, then 3 beyond
        now = T0 + dt.timedelta(minutes=5 * minute)
        management.record_decision("g1", evaluate(credit_spread(cost), management.state("g1"), rules, now), now)
    actions = [r.action for r in log.query(group_id="g1")]
    assert actions == ["manage", "stop_check", "stop_check", "stop_reset", "stop_check", "stop_check", "close_all"]


def test_a_roll_child_inherits_rules_and_entry_deltas_and_sums_the_lineage(
    store: tuple[ManagementStore, ActionLog],
) -> None:
    management, log = store
    deltas = (-0.16, -0.10)
    management.register("root", T0, ManagementState(entry_deltas=deltas))
    management.set_rules("root", ManagementRules(stop_loss_pct=-150.0), T0)
    management.record_roll("root", "child", T0)
    assert management.state("child").entry_deltas == deltas
    assert management.state("child").rules.stop_loss_pct == -150.0
    management.mark_closed("root", -120.0, T0)
    management.record_roll("child", "grandchild", T0)
    management.mark_closed("child", 200.0, T0)
    (closed,) = log.query(group_id="child", action="closed")
    assert closed.details == {"realised_pnl": 200.0, "root_id": "root", "lineage_pnl": 80.0}
    assert management.lineage_pnl("grandchild", open_unrealised=15.0) == pytest.approx(95.0)


def test_lineages_in_the_report_follow_roll_opened_rows() -> None:
    def opened(child: str, parent: str, generation: int) -> dict:
        details = {"parent_id": parent, "root_id": "a", "generation": generation}
        return record_row(
            ActionRecord(T0, "roll_opened", f"rolled from {parent}", group_id=child, details=details, id=1), "Bot"
        )

    rows = [opened("b", "a", 1), opened("c", "b", 2), record_row(ActionRecord(T0, "manage", "x", group_id="z"), "Bot")]
    assert json.loads(rows[0]["details"])["root_id"] == "a"
    assert lineages(rows, {"a": -50.0, "b": 20.0, "c": 5.5, "z": 1.0}) == [
        {"root_id": "a", "group_ids": ["a", "b", "c"], "rolls": 2, "pnl": -24.5}
    ]
    assert lineages(rows, {"a": -50.0, "b": None, "c": 5.5})[0]["pnl"] is None  # a leg without a quote


@pytest.mark.parametrize(
    ("utc", "active"),
    [
        ("2024-01-02T14:44", False),  # 09:44 New York, before active_from
        ("2024-01-02T14:45", True),
        ("2024-01-02T20:55", True),  # 15:55, active_until
        ("2024-01-02T20:56", False),
        ("2024-01-06T15:00", False),  # a Saturday
        ("2024-01-15T15:00", False),  # Martin Luther King Day
        ("2024-11-29T17:59", True),  # the day after Thanksgiving closes at 13:00
        ("2024-11-29T18:00", False),
    ],
)
def test_checks_run_inside_sessions_only(utc: str, active: bool) -> None:
    bot = BotManager(BotManagerConfig())
    assert bot.is_active(dt.datetime.fromisoformat(utc).replace(tzinfo=dt.UTC)) is active


def test_a_full_close_the_restart_cancelled_is_forgotten_and_decided_again() -> None:
    """After a restart the bot resumes its groups' states; a full close it had asked for whose order the paper
    venue cancelled at the restart (the group open, nothing working) must not keep the group unmanaged."""

    def group(group_id: str, units: int, working: int) -> PositionGroup:
        held = PositionGroup(
            group_id, "OrderDesk-000", "bull_put_spread", "manual", InstrumentId.from_str("X.OPRA"), [], []
        )
        held.units, held.fills, held.working_orders = units, 1, working
        return held

    asked, idle = ManagementState(exit_requested="stop_loss"), ManagementState(fired_levels=(1,))
    book = {"cancelled": group("cancelled", -4, 0), "working": group("working", -4, 1), "flat": group("flat", 0, 0)}
    states = {"cancelled": asked, "working": asked, "flat": asked, "idle": idle, "gone": asked}
    assert interrupted_exits(states, book.get) == {"cancelled": asked}
    rules = ManagementRules(stop_confirmations=1)
    released = asked.model_copy(update={"exit_requested": None, "stop_count": 1})
    assert evaluate(credit_spread(3.5), asked, rules, T0).kind == "none"  # before: the close is "already asked"
    assert evaluate(credit_spread(3.5), released, rules, T0).kind == "close_all"  # after: asked again
