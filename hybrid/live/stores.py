"""The database and order queue a live process's API, queue drainer and paper venue share, one per database file.

The queue calls its listeners (which feed the WebSocket) per instance, so the API and the engine-side
drainer must hold the *same* ``OrderQueue``; and one ``Database`` per file means one writer thread whose group
commits carry the queue's and the paper book's writes together (one fsync for both). The drainer and the paper
venue are components NautilusTrader builds from their configs, so they cannot be handed either: the runner
registers the API's database and queue with :func:`share_queue`, and they ask :func:`shared_queue` or
:func:`shared_database` with the database path of their config (None: ``$HYBRID_DB`` or
``state/hybrid.sqlite``, the API's default), getting the API's, or their own over that file when no API
registered one (a node without the API). :func:`close_shared` closes the databases opened here.
"""

from __future__ import annotations

import threading
from pathlib import Path

from hybrid.orders.queue import OrderQueue
from hybrid.store.db import Database, default_db_path

_DATABASES: dict[Path, Database] = {}
_QUEUES: dict[Path, OrderQueue] = {}
_OPENED: list[Database] = []
_LOCK = threading.Lock()


def _key(path: str | Path | None) -> Path:
    return Path(path if path is not None else default_db_path()).resolve()


def share_queue(queue: OrderQueue, db: Database) -> None:
    """Make ``queue`` and its database ``db`` the ones :func:`shared_queue` and :func:`shared_database` return."""
    with _LOCK:
        _DATABASES[_key(db.path)] = db
        _QUEUES[_key(db.path)] = queue


def _database(key: Path) -> Database:
    if key not in _DATABASES:
        db = _DATABASES[key] = Database(key)
        _OPENED.append(db)
    return _DATABASES[key]


def shared_database(path: str | Path | None = None) -> Database:
    """The process's database over ``path`` (default ``$HYBRID_DB`` or ``state/hybrid.sqlite``); opened once."""
    with _LOCK:
        return _database(_key(path))


def shared_queue(path: str | Path | None = None) -> OrderQueue:
    """The process's queue over ``path`` (default ``$HYBRID_DB`` or ``state/hybrid.sqlite``); opened once."""
    key = _key(path)
    with _LOCK:
        if key not in _QUEUES:
            _QUEUES[key] = OrderQueue(_database(key))
        return _QUEUES[key]


def close_shared() -> None:
    """Forget the shared databases and queues and close the databases this module opened."""
    with _LOCK:
        for db in _OPENED:
            db.close()
        _OPENED.clear()
        _DATABASES.clear()
        _QUEUES.clear()
