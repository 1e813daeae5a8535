"""One process, one event loop: the ``TradingNode`` and the control API (uvicorn) run as tasks on the node's loop.

The node's loop is created first and handed to ``TradingNode(config, loop=loop)``; :func:`run` then runs,
on that loop, ``node.run_async()`` (the engines' queue tasks) and ``server.serve()`` side by side. API
handlers, the drainer, strategies and the replay client therefore take turns on one thread: a handler
reading the cache never sees it half-updated, and none needs a lock.

Shutdown: SIGINT and SIGTERM (handled on the loop; uvicorn's own handlers are off, see :class:`LoopServer`)
stop the API first (no new orders; requests in flight finish), then the node (strategies stop and cancel
their working orders, clients disconnect, engines stop). The caller then disposes the node, flushes the
fill statistics and closes the SQLite database, whose committed writes are already on disk. When
the node stops by itself (an engine's exception shuts it down gracefully) or the API fails, the other is
stopped the same way and :func:`run` returns why.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import signal
import socket
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

import uvicorn
from fastapi import FastAPI
from nautilus_trader.common.component import MessageBus
from nautilus_trader.live.node import TradingNode
from nautilus_trader.model.events import OrderFilled, PositionEvent

from hybrid.api.app import action_event, create_app
from hybrid.api.auth import TokenRegistry, install_auth, is_loopback
from hybrid.api.context import ApiContext
from hybrid.api.engine_view import CacheEngineView, fill_event, position_event
from hybrid.api.ratelimit import RateLimiter
from hybrid.api.server import make_server
from hybrid.api.ws import Hub
from hybrid.live.node import LiveSettings
from hybrid.live.stores import share_queue
from hybrid.management.action_feed import ACTIONS_TOPIC
from hybrid.management.action_log import ActionLog, ActionRecord
from hybrid.management.bot_manager import BotManager
from hybrid.nautilus_compat.topics import ALL_ORDER_EVENTS, ALL_POSITION_EVENTS, SYSTEM_SHUTDOWN
from hybrid.risk.account import REFUSALS_TOPIC, RefusalRecord
from hybrid.runconfig.settings import ConfigError
from hybrid.store.db import Database

STOP_TIMEOUT = 30.0  # seconds for the API and the node to finish stopping


class LoopServer(uvicorn.Server):
    """uvicorn without its own signal handlers: the runner handles SIGINT/SIGTERM for the node and the API alike."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def listen(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (0: any free port), bound before the node is built so a busy port
    fails fast as a :class:`ConfigError`."""
    try:
        return socket.create_server((host, port), reuse_port=False)
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port} ({exc.strerror}); choose another --port or --host") from None


def engine_events_to_hub(msgbus: MessageBus, hub: Hub) -> None:
    """Push engine fills, position events and the actors' bot actions to the WebSocket hub."""

    def on_order_event(event: object) -> None:
        if isinstance(event, OrderFilled):
            hub.publish(fill_event(event))

    def on_position_event(event: object) -> None:
        if isinstance(event, PositionEvent):
            hub.publish(position_event(event))

    msgbus.subscribe(ALL_ORDER_EVENTS, on_order_event)
    msgbus.subscribe(ALL_POSITION_EVENTS, on_position_event)
    msgbus.subscribe(ACTIONS_TOPIC, lambda record: hub.publish(action_event(record)))


def refusals_to_actions(msgbus: MessageBus, actions: ActionLog) -> None:
    """Log every pre-trade refusal of the account gate as a ``risk_refused`` bot action (the actions feed)."""

    def on_refusal(record: RefusalRecord) -> None:
        details = {k: v for k, v in asdict(record).items() if k not in ("ts_ns", "reason")}
        at = dt.datetime.fromtimestamp(record.ts_ns / 1e9, tz=dt.UTC)
        actions.record(ActionRecord(at=at, action="risk_refused", reason=record.reason, details=details))

    msgbus.subscribe(REFUSALS_TOPIC, on_refusal)


def check_api_settings(host: str, insecure_local: bool) -> None:
    """Fail fast, before a node is built, on the API's token and rate-limit settings (a :class:`ConfigError`)."""
    try:
        tokens = TokenRegistry.from_env()
        if len(tokens) == 0 and not (insecure_local and is_loopback(host)):
            install_auth(FastAPI(), tokens, host=host, insecure_local=insecure_local)  # raises its own message
        RateLimiter.from_env()
    except ValueError as exc:  # AuthConfigError and bad token or limit settings
        raise ConfigError(str(exc)) from None


def api_context(node: TradingNode, settings: LiveSettings, db: Database) -> ApiContext:
    """The API's view of the node's cache and its stores over ``db``; its order queue is the one the queue
    drainer gets (:func:`hybrid.live.stores.share_queue`), recovering until the drainer has started, and engine
    events reach its WebSocket hub. The bot manager's default rules (when one runs) are what the API shows as a
    group's rules in force when it has none of its own."""
    view = CacheEngineView.from_kernel(node.kernel, rate=settings.rate, dividend=settings.dividend)
    context = ApiContext.open(view, db)
    context.bot_rules = next((actor.rules for actor in node.trader.actors() if isinstance(actor, BotManager)), None)
    context.mode = settings.mode
    if settings.has_drainer:
        context.queue.expect_recovery()  # until the drainer settled the previous run's orders
    share_queue(context.queue, db)
    engine_events_to_hub(node.kernel.msgbus, context.hub)
    refusals_to_actions(node.kernel.msgbus, context.actions)
    return context


def api_app(context: ApiContext, host: str, insecure_local: bool) -> FastAPI:
    """The control API over ``context`` (tokens and rate limits from the environment, checked beforehand
    with :func:`check_api_settings`)."""
    return create_app(context, host=host, insecure_local=insecure_local)


def api_server(app: FastAPI, host: str, port: int, **options: Any) -> LoopServer:
    """The API's uvicorn server; ``options`` are further uvicorn options (TLS: ``ssl_certfile``, ``ssl_keyfile``)."""
    return LoopServer(make_server(app, host, port, **options).config)


async def run(node: TradingNode, server: uvicorn.Server, sock: socket.socket) -> str | None:
    """Run the node and the API until a signal (returns None) or until one of them stops (returns why)."""
    loop = asyncio.get_running_loop()
    signalled = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, signalled.set)  # replaces the kernel's own handlers
    reasons: list[str] = []
    node.kernel.msgbus.subscribe(SYSTEM_SHUTDOWN, lambda command: reasons.append(str(command.reason)))
    engine = asyncio.ensure_future(node.run_async())
    api = asyncio.ensure_future(server.serve(sockets=[sock]))
    waiter = asyncio.ensure_future(signalled.wait())
    done, _ = await asyncio.wait({engine, api, waiter}, return_when=asyncio.FIRST_COMPLETED)
    server.should_exit = True
    await asyncio.wait({api}, timeout=STOP_TIMEOUT)
    if node.kernel.is_running():
        with contextlib.suppress(TimeoutError):  # dispose() follows and gives up after its own timeout
            await asyncio.wait_for(node.stop_async(), STOP_TIMEOUT)
    await asyncio.wait({engine}, timeout=STOP_TIMEOUT)
    waiter.cancel()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.remove_signal_handler(sig)
    if waiter in done:
        return None
    if engine in done:
        failure = engine.exception() if not engine.cancelled() else None
        return f"the trading node stopped: {failure or '; '.join(reasons) or 'no reason given'}"
    failure = api.exception() if not api.cancelled() else None
    return f"the API server stopped: {failure or 'no reason given'}"
