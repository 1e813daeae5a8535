"""The bot action log: every management action and every template evaluation, persisted and queryable.

Rows are written with ``synchronous=FULL`` (see :mod:`hybrid.store.db`), so what was logged survives a
crash. Listeners (the message bus, the WebSocket feed) are called after the row is committed; a failing
listener is logged and does not undo or block the record.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from hybrid.calendar.exchange_time import utc_text
from hybrid.store.db import Database

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE bot_actions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    group_id TEXT,
    template_id INTEGER,
    action TEXT NOT NULL,
    reason TEXT NOT NULL,
    details TEXT NOT NULL
);
CREATE INDEX bot_actions_at ON bot_actions (at);
CREATE INDEX bot_actions_group ON bot_actions (group_id, at);
CREATE INDEX bot_actions_template ON bot_actions (template_id, at)
"""


@dataclass(frozen=True, slots=True)
class ActionRecord:
    """One logged action: what the bot did (or decided not to do), to what, when and why."""

    at: dt.datetime
    action: str
    reason: str
    group_id: str | None = None
    template_id: int | None = None
    details: dict = field(default_factory=dict)
    id: int | None = None


Listener = Callable[[ActionRecord], None]


class ActionLog:
    """Append-only log in the shared database, with listeners fed after each commit."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._listeners: list[Listener] = []
        db.ensure_schema("bot_actions", 1, SCHEMA)

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` with every record from now on; returns a function that unsubscribes it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def record(
        self, entry: ActionRecord, together_with: Callable[[sqlite3.Connection], object] | None = None
    ) -> ActionRecord:
        """Persist one entry and tell the listeners; ``together_with`` runs in the same transaction
        (a state change and its log line commit together or not at all). Returns it with its id."""
        with self._db.transaction() as conn:
            if together_with is not None:
                together_with(conn)
            stored = self.write(conn, entry)
        self.publish(stored)
        return stored

    def write(self, conn: sqlite3.Connection, entry: ActionRecord) -> ActionRecord:
        """Insert one entry inside the caller's transaction; :meth:`publish` it once committed."""
        if not entry.action:
            raise ValueError("action must be a non-empty name")
        row_id = conn.execute(
            "INSERT INTO bot_actions (at, group_id, template_id, action, reason, details) VALUES (?, ?, ?, ?, ?, ?)",
            (
                utc_text(entry.at),
                entry.group_id,
                entry.template_id,
                entry.action,
                entry.reason,
                json.dumps(entry.details, sort_keys=True),
            ),
        ).lastrowid
        return replace(entry, id=row_id)

    def publish(self, record: ActionRecord) -> None:
        """Hand a committed record to every listener; one failing listener does not stop the others."""
        for listener in list(self._listeners):
            try:
                listener(record)
            except Exception:
                log.exception("action log listener %r failed on record %s", listener, record.id)

    def last_at(self) -> dt.datetime | None:
        """The time of the latest record, None for an empty log (a backtest's clock must not start before it)."""
        rows = self._db.query("SELECT max(at) AS last FROM bot_actions")
        return dt.datetime.fromisoformat(rows[0]["last"]) if rows[0]["last"] is not None else None

    def query(
        self,
        *,
        group_id: str | None = None,
        template_id: int | None = None,
        action: str | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        limit: int | None = None,
    ) -> list[ActionRecord]:
        """Records matching every filter given, oldest first; ``since`` inclusive, ``until`` exclusive."""
        clauses, params = [], []
        for column, value in (("group_id", group_id), ("template_id", template_id), ("action", action)):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        if since is not None:
            clauses.append("at >= ?")
            params.append(utc_text(since))
        if until is not None:
            clauses.append("at < ?")
            params.append(utc_text(until))
        sql = "SELECT * FROM bot_actions"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += " ORDER BY at, id"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [
            ActionRecord(
                at=dt.datetime.fromisoformat(row["at"]),
                action=row["action"],
                reason=row["reason"],
                group_id=row["group_id"],
                template_id=row["template_id"],
                details=json.loads(row["details"]),
                id=row["id"],
            )
            for row in self._db.query(sql, tuple(params))
        ]
