"""The paper node with a full group book: ``/health`` and ``/groups`` latency over its real socket.

``run_live.py`` (paper, the project's live node) replays a freshly generated small catalog with the
order desk, the queue drainer and :class:`bench.book_load.BookLoad`, which submits 10,000 orders in 500
groups through the node's own venue (each group open at the end). Once the API lists every group, one
client (keep-alive, sequential) asks ``/api/v1/health`` and ``/api/v1/groups`` in turns while the replay
goes on, and the latencies from request to the last byte of the answer are taken.

Keys (``quick``: 50 groups and fewer requests):
  live_book_orders               orders in the node's cache when measured
  live_book_groups               groups the API lists (all open)
  live_book_load_seconds         from the first load batch to every group listed
  live_health_p50_ms / _p99_ms   ``GET /api/v1/health`` (the goal for p99 is under 10 ms)
  live_groups_p50_ms / _p99_ms   ``GET /api/v1/groups``, every group with legs, P&L and Greeks (p99 goal: 50 ms)
  live_book_requests             requests of each kind measured
"""

from __future__ import annotations

import contextlib
import os
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx

from data.synthetic import MarketConfig, generate
from hybrid.api.ratelimit import LIMITS_ENV
from tests.support.live import VIEWER, Node, paper_node

CONFIG = """\
name = "{name}"
catalog = "{catalog}"
log_level = "WARNING"

[venue]
starting_balance = 100000000

[[strategies]]
path = "strategies.order_desk:OrderDesk"

[[actors]]
path = "hybrid.live.drainer:QueueDrainer"
{extra}"""
BOOK_LOAD = """
[[strategies]]
path = "bench.book_load:BookLoad"

[strategies.config]
groups = {groups}
orders_per_group = {orders_per_group}
"""
SIZES = {False: (500, 20, 300), True: (50, 20, 50)}  # groups, orders per group, requests of each kind
LOAD_WAIT = 420.0  # seconds: the longest the load may take before the run fails (10,000 orders take about 2 minutes)
UNLIMITED = "viewer=1000000/1000000,trader=1000000/1000000"  # the requests are measured, not limited
SPEED = 60  # replayed seconds per second: a quote change of the small catalog every 30 s or so


@contextlib.contextmanager
def bench_node(name: str, extra: str = "", speed: float = SPEED) -> Iterator[Node]:
    """``run_live.py`` (paper) over a freshly generated small catalog with the order desk, the queue drainer
    and ``extra`` config tables, rate limits out of the way; stopped (SIGTERM) when the block ends."""
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as tmp:
        root = Path(tmp)
        generate(MarketConfig.profile("small"), root / "catalog", progress=False)
        config = root / "live.toml"
        config.write_text(CONFIG.format(name=f"bench-{name}", catalog=(root / "catalog").as_posix(), extra=extra))
        os.environ[LIMITS_ENV] = UNLIMITED  # the node's environment is this process's plus its own
        with paper_node(config, root / "db.sqlite", root / "node", speed=speed) as node:
            yield node
            node.stop()


def run(quick: bool = False) -> dict:
    groups, per_group, requests = SIZES[quick]
    load = BOOK_LOAD.format(groups=groups, orders_per_group=per_group)
    with bench_node("live-book", load) as node, node.client(VIEWER) as client:
        t0 = time.perf_counter()
        listed = _wait_listed(client, groups)
        load_seconds = time.perf_counter() - t0
        health, listing = [], []
        for _ in range(requests):
            health.append(_timed(client, "/health"))
            listing.append(_timed(client, "/groups"))
        orders = sum(len(group["orders"]) for group in listed)
    return {
        "live_book_orders": orders,
        "live_book_groups": len(listed),
        "live_book_load_seconds": round(load_seconds, 1),
        "live_health_p50_ms": _ms(statistics.median(health)),
        "live_health_p99_ms": _ms(_p99(health)),
        "live_groups_p50_ms": _ms(statistics.median(listing)),
        "live_groups_p99_ms": _ms(_p99(listing)),
        "live_book_requests": requests,
    }


def _wait_listed(client: httpx.Client, groups: int) -> list[dict]:
    """Every load group, once each is open with one contract and nothing working; fails after
    :data:`LOAD_WAIT` seconds naming what the groups were then."""
    deadline = time.monotonic() + LOAD_WAIT
    while True:
        listed = [g for g in client.get("/groups").json() if g["group_id"].startswith("LOAD-")]
        states = Counter((g["status"], g["units"], g["working_orders"]) for g in listed)
        if len(listed) == groups and states == Counter({("open", 1, 0): groups}):
            return listed
        if time.monotonic() > deadline:
            raise RuntimeError(f"after {LOAD_WAIT:g} s the load groups are (status, units, working): {dict(states)}")
        time.sleep(5.0)  # each look lists every group: not so often that it slows the load


def _timed(client: httpx.Client, path: str) -> float:
    t = time.perf_counter()
    response = client.get(path)
    response.raise_for_status()
    return time.perf_counter() - t


def _p99(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100)[98]


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)
