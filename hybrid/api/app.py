"""The control API app: REST under ``/api/v1``, JSON-RPC at ``/rpc``, the WebSocket feed at ``/ws``.

``create_app(context)`` builds it over an :class:`~hybrid.api.context.ApiContext` (what the live node
hands in: its engine view, the order queue and stores it drains and manages with, and the hub its
engine events are published to). Serve it with :func:`hybrid.api.server.make_server` on the node's
event loop. Every route needs a token and a role (see :mod:`hybrid.api.auth`), including the OpenAPI
document at ``/openapi.json``; there is no browser docs page (it would load scripts from elsewhere). The
one exception is ``GET /livez``, a liveness probe that says ``{"status": "ok"}`` and nothing more. Every
request first passes :class:`hybrid.api.gate.Gate` (token in the URL 400, no token 401, body cap 413,
strict JSON 422) before a route reads its body.
The web UI (docs/ui.md) is served at ``/`` with its assets under ``/ui``; those files need no token either.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from pydantic import BaseModel, TypeAdapter

from hybrid.api import rpc, ws
from hybrid.api.auth import TokenRegistry, install_auth
from hybrid.api.context import ApiContext
from hybrid.api.errors import Responses, install_error_handlers
from hybrid.api.gate import LIVEZ, MAX_BODY_BYTES, Gate
from hybrid.api.pnl_history import PORTFOLIO, HistoryRecorder, Sample
from hybrid.api.ratelimit import RateLimiter, install_rate_limiter, rate_limited
from hybrid.api.routers import ROUTERS
from hybrid.api.routers.groups import managed_groups
from hybrid.api.routers.health import API_VERSION
from hybrid.api.routers.ui import install_ui
from hybrid.api.schemas import Group
from hybrid.api.ws import HubEvent
from hybrid.management.action_log import ActionRecord
from hybrid.orders.queue import StatusChange

PREFIX = "/api/v1"
SNAPSHOT_ORDERS = 100  # the newest queue orders, any status, in each WebSocket snapshot
CORS_ENV = "HYBRID_API_CORS_ORIGINS"
TAGS = [
    {"name": "strategies", "description": "The option strategy catalogue."},
    {"name": "chain", "description": "Listed expiries and strikes; quotes with implied vols and Greeks."},
    {"name": "analysis", "description": "Payoff and risk of a structure at live quotes; order previews."},
    {"name": "orders", "description": "The persistent order queue: submit, status, journal, cancel."},
    {"name": "groups", "description": "Multi-leg position groups: close, roll, and overrides of the bot."},
    {"name": "positions", "description": "Per-leg positions, portfolio Greeks and P&L."},
    {"name": "templates", "description": "Recurring order templates and their upcoming runs."},
    {"name": "actions", "description": "The bot action log."},
    {"name": "fill_stats", "description": "Fill-rate statistics of the two-part algorithm."},
    {"name": "health", "description": "Engine clock, trading state and queue backlog."},
    {"name": "risk", "description": "Pre-trade limits and usage, circuit breakers and their reset, stress grid."},
    {"name": "leg_templates", "description": "Saved custom leg sets of the UI's leg builder."},
    {"name": "reports", "description": "Backtest report folders, read from their files."},
    {"name": "rpc", "description": "JSON-RPC 2.0 over the same operations."},
]
_ACTION = TypeAdapter(ActionRecord)
_TIME = TypeAdapter(dt.datetime)


class ErrorDetail(BaseModel):
    error: str
    message: str


class ErrorBody(BaseModel):
    """The body of every error but 422: a code word and one line saying what to change."""

    detail: ErrorDetail


class Liveness(BaseModel):
    status: str


_RETRY_AFTER = {"Retry-After": {"description": "whole seconds to wait", "schema": {"type": "integer"}}}
GUARDED: Responses = {  # what any authenticated route may answer before or besides its own statuses
    400: {"model": ErrorBody, "description": "a token in the URL (?token=): send it as a header instead"},
    401: {"model": ErrorBody, "description": "no known bearer token (checked before the body is read)"},
    403: {"model": ErrorBody, "description": "the token's role does not allow this"},
    413: {"model": ErrorBody, "description": f"the request body is over {MAX_BODY_BYTES} bytes"},
    429: {"model": ErrorBody, "description": "over the token's rate limit", "headers": _RETRY_AFTER},
}


def snapshot(context: ApiContext) -> dict[str, Any]:
    """The WebSocket ``snapshot``: groups, positions, portfolio Greeks and P&L, and the latest orders."""
    orders = [order.model_dump(mode="json") for order in context.queue.orders(limit=SNAPSHOT_ORDERS)]
    return {
        "groups": [group.model_dump(mode="json") for group in managed_groups(context)],
        "positions": [position.model_dump(mode="json") for position in context.view.positions()],
        "portfolio": context.view.portfolio().model_dump(mode="json"),
        "orders": orders,
    }


def order_event(change: StatusChange) -> HubEvent:
    return HubEvent("order", change.model_dump(mode="json"))


def action_event(record: ActionRecord) -> HubEvent:
    return HubEvent("action", _ACTION.dump_python(record, mode="json"))


def history_event(ts: dt.datetime, samples: list[Sample]) -> HubEvent:
    """The WebSocket ``history`` event of one P&L sample (hybrid.api.ws)."""
    lineages = [{"root_id": s.series, "pnl": s.pnl, "group_id": s.group_id} for s in samples if s.series != PORTFOLIO]
    portfolio = next(s.pnl for s in samples if s.series == PORTFOLIO)
    return HubEvent("history", {"ts": _TIME.dump_python(ts, mode="json"), "portfolio": portfolio, "lineages": lineages})


def history_recorder(context: ApiContext) -> HistoryRecorder:
    """The recorder of ``context``'s P&L history, publishing each sample to its hub."""

    def read() -> tuple[dt.datetime, float, list[Group]]:
        return context.view.now(), context.view.portfolio().total_pnl, managed_groups(context)

    return HistoryRecorder(
        context.history,
        read,
        lambda ts, samples: context.hub.publish(history_event(ts, samples)),
        interval=context.history_interval,
    )


