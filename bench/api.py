"""Benchmark: the control API served by uvicorn on loopback, measured from another process.

The server runs in its own process, like the live node: the app over an engine view of a NautilusTrader
cache loaded with the small synthetic catalog's instruments and last quotes, the persistent order queue
in a SQLite file (``synchronous=FULL``: every accepted order is on disk before its 201), a drainer
thread standing in for the engine-side strategy (it claims each order as soon as the queue reports it
queued), and rate limits high enough not to interfere. Orders are limit orders for a bull call spread the
chain lists (about 30 DTE, a strike either side of the money). This process is the client: a minimal
keep-alive HTTP/1.1 client on asyncio (light, so the machine's two cores go to the server) and a
websockets client.

``run(quick=False)`` returns (``quick``: fewer requests, same shape):

- ``api_submit_accepted_p50_ms`` / ``api_submit_accepted_p99_ms``: one client submitting orders one at
  a time (after a few unmeasured warm-up orders): from sending ``POST /api/v1/orders`` to its ``201``
  (order validated against the chain, journaled, queued);
- ``api_submit_handed_p99_ms``: from sending the same POSTs to the drainer marking each order
  ``handed_to_engine`` (clock: CLOCK_MONOTONIC, shared by both processes);
- ``api_reads_per_s``: ``api_reads`` reads by ``api_clients`` concurrent clients, a mix of
  ``/health``, ``/orders/{id}``, ``/strategies/{name}`` and ``/chain/SPY/expiries``;
- ``api_submits_per_s``: ``api_submits`` order submissions by ``api_clients`` concurrent clients;
- ``api_fill_ws_p50_ms`` / ``api_fill_ws_p99_ms``: once the drainer has caught up, ``api_fills`` fill
  events published on the hub from a server thread (as an engine hook would), 5 ms apart, to a
  WebSocket client's receipt of each;
- ``api_reads``, ``api_submits``, ``api_clients``, ``api_fills``: the sizes used;
- ``api_http``: uvicorn's HTTP implementation in use (``httptools`` when installed, else ``h11``).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import multiprocessing
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING

from websockets.sync.client import connect

if TYPE_CHECKING:  # the server process imports these itself, after the bench has forked it
    from hybrid.api.engine_view import CacheEngineView, EngineView
    from hybrid.api.ws import Hub
    from hybrid.orders.queue import OrderQueue

DEADLINE_S = 300.0  # every phase together must finish within this, or the run fails
CLIENTS = 4
WARM_UP = 5  # orders submitted before the latency measurement
FILL_SPACING_MS = 5.0
SIZES = {  # quick: (latency submits, reads, submits, fills)
    False: (300, 3000, 1000, 500),
    True: (50, 300, 100, 100),
}
READ_PATHS = ("/strategies/iron_condor", "/chain/SPY/expiries")


def _engine_view(catalog: Path) -> CacheEngineView:
    """A view of a cache holding the catalog's instruments and each one's last quote."""
    from nautilus_trader.cache.cache import Cache
    from nautilus_trader.common.component import MessageBus, TestClock
    from nautilus_trader.model.identifiers import TraderId
    from nautilus_trader.persistence.catalog import ParquetDataCatalog
    from nautilus_trader.portfolio.portfolio import Portfolio

    from hybrid.api.engine_view import CacheEngineView
    from hybrid.runconfig.manifest import CatalogManifest

    data = ParquetDataCatalog(str(catalog))
    cache, clock = Cache(), TestClock()
    for instrument in data.instruments():
        cache.add_instrument(instrument)
    last = {quote.instrument_id: quote for quote in data.quote_ticks()}
    for quote in last.values():
        cache.add_quote_tick(quote)
    clock.set_time(max(quote.ts_event for quote in last.values()))
    msgbus = MessageBus(trader_id=TraderId("BENCH-001"), clock=clock)
    portfolio = Portfolio(msgbus=msgbus, cache=cache, clock=clock)
    extra = CatalogManifest.read(catalog).extra
    return CacheEngineView(cache, clock, portfolio, msgbus, rate=extra["rate"], dividend=extra["dividend_yield"])


class _Drainer:
    """The engine side's stand-in: claims every queued order at once and notes when (monotonic ns)."""

    def __init__(self, queue: OrderQueue) -> None:
        self.queue = queue
        self.handed: dict[str, tuple[int, int, int]] = {}  # order id -> (n, sent_ns, handed_ns)
        self._wake = threading.Event()
        self._stop = False
        queue.subscribe(lambda change: self._wake.set() if change.status == "queued" else None)
        self._thread = threading.Thread(target=self._drain, name="drainer", daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        while not self._stop:
            self._wake.wait(timeout=0.5)
            self._wake.clear()
            while (order := self.queue.claim_next()) is not None:
                metadata = order.intent.client_metadata
                n, sent_ns = metadata.get("n"), metadata.get("sent_ns")
                if isinstance(sent_ns, int) and isinstance(n, int):
                    self.handed[order.order_id] = (n, sent_ns, time.monotonic_ns())

    def stop(self) -> None:
        self._stop = True
        self._wake.set()
        self._thread.join(timeout=5)


def _listed_spread(view: EngineView) -> dict:
    """A bull call spread the chain lists: about 30 DTE, one strike either side of the money."""
    from hybrid.calendar.exchange_time import new_york_date

    chain, quote = view.chain("SPY"), view.underlying_quote("SPY")
    if chain is None or quote is None or quote.mid is None:
        raise RuntimeError("the bench catalog has no SPY chain with a two-sided underlying quote")
    spot = quote.mid
    expiry = chain.expiry_by_dte(new_york_date(view.now()), 20, 40)
    strikes = [chain.strike_by_atm_offset(expiry, "call", spot, offset) for offset in (-1, 1)]
    return {"type": "catalogue", "strategy": "bull_call_spread", "strikes": strikes, "expiries": [str(expiry)]}


def _publish_fills(hub: Hub, count: int, spacing_s: float) -> None:
    from hybrid.api.ws import HubEvent

    for number in range(count):
        hub.publish(HubEvent("fill", {"n": number, "sent_ns": time.monotonic_ns()}))
        time.sleep(spacing_s)


def _server(catalog: str, db_path: str, token: str, pipe: Connection) -> None:
    """The server process: app, drainer, and commands from the bench over ``pipe``."""
    from hybrid.api.app import create_app
    from hybrid.api.auth import ROLES, TokenRegistry, parse_tokens_env
    from hybrid.api.context import ApiContext
    from hybrid.api.ratelimit import RateLimit, RateLimiter
    from hybrid.api.server import ServerThread
    from hybrid.store.db import Database

    view = _engine_view(Path(catalog))
    context = ApiContext.open(view, Database(db_path))
    limits = RateLimiter({role: RateLimit(rate=1e6, burst=1_000_000) for role in ROLES})
    app = create_app(context, tokens=TokenRegistry(parse_tokens_env(f"bench:trader:{token}")), limiter=limits)
    drainer = _Drainer(context.queue)
    with ServerThread(app) as url:
        pipe.send((url, _listed_spread(view)))
        while True:
            command, argument = pipe.recv()
            if command == "handed":
                pipe.send(dict(drainer.handed))
            elif command == "fills":
                _publish_fills(context.hub, argument, FILL_SPACING_MS / 1000)
                pipe.send("done")
            else:
                break
    drainer.stop()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def check_deadline(started: float) -> None:
    if time.monotonic() - started > DEADLINE_S:
        raise TimeoutError(f"the API benchmark ran past its {DEADLINE_S:g} s deadline")


class HttpConnection:
    """A minimal HTTP/1.1 keep-alive client over one socket: a load generator light enough that the
    2-core machine's time goes to the server, not to the client (httpx costs about as much as the
    server per request)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str, token: str) -> None:
        self.reader, self.writer = reader, writer
        self.head = f"Host: {host}\r\nAuthorization: Bearer {token}\r\n"

    @classmethod
    async def open(cls, url: str, token: str) -> HttpConnection:
        host, port = url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        return cls(reader, writer, host, token)

    async def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, bytes]:
        payload = b"" if body is None else json.dumps(body).encode()
        extra = f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n" if body is not None else ""
        self.writer.write(f"{method} {path} HTTP/1.1\r\n{self.head}{extra}\r\n".encode() + payload)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        length = next((int(line.split(b":", 1)[1]) for line in lines if line.lower().startswith(b"content-length:")), 0)
        return int(head[9:12]), await self.reader.readexactly(length)

    def close(self) -> None:
        self.writer.close()


async def expect(connection: HttpConnection, status: int, method: str, path: str, body: dict | None = None) -> bytes:
    code, content = await connection.request(method, path, body)
    if code != status:
        raise RuntimeError(f"{method} {path}: {code} {content[:200]!r}")
    return content


def _intent(structure: dict, sequence: int) -> dict:
    """A limit order for one unit of ``structure``, stamped with when it was sent and its number."""
    return {
        "kind": "open",
        "underlying": "SPY",
        "units": 1,
        "structure": structure,
        "execution": {"type": "limit", "price": 2.5},
        "client_metadata": {"sent_ns": time.monotonic_ns(), "n": sequence},
    }


async def _rate(
    url: str, token: str, total: int, request: Callable[[HttpConnection, int], Awaitable[bytes]], started: float
) -> float:
    """Requests per second of ``total`` requests over CLIENTS concurrent keep-alive connections."""
    connections = [await HttpConnection.open(url, token) for _ in range(CLIENTS)]

    async def worker(connection: HttpConnection, offset: int) -> None:
        for i in range(offset, total, CLIENTS):
            await request(connection, i)
            if i % 100 == 0:
                check_deadline(started)

    began = time.perf_counter()
    await asyncio.gather(*(worker(connection, offset) for offset, connection in enumerate(connections)))
    rate = total / (time.perf_counter() - began)
    for connection in connections:
        connection.close()
    return rate


async def _latencies(url: str, token: str, structure: dict, count: int, started: float) -> tuple[str, list[float]]:
    """One client submitting one order at a time, after a few unmeasured ones that warm the server and the
    drainer up: the first order's id and each measured 201's round trip (ms)."""
    connection = await HttpConnection.open(url, token)
    warm_up = [
        await expect(connection, 201, "POST", "/api/v1/orders", _intent(structure, -n)) for n in range(1, WARM_UP + 1)
    ]
    first = json.loads(warm_up[0])
    accepted = []
    for n in range(count):
        began = time.perf_counter()
        await expect(connection, 201, "POST", "/api/v1/orders", _intent(structure, n))
        accepted.append((time.perf_counter() - began) * 1000)
        check_deadline(started)
    connection.close()
    return first["order_id"], accepted


async def _drained(url: str, token: str, started: float) -> None:
    """Wait until the drainer has claimed every order, so its backlog does not colour the next phase."""
    connection = await HttpConnection.open(url, token)
    while json.loads(await expect(connection, 200, "GET", "/api/v1/health"))["queued_orders"]:
        check_deadline(started)
        await asyncio.sleep(0.1)
    connection.close()


def _fill_latencies(url: str, token: str, pipe: Connection, count: int) -> list[float]:
    received: list[float] = []
    ws_url = url.replace("http", "ws", 1) + "/ws"
    with connect(ws_url, additional_headers={"Authorization": f"Bearer {token}"}, proxy=None) as ws:
        ws.recv(timeout=30)  # the snapshot
        pipe.send(("fills", count))
        while len(received) < count:
            message = json.loads(ws.recv(timeout=30))
            if message["type"] == "fill":
                received.append((time.monotonic_ns() - message["data"]["sent_ns"]) / 1e6)
        pipe.recv()
    return received


@contextlib.contextmanager
def _server_process(tmp: Path, token: str) -> Iterator[tuple[str, dict, Connection]]:
    """The server process over a fresh small catalog: its URL, a listed spread to order, its pipe."""
    from data.synthetic import MarketConfig, generate

    catalog = tmp / "catalog"
    generate(MarketConfig.profile("small", seed=5), catalog, progress=False)
    spawn = multiprocessing.get_context("spawn")
    here, there = spawn.Pipe()
    server = spawn.Process(target=_server, args=(str(catalog), str(tmp / "state.sqlite"), token, there), daemon=True)
    server.start()
    try:
        if not here.poll(120):
            raise TimeoutError("the API server process did not start within 120 s")
        url, structure = here.recv()
        yield url, structure, here
    finally:
        here.send(("stop", None))
        server.join(timeout=20)
        if server.is_alive():
            server.kill()


def _measure(url: str, token: str, structure: dict, pipe: Connection, quick: bool) -> dict[str, float]:
    latency_n, reads, submits, fills = SIZES[quick]
    started = time.monotonic()
    order_id, accepted = asyncio.run(_latencies(url, token, structure, latency_n, started))
    time.sleep(0.5)  # the drainer claims the last ones
    pipe.send(("handed", None))
    handed = [(done - sent) / 1e6 for n, sent, done in pipe.recv().values() if n >= 0]
    paths = [f"/api/v1{path}" for path in ("/health", f"/orders/{order_id}", *READ_PATHS)]

    def read(connection: HttpConnection, i: int) -> Awaitable[bytes]:
        return expect(connection, 200, "GET", paths[i % len(paths)])

    def submit(connection: HttpConnection, i: int) -> Awaitable[bytes]:
        return expect(connection, 201, "POST", "/api/v1/orders", _intent(structure, i))

    read_rate = asyncio.run(_rate(url, token, reads, read, started))
    submit_rate = asyncio.run(_rate(url, token, submits, submit, started))
    asyncio.run(_drained(url, token, started))
    fill_ms = _fill_latencies(url, token, pipe, fills)
    check_deadline(started)
    return {
        "api_submit_accepted_p50_ms": round(statistics.median(accepted), 2),
        "api_submit_accepted_p99_ms": round(percentile(accepted, 0.99), 2),
        "api_submit_handed_p99_ms": round(percentile(handed, 0.99), 2),
        "api_reads_per_s": round(read_rate),
        "api_submits_per_s": round(submit_rate),
        "api_fill_ws_p50_ms": round(statistics.median(fill_ms), 2),
        "api_fill_ws_p99_ms": round(percentile(fill_ms, 0.99), 2),
    }


def run(quick: bool = False) -> dict[str, float | int | str]:
    from hybrid.api.auth import generate_token

    _, reads, submits, fills = SIZES[quick]
    token = generate_token()
    with tempfile.TemporaryDirectory() as tmp, _server_process(Path(tmp), token) as (url, structure, pipe):
        figures = _measure(url, token, structure, pipe, quick)
    return {
        **figures,
        "api_reads": reads,
        "api_submits": submits,
        "api_clients": CLIENTS,
        "api_fills": fills,
        "api_http": "httptools" if importlib.util.find_spec("httptools") else "h11",  # uvicorn's "auto" choice
    }


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv), indent=2))
