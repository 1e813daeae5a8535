"""What the two-part algorithm leaves behind, for reports and tests: its orders, summaries and fill rates."""

from __future__ import annotations

import json

import pandas as pd
from nautilus_trader.cache.base import CacheFacade
from nautilus_trader.execution.algorithm import ExecAlgorithm
from nautilus_trader.model.identifiers import ClientOrderId, ExecAlgorithmId
from nautilus_trader.model.orders import Order

from hybrid.execution.fill_stats import TABLE_KEYS, TABLE_METRICS
from hybrid.execution.two_part import ALGORITHM_ID, RESULT_KEY_PREFIX, TwoPart


def fill_rates(exec_algorithms: list[ExecAlgorithm]) -> pd.DataFrame:
    """This run's fill-rate table of every TwoPart among ``exec_algorithms`` (a trader's), for the backtest report."""
    frames = [a.fill_rate_table() for a in exec_algorithms if isinstance(a, TwoPart) and a.started]
    if not frames:
        return pd.DataFrame(columns=[*TABLE_KEYS, *TABLE_METRICS])
    return pd.concat(frames, ignore_index=True)


def child_orders(cache: CacheFacade, primary_id: ClientOrderId, algorithm_id: str = ALGORITHM_ID) -> list[Order]:
    """The orders the algorithm submitted for a primary (spread children and leg orders), oldest first."""
    prefix = f"{primary_id.value}-"
    orders = cache.orders_for_exec_algorithm(ExecAlgorithmId(algorithm_id))
    return sorted(
        (o for o in orders if o.client_order_id.value.startswith(prefix)),
        key=lambda o: (o.ts_init, o.client_order_id.value),
    )


def result(cache: CacheFacade, primary_id: ClientOrderId) -> dict | None:
    """The summary the algorithm left when it finished with a primary (None while it works)."""
    raw = cache.get(f"{RESULT_KEY_PREFIX}{primary_id.value}")
    return json.loads(raw) if raw is not None else None
