"""The WebSocket feed at ``/ws``: engine and queue events pushed to every client, and a snapshot every second.

Every message is one JSON text frame ``{"type": ..., "seq": n, "ts": ns, "data": {...}}``:

- ``type``: ``snapshot`` (the whole state), ``order`` (a queue status change), ``fill`` (an engine fill),
  ``position`` (an engine position event), ``action`` (a bot action log record) or ``history`` (the P&L
  points the node just recorded: ``{"ts", "portfolio", "lineages": [{"root_id", "pnl", "group_id"}]}``, see
  :mod:`hybrid.api.pnl_history`);
- ``seq``: increases by one with every message broadcast to all clients. The snapshot a client gets on
  connecting repeats the ``seq`` of the last broadcast, so the next message it receives is ``seq + 1``;
- ``ts``: when the hub sent the message, UTC nanoseconds.

A client that connects or reconnects receives a ``snapshot`` first, then every broadcast. Snapshots are
also broadcast every ``interval`` seconds and soon after a fill, position or order event (several events
coalesce into one snapshot). A snapshot holds every group and is built on the loop the engine and the API
share, so its cost grows with the book: at a thousand groups, a snapshot after every fill took three
quarters of the loop and held the events behind it up to a second. So after a snapshot that took d seconds,
the next broadcast one waits :data:`SNAPSHOT_SPACING` times d (:func:`snapshot_rest`), about a tenth of the
loop at most; a small book's snapshots (a few milliseconds) follow events as before. A client may send ``{"type": "snapshot"}`` to get one at once; other client
messages are ignored.

Each client has a bounded send queue; a client that falls ``queue_size`` messages behind is disconnected
(close code 1013, try again later) instead of slowing the server or the other clients. It gets a fresh
snapshot when it reconnects.

:meth:`Hub.publish` may be called from any thread (the queue's drainer, the engine's event handlers, a
worker thread writing the queue); every event takes the same path, ``call_soon_threadsafe`` onto the API's
event loop, so clients receive events in the order they were published whichever thread published them.

Each token may hold at most ``max_per_token`` connections (:data:`DEFAULT_MAX_PER_TOKEN`); one more is
accepted and closed with 1008 and a reason. A handshake without a known token is closed the same way
(see :func:`hybrid.api.auth.require_ws_role`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from fastapi import APIRouter, Depends, WebSocket
from starlette.websockets import WebSocketState

from hybrid.api.auth import Principal, require_ws_role, ws_subprotocol

log = logging.getLogger(__name__)

EventType = Literal["snapshot", "order", "fill", "position", "action", "history"]
STATE_EVENTS = frozenset({"order", "fill", "position"})  # events after which a fresh snapshot follows
TRY_AGAIN_LATER = 1013  # close code for a client dropped for falling behind
GOING_AWAY = 1001  # close code when the server stops
SERVER_ERROR = 1011  # close code when the first snapshot cannot be built
POLICY_VIOLATION = 1008  # close code for a refused token or one over its connection cap
DEFAULT_QUEUE_SIZE = 256
DEFAULT_MAX_PER_TOKEN = 8  # WebSocket connections one token may hold at once
DEFAULT_INTERVAL = 1.0
SNAPSHOT_COALESCE = 0.05  # seconds: events within this window share one follow-up snapshot
SNAPSHOT_SPACING = 10  # after a broadcast snapshot that took d seconds to build, the next waits this many times d


def snapshot_rest(took_s: float) -> float:
    """Seconds the hub rests after a broadcast snapshot that took ``took_s`` to build and send (module
    docstring): none while that is within the coalescing window."""
    rest = SNAPSHOT_SPACING * took_s
    return rest if rest > SNAPSHOT_COALESCE else 0.0


@dataclass(frozen=True, slots=True)
class HubEvent:
    """One message to broadcast: its type and its JSON-ready data."""

    type: EventType
    data: Mapping[str, Any]


class _Client:
    def __init__(self, websocket: WebSocket, queue_size: int, owner: str) -> None:
        self.websocket = websocket
        self.owner = owner
        self.queue: asyncio.Queue[str] = asyncio.Queue(maxsize=queue_size)
        self.dropped = asyncio.Event()
        self.close_with = (TRY_AGAIN_LATER, "too slow: reconnect for a fresh snapshot")


class Hub:
    """Broadcasts events to the connected WebSocket clients; see the module docstring."""

    def __init__(
        self,
        *,
        interval: float = DEFAULT_INTERVAL,
        queue_size: int = DEFAULT_QUEUE_SIZE,
        max_per_token: int = DEFAULT_MAX_PER_TOKEN,
    ) -> None:
        if not interval > 0:
            raise ValueError(f"interval must be a positive number of seconds, got {interval!r}")
        if queue_size < 1:
            raise ValueError(f"queue_size must be at least 1, got {queue_size!r}")
        if max_per_token < 1:
            raise ValueError(f"max_per_token must be at least 1, got {max_per_token!r}")
        self.interval = interval
        self.queue_size = queue_size
        self.max_per_token = max_per_token
        self._clients: set[_Client] = set()
        self._seq = 0
        self._snapshot: Callable[[], Mapping[str, Any]] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._connected: dict[str, int] = {}  # token name -> open connections (past the handshake)
        self._dirty: asyncio.Event | None = None
        self._ticker: asyncio.Task | None = None
        self._listeners: list[Callable[[HubEvent], None]] = []

    def add_listener(self, listener: Callable[[HubEvent], None]) -> Callable[[], None]:
        """Call ``listener(event)`` on the loop with every broadcast event (the P&L history samples after
        fills); returns the function that removes it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    @property
    def clients(self) -> int:
        return len(self._clients)

    async def start(self, snapshot: Callable[[], Mapping[str, Any]]) -> None:
        """Bind to the running loop and start the periodic snapshots; ``snapshot()`` builds the state.

        One hub serves one running app: a second start is an error, not a silent rebinding."""
        if self._loop is not None:
            raise RuntimeError("this hub is already serving an app; give each app its own Hub")
        self._snapshot = snapshot
        self._loop = asyncio.get_running_loop()
        self._dirty = asyncio.Event()
        self._ticker = asyncio.create_task(self._tick(self._dirty), name="ws-snapshots")

    async def stop(self) -> None:
        """Stop the snapshots and disconnect every client."""
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        for client in list(self._clients):
            client.close_with = (GOING_AWAY, "the server is shutting down")
            self._drop(client)
        self._loop = None

    def publish(self, event: HubEvent) -> None:
        """Broadcast ``event`` to every client; safe from any thread, a no-op before :meth:`start`.

        Always deferred to the loop, even on the loop's own thread: one FIFO for every publisher keeps the
        order of publication (broadcasting at once on the loop would overtake events a worker thread had
        already scheduled)."""
        loop = self._loop
        if loop is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop closed in between: nobody to tell
            loop.call_soon_threadsafe(self._broadcast, event)

    def _message(self, type_: EventType, seq: int, data: Mapping[str, Any]) -> str:
        return json.dumps({"type": type_, "seq": seq, "ts": time.time_ns(), "data": data}, separators=(",", ":"))

    def _broadcast(self, event: HubEvent) -> None:
        self._seq += 1
        text = self._message(event.type, self._seq, event.data)
        for client in list(self._clients):
            try:
                client.queue.put_nowait(text)
            except asyncio.QueueFull:
                behind = self.queue_size
                log.warning("WebSocket client %s fell %d messages behind; disconnecting it", _peer(client), behind)
                self._drop(client)
        if event.type in STATE_EVENTS and self._dirty is not None:
            self._dirty.set()
        for listener in list(self._listeners):
            listener(event)

    def _snapshot_data(self) -> Mapping[str, Any] | None:
        try:
            return self._snapshot() if self._snapshot is not None else {}
        except Exception:
            log.exception("building the WebSocket snapshot failed")
            return None

    async def _tick(self, dirty: asyncio.Event) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(dirty.wait(), timeout=self.interval)
                await asyncio.sleep(SNAPSHOT_COALESCE)
            dirty.clear()
            if self._clients:
                began = time.perf_counter()
                data = self._snapshot_data()
                if data is not None:
                    self._broadcast(HubEvent("snapshot", data))
                rest = snapshot_rest(time.perf_counter() - began)
                if rest:
                    await asyncio.sleep(rest)

    def _send_snapshot(self, client: _Client) -> bool:
        """Queue a snapshot for one client (not a broadcast: it repeats the last broadcast's seq)."""
        data = self._snapshot_data()
        if data is None:
            return False
        try:
            client.queue.put_nowait(self._message("snapshot", self._seq, data))
        except asyncio.QueueFull:
            self._drop(client)
        return True

    def _drop(self, client: _Client) -> None:
        self._clients.discard(client)
        client.dropped.set()

    async def serve(self, websocket: WebSocket, who: Principal) -> None:
        """Run one client's connection: snapshot first, then broadcasts, until either side leaves."""
        await websocket.accept(subprotocol=ws_subprotocol(websocket))
        if self._connected.get(who.name, 0) >= self.max_per_token:
            reason = f"token {who.name!r} already holds {self.max_per_token} connections, the most allowed"
            await websocket.close(code=POLICY_VIOLATION, reason=reason)
            return
        self._connected[who.name] = self._connected.get(who.name, 0) + 1
        try:
            await self._serve(_Client(websocket, self.queue_size, who.name))
        finally:
            self._connected[who.name] -= 1
            if not self._connected[who.name]:
                del self._connected[who.name]

    async def _serve(self, client: _Client) -> None:
        websocket = client.websocket
        # No await between the snapshot and joining the broadcast list: nothing can slip in between.
        if not self._send_snapshot(client):
            await websocket.close(code=SERVER_ERROR, reason="the snapshot could not be built")
            return
        self._clients.add(client)
        sender = asyncio.create_task(self._send(client))
        receiver = asyncio.create_task(self._receive(client))
        dropped = asyncio.create_task(client.dropped.wait())
        try:
            await asyncio.wait({sender, receiver, dropped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._clients.discard(client)
            for task in (sender, receiver, dropped):
                task.cancel()
            await asyncio.gather(sender, receiver, dropped, return_exceptions=True)
            if client.dropped.is_set() and websocket.application_state is WebSocketState.CONNECTED:
                code, reason = client.close_with
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(websocket.close(code=code, reason=reason), timeout=1.0)

    async def _send(self, client: _Client) -> None:
        while True:
            text = await client.queue.get()
            await client.websocket.send_text(text)

    async def _receive(self, client: _Client) -> None:
        while True:
            message = await client.websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            try:
                request = json.loads(message.get("text") or "null")
            except ValueError:
                continue
            if isinstance(request, dict) and request.get("type") == "snapshot":
                self._send_snapshot(client)


def _peer(client: _Client) -> str:
    peer = client.websocket.client
    return f"{peer.host}:{peer.port}" if peer else "unknown"


router = APIRouter()


@router.websocket("/ws")
async def websocket_feed(websocket: WebSocket, who: Principal = Depends(require_ws_role("viewer"))) -> None:
    """The live feed; see :mod:`hybrid.api.ws` for the messages. Needs a viewer token."""
    await websocket.app.state.context.hub.serve(websocket, who)
