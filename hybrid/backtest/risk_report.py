"""The report's risk section: every circuit-breaker trip and every order the RiskEngine denied.

Trips come from the strategies that own a breaker (they leave them in the cache under
:func:`hybrid.risk.trips_key` at stop): when, why, the state asked for (REDUCING, HALTED, FLATTEN), what the
strategy did about it, when the halt took hold and when the trip was reset. Denials are the ``OrderDenied``
events of the run's orders, with their reason and the group they belonged to.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter

from nautilus_trader.backtest.engine import BacktestEngine
from nautilus_trader.model.events import OrderDenied

from hybrid.calendar.exchange_time import utc_text
from hybrid.risk import trips_key
from hybrid.tracking import GroupTags

TRIP_COLUMNS = ["strategy_id", "at", "reason", "state", "action", "halted_at", "reset_at", "reset_by"]
DENIAL_COLUMNS = ["at", "client_order_id", "strategy_id", "group_id", "instrument_id", "side", "quantity", "reason"]


def breaker_trips(engine: BacktestEngine) -> list[dict]:
    """Every trip of every strategy's breaker, in time order (times as UTC text)."""
    rows = []
    for strategy in engine.trader.strategies():
        raw = engine.cache.get(trips_key(strategy.id))
        for trip in json.loads(raw) if raw else []:
            rows.append(
                {
                    "strategy_id": strategy.id.value,
                    "at": _at(trip["ts_ns"]),
                    "reason": trip["reason"],
                    "state": trip["state"],
                    "action": trip["action"],
                    "halted_at": _at(trip["halted_ns"]),
                    "reset_at": _at(trip["reset_ns"]),
                    "reset_by": trip["reset_by"],
                    "ts_ns": trip["ts_ns"],
                }
            )
    rows.sort(key=lambda row: (row["ts_ns"], row["strategy_id"]))
    for row in rows:
        del row["ts_ns"]
    return rows


def denials(engine: BacktestEngine) -> list[dict]:
    """Every order the RiskEngine denied, in time order, with its reason."""
    rows = []
    for order in engine.cache.orders():
        for event in order.events:
            if isinstance(event, OrderDenied):
                try:
                    tags = GroupTags.parse(order.tags)
                except ValueError:
                    tags = None
                rows.append(
                    {
                        "at": _at(event.ts_event),
                        "client_order_id": order.client_order_id.value,
                        "strategy_id": order.strategy_id.value,
                        "group_id": tags.group_id if tags is not None else None,
                        "instrument_id": order.instrument_id.value,
                        "side": order.side_string(),
                        "quantity": float(order.quantity),
                        "reason": event.reason,
                        "ts_ns": event.ts_event,
                    }
                )
    rows.sort(key=lambda row: (row["ts_ns"], row["client_order_id"]))
    for row in rows:
        del row["ts_ns"]
    return rows


def risk_summary(trips: list[dict], denied: list[dict]) -> dict:
    """summary.json's ``risk`` section."""
    return {
        "trips": trips,
        "denials": {
            "count": len(denied),
            "by_reason": dict(sorted(Counter(row["reason"] for row in denied).items())),
            "orders": denied,
        },
    }


def _at(ts_ns: int | None) -> str | None:
    return None if ts_ns is None else utc_text(dt.datetime.fromtimestamp(ts_ns / 1e9, tz=dt.UTC))
