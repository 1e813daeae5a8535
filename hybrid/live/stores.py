"""The order queue a live process's API and queue drainer share, one per database file.

The queue calls its listeners (which feed the WebSocket) per instance, so the API and the engine-side
drainer must hold the *same* ``OrderQueue``. The drainer is an Actor NautilusTrader builds from its config,
so it cannot be handed one: the runner registers the API's queue with :func:`share_queue`, and the drainer
asks :func:`shared_queue` with the database path of its config (None: ``$HYBRID_DB`` or
``state/hybrid.sqlite``, the API's default), getting the API's queue, or a queue of its own over that file
when no API registered one (a node without the API). :func:`close_shared` closes the databases opened here.
"""

from __future__ import annotations

import threading
from pathlib import Path

from hybrid.orders.queue import OrderQueue
from hybrid.store.db import Database, default_db_path

_QUEUES: dict[Path, OrderQueue] = {}
_OPENED: list[Database] = []
_LOCK = threading.Lock()


def _key(path: str | Path | None) -> Path:
    return Path(path if path is not None else default_db_path()).resolve()


def share_queue(queue: OrderQueue, path: str | Path | None = None) -> None:
    """Make ``queue`` (over ``path``'s database) the one :func:`shared_queue` returns for that file."""
    with _LOCK:
        _QUEUES[_key(path)] = queue


def shared_queue(path: str | Path | None = None) -> OrderQueue:
    """The process's queue over ``path`` (default ``$HYBRID_DB`` or ``state/hybrid.sqlite``); opened once."""
    key = _key(path)
    with _LOCK:
        if key not in _QUEUES:
            db = Database(key)
            _OPENED.append(db)
            _QUEUES[key] = OrderQueue(db)
        return _QUEUES[key]


def close_shared() -> None:
    """Forget the shared queues and close the databases this module opened."""
    with _LOCK:
        for db in _OPENED:
            db.close()
        _OPENED.clear()
        _QUEUES.clear()
