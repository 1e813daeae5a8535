"""The control API of the live paper node, measured through ``run_live.py``'s real socket with 4 clients.

Unlike ``bench/api.py`` (the app alone over a static cache, a thread standing in for the engine), this is
the node users run: ``run_live.py`` (paper) over a freshly generated small catalog with the order desk and
the queue drainer, one event loop for the engines, the replay, the drainer and the API
(:func:`bench.live_book.bench_node`, the same start-up as the full-book section). The client is
``bench/api.py``'s minimal keep-alive HTTP/1.1 client on asyncio, so the machine's two cores go to the node.

Phases, in order (``quick``: fewer of each):

1. reads: ``live_api_reads`` GETs by 4 clients, a mix of ``/health``, ``/orders/{id}``,
   ``/strategies/iron_condor`` and ``/chain/SPY/expiries``;
2. submits: ``live_api_submits`` market orders (a bull call spread, one unit) by 4 clients, each POST timed
   from sending to its ``201`` (validated, on disk); meanwhile a fifth connection asks ``/health`` one request
   after another, timed the same way. Every accepted order then goes to the engine through the drainer (the
   risk engine denies submits above 100 a second: those orders end ``failed``, which is engine work too);
3. fills: once the queue is empty and the risk engine's one-second submit-rate window has passed (else the
   first fills can be denied with the submit phase's last orders), ``live_api_fills`` market orders one after
   another, 100 ms apart; for each, from the drainer journaling it ``filled`` (the journal entry's time, when
   the engine's fill reached the drainer) to a WebSocket client receiving that ``order`` message (both
   clocks: this machine's UTC clock).

Keys:
  live_api_reads_per_s                 phase 1 (goal at least 1,000)
  live_api_submits_per_s               phase 2 (goal at least 300)
  live_api_submit_p50_ms / _p99_ms     phase 2, submit -> 201 (goal p99 under 20 ms)
  live_api_health_p99_ms               phase 2, /health while the submits run (goal under 10 ms)
  live_api_fill_ws_p50_ms / _p99_ms    phase 3 (goal p99 under 50 ms)
  live_api_reads, live_api_submits, live_api_fills, live_api_clients   the sizes used
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import json
import statistics
import time

import httpx
from websockets.sync.client import connect

from bench.api import HttpConnection, check_deadline, expect, percentile
from bench.live_book import bench_node
from tests.support.live import TRADER, VIEWER, Node, auth, eventually, spread_intent

CLIENTS = 4
DRAIN_WAIT = 300.0  # seconds: the longest the drainer may take to claim the submit phase's orders
SIZES = {False: (3000, 1000, 100), True: (400, 200, 20)}  # reads, submits, fills
FILL_SPACING_S = 0.1
RATE_WINDOW_S = 1.5  # past the risk engine's submit-rate window (100 a second) after the drain's last hand-over
HEALTH_SPACING_S = 0.002
MARKET = {"type": "market"}
ENDED = ("filled", "rejected", "failed", "cancelled")
OFFSETS = (0, 1, -1, 2, -2, 3, -3)  # strikes from the middle listed one, tried in turn
READ_PATHS = ("/health", "/orders/{order_id}", "/strategies/iron_condor", "/chain/SPY/expiries")


def run(quick: bool = False) -> dict:
    reads, submits, fills = SIZES[quick]
    with bench_node("live-api") as node, node.client(TRADER) as trader:
        intent, order_id = _filling_intent(trader)
        started = time.monotonic()
        url = node.url
        read_rate = asyncio.run(_reads(url, reads, order_id, started))
        submit_rate, submit_ms, health_ms = asyncio.run(_submits(url, submits, intent, started))
        _wait_drained(trader)
        time.sleep(RATE_WINDOW_S)
        fill_ms = _fill_latencies(node, trader, intent, fills, started)
    return {
        "live_api_reads_per_s": round(read_rate),
        "live_api_submits_per_s": round(submit_rate),
        "live_api_submit_p50_ms": round(statistics.median(submit_ms), 2),
        "live_api_submit_p99_ms": round(percentile(submit_ms, 0.99), 2),
        "live_api_health_p99_ms": round(percentile(health_ms, 0.99), 2),
        "live_api_fill_ws_p50_ms": round(statistics.median(fill_ms), 2),
        "live_api_fill_ws_p99_ms": round(percentile(fill_ms, 0.99), 2),
        "live_api_reads": reads,
        "live_api_submits": submits,
        "live_api_fills": fills,
        "live_api_clients": CLIENTS,
    }


def _filling_intent(trader: httpx.Client) -> tuple[dict, str]:
    """A market spread order the engine fills (not every listed strike is tradeable now), and the filled order's id."""
    for offset in OFFSETS:
        intent = _quoted(trader, spread_intent(trader, MARKET, units=1), offset)
        order_id = eventually(functools.partial(_accepted, trader, intent), f"{intent['structure']} to be quoted")
        status = eventually(functools.partial(_ended, trader, order_id), f"order {order_id} to end")
        if status == "filled":
            return intent, order_id
    raise RuntimeError(f"no bull call spread {OFFSETS} strikes from the middle filled")


