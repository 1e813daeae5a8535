"""Bot actions out of the Actors: on the message bus for the tracker and the API, and into the backtest report.

Every :class:`~hybrid.management.action_log.ActionRecord` an Actor's action log commits is published on
:data:`ACTIONS_TOPIC` (the record itself is the typed message)::

    self.msgbus.subscribe(ACTIONS_TOPIC, handler)   # handler(record: ActionRecord)

and kept for the run: at stop the Actor appends its records to the cache under :data:`ACTIONS_CACHE_KEY`
(JSON rows, see :func:`record_row`), where the backtest report reads them (:func:`cached_actions`).

The database: :func:`open_action_log` opens the Actor's SQLite file, or a fresh in-memory database when no
path is given (what a backtest wants). A backtest clock starts in the past, so a database that already has
records later than the clock's start was used by another run: it is refused, not silently mixed.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter, defaultdict
from collections.abc import Iterable

import pandas as pd
from nautilus_trader.cache.base import CacheFacade
from nautilus_trader.common.component import MessageBus

from hybrid.calendar.exchange_time import utc_text
from hybrid.management.action_log import ActionLog, ActionRecord
from hybrid.store.db import Database
from hybrid.tracking import GroupBook

ACTIONS_TOPIC = "hybrid.management.actions"
ACTIONS_CACHE_KEY = "hybrid.management.actions"
ACTION_COLUMNS = ("at", "component", "id", "action", "group_id", "template_id", "reason", "details")
MEMORY = ":memory:"


def open_action_log(path: str | None, now: dt.datetime) -> tuple[Database, ActionLog]:
    """The database at ``path`` (None: a fresh in-memory one) and its action log; a ValueError when the log
    already holds records after ``now`` (a backtest re-run on a used database)."""
    db = Database(MEMORY if path is None else path)
    log = ActionLog(db)
    last = log.last_at()
    if last is not None and last > now:
        db.close()
        raise ValueError(
            f"database: {path} has actions up to {utc_text(last)}, after the clock's start {utc_text(now)}; "
            "give each backtest a fresh database (or leave database out for an in-memory one)"
        )
    return db, log


class ActionFeed:
    """Publishes every record of ``log`` on :data:`ACTIONS_TOPIC` and keeps them for :meth:`store_in`."""

    def __init__(self, log: ActionLog, msgbus: MessageBus, component: str) -> None:
        self.records: list[ActionRecord] = []
        self._msgbus = msgbus
        self._component = component
        self._unsubscribe = log.add_listener(self._on_record)

    def _on_record(self, record: ActionRecord) -> None:
        self.records.append(record)
        self._msgbus.publish(ACTIONS_TOPIC, record)

    def store_in(self, cache: CacheFacade) -> None:
        """Stop listening and append this run's records to the cache's action rows (for the report)."""
        self._unsubscribe()
        raw = cache.get(ACTIONS_CACHE_KEY)
        rows = json.loads(raw) if raw else []
        rows += [record_row(record, self._component) for record in self.records]
        cache.add(ACTIONS_CACHE_KEY, json.dumps(rows).encode())


def record_row(record: ActionRecord, component: str) -> dict:
    """One action as a flat row: ``at`` (ISO UTC), ``component`` (the Actor), ``id``, ``action``,
    ``group_id``, ``template_id``, ``reason``, ``details`` (JSON text)."""
    return {
        "at": utc_text(record.at),
        "component": component,
        "id": record.id,
        "action": record.action,
        "group_id": record.group_id,
        "template_id": record.template_id,
        "reason": record.reason,
        "details": json.dumps(record.details, sort_keys=True),
    }


def cached_actions(cache: CacheFacade) -> list[dict]:
    """Every Actor's action rows of the run, in time order (ties: by component, then log id)."""
    raw = cache.get(ACTIONS_CACHE_KEY)
    rows = json.loads(raw) if raw else []
    return sorted(rows, key=lambda r: (r["at"], r["component"], r["id"] or 0))


def actions_frame(rows: list[dict]) -> pd.DataFrame:
    """The rows as the report's ``actions.csv`` table (ids as nullable integers)."""
    return pd.DataFrame(rows, columns=ACTION_COLUMNS).astype({"id": "Int64", "template_id": "Int64"})


def actions_summary(rows: list[dict], groups: GroupBook) -> dict:
    """The report's ``actions`` section: how many, how many of each kind, and the roll lineages."""
    counts = Counter(row["action"] for row in rows)
    pnl = {group.group_id: group.pnl for group in groups}
    return {"count": len(rows), "by_action": dict(sorted(counts.items())), "lineages": lineages(rows, pnl)}


def lineages(rows: Iterable[dict], group_pnl: dict[str, float | None]) -> list[dict]:
    """Chains of rolls from the ``roll_opened`` rows: root, groups in generation order, and the cumulative
    P&L (the groups' P&L marked to mid, ``group_pnl``; None when one of them has none)."""
    members: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for row in rows:
        if row["action"] == "roll_opened":
            details = json.loads(row["details"])
            root = details["root_id"]
            if not members[root]:
                members[root].append((0, root))
            members[root].append((details["generation"], row["group_id"]))
    out = []
    for root, chain in members.items():
        ids = [group_id for _, group_id in sorted(chain)]
        pnls = [pnl for group_id in ids if (pnl := group_pnl.get(group_id)) is not None]
        total = round(sum(pnls), 2) if len(pnls) == len(ids) else None
        out.append({"root_id": root, "group_ids": ids, "rolls": len(ids) - 1, "pnl": total})
    return out
