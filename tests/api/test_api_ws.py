"""The WebSocket feed over a real socket: snapshot first (also on reconnect), order status changes, bot
actions and fills pushed as they happen, periodic snapshots, auth; and the hub dropping a slow client."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from nautilus_trader.model.events import OrderFilled
from starlette.websockets import WebSocketState
from websockets.exceptions import ConnectionClosedError
from websockets.sync.client import ClientConnection, connect

from hybrid.api.auth import Principal
from hybrid.api.context import ApiContext
from hybrid.api.engine_view import fill_event
from hybrid.api.ws import SNAPSHOT_SPACING, TRY_AGAIN_LATER, Hub, HubEvent, snapshot_rest
from hybrid.orders.status import OrderStatus
from tests.support.api import ADMIN, TRADER, VIEWER, Market, auth, engine_kernel, make_context, market, serve

pytestmark = pytest.mark.slow  # a backtest, a server or a subprocess per test

WAIT = 10.0  # seconds: the longest any expected message may take before the test fails


@pytest.fixture(scope="module")
def context(small_catalog: Path, tmp_path_factory: pytest.TempPathFactory) -> ApiContext:
    return make_context(small_catalog, tmp_path_factory.mktemp("api-ws") / "state.sqlite")


@pytest.fixture(scope="module")
def facts(context: ApiContext) -> Market:
    return market(context.view)


@pytest.fixture(scope="module")
def url(context: ApiContext) -> Iterator[str]:
    with serve(context) as base:
        yield base


def feed(url: str, token: str = VIEWER) -> ClientConnection:
    return connect(url.replace("http", "ws", 1) + "/ws", additional_headers=auth(token), proxy=None)


def receive(ws: ClientConnection) -> dict:
    return json.loads(ws.recv(timeout=WAIT))


def next_of(ws: ClientConnection, type_: str, seen: list[dict] | None = None) -> dict:
    """The next message of ``type_``, skipping others (kept in ``seen``)."""
    while True:
        message = receive(ws)
        if seen is not None:
            seen.append(message)
        if message["type"] == type_:
            return message


def test_a_client_gets_a_snapshot_first(url: str, facts: Market) -> None:
    with feed(url) as ws:
        first = receive(ws)
    assert first["type"] == "snapshot" and isinstance(first["seq"], int) and first["ts"] > 0
    data = first["data"]
    assert set(data) == {"groups", "positions", "portfolio", "orders"}
    assert [g["group_id"] for g in data["groups"] if g["status"] == "open"] == [facts.open_group]
    assert data["portfolio"]["open_positions"] == len(data["positions"]) == 2


def test_browser_style_subprotocol_auth_and_refusals(url: str) -> None:
    address = url.replace("http", "ws", 1) + "/ws"
    with connect(address, subprotocols=["bearer", VIEWER], proxy=None) as ws:
        assert ws.subprotocol == "bearer" and receive(ws)["type"] == "snapshot"
    for headers, path in (({}, "/ws"), (auth("y" * 43), "/ws"), ({}, f"/ws?token={VIEWER}")):
        address = url.replace("http", "ws", 1) + path
        with (
            connect(address, additional_headers=headers, proxy=None) as ws,
            pytest.raises(ConnectionClosedError) as closed,
        ):
            ws.recv(timeout=WAIT)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
        assert "token" in closed.value.rcvd.reason


def test_order_status_changes_are_pushed(url: str, context: ApiContext, facts: Market) -> None:
    market_order = {"execution": {"type": "market"}}
    intent = {"kind": "open", "underlying": "SPY", "structure": facts.spread, "units": 1, **market_order}
    with feed(url) as ws:
        receive(ws)
        order = httpx.post(f"{url}/api/v1/orders", json=intent, headers=auth(TRADER), timeout=30).json()
        seen: list[dict] = []
        statuses = [next_of(ws, "order", seen)["data"] for _ in range(2)]
        assert [(s["order_id"], s["status"]) for s in statuses] == [
            (order["order_id"], "accepted"),
            (order["order_id"], "queued"),
        ]
        claimed = context.queue.claim_next()  # the engine-side drainer, here in the test's thread
        assert claimed is not None and claimed.order_id == order["order_id"]
        assert next_of(ws, "order", seen)["data"]["status"] == "handed_to_engine"
        context.queue.mark(order["order_id"], OrderStatus.WORKING, engine_ref="O-1")
        working = next_of(ws, "order", seen)["data"]
        assert (working["status"], working["engine_ref"]) == ("working", "O-1")
    sequence = [message["seq"] for message in seen]
    assert sequence == list(range(sequence[0], sequence[0] + len(sequence)))  # every broadcast, in order


def test_bot_actions_and_fills_are_pushed_then_a_fresh_snapshot(
    url: str, context: ApiContext, facts: Market, small_catalog: Path
) -> None:
    with feed(url) as ws:
        receive(ws)
        group = facts.open_group
        httpx.post(f"{url}/api/v1/groups/{group}/pause", json={"reason": "news"}, headers=auth(ADMIN), timeout=30)
        actions = [next_of(ws, "action")["data"] for _ in range(2)]
        assert [(a["action"], a["group_id"]) for a in actions] == [("manage", group), ("pause", group)]
        cache = engine_kernel(small_catalog).cache
        fill = next(e for o in cache.orders() for e in o.events if isinstance(e, OrderFilled))
        context.hub.publish(fill_event(fill))  # what the live node's fill hook does, from its own thread here
        pushed = next_of(ws, "fill")["data"]
        assert pushed["client_order_id"] == fill.client_order_id.value
        assert pushed["price"] == fill.last_px.as_double() and pushed["side"] == fill.order_side.name
        assert next_of(ws, "snapshot")["data"]["groups"]
        point = next_of(ws, "history")["data"]  # the fill made the node sample its P&L history
        portfolio = context.view.portfolio().total_pnl
        assert point["portfolio"] == pytest.approx(portfolio, abs=0.01)
        assert group in {lineage["root_id"] for lineage in point["lineages"]}


def test_reconnect_gets_a_snapshot_first_and_periodic_snapshots_follow(url: str, context: ApiContext) -> None:
    with feed(url) as ws:
        receive(ws)
        context.hub.publish(HubEvent("action", {"note": "before reconnect"}))
        last = next_of(ws, "action")["seq"]
    with feed(url) as ws:
        first = receive(ws)
        assert first["type"] == "snapshot" and first["seq"] >= last
        following = receive(ws)
        assert following["seq"] == first["seq"] + 1
        assert next_of(ws, "snapshot")["type"] == "snapshot"  # the 1 Hz broadcast arrives without any event
        ws.send(json.dumps({"type": "snapshot"}))
        assert next_of(ws, "snapshot")["data"]["portfolio"]


class _StuckSocket:
    """A client that stopped reading: its first send never completes."""

    client = None

    def __init__(self) -> None:
        self.scope: dict = {"subprotocols": []}
        self.application_state = WebSocketState.CONNECTED
        self.sent: list[str] = []
        self.closed_with: int | None = None

    async def accept(self, subprotocol: str | None = None) -> None:
        return None

    async def send_text(self, text: str) -> None:
        self.sent.append(text)
        await asyncio.Event().wait()

    async def receive(self) -> dict:
        await asyncio.Event().wait()
        return {}

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self.closed_with = code


class _FastSocket(_StuckSocket):
    async def send_text(self, text: str) -> None:
        self.sent.append(text)


def test_a_slow_client_is_dropped_and_the_others_keep_up() -> None:
    async def scenario() -> tuple[_StuckSocket, _FastSocket, int]:
        hub = Hub(queue_size=3)
        await hub.start(lambda: {"state": 1})
        stuck, fast = _StuckSocket(), _FastSocket()
        stuck_task = asyncio.create_task(hub.serve(stuck, Principal("vera", "viewer")))
        fast_task = asyncio.create_task(hub.serve(fast, Principal("tom", "viewer")))
        await asyncio.sleep(0.01)
        for number in range(10):
            hub.publish(HubEvent("fill", {"n": number}))
            await asyncio.sleep(0)
        await asyncio.wait_for(stuck_task, WAIT)
        await asyncio.sleep(0.01)
        clients = hub.clients
        await hub.stop()
        await asyncio.wait_for(fast_task, WAIT)
        return stuck, fast, clients

    stuck, fast, clients = asyncio.run(scenario())
    assert stuck.closed_with == TRY_AGAIN_LATER and clients == 1
    fills = [json.loads(text)["data"]["n"] for text in fast.sent if json.loads(text)["type"] == "fill"]
    assert fills == list(range(10))


def test_events_published_from_a_worker_thread_and_then_the_loop_arrive_in_that_order() -> None:
    """The queue's writes publish from a worker thread, the drainer from the loop: one FIFO for both."""

    async def scenario() -> list[int]:
        hub = Hub()
        await hub.start(lambda: {"state": 1})
        fast = _FastSocket()
        task = asyncio.create_task(hub.serve(fast, Principal("tom", "viewer")))
        await asyncio.sleep(0.01)
        worker = threading.Thread(target=hub.publish, args=(HubEvent("order", {"n": 0}),))
        worker.start()
        worker.join()  # scheduled from the worker; the loop has not run it yet
        hub.publish(HubEvent("order", {"n": 1}))  # and now from the loop's own thread
        await asyncio.sleep(0.05)
        await hub.stop()
        await asyncio.wait_for(task, WAIT)
        return [json.loads(text)["data"]["n"] for text in fast.sent if json.loads(text)["type"] == "order"]

    assert asyncio.run(scenario()) == [0, 1]


def test_the_hub_rests_after_a_costly_snapshot_only() -> None:
    assert snapshot_rest(0.0) == snapshot_rest(0.002) == 0.0  # a small book: snapshots follow events as before
    assert snapshot_rest(0.3) == pytest.approx(SNAPSHOT_SPACING * 0.3)  # a big book's: a bounded share of the loop
