"""Fill-rate statistics of the two-part algorithm: one row per child order, in SQLite.

Each child is recorded when it ends: which underlying, mode, part, kind, ladder rung and leg it
was, how much it asked for and got, its price against the mid at submission, and how long its
first fill took. ``kind`` is ``ladder`` for a ladder child (and the completion at the bound) and
``balance`` for a balancing order (a leg completed, reduced or repaired at the touch; its ``step``
is -1, it has no rung), so what the legs cost beyond the ladder is in the same table, and the
slippage of balancing rows is that cost per share. Rows are buffered and written in batches
(``flush_rows``) and at :meth:`FillStats.flush` (the algorithm calls it on stop), so a crash
loses at most one batch of statistics, never an order.

``leg`` is ``combo`` for a spread order, else the leg order's side and kind (``buy_call``,
``sell_put``, ...) so legs of different contracts aggregate. ``scope`` keeps backtest and live
statistics apart in one database; ``run_id`` tells one algorithm run from another (the backtest
report shows its own run). ``ladder_steps`` is stored because rung 2 of a 4-step ladder is not
rung 2 of an 8-step one: adaptation only reads rows of the ladder size in use.

Adaptation (:meth:`FillStats.start_step`): for one (scope, underlying, mode, leg, ladder size), the
starting rung is the lowest rung that has at least ``min_samples`` ladder attempts and a fill rate
(attempts with any fill / attempts) of at least ``target_fill_rate``; with no such rung, rung 0
(the mid). Balancing rows do not count. The counts behind it are kept in memory (loaded once per
key from the database, then updated with each new attempt), so the rule costs nothing per order.
A part (:meth:`FillStats.part_start`) starts at the highest of its legs' starting rungs, except under
the passive floor: of the parts adaptation starts above the mid, every ``1 / passive_floor``-th (the
10th, 20th, ... with 0.1) starts at the mid anyway. Rungs below the start are otherwise never tried,
so without it a rung that stopped filling would never be sampled again and the start could only rise;
with it the mid keeps getting attempts, and once they fill often enough again (``target_fill_rate``
over all its attempts) the start comes back down. The floor's count is kept per run (in memory).

Schema version 2 added ``kind``; a version-1 database is migrated in place (its rows are ladder rows).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from hybrid.store.db import Database, default_db_path

COMPONENT = "fill_stats"
SCHEMA_VERSION = 2
SCHEMA = """
CREATE TABLE fill_attempts (
    id INTEGER PRIMARY KEY,
    scope TEXT NOT NULL,
    run_id TEXT NOT NULL,
    ts_submit INTEGER NOT NULL,
    underlying TEXT NOT NULL,
    mode TEXT NOT NULL,
    part INTEGER NOT NULL,
    ladder_steps INTEGER NOT NULL,
    step INTEGER NOT NULL,
    leg TEXT NOT NULL,
    instrument_id TEXT NOT NULL,
    side TEXT NOT NULL,
    quantity REAL NOT NULL,
    filled REAL NOT NULL,
    price REAL NOT NULL,
    mid REAL NOT NULL,
    avg_px REAL,
    slippage REAL,
    time_to_fill_s REAL,
    kind TEXT NOT NULL DEFAULT 'ladder'
);
CREATE INDEX fill_attempts_adapt ON fill_attempts (scope, underlying, mode, leg, ladder_steps, step);
CREATE INDEX fill_attempts_run ON fill_attempts (run_id)
"""
MIGRATE_FROM_1 = "ALTER TABLE fill_attempts ADD COLUMN kind TEXT NOT NULL DEFAULT 'ladder'"
KINDS = ("ladder", "balance")
TABLE_KEYS = ("underlying", "mode", "part", "kind", "step", "leg")
TABLE_METRICS = (
    "attempts",
    "fills",
    "fill_rate",
    "quantity",
    "filled",
    "filled_ratio",
    "avg_slippage",
    "avg_time_to_fill_s",
)


@dataclass(frozen=True, slots=True)
class Attempt:
    """One child order, as it ended. ``slippage``: (average fill - mid) per share, positive = worse
    than mid for the order's side; ``avg_px``, ``slippage`` and ``time_to_fill_s`` are None when
    nothing filled. ``kind``: ``ladder`` or ``balance`` (module docstring).
    """

    scope: str
    run_id: str
    ts_submit: int
    underlying: str
    mode: str
    part: int
    ladder_steps: int
    step: int
    leg: str
    instrument_id: str
    side: str
    quantity: float
    filled: float
    price: float
    mid: float
    avg_px: float | None
    slippage: float | None
    time_to_fill_s: float | None
    kind: str = "ladder"


AdaptKey = tuple[str, str, str, str, int]  # scope, underlying, mode, leg, ladder_steps


class FillStats:
    """Records attempts, answers the adaptation rule and reports the fill-rate table."""

    def __init__(self, db: Database, flush_rows: int = 200) -> None:
        if flush_rows < 1:
            raise ValueError(f"flush_rows must be at least 1, got {flush_rows}")
        self.db = db
        self.flush_rows = flush_rows
        _migrate(db)
        db.ensure_schema(COMPONENT, SCHEMA_VERSION, SCHEMA)
        self._pending: list[tuple] = []
        self._counts: dict[AdaptKey, dict[int, list[int]]] = {}
        self._adapted_parts: dict[tuple[AdaptKey, ...], list[int]] = defaultdict(lambda: [0, 0])

    @classmethod
    def open(cls, path: str | None, flush_rows: int = 200) -> FillStats:
        """The statistics in the SQLite file ``path`` (None: ``$HYBRID_DB`` or state/hybrid.sqlite)."""
        return cls(Database(default_db_path() if path is None else path), flush_rows=flush_rows)

    def record(self, attempt: Attempt) -> None:
        """Buffer one attempt (written at the next batch) and count a ladder attempt for adaptation."""
        if attempt.kind not in KINDS:
            raise ValueError(f"attempt kind must be one of {', '.join(KINDS)}, got {attempt.kind!r}")
        self._pending.append(tuple(getattr(attempt, name) for name in Attempt.__slots__))
        if attempt.kind == "ladder":
            step = self._counts_for(_key(attempt))[attempt.step]
            step[0] += 1
            step[1] += attempt.filled > 0
        if len(self._pending) >= self.flush_rows:
            self.flush()

    def flush(self) -> None:
        """Write the buffered attempts in one transaction."""
        if not self._pending:
            return
        columns = ", ".join(Attempt.__slots__)
        marks = ", ".join("?" * len(Attempt.__slots__))
        with self.db.transaction() as conn:
            conn.executemany(f"INSERT INTO fill_attempts ({columns}) VALUES ({marks})", self._pending)
        self._pending.clear()

    def start_step(self, key: AdaptKey, min_samples: int, target_fill_rate: float) -> int:
        """The adaptation rule (module docstring): the lowest rung that usually fills, else 0."""
        counts = self._counts_for(key)
        for step in sorted(counts):
            attempts, fills = counts[step]
            if attempts >= min_samples and fills >= target_fill_rate * attempts:
                return step
        return 0

    def part_start(
        self, keys: Sequence[AdaptKey], min_samples: int, target_fill_rate: float, passive_floor: float
    ) -> int:
        """The first rung of a part whose legs have ``keys``: the highest of their :meth:`start_step`, or
        the mid when the passive floor (module docstring) is due; one call per part."""
        start = max(self.start_step(key, min_samples, target_fill_rate) for key in keys)
        if start == 0 or passive_floor <= 0:
            return start
        counts = self._adapted_parts[tuple(keys)]  # parts adapted above the mid, of them started at the mid
        counts[0] += 1
        if counts[1] < math.floor(passive_floor * counts[0] + 1e-9):
            counts[1] += 1
            return 0
        return start

    def table(
        self, run_id: str | None = None, scope: str | None = None, by: tuple[str, ...] = TABLE_KEYS
    ) -> pd.DataFrame:
        """The fill-rate table grouped by ``by`` (default: underlying, mode, part, kind, step, leg).

        Columns: the keys, ``attempts`` (child orders), ``fills`` (those with any fill), ``fill_rate``,
        ``quantity``, ``filled``, ``filled_ratio`` (filled / quantity), ``avg_slippage`` (per share,
        filled attempts), ``avg_time_to_fill_s`` (filled attempts). Buffered rows are flushed first.
        """
        unknown = [k for k in by if k not in Attempt.__slots__]
        if unknown or not by:
            raise ValueError(
                f"fill-rate table keys must be columns of {', '.join(Attempt.__slots__)}, got {unknown or 'none'}"
            )
        self.flush()
        where, params = _filters(run_id=run_id, scope=scope)
        keys = ", ".join(by)
        rows = self.db.query(
            f"""SELECT {keys}, COUNT(*) AS attempts, SUM(filled > 0) AS fills,
                       SUM(quantity) AS quantity, SUM(filled) AS filled,
                       SUM(slippage * filled) / NULLIF(SUM(CASE WHEN filled > 0 THEN filled END), 0) AS avg_slippage,
                       AVG(time_to_fill_s) AS avg_time_to_fill_s
                FROM fill_attempts {where} GROUP BY {keys} ORDER BY {keys}""",
            params,
        )
        sums = ["attempts", "fills", "quantity", "filled", "avg_slippage", "avg_time_to_fill_s"]
        frame = pd.DataFrame([dict(r) for r in rows], columns=[*by, *sums])
        frame["fill_rate"] = (frame["fills"] / frame["attempts"]).astype(float)
        frame["filled_ratio"] = (frame["filled"] / frame["quantity"]).astype(float)
        return frame[[*by, *TABLE_METRICS]]

    def _counts_for(self, key: AdaptKey) -> dict[int, list[int]]:
        counts = self._counts.get(key)
        if counts is None:
            counts = self._counts[key] = defaultdict(lambda: [0, 0])
            rows = self.db.query(
                """SELECT step, COUNT(*) AS attempts, SUM(filled > 0) AS fills FROM fill_attempts
                   WHERE scope = ? AND underlying = ? AND mode = ? AND leg = ? AND ladder_steps = ? AND kind = 'ladder'
                   GROUP BY step""",
                key,
            )
            for row in rows:
                counts[row["step"]] = [row["attempts"], row["fills"]]
        return counts


def _migrate(db: Database) -> None:
    """Bring a version-1 database to version 2 (add ``kind``; its rows were all ladder children)."""
    with db.transaction() as conn:
        row = conn.execute("SELECT version FROM schema_versions WHERE component = ?", (COMPONENT,)).fetchone()
        if row is not None and row["version"] == 1:
            conn.execute(MIGRATE_FROM_1)
            conn.execute("UPDATE schema_versions SET version = ? WHERE component = ?", (SCHEMA_VERSION, COMPONENT))


def _key(attempt: Attempt) -> AdaptKey:
    return (attempt.scope, attempt.underlying, attempt.mode, attempt.leg, attempt.ladder_steps)


def _filters(**values: str | None) -> tuple[str, tuple]:
    given = {k: v for k, v in values.items() if v is not None}
    if not given:
        return "", ()
    return "WHERE " + " AND ".join(f"{k} = ?" for k in given), tuple(given.values())
