"""Run notices: a component that cannot do its job for a reason the user can fix (a strategy without the IV
history it ranks against) says so once, and the backtest summary lists it (``summary.json``'s ``notices``)."""

from __future__ import annotations

import json

from nautilus_trader.cache.base import CacheFacade

NOTICES_CACHE_KEY = "hybrid.tracking.notices"


def record_notice(cache: CacheFacade, component: str, kind: str, message: str) -> None:
    """Append one notice (``kind``: a stable tag such as ``iv_history``) to the run's list."""
    raw = cache.get(NOTICES_CACHE_KEY)
    rows = json.loads(raw) if raw else []
    rows.append({"component": component, "kind": kind, "message": message})
    cache.add(NOTICES_CACHE_KEY, json.dumps(rows).encode())


def cached_notices(cache: CacheFacade) -> list[dict]:
    """The run's notices, in the order they were recorded."""
    raw = cache.get(NOTICES_CACHE_KEY)
    return json.loads(raw) if raw else []
