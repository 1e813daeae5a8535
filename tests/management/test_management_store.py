"""The management store: group state, manual overrides and roll lineage, persisted and logged."""

from __future__ import annotations

import datetime as dt

import pytest

from hybrid.management.action_log import ActionLog
from hybrid.management.exit_rules import evaluate
from hybrid.management.management_rules import ManagementRules
from hybrid.management.management_store import ManagementStore
from hybrid.management.rolls import Lineage
from hybrid.options.legs import Leg
from hybrid.store.db import Database
from hybrid.valuation.marks import LegQuote, MarkedGroup

T0 = dt.datetime(2024, 7, 1, 14, 0, tzinfo=dt.UTC)
RULES = ManagementRules()


def open_store(path) -> tuple[ManagementStore, ActionLog]:
    db = Database(path)
    log = ActionLog(db)
    return ManagementStore(db, log), log


def credit_spread(value: float) -> MarkedGroup:
    """A 1.00-credit put spread that costs ``value`` to buy back (P&L % = (1 - value) x 100)."""
    expiry = dt.date(2024, 8, 16)
    short = value + 0.5
    return MarkedGroup(
        "g1",
        (Leg("put", 450.0, expiry, -1), Leg("put", 445.0, expiry, 1)),
        (LegQuote(short - 0.01, short + 0.01), LegQuote(0.49, 0.51)),
        -1.0,
        4,
        4,
    )


@pytest.fixture
def path(tmp_path):
    return tmp_path / "hybrid.sqlite"


def test_the_stop_count_survives_a_restart_so_the_debounce_is_not_reset(path):
    store, log = open_store(path)
    store.register("g1", T0)
    first = evaluate(credit_spread(3.5), store.state("g1"), RULES, T0)
    store.record_decision("g1", first, T0)
    assert log.query(group_id="g1", action="close_all") == []  # one check beyond the stop is not an action

    store, log = open_store(path)  # crash and restart
    second = evaluate(credit_spread(3.5), store.state("g1"), RULES, T0)
    store.record_decision("g1", second, T0)
    assert second.kind == "close_all"
    assert store.state("g1").exit_requested == "stop_loss"
    [logged] = log.query(group_id="g1", action="close_all")
    assert "stop loss" in logged.reason and logged.details["units"] == 4
    # a person pauses, cancels the close, and hands the group back: the bot may act on it again
    store.pause("g1", T0)
    assert store.resume("g1", T0).exit_requested is None


def test_pause_resume_and_custom_rules_are_persisted_and_logged(path):
    store, log = open_store(path)
    store.register("g1", T0)
    store.record_decision("g1", evaluate(credit_spread(3.5), store.state("g1"), RULES, T0), T0)
    store.pause("g1", T0 + dt.timedelta(minutes=1), reason="trader takes over")
    custom = ManagementRules(stop_loss_pct=-100.0, stop_confirmations=3)
    store.set_rules("g1", custom, T0 + dt.timedelta(minutes=2))

    store, log = open_store(path)
    state = store.state("g1")
    assert state.paused and state.rules == custom
    assert evaluate(credit_spread(9.0), state, RULES, T0).kind == "none"
    resumed = store.resume("g1", T0 + dt.timedelta(minutes=3))
    assert not resumed.paused and resumed.stop_count == 0 and store.state("g1") == resumed
    assert resumed.rules == custom  # resuming keeps the group's own rules
    entries = log.query(group_id="g1")
    assert [e.action for e in entries] == ["manage", "stop_check", "pause", "set_rules", "resume"]
    assert entries[2].reason == "trader takes over"
    assert entries[3].details["rules"]["stop_loss_pct"] == -100.0
    store.set_rules("g1", None, T0 + dt.timedelta(minutes=4))
    assert store.state("g1").rules is None


def test_unknown_groups_are_a_clear_error(path):
    store, _ = open_store(path)
    with pytest.raises(KeyError, match="group 'nope' is not under management"):
        store.pause("nope", T0)


