"""P&L history the live node records over time: the portfolio's total P&L and each roll lineage's, in SQLite.

A page opened at noon must still draw the morning, so the history is the node's, not the browser's. The
:class:`HistoryRecorder` samples on the API's event loop (where the engine view may be read) every
``interval`` seconds (a minute by default) and soon after each fill, and writes one point per series:

- the portfolio (series ``""``): the portfolio's ``total_pnl``;
- each lineage (series = its root group id): the sum of the P&L of every group of the lineage the node
  knows (a roll closes the parent, whose realised P&L stays in the sum, and opens the child), so a rolled
  position is one line across its rolls. A group the bot does not manage is its own lineage.

A lineage with no open group is written only when its P&L changed (its last point), a sample where one of
its groups has no mark (``pnl`` null) is skipped for that lineage. Each series keeps its newest
:data:`MAX_POINTS` points (older ones are deleted), so memory and disk stay bounded however long the node
runs. Times are the engine's clock (``EngineView.now``). Points reach the WebSocket as ``history`` events.

A sample reads every group, on the loop the engine and the API share, so its cost grows with the book: at a
thousand groups and fills coming every few milliseconds, sampling :data:`FILL_DELAY` after each fill took
15 to 18% of the loop. A fill's sample therefore waits at least :data:`SAMPLE_SPACING` times as long as
the last sample took (:func:`fill_wait`), which bounds sampling to about a tenth of the loop; a small book
(samples of a few milliseconds) still samples :data:`FILL_DELAY` after a fill.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from pydantic import BaseModel, Field

from hybrid.api.schemas import Group
from hybrid.store.db import Database

log = logging.getLogger(__name__)

PORTFOLIO = ""  # the portfolio's series (group ids are never empty)
MAX_POINTS = 10_000  # per series: a week of minute samples through the trading hours, and the fills'
DEFAULT_INTERVAL = 60.0  # seconds between samples
FILL_DELAY = 0.25  # seconds after a fill before sampling (several fills of one order share one sample)
SAMPLE_SPACING = 10  # after a sample that took d seconds, a fill's waits at least this many times d
PRUNE_EVERY = 200  # samples between deletions of the points past MAX_POINTS

SCHEMA = """
CREATE TABLE pnl_history (
    point_id INTEGER PRIMARY KEY AUTOINCREMENT,
    series TEXT NOT NULL,
    ts_ns INTEGER NOT NULL,
    pnl REAL NOT NULL,
    group_id TEXT
);
CREATE INDEX pnl_history_series ON pnl_history (series, ts_ns)
"""


class HistoryPoint(BaseModel):
    """One sample of a series: when (engine time), the P&L in dollars, and the lineage's open group then."""

    ts: dt.datetime
    pnl: float
    group_id: str | None = Field(default=None, description="the lineage's open group at that time (null: none)")


@dataclass(frozen=True, slots=True)
class Sample:
    series: str
    pnl: float
    group_id: str | None


def lineage_root(group: Group) -> str:
    """The root group id of ``group``'s roll lineage (itself when the bot does not manage it)."""
    lineage = group.management.lineage if group.management is not None else None
    return lineage.root_id if lineage is not None else group.group_id


def lineage_samples(groups: Iterable[Group]) -> dict[str, tuple[Sample, bool]]:
    """Each lineage's P&L (sum over its groups) and whether it has an open group; lineages with an unmarked
    group are left out."""
    members: dict[str, list[Group]] = {}
    for group in groups:
        if group.status != "unfilled":
            members.setdefault(lineage_root(group), []).append(group)
    out: dict[str, tuple[Sample, bool]] = {}
    for root, lineage in members.items():
        if any(group.pnl is None for group in lineage):
            continue
        open_ids = [group.group_id for group in lineage if group.status == "open"]
        total = sum(group.pnl for group in lineage if group.pnl is not None)
        out[root] = (Sample(root, round(total, 2), open_ids[-1] if open_ids else None), bool(open_ids))
    return out


