"""The paper account's book on disk: every order event, the instruments they trade and the account's states.

A broker keeps an account's orders, positions and balance across a client's restarts; NautilusTrader 1.231's
sandbox venue and in-memory cache start empty every run, and its cache database is Redis-only
(``CacheConfig(database=...)`` takes a ``DatabaseConfig`` whose only ``type`` is ``redis``). So the paper venue
(:class:`hybrid.live.paper.PaperExecutionClient`) journals here, in the node's SQLite file, what NautilusTrader
itself would need to rebuild the book: each order event as the execution engine published it (``OrderInitialized``
first, then submitted, accepted, fills, cancels, and the synthetic leg fills of spread orders, which belong to no
order), the definition of each instrument an order trades (spreads and their legs: a spread instrument is built on
demand and a contract may no longer be listed at the next start) and every ``AccountState`` the portfolio applied.
Records are NautilusTrader's own msgpack serialization (``MsgSpecSerializer``, as its Redis cache database
stores them), in publication order.

Writes go through :meth:`hybrid.store.db.Database.write`, the database's group-commit writer thread, so the
event loop never waits for the disk; a ``kill -9`` can lose the last few milliseconds of events, never an
accepted order (the order queue keeps those, and its recovery settles what the book does not show).
"""

from __future__ import annotations

import sqlite3
from concurrent.futures import Future
from dataclasses import dataclass, field

import msgspec
from nautilus_trader.model.events import AccountState, OrderEvent
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.serialization.serializer import MsgSpecSerializer

from hybrid.store.db import Database

COMPONENT, VERSION = "paper_book", 1
SCHEMA = """
CREATE TABLE paper_book (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('instrument', 'order', 'account')),
    payload BLOB NOT NULL
);
CREATE TABLE paper_listing (name TEXT PRIMARY KEY, shift_days INTEGER NOT NULL)
"""

_SERIALIZER = MsgSpecSerializer(encoding=msgspec.msgpack, timestamps_as_str=True)


@dataclass
class JournalledBook:
    """What :meth:`PaperBook.load` read: instruments, order events in publication order, the last account state."""

    instruments: list[Instrument] = field(default_factory=list)
    events: list[OrderEvent] = field(default_factory=list)
    account: AccountState | None = None

    def __bool__(self) -> bool:
        return bool(self.events) or self.account is not None


class PaperBook:
    """The journal of one paper venue's book in ``db`` (module docstring)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        db.ensure_schema(COMPONENT, VERSION, SCHEMA)
        self._instrument_ids: set[str] = set()  # instruments journalled already (this run and before)

    def load(self) -> JournalledBook:
        """Everything journalled so far, oldest first."""
        book = JournalledBook()
        for row in self.db.query("SELECT kind, payload FROM paper_book ORDER BY seq"):
            item = _SERIALIZER.deserialize(bytes(row["payload"]))
            if row["kind"] == "instrument":
                book.instruments.append(item)
                self._instrument_ids.add(item.id.value)
            elif row["kind"] == "order":
                book.events.append(item)
            else:
                book.account = item
        return book

    def record_instrument(self, instrument: Instrument) -> Future[None] | None:
        """Journal ``instrument``'s definition once (None when it is journalled already)."""
        if instrument.id.value in self._instrument_ids:
            return None
        self._instrument_ids.add(instrument.id.value)
        return self._append("instrument", instrument)

    def record_event(self, event: OrderEvent) -> Future[None]:
        return self._append("order", event)

    def record_account(self, state: AccountState) -> Future[None]:
        return self._append("account", state)

    def listing_shift(self, name: str, computed: int) -> int:
        """The days the replay ``name`` moves its contracts by: while the book holds orders, the shift it was
        journalled under (its contracts keep their ids and expiries, whatever day the node starts); else
        ``computed``, stored for the runs to come."""
        rows = self.db.query("SELECT shift_days FROM paper_listing WHERE name = ?", (name,))
        if rows and self.db.query("SELECT 1 FROM paper_book WHERE kind = 'order' LIMIT 1"):
            return int(rows[0]["shift_days"])
        with self.db.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO paper_listing (name, shift_days) VALUES (?, ?)", (name, computed))
        return computed

    def _append(self, kind: str, item: object) -> Future[None]:
        payload = _SERIALIZER.serialize(item)

        def run(conn: sqlite3.Connection) -> None:
            conn.execute("INSERT INTO paper_book (kind, payload) VALUES (?, ?)", (kind, payload))

        return self.db.write(run)