def test_rolls_form_one_lineage_with_cumulative_pnl_across_a_restart(path):
    store, log = open_store(path)
    assert store.register("g1", T0) == Lineage.root("g1")
    assert store.register("g1", T0) == Lineage.root("g1")  # idempotent
    store.set_rules("g1", ManagementRules(stop_confirmations=3), T0)
    store.mark_closed("g1", -80.0, T0 + dt.timedelta(days=30))
    second = store.record_roll("g1", "g2", T0 + dt.timedelta(days=30))
    assert second == Lineage("g2", "g1", "g1", 1)
    assert store.record_roll("g1", "g2", T0 + dt.timedelta(days=30)) == second  # replayed after a restart
    with pytest.raises(ValueError, match="child_id: group 'g1' is already managed"):
        store.record_roll("g2", "g1", T0)
    assert store.state("g2").rules == ManagementRules(stop_confirmations=3)  # custom rules follow the roll
    store.mark_closed("g2", 150.0, T0 + dt.timedelta(days=60))
    store.record_roll("g2", "g3", T0 + dt.timedelta(days=60))

    store, log = open_store(path)
    assert [m.lineage.group_id for m in store.lineage("g2")] == ["g1", "g2", "g3"]
    assert [m.realised_pnl for m in store.lineage("g3")] == [-80.0, 150.0, None]
    assert store.lineage_pnl("g3") == pytest.approx(70.0)
    assert store.lineage_pnl("g1", open_unrealised=-20.0) == pytest.approx(50.0)
    assert list(store.open_groups()) == ["g3"]
    assert [e.details["generation"] for e in log.query(action="roll_opened")] == [1, 2]


def test_the_batched_lookup_of_many_groups_gives_what_each_groups_own_lookups_give(path):
    store, _ = open_store(path)
    store.register("g1", T0)
    store.pause("g1", T0, reason="by hand")
    store.record_roll("g1", "g2", T0 + dt.timedelta(days=30))
    store.record_roll("g2", "g3", T0 + dt.timedelta(days=60))
    store.register("solo", T0)
    store.set_rules("solo", ManagementRules(stop_confirmations=3), T0)
    asked = ["g3", "unmanaged", "solo", "g1", "g2", 'it\'s "quoted"']

    managed = store.managed(asked)

    assert list(managed) and set(managed) == {"g1", "g2", "g3", "solo"}  # the unmanaged are left out
    for group_id, found in managed.items():
        (own,) = [m.lineage for m in store.lineage(group_id) if m.lineage.group_id == group_id]
        assert (found.state, found.lineage) == (store.state(group_id), own)
    assert managed["g3"].lineage == Lineage("g3", "g1", "g2", 2) and managed["g1"].state.paused
    assert store.managed([]) == {}


def test_states_are_read_once_and_every_write_by_anyone_is_seen_at_the_next_read(path):
    """The bot reads each open group's state at every check; a person's override reaches it by another store
    on the same database (the API in the live node) or by another connection to the file (another process)."""
    bot, _ = open_store(path)
    bot.register("g1", T0)
    queries: list[str] = []
    query = bot._db.query

    def counted(sql: str, params: tuple | dict = ()) -> list:
        queries.append(sql)
        return query(sql, params)

    bot._db.query = counted  # type: ignore[method-assign]
    first = bot.state("g1")
    assert bot.state("g1") is first and sum("FROM managed_groups" in q for q in queries) == 1
    bot.record_decision("g1", evaluate(credit_spread(3.5), first, RULES, T0), T0)  # its own write is kept
    queries.clear()
    assert bot.state("g1").stop_count == 1 and not any("FROM managed_groups" in q for q in queries)

    api = ManagementStore(bot._db, ActionLog(bot._db))  # same database object
    api.pause("g1", T0)
    assert bot.state("g1").paused

    other_process, _ = open_store(path)  # another connection to the file
    other_process.resume("g1", T0)
    assert not bot.state("g1").paused and bot.state("g1").stop_count == 0
