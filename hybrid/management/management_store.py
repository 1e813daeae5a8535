"""Persistence of bot management: each group's state and overrides, its roll lineage, its realised P&L.

Every change a person makes (pause, resume, custom rules) and every bot action is written together with
its action-log line in one transaction, so the state and the log never disagree after a crash.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from hybrid.calendar.exchange_time import utc_text
from hybrid.management.action_log import ActionLog, ActionRecord
from hybrid.management.exit_rules import Decision
from hybrid.management.management_rules import ManagementRules
from hybrid.management.rolls import Lineage, LineageMember, lineage_pnl
from hybrid.management.state import ManagementState
from hybrid.store.db import Database

SCHEMA = """
CREATE TABLE managed_groups (
    group_id TEXT PRIMARY KEY,
    root_id TEXT NOT NULL,
    parent_id TEXT REFERENCES managed_groups (group_id),
    generation INTEGER NOT NULL,
    state TEXT NOT NULL,
    opened_at TEXT NOT NULL,
    closed_at TEXT,
    realised_pnl REAL
);
CREATE INDEX managed_groups_root ON managed_groups (root_id, generation)
"""


@dataclass(frozen=True, slots=True)
class ManagedGroup:
    """A group under management: its state and its place in its lineage."""

    state: ManagementState
    lineage: Lineage


class ManagementStore:
    """Group state, overrides and lineage in the shared database; every change is logged.

    Parsed states are kept while the database reports no write in between (:meth:`Database.version`): the
    bot reads every open group's state at each check, and a person's override through the API (another
    store on the same file) is a write, so it is seen at the next read.
    """

    def __init__(self, db: Database, log: ActionLog) -> None:
        self._db = db
        self._log = log
        db.ensure_schema("managed_groups", 1, SCHEMA)
        self._states: dict[str, ManagementState] = {}
        self._version = db.version()
        self._pinned = False  # inside one_pass: no version check per read

    def register(self, group_id: str, now: dt.datetime, state: ManagementState | None = None) -> Lineage:
        """Bring a newly opened group (the root of its lineage) under management; idempotent."""
        existing = self._find(group_id)
        if existing is not None:
            return _lineage(existing)
        lineage = Lineage.root(group_id)
        self._log.record(
            ActionRecord(now, "manage", "group taken under management", group_id=group_id),
            together_with=lambda conn: _insert(conn, lineage, state or ManagementState(), now),
        )
        return lineage

    def record_roll(self, parent_id: str, child_id: str, now: dt.datetime) -> Lineage:
        """Register the group a roll opened as the next generation of ``parent_id``'s lineage.

        The child inherits the parent's custom rules and entry deltas (the lineage's ``same_deltas``
        targets) and starts with fresh fired levels and stop count. Recording the same roll again
        (after a restart) returns the lineage already recorded.
        """
        parent = self._row(parent_id)
        lineage = _lineage(parent).child(child_id)
        existing = self._find(child_id)
        if existing is not None:
            if _lineage(existing) != lineage:
                raise ValueError(f"child_id: group {child_id!r} is already managed as {_lineage(existing)}")
            return lineage
        parent_state = ManagementState.from_json(parent["state"])
        inherited = ManagementState(rules=parent_state.rules, entry_deltas=parent_state.entry_deltas)
        details = {"parent_id": parent_id, "root_id": lineage.root_id, "generation": lineage.generation}
        self._log.record(
            ActionRecord(now, "roll_opened", f"rolled from {parent_id}", group_id=child_id, details=details),
            together_with=lambda conn: _insert(conn, lineage, inherited, now),
        )
        return lineage

    def state(self, group_id: str) -> ManagementState:
        states = self._valid_states()
        state = states.get(group_id)
        if state is None:
            state = states[group_id] = ManagementState.from_json(self._row(group_id)["state"])
        return state

    def managed(self, group_ids: Iterable[str]) -> dict[str, ManagedGroup]:
        """The state and lineage of each of ``group_ids`` that is under management (the others are left out),
        in one query: the API lists hundreds of groups per request, and a query per group was most of its cost."""
        rows = self._db.query(
            "SELECT group_id, root_id, parent_id, generation, state FROM managed_groups "
            "WHERE group_id IN (SELECT value FROM json_each(?))",
            (json.dumps(list(group_ids)),),
        )
        return {row["group_id"]: ManagedGroup(ManagementState.from_json(row["state"]), _lineage(row)) for row in rows}

    def open_groups(self) -> dict[str, ManagementState]:
        """Every managed group not yet closed, with its state: what the bot resumes after a restart."""
        rows = self._db.query(
            "SELECT group_id, state FROM managed_groups WHERE closed_at IS NULL ORDER BY opened_at, group_id"
        )
        return {row["group_id"]: ManagementState.from_json(row["state"]) for row in rows}

    def record_decision(self, group_id: str, decision: Decision, now: dt.datetime) -> None:
        """Persist the state a decision left; actions (close, roll), each check counted towards a debounced
        stop (``stop_check``) and a count set back to 0 by a check inside the stop (``stop_reset``) are
        logged with it atomically."""
        current = self.state(group_id)
        counted = decision.state.stop_count > current.stop_count
        reset = decision.state.stop_count == 0 < current.stop_count
        if decision.is_action or counted or reset:
            action = decision.kind if decision.is_action else "stop_check" if counted else "stop_reset"
            self._log.record(
                ActionRecord(now, action, decision.reason, group_id=group_id, details=decision.details()),
                together_with=lambda conn: _write_state(conn, group_id, decision.state),
            )
            self._wrote(group_id, decision.state)
        elif decision.state is not current and decision.state != current:
            with self._db.transaction() as conn:
                _write_state(conn, group_id, decision.state)
            self._wrote(group_id, decision.state)

    def release(self, group_id: str, state: ManagementState, now: dt.datetime, reason: str) -> None:
        """Put back the state from before a decision whose command the owning strategy refused (a close or
        roll that will not happen), so the group is managed again instead of waiting for it."""
        self._log.record(
            ActionRecord(now, "released", reason, group_id=group_id),
            together_with=lambda conn: _write_state(conn, group_id, state),
        )
        self._wrote(group_id, state)

    def pause(self, group_id: str, now: dt.datetime, reason: str = "manual override") -> ManagementState:
        """Stop managing the group (a person takes over) until :meth:`resume`."""
        return self._override(group_id, now, "pause", reason, paused=True)

    def resume(self, group_id: str, now: dt.datetime, reason: str = "manual override") -> ManagementState:
        """Hand the group back to the bot, afresh: the stop count restarts from 0 (old checks are stale) and
        a full close asked for before the pause is forgotten (the person may have cancelled it)."""
        return self._override(group_id, now, "resume", reason, paused=False, stop_count=0, exit_requested=None)

    def set_rules(
        self, group_id: str, rules: ManagementRules | None, now: dt.datetime, reason: str = "manual override"
    ) -> ManagementState:
        """Give the group its own rules, or None to go back to the defaults."""
        return self._override(group_id, now, "set_rules", reason, rules=rules)

    def mark_closed(self, group_id: str, realised_pnl: float, now: dt.datetime) -> None:
        """Record that the group is flat and what it realised (its share of the lineage P&L); the log line
        also carries the lineage's cumulative realised P&L so far."""
        row = self._row(group_id)
        earlier = sum(m.realised_pnl or 0.0 for m in self.lineage(group_id) if m.lineage.group_id != group_id)
        details = {"realised_pnl": realised_pnl, "root_id": row["root_id"], "lineage_pnl": earlier + realised_pnl}
        self._log.record(
            ActionRecord(now, "closed", "group closed", group_id=group_id, details=details),
            together_with=lambda conn: conn.execute(
                "UPDATE managed_groups SET closed_at = ?, realised_pnl = ? WHERE group_id = ?",
                (utc_text(now), realised_pnl, group_id),
            ),
        )

    def lineage(self, group_id: str) -> list[LineageMember]:
        """Every generation of the lineage ``group_id`` belongs to, root first."""
        root_id = self._row(group_id)["root_id"]
        rows = self._db.query("SELECT * FROM managed_groups WHERE root_id = ? ORDER BY generation", (root_id,))
        return [LineageMember(_lineage(row), row["realised_pnl"]) for row in rows]

    def lineage_pnl(self, group_id: str, open_unrealised: float = 0.0) -> float:
        """Cumulative P&L of the lineage across all its rolls."""
        return lineage_pnl(self.lineage(group_id), open_unrealised)

    def _override(self, group_id: str, now: dt.datetime, action: str, reason: str, **update) -> ManagementState:
        state = self.state(group_id).model_copy(update=update)
        details = {"paused": state.paused, "rules": state.rules and state.rules.model_dump(mode="json")}
        self._log.record(
            ActionRecord(now, action, reason, group_id=group_id, details=details),
            together_with=lambda conn: _write_state(conn, group_id, state),
        )
        self._wrote(group_id, state)
        return state

    @contextmanager
    def one_pass(self) -> Iterator[None]:
        """Within: reads check for other writers once, at entry, not at every read (a bot check reads every
        group's state in one go, and each check is a query)."""
        self._valid_states()
        self._pinned = True
        try:
            yield
        finally:
            self._pinned = False

    def _valid_states(self) -> dict[str, ManagementState]:
        """The kept states, emptied first when anything was written since they were read."""
        if self._pinned:
            return self._states
        version = self._db.version()
        if version != self._version:
            self._states.clear()
            self._version = version
        return self._states

    def _wrote(self, group_id: str, state: ManagementState) -> None:
        """Keep the state this store just wrote, when that write was the only one since the last check;
        with any other write in between, forget every kept state."""
        version = self._db.version()
        commits, data_version = self._version
        if version == (commits + 1, data_version):
            self._states[group_id] = state
        else:
            self._states.clear()
        self._version = version

    def _row(self, group_id: str) -> sqlite3.Row:
        row = self._find(group_id)
        if row is None:
            raise KeyError(f"group {group_id!r} is not under management (register it first)")
        return row

    def _find(self, group_id: str) -> sqlite3.Row | None:
        rows = self._db.query("SELECT * FROM managed_groups WHERE group_id = ?", (group_id,))
        return rows[0] if rows else None


def _lineage(row: sqlite3.Row) -> Lineage:
    return Lineage(row["group_id"], row["root_id"], row["parent_id"], row["generation"])


def _insert(conn: sqlite3.Connection, lineage: Lineage, state: ManagementState, now: dt.datetime) -> None:
    conn.execute(
        "INSERT INTO managed_groups (group_id, root_id, parent_id, generation, state, opened_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (lineage.group_id, lineage.root_id, lineage.parent_id, lineage.generation, state.to_json(), utc_text(now)),
    )


def _write_state(conn: sqlite3.Connection, group_id: str, state: ManagementState) -> None:
    conn.execute("UPDATE managed_groups SET state = ? WHERE group_id = ?", (state.to_json(), group_id))
