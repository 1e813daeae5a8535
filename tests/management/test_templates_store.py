"""The template store: CRUD with validation, persistence across restarts, runs claimed exactly once,
missed runs found and logged after a restart."""

from __future__ import annotations

import datetime as dt
import tempfile
import threading
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from hybrid.calendar.exchange_time import utc_text
from hybrid.management.action_log import ActionLog
from hybrid.management.schedules import fire_times_between
from hybrid.management.template_store import TemplateNotFound, TemplateStore
from hybrid.store.db import Database
from tests.management.test_templates import template

NY = ZoneInfo("America/New_York")
CREATED = dt.datetime(2024, 7, 1, 9, 0, tzinfo=NY)  # a Monday, before the open


def ny(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=NY)


def daily(at: str = "09:45", **overrides) -> dict:
    return template(schedule={"kind": "daily", "at": at}, conditions={}, **overrides)


def open_store(path: Path) -> tuple[TemplateStore, ActionLog]:
    db = Database(path)
    log = ActionLog(db)
    return TemplateStore(db, log), log


@pytest.fixture
def path(tmp_path):
    return tmp_path / "hybrid.sqlite"


def test_templates_survive_a_restart_and_support_crud(path):
    store, log = open_store(path)
    first = store.create(template(), CREATED)
    second = store.create(daily(name="daily fly"), CREATED)

    store, log = open_store(path)
    assert store.get(first.template_id).template == first.template
    assert [s.template.name for s in store.templates()] == ["monday condor", "daily fly"]
    later = CREATED + dt.timedelta(hours=1)
    updated = store.update(second.template_id, daily("10:30", name="daily fly"), later)
    assert store.get(second.template_id).template.schedule.at == dt.time(10, 30)
    assert updated.created_at == store.get(second.template_id).created_at == CREATED
    assert store.get(second.template_id).updated_at == later
    store.delete(first.template_id, later)
    with pytest.raises(TemplateNotFound, match="template 1 not found"):
        store.get(first.template_id)
    assert [e.action for e in log.query(template_id=first.template_id)] == ["template_created", "template_deleted"]
    assert log.query(action="template_deleted")[0].details["name"] == "monday condor"


def test_invalid_templates_are_refused_naming_the_field_and_nothing_changes(path):
    store, _ = open_store(path)
    with pytest.raises(ValidationError) as caught:
        store.create(daily("17:00"), CREATED)
    assert caught.value.errors()[0]["loc"] == ("schedule", "daily", "at")
    assert store.templates() == []
    kept = store.create(daily(), CREATED)
    with pytest.raises(ValidationError):
        store.update(kept.template_id, daily(grace_minutes=-5), CREATED)
    assert store.get(kept.template_id).template == kept.template
    with pytest.raises(TemplateNotFound):
        store.update(99, daily(), CREATED)


def test_a_run_is_claimed_once(path):
    store, log = open_store(path)
    tid = store.create(daily(), CREATED).template_id
    [run] = store.due_runs(ny(2024, 7, 1, 9, 45))
    assert run.scheduled_at == ny(2024, 7, 1, 9, 45)
    assert store.claim_run(tid, run.scheduled_at) is True
    assert store.claim_run(tid, run.scheduled_at.astimezone(dt.UTC)) is False  # same instant, any zone
    store.record_outcome(tid, run.scheduled_at, True, "all conditions hold", ny(2024, 7, 1, 9, 45, 1))
    with pytest.raises(ValueError, match="is not claimed or already has an outcome"):
        store.record_outcome(tid, run.scheduled_at, True, "again", ny(2024, 7, 1, 9, 46))
    assert store.due_runs(ny(2024, 7, 1, 9, 50)) == []
    [fired] = log.query(action="template_fired")
    assert fired.template_id == tid and fired.details["scheduled_at"] == utc_text(run.scheduled_at)
    with pytest.raises(TemplateNotFound):
        store.claim_run(99, run.scheduled_at)