class PnLHistory:
    """The recorded points, per series, in the shared database."""

    def __init__(self, db: Database, max_points: int = MAX_POINTS) -> None:
        if max_points < 1:
            raise ValueError(f"max_points must be at least 1, got {max_points!r}")
        self._db = db
        self.max_points = max_points
        db.ensure_schema("pnl_history", 1, SCHEMA)

    def append(self, ts_ns: int, samples: list[Sample], prune: bool = False) -> None:
        """Write one sample time's points (group-committed, off the caller's thread); ``prune`` also deletes
        each written series' points past :attr:`max_points`."""
        rows = [(s.series, ts_ns, s.pnl, s.group_id) for s in samples]

        def run(conn: sqlite3.Connection) -> None:
            conn.executemany("INSERT INTO pnl_history (series, ts_ns, pnl, group_id) VALUES (?, ?, ?, ?)", rows)
            if prune:
                for series, *_ in rows:
                    conn.execute(
                        "DELETE FROM pnl_history WHERE series = ? AND point_id <= (SELECT point_id FROM pnl_history"
                        " WHERE series = ? ORDER BY point_id DESC LIMIT 1 OFFSET ?)",
                        (series, series, self.max_points),
                    )

        self._db.write(run).add_done_callback(_log_failure)

    def points(self, series: str, limit: int, since: dt.datetime | None = None) -> list[HistoryPoint]:
        """The newest ``limit`` points of ``series`` (after ``since`` when given), oldest first."""
        after = _after_ns(since)
        rows = self._db.query(
            "SELECT ts_ns, pnl, group_id FROM pnl_history WHERE series = ? AND ts_ns > ?"
            " ORDER BY point_id DESC LIMIT ?",
            (series, after, limit),
        )
        return [_point(row) for row in reversed(rows)]

    def lineages(self, limit: int, since: dt.datetime | None = None) -> dict[str, list[HistoryPoint]]:
        """The newest ``limit`` points of every lineage series (after ``since`` when given), oldest first."""
        after = _after_ns(since)
        rows = self._db.query(
            "SELECT series, ts_ns, pnl, group_id FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY series"
            " ORDER BY point_id DESC) AS newest FROM pnl_history WHERE series != ? AND ts_ns > ?)"
            " WHERE newest <= ? ORDER BY series, point_id",
            (PORTFOLIO, after, limit),
        )
        out: dict[str, list[HistoryPoint]] = {}
        for row in rows:
            out.setdefault(row["series"], []).append(_point(row))
        return out

    def series_of(self, group_id: str) -> str | None:
        """The series a group's points were written under (its lineage root then), None when it has none."""
        rows = self._db.query(
            "SELECT series FROM pnl_history WHERE group_id = ? ORDER BY point_id DESC LIMIT 1", (group_id,)
        )
        return rows[0]["series"] if rows else None


def _after_ns(since: dt.datetime | None) -> int:
    """``since`` in UTC nanoseconds, clamped to SQLite's integers (a year-9999 ``since`` finds nothing)."""
    if since is None:
        return -1
    return max(-(2**63), min(2**63 - 1, int(since.timestamp() * 1e9)))


def _point(row: sqlite3.Row) -> HistoryPoint:
    return HistoryPoint(
        ts=dt.datetime.fromtimestamp(row["ts_ns"] / 1e9, dt.UTC), pnl=row["pnl"], group_id=row["group_id"]
    )


def fill_wait(last_sample_s: float) -> float:
    """Seconds from a fill to its sample when the last sample took ``last_sample_s`` (module docstring)."""
    return max(FILL_DELAY, SAMPLE_SPACING * last_sample_s)


def _log_failure(future: object) -> None:
    exc = future.exception()  # type: ignore[attr-defined]  # a concurrent.futures.Future
    if exc is not None:
        log.error("writing the P&L history failed: %s", exc)


class HistoryRecorder:
    """Samples the portfolio and the lineages on the event loop; see the module docstring.

    ``read`` returns the engine time, the portfolio's total P&L and the groups with their lineage;
    ``published`` receives each sample's points (the WebSocket's ``history`` event)."""

    def __init__(
        self,
        history: PnLHistory,
        read: Callable[[], tuple[dt.datetime, float, list[Group]]],
        published: Callable[[dt.datetime, list[Sample]], None],
        interval: float = DEFAULT_INTERVAL,
    ) -> None:
        if not interval > 0:
            raise ValueError(f"interval must be a positive number of seconds, got {interval!r}")
        self.history = history
        self.interval = interval
        self._read = read
        self._published = published
        self._last: dict[str, float] = {}  # series -> the P&L last written (only series the view still has)
        self._samples = 0
        self._due: asyncio.Event | None = None
        self._task: asyncio.Task | None = None

    def sample(self) -> list[Sample]:
        """Take one sample now and write it; returns the points written."""
        now, total, groups = self._read()
        lineages = lineage_samples(groups)
        written = [Sample(PORTFOLIO, round(total, 2), None)]
        for root, (sample, open_) in lineages.items():
            if open_ or self._last.get(root) != sample.pnl:
                written.append(sample)
        self._last = {PORTFOLIO: written[0].pnl} | {root: sample.pnl for root, (sample, _) in lineages.items()}
        self._samples += 1
        self.history.append(int(now.timestamp() * 1e9), written, prune=self._samples % PRUNE_EVERY == 0)
        self._published(now, written)
        return written

    def fill(self) -> None:
        """A fill happened: sample soon (on the loop's thread)."""
        if self._due is not None:
            self._due.set()

    async def start(self) -> None:
        self._due = asyncio.Event()
        self._task = asyncio.create_task(self._run(self._due), name="pnl-history")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self, due: asyncio.Event) -> None:
        took = 0.0  # seconds the last sample took
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(due.wait(), timeout=self.interval)
                await asyncio.sleep(fill_wait(took))
            due.clear()
            began = time.perf_counter()
            try:
                self.sample()
            except Exception:
                log.exception("sampling the P&L history failed")
            took = time.perf_counter() - began