def cors_origins_from_env() -> list[str]:
    """``HYBRID_API_CORS_ORIGINS``: comma-separated origins allowed to call from a browser (none by default)."""
    return [origin.strip() for origin in os.environ.get(CORS_ENV, "").split(",") if origin.strip()]


def create_app(
    context: ApiContext,
    *,
    tokens: TokenRegistry | None = None,
    limiter: RateLimiter | None = None,
    host: str = "127.0.0.1",
    insecure_local: bool = False,
    cors_origins: Sequence[str] | None = None,
) -> FastAPI:
    """The API over ``context``.

    ``tokens`` and ``limiter`` default to the environment (``HYBRID_API_TOKENS``,
    ``HYBRID_API_TOKENS_FILE``, ``HYBRID_RATE_LIMITS``); with no tokens the app refuses to build unless
    ``insecure_local`` on a loopback ``host`` (:func:`~hybrid.api.auth.install_auth`). ``cors_origins``
    defaults to ``HYBRID_API_CORS_ORIGINS``; with none, no CORS headers are sent at all.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        hub = context.hub
        await hub.start(lambda: snapshot(context))
        stop_orders = context.queue.subscribe(lambda change: hub.publish(order_event(change)))
        stop_actions = context.actions.add_listener(lambda record: hub.publish(action_event(record)))
        recorder = history_recorder(context)
        stop_fills = hub.add_listener(lambda event: recorder.fill() if event.type == "fill" else None)
        await recorder.start()
        try:
            yield
        finally:
            stop_fills()
            await recorder.stop()
            stop_orders()
            stop_actions()
            await hub.stop()

    app = FastAPI(
        title="Hybrid options control API",
        version=API_VERSION,
        description="Submit and manage multi-leg option orders, watch groups, positions and the bot. See docs/api.md.",
        openapi_tags=TAGS,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.context = context
    registry = tokens if tokens is not None else TokenRegistry.from_env()
    authenticator = install_auth(app, registry, host=host, insecure_local=insecure_local)
    install_rate_limiter(app, limiter if limiter is not None else RateLimiter.from_env())
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router, prefix=PREFIX, responses=GUARDED)
    app.include_router(rpc.router, responses=GUARDED)
    app.include_router(ws.router)
    install_ui(app)

    @app.get(LIVEZ, tags=["health"], responses={400: GUARDED[400]})
    async def livez() -> Liveness:
        """Liveness without a token: the process answers; says nothing about the engine (see /health)."""
        return Liveness(status="ok")

    @app.get("/openapi.json", include_in_schema=False, dependencies=[Depends(rate_limited("viewer"))])
    async def openapi() -> dict[str, Any]:
        return app.openapi()

    app.add_middleware(Gate, authenticator=authenticator)  # inside CORS, so preflights need no token

    origins = list(cors_origins) if cors_origins is not None else cors_origins_from_env()
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key"],
        )
    return app
