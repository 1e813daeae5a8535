"""The persistent order queue between the API (and templates) and the engine.

Every accepted intent is a row in SQLite before :meth:`OrderQueue.submit` returns (before the future of
:meth:`OrderQueue.submit_future` resolves), and every status change is a journal row written in the same
transaction as the change, so the queue survives a ``kill -9`` and its history is complete. Writes are
group-committed by the database's writer thread (:meth:`hybrid.store.db.Database.write`): many orders, one
fsync, and an event loop awaiting the future is never held up by the disk. The engine-side drainer takes orders with
:meth:`OrderQueue.claim_next`: priority first (0 is served first), then acceptance order.

Never executed twice. A claimed order is ``handed_to_engine`` until the engine acknowledges it
(``working``). A crash in between leaves the question "did the engine get it?", which only the engine
can answer: it tags its NautilusTrader orders with the queue order id, so after a restart its cache
(reconciled with the venue) knows. :meth:`OrderQueue.recover` asks, once, at start-up before any
drainer runs: orders the engine knows become ``working``; orders it never saw go back to ``queued`` in
their original place. When the engine cannot tell for sure it must answer "known": an order marked
working by mistake is visible and can be cancelled, an order sent twice cannot be taken back.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future

from pydantic import BaseModel, ConfigDict

from hybrid.orders.intents import ORDER_INTENT, STORED_CONTEXT, OrderIntent
from hybrid.orders.status import FINAL, IllegalTransition, OrderStatus, check_transition, parse_status
from hybrid.store.db import Database, inserted_id

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE order_queue (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL,
    priority INTEGER NOT NULL,
    intent TEXT NOT NULL,
    payload_sha256 TEXT NOT NULL,
    submitted_by TEXT NOT NULL,
    idempotency_key TEXT,
    engine_ref TEXT,
    reason TEXT,
    created_ns INTEGER NOT NULL,
    updated_ns INTEGER NOT NULL,
    UNIQUE (submitted_by, idempotency_key)
);
CREATE INDEX order_queue_next ON order_queue (status, priority, seq);
CREATE TABLE order_journal (
    event_id INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id TEXT NOT NULL REFERENCES order_queue (order_id),
    previous TEXT,
    status TEXT NOT NULL,
    reason TEXT,
    engine_ref TEXT,
    ts_ns INTEGER NOT NULL
);
CREATE INDEX order_journal_order ON order_journal (order_id, event_id)
"""
MAX_PAGE = 1000


class QueueError(Exception):
    """Base of the queue's own errors."""


class OrderNotFound(QueueError, KeyError):
    """No order with that id (an API answers 404)."""

    def __str__(self) -> str:
        return f"no order with id {self.args[0]!r}"


class IdempotencyConflict(QueueError):
    """The idempotency key was used before with a different intent (an API answers 409 Conflict)."""

    def __init__(self, key: str, order_id: str) -> None:
        super().__init__(
            f"idempotency key {key!r} was already used for order {order_id} with a different intent; "
            "use a new key for a new order"
        )
        self.key = key
        self.order_id = order_id


def _utc(ns: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ns / 1e9, tz=dt.UTC)


class QueuedOrder(BaseModel):
    """An order as the queue holds it; ``order_id`` is stable for its whole life."""

    model_config = ConfigDict(frozen=True)

    order_id: str
    seq: int
    status: OrderStatus
    priority: int
    intent: OrderIntent
    submitted_by: str
    idempotency_key: str | None
    engine_ref: str | None
    reason: str | None
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> QueuedOrder:
        times = {"created_at": _utc(row["created_ns"]), "updated_at": _utc(row["updated_ns"])}
        return cls.model_validate({**row, "intent": json.loads(row["intent"]), **times}, context=STORED_CONTEXT)


class StatusChange(BaseModel):
    """One journal entry: what the order became, from what, when and why."""

    model_config = ConfigDict(frozen=True)

    event_id: int
    order_id: str
    previous: OrderStatus | None
    status: OrderStatus
    reason: str | None
    engine_ref: str | None
    at: dt.datetime

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> StatusChange:
        return cls.model_validate({**row, "at": _utc(row["ts_ns"])})


class RecoveryReport(BaseModel):
    """What :meth:`OrderQueue.recover` did, by order id."""

    requeued: list[str]
    working: list[str]
    cancelled: list[str]


Listener = Callable[[StatusChange], None]


