"""Structure units of an order worked leg by leg, as recorded by the algorithm that works it.

A spread order filled as a spread has a structure-level fill that says how many units the group
holds. An order an execution algorithm works as separate leg orders (the two-part algorithm's
``legging`` mode) has none: only its legs fill. So the algorithm records, in the cache under
``legged:<primary client order id>``, the whole units its legs make so far (counted when the legs
are even, after each attempt), their net premium and when it counted them. The group view
(:func:`hybrid.tracking.rebuild_groups`) counts the record as one structure-level fill of the
primary order at that time; :class:`hybrid.trading.GroupTrader` adds it when the primary ends.
An order with a record is never also filled at the structure level, so nothing is counted twice.

The key lives here, not in the algorithm, so that the group view does not depend on execution code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from nautilus_trader.cache.base import CacheFacade
from nautilus_trader.model.identifiers import ClientOrderId

KEY_PREFIX = "legged:"


@dataclass(frozen=True, slots=True)
class LeggedUnits:
    """Whole structure units the primary's legs make (unsigned: the primary's side signs them).

    ``premium``: net price per share of one unit, ``sum(ratio x net cost per contract held of each leg)``
    (everything the leg's orders paid less everything they received, balancing trades included), signed
    like a spread fill price (a bought debit spread is positive).
    ``ts_ns``: when the units were counted.
    """

    units: int
    premium: float
    ts_ns: int


def record_legged_units(cache: CacheFacade, primary_id: ClientOrderId, legged: LeggedUnits) -> None:
    """Store (replace) the record of ``primary_id``."""
    payload = {"units": legged.units, "premium": legged.premium, "ts_ns": legged.ts_ns}
    cache.add(f"{KEY_PREFIX}{primary_id.value}", json.dumps(payload).encode())


def legged_units(cache: CacheFacade, primary_id: ClientOrderId) -> LeggedUnits | None:
    """The latest record of ``primary_id``; None for an order not worked leg by leg (or before its first unit)."""
    raw = cache.get(f"{KEY_PREFIX}{primary_id.value}")
    if raw is None:
        return None
    payload = json.loads(raw)
    return LeggedUnits(int(payload["units"]), float(payload["premium"]), int(payload["ts_ns"]))
