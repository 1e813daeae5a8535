"""A small SQLite wrapper: durable writes, per-component schemas, one connection per process.

Each component (order queue, templates, bot action log, fill statistics, ...) owns its tables and
registers them with :meth:`Database.ensure_schema` under a name and version, so components stay
independent while sharing one file. ``synchronous=FULL`` with WAL means a committed row survives a
``kill -9`` of the process (an accepted order is never lost).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
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


class Database:
    """A thread-safe SQLite connection in autocommit mode; use :meth:`transaction` for atomic work."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_db_path()
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
        self._conn.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        self._commits = 0  # writes through this connection; see version()
        for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON", "busy_timeout=5000"):
            self._conn.execute(f"PRAGMA {pragma}")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_versions (component TEXT PRIMARY KEY, version INTEGER NOT NULL)"
        )

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

    def query(self, sql: str, params: tuple | dict = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

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
        with self._lock:
            self._conn.close()
