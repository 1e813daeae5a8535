"""The action log: persisted, queryable by group, template, action and time, feeding listeners after commit."""

from __future__ import annotations

import datetime as dt

import pytest

from hybrid.management.action_log import ActionLog, ActionRecord
from hybrid.store.db import Database

T0 = dt.datetime(2024, 7, 1, 14, 0, tzinfo=dt.UTC)


def minutes(n: int) -> dt.datetime:
    return T0 + dt.timedelta(minutes=n)


@pytest.fixture
def path(tmp_path):
    return tmp_path / "hybrid.sqlite"


def test_records_survive_a_reopen_and_are_queried_by_group_template_action_and_time(path):
    log = ActionLog(Database(path))
    log.record(ActionRecord(minutes(0), "close_units", "take profit", group_id="g1", details={"units": 3}))
    log.record(ActionRecord(minutes(5), "close_all", "stop loss", group_id="g2"))
    log.record(ActionRecord(minutes(10), "template_fired", "all conditions hold", template_id=7))
    log.record(ActionRecord(minutes(15), "roll", "6 days to expiry", group_id="g1"))

    reopened = ActionLog(Database(path))
    assert [r.action for r in reopened.query(group_id="g1")] == ["close_units", "roll"]
    assert reopened.query(group_id="g1")[0].details == {"units": 3}
    assert [r.reason for r in reopened.query(template_id=7)] == ["all conditions hold"]
    assert [r.action for r in reopened.query(since=minutes(5), until=minutes(15))] == ["close_all", "template_fired"]
    assert [r.group_id for r in reopened.query(action="roll")] == ["g1"]
    assert reopened.query(group_id="g1", limit=1)[0].at == minutes(0)


def test_times_in_other_zones_are_stored_as_the_same_instant(path):
    log = ActionLog(Database(path))
    new_york = dt.timezone(dt.timedelta(hours=-4))
    log.record(ActionRecord(minutes(0).astimezone(new_york), "pause", "manual override", group_id="g1"))
    assert log.query(since=minutes(0), until=minutes(1))[0].at == minutes(0)


def test_naive_times_are_refused(path):
    log = ActionLog(Database(path))
    with pytest.raises(ValueError, match="time must be timezone-aware"):
        log.record(ActionRecord(dt.datetime(2024, 7, 1, 10, 0), "pause", "x"))
    with pytest.raises(ValueError, match="action must be a non-empty name"):
        log.record(ActionRecord(minutes(0), "", "x"))


def test_listeners_see_committed_records_and_a_failing_listener_does_not_undo_it(path, caplog):
    log = ActionLog(Database(path))
    seen = []

    def broken(record):
        raise RuntimeError("socket closed")

    log.add_listener(broken)
    unsubscribe = log.add_listener(lambda record: seen.append((record.id, log.query(group_id="g1")[-1].id)))
    record = log.record(ActionRecord(minutes(0), "close_all", "stop loss", group_id="g1"))
    assert seen == [(record.id, record.id)]  # the listener could already read the committed row
    assert "socket closed" in caplog.text
    unsubscribe()
    log.record(ActionRecord(minutes(1), "roll", "x", group_id="g1"))
    assert len(seen) == 1


def test_a_change_recorded_together_with_its_log_line_rolls_back_with_it(path):
    db = Database(path)
    log = ActionLog(db)
    db.execute("CREATE TABLE flags (name TEXT)")

    def change_then_fail(conn):
        conn.execute("INSERT INTO flags VALUES ('paused')")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        log.record(ActionRecord(minutes(0), "pause", "x", group_id="g1"), together_with=change_then_fail)
    assert db.query("SELECT * FROM flags") == [] and log.query() == []
