"""Health: the engine's clock and trading state, whether the queue is still recovering, its backlog, the
WebSocket clients."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from hybrid.api.auth import Principal, Role
from hybrid.api.context import ApiContext
from hybrid.api.operations import NoParams, call, operation
from hybrid.api.schemas import EngineHealth
from hybrid.orders.status import OrderStatus

router = APIRouter(tags=["health"])

API_VERSION = "1"


class Health(BaseModel):
    status: Literal["ok", "recovering"] = Field(
        description="recovering: after a restart, until the drainer settled the previous run's orders"
    )
    api_version: str
    mode: str | None = Field(
        description="the node's mode: paper (replay and simulated venue) or ib; null outside a node"
    )
    principal: str = Field(description="the name of the token that asked")
    role: Role = Field(description="that token's role (the UI shows only what it may do)")
    engine: EngineHealth
    queued_orders: int = Field(description="orders waiting for the engine to claim them")
    websocket_clients: int


@operation("health.get", "viewer")
async def health(context: ApiContext, who: Principal, params: NoParams) -> Health:
    """The engine clock and trading state, the orders waiting for the engine, the WebSocket clients."""
    return Health(
        status="recovering" if context.queue.recovering else "ok",
        api_version=API_VERSION,
        mode=context.mode,
        principal=who.name,
        role=who.role,
        engine=context.view.health(),
        queued_orders=context.queue.count(OrderStatus.QUEUED),
        websocket_clients=context.hub.clients,
    )


@router.get("/health", summary=health.summary)
async def get_health(request: Request, who: Principal = Depends(health.guard)) -> Health:
    return await call(health, request, who, NoParams())