def test_concurrent_claims_from_two_connections_have_one_winner(path):
    store, _ = open_store(path)
    tid = store.create(daily(), CREATED).template_id
    other, _ = open_store(path)  # a second process would have its own connection
    at = ny(2024, 7, 1, 9, 45)
    results: list[bool] = []
    barrier = threading.Barrier(8)

    def claim(s: TemplateStore) -> None:
        barrier.wait()
        results.append(s.claim_run(tid, at))

    threads = [threading.Thread(target=claim, args=(store if i % 2 else other,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 7 + [True]


def test_after_a_restart_the_due_run_fires_and_older_ones_are_logged_missed(path):
    store, log = open_store(path)
    tid = store.create(daily(), CREATED).template_id
    [run] = store.due_runs(ny(2024, 7, 1, 9, 45))
    store.claim_run(tid, run.scheduled_at)
    store.record_outcome(tid, run.scheduled_at, True, "fired", ny(2024, 7, 1, 9, 45))

    store, log = open_store(path)  # down from Monday to Wednesday 10:00 (Thursday is July 4th)
    [due] = store.due_runs(ny(2024, 7, 3, 10, 0))
    assert due.scheduled_at == ny(2024, 7, 3, 9, 45) and due.key == f"template-{tid}-20240703T134500Z"
    [missed] = [r for r in store.runs(tid) if r.status == "skipped"]
    assert missed.scheduled_at == ny(2024, 7, 2, 9, 45) and missed.reason.startswith("missed")
    skipped = log.query(action="template_skipped")
    assert [e.details["scheduled_at"] for e in skipped] == [utc_text(ny(2024, 7, 2, 9, 45))]
    # not claimed yet: found again while in grace, then missed once the grace is over, logged once
    assert [r.scheduled_at for r in store.due_runs(ny(2024, 7, 3, 10, 10))] == [ny(2024, 7, 3, 9, 45)]
    assert store.due_runs(ny(2024, 7, 3, 10, 20)) == []
    assert store.due_runs(ny(2024, 7, 3, 10, 25)) == []
    assert [r.status for r in store.runs(tid)] == ["fired", "skipped", "skipped"]
    assert len(log.query(action="template_skipped")) == 2


def test_the_session_close_ends_the_grace(path):
    store, _ = open_store(path)
    tid = store.create(daily("15:50"), CREATED).template_id
    assert store.due_runs(ny(2024, 7, 1, 16, 5)) == []
    assert store.runs(tid)[0].status == "skipped"


def test_a_claimed_run_without_outcome_is_reported_and_never_due_again(path):
    store, _ = open_store(path)
    tid = store.create(daily(), CREATED).template_id
    [run] = store.due_runs(ny(2024, 7, 1, 9, 45))
    store.claim_run(tid, run.scheduled_at)

    store, _ = open_store(path)  # crashed between claim and outcome
    assert [(r.template_id, r.scheduled_at, r.status) for r in store.unfinished_runs()] == [
        (tid, ny(2024, 7, 1, 9, 45), "claimed")
    ]
    assert store.due_runs(ny(2024, 7, 1, 9, 50)) == []
    assert run.intent().idempotency_key == run.key  # re-submitting returns the order already made


def test_only_the_latest_conditional_check_catches_up_the_rest_are_superseded(path):
    store, _ = open_store(path)
    every_5 = template(schedule={"kind": "conditional", "every_minutes": 5}, conditions={})
    tid = store.create(every_5, CREATED).template_id
    [first] = store.due_runs(ny(2024, 7, 1, 9, 30))
    assert first.scheduled_at == ny(2024, 7, 1, 9, 30)
    store.claim_run(tid, first.scheduled_at)
    reason = "portfolio delta > 100 is false (delta 12)"
    store.record_outcome(tid, first.scheduled_at, False, reason, ny(2024, 7, 1, 9, 30))
    [due] = store.due_runs(ny(2024, 7, 1, 9, 47))
    assert due.scheduled_at == ny(2024, 7, 1, 9, 45)
    assert [(r.scheduled_at.astimezone(NY).strftime("%H:%M"), r.reason[:10]) for r in store.runs(tid)] == [
        ("09:30", "portfolio "),
        ("09:35", "superseded"),
        ("09:40", "superseded"),
    ]


def test_disabled_templates_do_not_run_and_are_not_caught_up_when_enabled(path):
    store, log = open_store(path)
    tid = store.create(daily(), CREATED).template_id
    store.set_enabled(tid, False, ny(2024, 7, 1, 9, 10))
    assert store.due_runs(ny(2024, 7, 3, 9, 50)) == []
    assert store.templates(enabled=False)[0].template_id == tid and store.templates(enabled=True) == []
    store.set_enabled(tid, True, ny(2024, 7, 3, 9, 50))
    assert store.due_runs(ny(2024, 7, 3, 9, 55)) == [] and store.runs(tid) == []
    assert [r.scheduled_at for r in store.due_runs(ny(2024, 7, 5, 9, 45))] == [ny(2024, 7, 5, 9, 45)]
    actions = [e.action for e in log.query(template_id=tid)]
    assert actions == ["template_created", "template_disabled", "template_enabled"]


@settings(max_examples=15, deadline=None)
@given(
    steps=st.lists(
        st.tuples(st.integers(1, 900), st.booleans(), st.booleans()),  # minutes on, restart?, record outcome?
        min_size=1,
        max_size=25,
    )
)
def test_no_run_is_lost_and_none_is_recorded_twice(steps):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "hybrid.sqlite"
        store, log = open_store(path)
        templates = [
            store.create(daily("10:00"), CREATED),
            store.create(template(schedule={"kind": "conditional", "every_minutes": 60}, conditions={}), CREATED),
        ]
        now = CREATED
        for minutes, restart, finish in steps:
            now += dt.timedelta(minutes=minutes)
            if restart:
                store, log = open_store(path)
            for run in store.due_runs(now):
                assert store.claim_run(run.template_id, run.scheduled_at)
                if finish:
                    store.record_outcome(run.template_id, run.scheduled_at, True, "fired", now)
        for stored in templates:
            expected = fire_times_between(stored.template.schedule, CREATED, now)
            recorded = [r.scheduled_at for r in store.runs(stored.template_id)]
            assert recorded == expected  # every run recorded once: fired, claimed or skipped with a reason
            entries = log.query(template_id=stored.template_id)
            logged = [e.details["scheduled_at"] for e in entries if e.action != "template_created"]
            assert len(logged) == len(set(logged))
