"""Recurring templates in SQLite, and their runs recorded exactly once.

Runs. Every fire time of an enabled template becomes one row of ``template_runs``, keyed UNIQUE on
``(template_id, scheduled_at)``: :meth:`TemplateStore.claim_run` inserts it, so of two claims (two
timers, two processes, a restart) exactly one wins and nothing fires twice. Its outcome, fired or skipped
with the reason, is then recorded with :meth:`TemplateStore.record_outcome` and logged in the action log.

Missed runs. :meth:`TemplateStore.due_runs` looks at every fire time since the template was last checked
(its creation, or its last enabling), so after a restart no run is lost:

- the latest unrecorded run that is still within the template's ``grace_minutes`` and before its
  session's close is due: it is returned to be claimed and evaluated;
- every other unrecorded run is recorded as skipped, with the reason "missed" (too late) or "superseded"
  (a later run is due: one catch-up run per template, not a burst of orders at restart).

A run claimed but without an outcome (the process died in between) is listed by
:meth:`TemplateStore.unfinished_runs` and never returned as due again; its intent carries the run's
idempotency key (:func:`~hybrid.management.templates.run_key`), so re-submitting it to the order queue
returns the order it may already have made. Runs that fell while a template was disabled are not runs.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from hybrid.calendar import nyse
from hybrid.calendar.exchange_time import new_york_date, utc_text
from hybrid.management.action_log import ActionLog, ActionRecord
from hybrid.management.schedules import TradingCalendar, fire_times_between
from hybrid.management.templates import RecurringTemplate, run_key
from hybrid.orders.intents import STORED_CONTEXT, OpenIntent
from hybrid.store.db import Database, inserted_id

SCHEMA = """
CREATE TABLE templates (
    template_id INTEGER PRIMARY KEY AUTOINCREMENT,
    spec TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    checked_until TEXT NOT NULL
);
CREATE TABLE template_runs (
    template_id INTEGER NOT NULL REFERENCES templates (template_id) ON DELETE CASCADE,
    scheduled_at TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('claimed', 'fired', 'skipped')),
    reason TEXT NOT NULL DEFAULT '',
    finished_at TEXT,
    UNIQUE (template_id, scheduled_at)
)
"""

RunStatus = Literal["claimed", "fired", "skipped"]


@dataclass(frozen=True, slots=True)
class StoredTemplate:
    template_id: int
    template: RecurringTemplate
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass(frozen=True, slots=True)
class DueRun:
    """A run to claim and evaluate now."""

    template_id: int
    scheduled_at: dt.datetime
    template: RecurringTemplate

    @property
    def key(self) -> str:
        return run_key(self.template_id, self.scheduled_at)

    def intent(self) -> OpenIntent:
        """The order this run submits when its entry conditions hold."""
        return self.template.intent_for_run(self.template_id, self.scheduled_at)


@dataclass(frozen=True, slots=True)
class RunRecord:
    template_id: int
    scheduled_at: dt.datetime
    status: RunStatus
    reason: str


class TemplateNotFound(KeyError):
    def __init__(self, template_id: int) -> None:
        super().__init__(f"template {template_id} not found")


class TemplateStore:
    """Create, read, update, delete, enable and disable templates; claim and record their runs."""

    def __init__(self, db: Database, log: ActionLog, calendar: TradingCalendar = nyse) -> None:
        self._db = db
        self._log = log
        self._calendar = calendar
        db.ensure_schema("templates", 1, SCHEMA)

    def create(self, template: RecurringTemplate | Mapping, now: dt.datetime) -> StoredTemplate:
        """Validate and persist a template (a mapping is validated: errors name the fields)."""
        template = _validated(template)
        stamp = utc_text(now, "now")
        with self._db.transaction() as conn:
            template_id = inserted_id(
                conn.execute(
                    "INSERT INTO templates (spec, created_at, updated_at, checked_until) VALUES (?, ?, ?, ?)",
                    (template.model_dump_json(), stamp, stamp, stamp),
                )
            )
            record = self._log.write(conn, _definition(now, "template_created", template_id, template))
        self._log.publish(record)
        return StoredTemplate(template_id, template, now, now)

    def get(self, template_id: int) -> StoredTemplate:
        return _stored(self._row(template_id))

    def templates(self, enabled: bool | None = None) -> list[StoredTemplate]:
        """All templates by id, or only the enabled (True) or disabled (False) ones."""
        stored = [_stored(row) for row in self._db.query("SELECT * FROM templates ORDER BY template_id")]
        return [s for s in stored if enabled is None or s.template.enabled == enabled]

    def update(self, template_id: int, template: RecurringTemplate | Mapping, now: dt.datetime) -> StoredTemplate:
        """Validate and replace a template's definition."""
        return self._replace(template_id, _validated(template), now, "template_updated")

    def set_enabled(self, template_id: int, enabled: bool, now: dt.datetime) -> StoredTemplate:
        """Switch a template on or off without deleting it."""
        template = self.get(template_id).template.model_copy(update={"enabled": enabled})
        return self._replace(template_id, template, now, "template_enabled" if enabled else "template_disabled")

    def delete(self, template_id: int, now: dt.datetime) -> None:
        """Remove a template and its runs; the action log keeps its definition and history."""
        with self._db.transaction() as conn:
            old = _stored(self._row(template_id))
            conn.execute("DELETE FROM templates WHERE template_id = ?", (template_id,))
            record = self._log.write(conn, _definition(now, "template_deleted", template_id, old.template))
        self._log.publish(record)

    def claim_run(self, template_id: int, scheduled_at: dt.datetime) -> bool:
        """Take the run at ``scheduled_at``: True once, False for every later claim of the same run."""
        with self._db.transaction() as conn:
            self._row(template_id)
            inserted = conn.execute(
                "INSERT OR IGNORE INTO template_runs (template_id, scheduled_at, status) VALUES (?, ?, 'claimed')",
                (template_id, utc_text(scheduled_at, "scheduled_at")),
            ).rowcount
        return inserted == 1

    def record_outcome(
        self,
        template_id: int,
        scheduled_at: dt.datetime,
        fired: bool,
        reason: str,
        now: dt.datetime,
        details: dict | None = None,
        group_id: str | None = None,
    ) -> ActionRecord:
        """Record what a claimed run did (fired, or skipped with the reason) and log it; ``group_id`` is the
        group a fired run opened."""
        with self._db.transaction() as conn:
            changed = conn.execute(
                "UPDATE template_runs SET status = ?, reason = ?, finished_at = ? "
                "WHERE template_id = ? AND scheduled_at = ? AND status = 'claimed'",
                (
                    "fired" if fired else "skipped",
                    reason,
                    utc_text(now, "now"),
                    template_id,
                    utc_text(scheduled_at, "scheduled_at"),
                ),
            ).rowcount
            if changed != 1:
                raise ValueError(f"run {run_key(template_id, scheduled_at)} is not claimed or already has an outcome")
            details = {"scheduled_at": utc_text(scheduled_at), **(details or {})}
            action = "template_fired" if fired else "template_skipped"
            entry = ActionRecord(now, action, reason, group_id=group_id, template_id=template_id, details=details)
            record = self._log.write(conn, entry)
        self._log.publish(record)
        return record

    def due_runs(self, now: dt.datetime) -> list[DueRun]:
        """The runs to claim now, at most one per enabled template; older unrecorded runs are recorded as
        skipped (see the module policy)."""
        due: list[DueRun] = []
        for row in self._db.query("SELECT * FROM templates ORDER BY template_id"):
            stored = _stored(row)
            if stored.template.enabled:
                run = self._check(stored, dt.datetime.fromisoformat(row["checked_until"]), now)
                if run is not None:
                    due.append(run)
        return due

    def runs(self, template_id: int) -> list[RunRecord]:
        """Every recorded run of a template, oldest first."""
        rows = self._db.query("SELECT * FROM template_runs WHERE template_id = ? ORDER BY scheduled_at", (template_id,))
        return [_run(row) for row in rows]

    def unfinished_runs(self) -> list[RunRecord]:
        """Runs claimed but without an outcome: the process stopped between claiming and recording."""
        rows = self._db.query("SELECT * FROM template_runs WHERE status = 'claimed' ORDER BY scheduled_at")
        return [_run(row) for row in rows]

    def _replace(self, template_id: int, template: RecurringTemplate, now: dt.datetime, action: str) -> StoredTemplate:
        """Store a new definition; switching a template on starts its runs from ``now`` (the disabled
        period is not caught up)."""
        stamp = utc_text(now, "now")
        with self._db.transaction() as conn:
            row = self._row(template_id)
            old = _stored(row)
            switched_on = template.enabled and not old.template.enabled
            conn.execute(
                "UPDATE templates SET spec = ?, updated_at = ?, checked_until = ? WHERE template_id = ?",
                (template.model_dump_json(), stamp, stamp if switched_on else row["checked_until"], template_id),
            )
            record = self._log.write(conn, _definition(now, action, template_id, template))
        self._log.publish(record)
        return StoredTemplate(template_id, template, old.created_at, now)

    def _check(self, stored: StoredTemplate, since: dt.datetime, now: dt.datetime) -> DueRun | None:
        template_id, template = stored.template_id, stored.template
        recorded = {
            row["scheduled_at"]
            for row in self._db.query(
                "SELECT scheduled_at FROM template_runs WHERE template_id = ? AND scheduled_at > ?",
                (template_id, utc_text(since)),
            )
        }
        pending = [
            t for t in fire_times_between(template.schedule, since, now, self._calendar) if utc_text(t) not in recorded
        ]
        live = [t for t in pending if self._in_grace(t, now, template.grace_minutes)]
        latest = live[-1] if live else None
        records = []
        with self._db.transaction() as conn:
            for t in pending:
                if t == latest:
                    continue
                reason = (
                    f"superseded by the run at {utc_text(latest)}"
                    if latest is not None and t in live
                    else f"missed: found at {utc_text(now)}, past the {template.grace_minutes}-minute grace "
                    "or the session's close"
                )
                inserted = conn.execute(
                    "INSERT OR IGNORE INTO template_runs (template_id, scheduled_at, status, reason, finished_at) "
                    "VALUES (?, ?, 'skipped', ?, ?)",
                    (template_id, utc_text(t), reason, utc_text(now)),
                ).rowcount
                if inserted:
                    entry = ActionRecord(
                        now, "template_skipped", reason, template_id=template_id, details={"scheduled_at": utc_text(t)}
                    )
                    records.append(self._log.write(conn, entry))
            checked = latest - dt.timedelta(microseconds=1) if latest is not None else now
            conn.execute(
                "UPDATE templates SET checked_until = max(checked_until, ?) WHERE template_id = ?",
                (utc_text(checked), template_id),
            )
        for record in records:
            self._log.publish(record)
        return None if latest is None else DueRun(template_id, latest, template)

    def _in_grace(self, scheduled_at: dt.datetime, now: dt.datetime, grace_minutes: int) -> bool:
        if now - scheduled_at > dt.timedelta(minutes=grace_minutes):
            return False
        return now < self._calendar.session_open_close(new_york_date(scheduled_at))[1]

    def _row(self, template_id: int) -> sqlite3.Row:
        """The template's row (also inside a transaction: the database serialises on one connection)."""
        rows = self._db.query("SELECT * FROM templates WHERE template_id = ?", (template_id,))
        if not rows:
            raise TemplateNotFound(template_id)
        return rows[0]


def _definition(now: dt.datetime, action: str, template_id: int, template: RecurringTemplate) -> ActionRecord:
    """A log entry carrying the template's whole definition, so the log alone can tell its history."""
    return ActionRecord(now, action, template.name, template_id=template_id, details=template.model_dump(mode="json"))


def _validated(template: RecurringTemplate | Mapping) -> RecurringTemplate:
    if isinstance(template, RecurringTemplate):
        return template
    return RecurringTemplate.model_validate(template)


def _stored(row: sqlite3.Row) -> StoredTemplate:
    return StoredTemplate(
        template_id=row["template_id"],
        template=RecurringTemplate.model_validate_json(row["spec"], context=STORED_CONTEXT),
        created_at=dt.datetime.fromisoformat(row["created_at"]),
        updated_at=dt.datetime.fromisoformat(row["updated_at"]),
    )


def _run(row: sqlite3.Row) -> RunRecord:
    return RunRecord(row["template_id"], dt.datetime.fromisoformat(row["scheduled_at"]), row["status"], row["reason"])
