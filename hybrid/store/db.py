"""A small SQLite wrapper: durable writes, per-component schemas, one file per process.

Each component (order queue, templates, bot action log, fill statistics, ...) owns its tables and
registers them with :meth:`Database.ensure_schema` under a name and version, so components stay
independent while sharing one file. ``synchronous=FULL`` with WAL means a committed row survives a
``kill -9`` of the process (an accepted order is never lost).

Group commit. A durable commit waits for the disk (an fsync, milliseconds), and the live node's API, engine
and replay share one event loop that must never wait for it. :meth:`Database.write` hands a unit of work to
one writer thread and returns a ``concurrent.futures.Future`` at once; the writer runs every unit waiting
at that moment in one transaction (each in its own savepoint, so one failing unit does not undo the
others) and commits them with one fsync, then resolves their futures. A resolved future therefore means the
work is on disk. Reads (:meth:`Database.query`) use a second connection: under WAL they see every committed
write and never wait behind the writer's fsync (an in-memory database has one connection for both).
"""

from __future__ import annotations

import os
import queue
import sqlite3
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

DB_ENV = "HYBRID_DB"
DEFAULT_DB = Path("state") / "hybrid.sqlite"


def default_db_path() -> Path:
    """``$HYBRID_DB`` when set, else ``state/hybrid.sqlite`` under the working directory."""
    return Path(os.environ.get(DB_ENV, DEFAULT_DB))


def inserted_id(cursor: sqlite3.Cursor) -> int:
    """The row id an INSERT just created; an INSERT that created none is an error, not a None id."""
    if cursor.lastrowid is None:
        raise RuntimeError("the statement inserted no row")
    return cursor.lastrowid


MAX_GROUP = 512  # units of work committed together at most


@dataclass
class _Work[T]:
    """A unit of work for the writer: run in the writer's transaction, then ``after`` once it is committed."""

    run: Callable[[sqlite3.Connection], T]
    after: Callable[[T], None] | None
    future: Future[T]


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON", "busy_timeout=5000"):
        conn.execute(f"PRAGMA {pragma}")
    return conn


class Database:
    """A thread-safe SQLite database in autocommit mode: :meth:`transaction` for atomic work in the caller's
    thread, :meth:`write` for group-committed work off it, :meth:`query` for reads (module docstring)."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_db_path()
        memory = str(self.path) == ":memory:"
        if not memory:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = _connect(self.path)
        self._lock = threading.RLock()
        self._commits = 0  # writes through this connection; see version()
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_versions (component TEXT PRIMARY KEY, version INTEGER NOT NULL)"
        )
        self._reader = self._conn if memory else _connect(self.path)
        self._read_lock = self._lock if memory else threading.Lock()
        self._pending: queue.SimpleQueue[_Work | None] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._writer_lock = threading.Lock()
        self._closed = False

    def ensure_schema(self, component: str, version: int, ddl: str) -> None:
        """Create a component's tables once; a different stored version is an error, not a silent reuse."""
        with self.transaction() as conn:
            row = conn.execute("SELECT version FROM schema_versions WHERE component = ?", (component,)).fetchone()
            if row is not None:
                if row["version"] != version:
                    raise RuntimeError(
                        f"{self.path}: {component} tables are version {row['version']}, this code needs "
                        f"{version}; migrate or move the database aside"
                    )
                return
            for statement in filter(str.strip, ddl.split(";")):
                conn.execute(statement)
            conn.execute("INSERT INTO schema_versions (component, version) VALUES (?, ?)", (component, version))

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic unit of work (BEGIN IMMEDIATE ... COMMIT), serialised across threads."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
            self._commits += 1

    def write[T](self, run: Callable[[sqlite3.Connection], T], after: Callable[[T], None] | None = None) -> Future[T]:
        """Run ``run(conn)`` in the writer thread's next group commit; the future resolves (to its result, or
        its exception) once the group is on disk, after ``after(result)`` ran in the writer thread.

        Called from the writer thread itself (an ``after`` callback writing again), the work runs at once in
        its own transaction, so such a caller may wait for the future without deadlocking.
        """
        work: _Work[T] = _Work(run, after, Future())
        if threading.current_thread() is self._writer:
            self._commit([work])
            return work.future
        with self._writer_lock:
            if self._closed:
                raise RuntimeError(f"{self.path}: the database is closed")
            if self._writer is None:
                self._writer = threading.Thread(target=self._write_loop, name="sqlite-writer", daemon=True)
                self._writer.start()
            self._pending.put(work)
        return work.future

    def _write_loop(self) -> None:
        while True:
            first = self._pending.get()
            if first is None:
                return
            group = [first]
            while len(group) < MAX_GROUP:
                try:
                    work = self._pending.get_nowait()
                except queue.Empty:
                    break
                if work is None:
                    self._pending.put(None)  # stop after this group
                    break
                group.append(work)
            self._commit(group)

    def _commit(self, group: list[_Work]) -> None:
        """One transaction, one savepoint per unit, one fsync; then each unit's ``after`` and future, in order."""
        results: list[tuple[bool, object]] = []
        try:
            with self.transaction() as conn:
                for work in group:
                    conn.execute("SAVEPOINT work")
                    try:
                        results.append((True, work.run(conn)))
                    except Exception as exc:
                        conn.execute("ROLLBACK TO work")
                        results.append((False, exc))
                    conn.execute("RELEASE work")
        except Exception as exc:  # the commit itself failed: nothing of the group is on disk
            for work in group:
                work.future.set_exception(exc)
            return
        for work, (ok, value) in zip(group, results, strict=True):
            if not ok:
                work.future.set_exception(value)  # type: ignore[arg-type]  # an exception when not ok
                continue
            if work.after is not None:
                try:
                    work.after(value)
                except Exception as exc:
                    work.future.set_exception(exc)
                    continue
            work.future.set_result(value)

    def query(self, sql: str, params: tuple | dict = ()) -> list[sqlite3.Row]:
        """Rows of committed data; never waits for a write in progress (module docstring)."""
        with self._read_lock:
            return self._reader.execute(sql, params).fetchall()

    def execute(self, sql: str, params: tuple | dict = ()) -> int | None:
        """A single autocommitted statement; returns the last row id (None when nothing was inserted)."""
        with self._lock:
            last = self._conn.execute(sql, params).lastrowid
            self._commits += 1
            return last

    def version(self) -> tuple[int, int]:
        """Changes so far: commits through this object and SQLite's ``data_version`` (commits by any other
        connection, other processes included). Equal versions mean nothing was written in between, which
        lets a reader keep what it parsed instead of querying again."""
        with self._lock:
            return self._commits, self._conn.execute("PRAGMA data_version").fetchone()[0]

    def close(self) -> None:
        """Commit the writes handed over so far, stop the writer and close the connections."""
        with self._writer_lock:
            self._closed = True
            writer = self._writer
            if writer is not None and writer is not threading.current_thread():
                self._pending.put(None)
        if writer is not None and writer is not threading.current_thread():
            writer.join()
        with self._lock, self._read_lock:
            self._conn.close()
            if self._reader is not self._conn:
                self._reader.close()