class OrderQueue:
    """Priority-then-FIFO order queue with a journal, over the shared :class:`Database`.

    Safe for several threads and processes on one database file: every change is one savepoint of a
    ``BEGIN IMMEDIATE`` transaction. ``clock`` returns UTC nanoseconds (the live node may pass its
    NautilusTrader clock). Listeners are called after each committed change, in the database's writer
    thread (a listener must not block; it may write to the queue again).
    """

    def __init__(self, db: Database, clock: Callable[[], int] = time.time_ns) -> None:
        db.ensure_schema("order_queue", SCHEMA_VERSION, SCHEMA)
        self._db = db
        self._clock = clock
        self._listeners: list[Listener] = []
        self._recovered = threading.Event()
        self._recovered.set()  # until a drainer says it will recover (expect_recovery)

    @property
    def recovering(self) -> bool:
        """True from :meth:`expect_recovery` until :meth:`recovery_done`: statuses may still be pre-restart ones."""
        return not self._recovered.is_set()

    def expect_recovery(self) -> None:
        """A drainer will settle the previous run's orders: until it calls :meth:`recovery_done`, readers are
        told the queue is :attr:`recovering` (the API answers order status with 503)."""
        self._recovered.clear()

    def recovery_done(self) -> None:
        self._recovered.set()

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` on every status change from now on; returns the function that unsubscribes."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def submit(self, intent: OrderIntent, submitted_by: str = "system") -> QueuedOrder:
        """Store ``intent`` as a queued order; on disk when this returns (see :meth:`submit_future`)."""
        return self.submit_future(intent, submitted_by).result()

    def submit_future(self, intent: OrderIntent, submitted_by: str = "system") -> Future[QueuedOrder]:
        """Store ``intent`` as a queued order in the next group commit; the future resolves once it is on disk.

        Idempotent per ``(submitted_by, intent.idempotency_key)``: the same key with the same intent
        resolves to the order stored the first time; with a different intent to
        :class:`IdempotencyConflict`. An event loop awaits it with ``asyncio.wrap_future`` and is not held up.
        """
        payload = ORDER_INTENT.dump_json(intent)
        digest = hashlib.sha256(payload).hexdigest()
        key = intent.idempotency_key

        def run(conn: sqlite3.Connection) -> tuple[QueuedOrder, list[StatusChange]]:
            if key is not None:
                row = conn.execute(
                    "SELECT * FROM order_queue WHERE submitted_by = ? AND idempotency_key = ?", (submitted_by, key)
                ).fetchone()
                if row is not None:
                    if row["payload_sha256"] != digest:
                        raise IdempotencyConflict(key, row["order_id"])
                    return QueuedOrder.from_row(row), []
            now = self._clock()
            order_id = uuid.uuid4().hex
            values = (order_id, OrderStatus.ACCEPTED, intent.priority, payload.decode(), digest, submitted_by, key)
            conn.execute(
                "INSERT INTO order_queue (order_id, status, priority, intent, payload_sha256, submitted_by,"
                " idempotency_key, created_ns, updated_ns) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*values, now, now),
            )
            accepted = self._journal(conn, order_id, None, OrderStatus.ACCEPTED, None, None, now)
            queued = self._move(conn, self._row(conn, order_id), OrderStatus.QUEUED)
            return QueuedOrder.from_row(self._row(conn, order_id)), [accepted, queued]

        return self._write(run)

    def claim_next(self) -> QueuedOrder | None:
        """Take the next queued order (lowest priority value, then oldest) and mark it handed_to_engine.

        Atomic: two drainers, threads or processes, never get the same order. ``None`` when empty.
        """
        claimed = self.claim_future(1).result()
        return claimed[0] if claimed else None

    def claim_future(self, limit: int) -> Future[list[QueuedOrder]]:
        """Take up to ``limit`` queued orders in queue order, each marked handed_to_engine, in one group commit;
        the future resolves to them (maybe none) once that is on disk."""

        def run(conn: sqlite3.Connection) -> tuple[list[QueuedOrder], list[StatusChange]]:
            rows = conn.execute(
                "SELECT * FROM order_queue WHERE status = ? ORDER BY priority, seq LIMIT ?",
                (OrderStatus.QUEUED, limit),
            ).fetchall()
            changes = [self._move(conn, row, OrderStatus.HANDED_TO_ENGINE) for row in rows]
            return [QueuedOrder.from_row(self._row(conn, row["order_id"])) for row in rows], changes

        return self._write(run)

    def mark(
        self, order_id: str, status: OrderStatus, reason: str | None = None, engine_ref: str | None = None
    ) -> QueuedOrder:
        """Record what the engine reports, on disk when this returns (see :meth:`mark_future`)."""
        order = self.mark_future(order_id, status, reason, engine_ref).result()
        assert order is not None  # unless_final is off
        return order

    def mark_future(
        self,
        order_id: str,
        status: OrderStatus,
        reason: str | None = None,
        engine_ref: str | None = None,
        unless_final: bool = False,
    ) -> Future[QueuedOrder | None]:
        """Record what the engine reports in the next group commit; only the transitions of
        :mod:`hybrid.orders.status` are allowed. The change is timed now, when the engine reports it.

        ``engine_ref`` (e.g. the NautilusTrader client order id) is kept once given. ``unless_final``: an
        order already final is left alone (the future resolves to None) instead of refused.
        """
        status = parse_status(status)
        now = self._clock()

        def run(conn: sqlite3.Connection) -> tuple[QueuedOrder | None, list[StatusChange]]:
            row = self._row(conn, order_id)
            if unless_final and OrderStatus(row["status"]) in FINAL:
                return None, []
            change = self._move(conn, row, status, reason, engine_ref, now=now)
            return QueuedOrder.from_row(self._row(conn, order_id)), [change]

        return self._write(run)

    def cancel(self, order_id: str, reason: str = "cancel requested") -> QueuedOrder:
        """Cancel, on disk when this returns (see :meth:`cancel_future`)."""
        return self.cancel_future(order_id, reason).result()

    def cancel_future(self, order_id: str, reason: str = "cancel requested") -> Future[QueuedOrder]:
        """Cancel: a queued order is cancelled at once; one the engine holds becomes cancel_requested.

        Cancelling an order already cancel_requested resolves to it unchanged; a final order is an
        :class:`IllegalTransition`, an unknown one :class:`OrderNotFound`.
        """

        def run(conn: sqlite3.Connection) -> tuple[QueuedOrder, list[StatusChange]]:
            row = self._row(conn, order_id)
            current = OrderStatus(row["status"])
            if current is OrderStatus.CANCEL_REQUESTED:
                return QueuedOrder.from_row(row), []
            if current in FINAL:
                raise IllegalTransition(f"order {order_id} is already {current}; there is nothing to cancel")
            target = OrderStatus.CANCELLED if current is OrderStatus.QUEUED else OrderStatus.CANCEL_REQUESTED
            change = self._move(conn, row, target, reason)
            return QueuedOrder.from_row(self._row(conn, order_id)), [change]

        return self._write(run)

    def _write[T](self, run: Callable[[sqlite3.Connection], tuple[T, list[StatusChange]]]) -> Future[T]:
        """``run`` in the database's next group commit; listeners hear of its changes once they are on disk."""
        result: Future[T] = Future()

        def after(outcome: tuple[T, list[StatusChange]]) -> None:
            self._notify(outcome[1])

        def resolve(done: Future[tuple[T, list[StatusChange]]]) -> None:
            error = done.exception()
            if error is not None:
                result.set_exception(error)
            else:
                result.set_result(done.result()[0])

        self._db.write(run, after).add_done_callback(resolve)
        return result

    def recover(self, is_known_to_engine: Callable[[str], bool]) -> RecoveryReport:
        """After a restart, settle orders a crash left between the queue and the engine.

        Call once at start-up, before any drainer claims. For every ``handed_to_engine`` order: known
        to the engine -> ``working``; unknown -> ``queued`` again, keeping its place. A
        ``cancel_requested`` order the engine never saw is ``cancelled``. See the module docstring for
        why "unsure" must be answered "known".
        """
        report = RecoveryReport(requeued=[], working=[], cancelled=[])
        changes: list[StatusChange] = []
        with self._db.transaction() as conn:
            rows = conn.execute(
                "SELECT * FROM order_queue WHERE status IN (?, ?) ORDER BY seq",
                (OrderStatus.HANDED_TO_ENGINE, OrderStatus.CANCEL_REQUESTED),
            ).fetchall()
            for row in rows:
                order_id = row["order_id"]
                known = is_known_to_engine(order_id)
                if row["status"] == OrderStatus.HANDED_TO_ENGINE:
                    if known:
                        changes.append(self._move(conn, row, OrderStatus.WORKING, "recovered: the engine holds it"))
                        report.working.append(order_id)
                    else:
                        reason = "recovered: the engine never received it"
                        changes.append(self._move(conn, row, OrderStatus.QUEUED, reason, check=False))
                        report.requeued.append(order_id)
                elif not known:
                    reason = "recovered: cancel requested before the engine received it"
                    changes.append(self._move(conn, row, OrderStatus.CANCELLED, reason))
                    report.cancelled.append(order_id)
        self._notify(changes)
        if rows:
            log.info(
                "order queue recovery: %d re-queued, %d working, %d cancelled",
                len(report.requeued),
                len(report.working),
                len(report.cancelled),
            )
        return report

    def get(self, order_id: str) -> QueuedOrder:
        """The order with this id, or :class:`OrderNotFound`."""
        rows = self._db.query("SELECT * FROM order_queue WHERE order_id = ?", (order_id,))
        if not rows:
            raise OrderNotFound(order_id)
        return QueuedOrder.from_row(rows[0])

    def orders(self, status: OrderStatus | None = None, limit: int = 100, offset: int = 0) -> list[QueuedOrder]:
        """Orders, newest first, optionally of one status; ``limit`` 1 to 1000, ``offset`` from 0."""
        if not 1 <= limit <= MAX_PAGE:
            raise ValueError(f"limit must be from 1 to {MAX_PAGE}, got {limit}")
        if offset < 0:
            raise ValueError(f"offset must be 0 or more, got {offset}")
        where, params = ("WHERE status = ?", (parse_status(status),)) if status is not None else ("", ())
        rows = self._db.query(
            f"SELECT * FROM order_queue {where} ORDER BY seq DESC LIMIT ? OFFSET ?", (*params, limit, offset)
        )
        return [QueuedOrder.from_row(row) for row in rows]

    def count(self, status: OrderStatus) -> int:
        """How many orders have ``status`` (an index count: cheap enough for every health probe)."""
        return self._db.query("SELECT COUNT(*) FROM order_queue WHERE status = ?", (parse_status(status),))[0][0]

    def keyed(self, submitted_by: str, key_prefix: str) -> list[QueuedOrder]:
        """``submitted_by``'s orders whose idempotency key starts with ``key_prefix``, oldest first (what a
        replayed batch, such as a close-all under one key, stored the first time)."""
        rows = self._db.query(
            "SELECT * FROM order_queue WHERE submitted_by = ? AND substr(idempotency_key, 1, ?) = ? ORDER BY seq",
            (submitted_by, len(key_prefix), key_prefix),
        )
        return [QueuedOrder.from_row(row) for row in rows]

    def history(self, order_id: str) -> list[StatusChange]:
        """Every status change of the order, oldest first."""
        rows = self._db.query("SELECT * FROM order_journal WHERE order_id = ? ORDER BY event_id", (order_id,))
        if not rows:
            raise OrderNotFound(order_id)
        return [StatusChange.from_row(row) for row in rows]

    @staticmethod
    def _row(conn: sqlite3.Connection, order_id: str) -> sqlite3.Row:
        row = conn.execute("SELECT * FROM order_queue WHERE order_id = ?", (order_id,)).fetchone()
        if row is None:
            raise OrderNotFound(order_id)
        return row

    def _move(
        self,
        conn: sqlite3.Connection,
        row: sqlite3.Row,
        status: OrderStatus,
        reason: str | None = None,
        engine_ref: str | None = None,
        check: bool = True,
        now: int | None = None,
    ) -> StatusChange:
        """Change one order's status and journal it, inside the caller's transaction (timed ``now``, default now)."""
        current = OrderStatus(row["status"])
        if check:
            check_transition(current, status)
        now = now if now is not None else self._clock()
        engine_ref = engine_ref or row["engine_ref"]
        conn.execute(
            "UPDATE order_queue SET status = ?, reason = ?, engine_ref = ?, updated_ns = ? WHERE order_id = ?",
            (status, reason, engine_ref, now, row["order_id"]),
        )
        return self._journal(conn, row["order_id"], current, status, reason, engine_ref, now)

    @staticmethod
    def _journal(
        conn: sqlite3.Connection,
        order_id: str,
        previous: OrderStatus | None,
        status: OrderStatus,
        reason: str | None,
        engine_ref: str | None,
        ts_ns: int,
    ) -> StatusChange:
        cursor = conn.execute(
            "INSERT INTO order_journal (order_id, previous, status, reason, engine_ref, ts_ns)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (order_id, previous, status, reason, engine_ref, ts_ns),
        )
        return StatusChange(
            event_id=inserted_id(cursor),
            order_id=order_id,
            previous=previous,
            status=status,
            reason=reason,
            engine_ref=engine_ref,
            at=_utc(ts_ns),
        )

    def _notify(self, changes: list[StatusChange]) -> None:
        for change in changes:
            for listener in list(self._listeners):
                try:
                    listener(change)
                except Exception:
                    log.exception("order queue listener %r failed on %s", listener, change.order_id)