def _quoted(trader: httpx.Client, intent: dict, offset: int) -> dict:
    """The intent on two adjacent call strikes quoted now, ``offset`` steps from the middle quoted one (the
    chain also lists contracts with no quote yet, which the API refuses)."""
    expiry = intent["structure"]["expiries"][0]
    chain = trader.get("/chain/SPY/strikes", params={"expiry": expiry, "right": "call"}).json()
    strikes = [contract["strike"] for contract in chain["contracts"] if contract["quoted"]]
    low = max(0, min(len(strikes) // 2 + offset, len(strikes) - 2))
    return intent | {"structure": intent["structure"] | {"strikes": strikes[low : low + 2]}}


def _accepted(trader: httpx.Client, intent: dict) -> str | None:
    """The order's id once the API accepts it; None while its contracts have no quote yet (the replay has
    just started: the API refuses what the engine would not trade)."""
    response = trader.post("/orders", json=intent)
    if response.status_code == 422 and all(e["type"] == "not_tradeable" for e in response.json()["detail"]):
        return None
    response.raise_for_status()
    return str(response.json()["order_id"])


def _ended(trader: httpx.Client, order_id: str) -> str | None:
    status = trader.get(f"/orders/{order_id}").json().get("status")
    return status if status in ENDED else None


async def _connections(url: str, token: str, count: int) -> list[HttpConnection]:
    return [await HttpConnection.open(url, token) for _ in range(count)]


async def _reads(url: str, total: int, order_id: str, started: float) -> float:
    """Reads per second of ``total`` GETs over :data:`CLIENTS` connections."""
    paths = [f"/api/v1{path.format(order_id=order_id)}" for path in READ_PATHS]
    connections = await _connections(url, VIEWER, CLIENTS)

    async def client(connection: HttpConnection, offset: int) -> None:
        for i in range(offset, total, CLIENTS):
            await expect(connection, 200, "GET", paths[i % len(paths)])
            if i % 100 == 0:
                check_deadline(started)

    began = time.perf_counter()
    await asyncio.gather(*(client(c, n) for n, c in enumerate(connections)))
    rate = total / (time.perf_counter() - began)
    for connection in connections:
        connection.close()
    return rate


async def _submits(url: str, total: int, intent: dict, started: float) -> tuple[float, list[float], list[float]]:
    """Submits per second of ``total`` POSTs over :data:`CLIENTS` connections, each one's submit -> 201 (ms),
    and the ``/health`` round trips (ms) of one more connection asking while they run."""
    connections = await _connections(url, TRADER, CLIENTS)
    (prober,) = await _connections(url, VIEWER, 1)
    accepted: list[float] = []
    health: list[float] = []
    running = True

    async def client(connection: HttpConnection, offset: int) -> None:
        for i in range(offset, total, CLIENTS):
            began = time.perf_counter()
            await expect(connection, 201, "POST", "/api/v1/orders", intent)
            accepted.append((time.perf_counter() - began) * 1000)
            if i % 100 == 0:
                check_deadline(started)

    async def probe() -> None:
        while running and len(health) < total:  # bounded: at most one probe per submit
            began = time.perf_counter()
            await expect(prober, 200, "GET", "/api/v1/health")
            health.append((time.perf_counter() - began) * 1000)
            await asyncio.sleep(HEALTH_SPACING_S)

    began = time.perf_counter()
    probing = asyncio.ensure_future(probe())
    await asyncio.gather(*(client(c, n) for n, c in enumerate(connections)))
    rate = total / (time.perf_counter() - began)
    running = False
    await probing
    for connection in (*connections, prober):
        connection.close()
    return rate, accepted, health


def _wait_drained(client: httpx.Client) -> None:
    """Until the drainer has claimed every queued order, so its backlog does not colour the fills."""
    eventually(lambda: client.get("/health").json()["queued_orders"] == 0, "the queue to drain", timeout=DRAIN_WAIT)


def _fill_latencies(node: Node, trader: httpx.Client, intent: dict, count: int, started: float) -> list[float]:
    """Market orders one at a time; for each, journal ``filled`` -> its WebSocket message received (ms)."""
    latencies: list[float] = []
    ws_url = node.url.replace("http", "ws", 1) + "/ws"
    with connect(ws_url, additional_headers=auth(VIEWER), proxy=None, max_size=None) as ws:
        ws.recv(timeout=30)  # the snapshot
        for _ in range(count):
            order_id = trader.post("/orders", json=intent).json()["order_id"]
            while True:
                message = json.loads(ws.recv(timeout=30))
                received_ns = time.time_ns()
                data = message["data"]
                if message["type"] == "order" and data["order_id"] == order_id and data["status"] in ENDED:
                    break
            if data["status"] != "filled":
                raise RuntimeError(f"order {order_id} ended {data['status']}: {data['reason']}")
            at = dt.datetime.fromisoformat(data["at"]).timestamp() * 1e9
            latencies.append((received_ns - at) / 1e6)
            check_deadline(started)
            time.sleep(FILL_SPACING_S)
    return latencies
