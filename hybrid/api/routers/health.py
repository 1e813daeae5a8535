"""Health: the engine's clock and trading state, the queue's backlog and the WebSocket clients."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from hybrid.api.auth import Principal, Role
from hybrid.api.context import ApiContext
from hybrid.api.operations import NoParams, call, operation
from hybrid.api.schemas import EngineHealth
from hybrid.orders.queue import MAX_PAGE
from hybrid.orders.status import OrderStatus

router = APIRouter(tags=["health"])

API_VERSION = "1"


class Health(BaseModel):
    status: Literal["ok"]
    api_version: str
    principal: str = Field(description="the name of the token that asked")
    role: Role = Field(description="that token's role (the UI shows only what it may do)")
    engine: EngineHealth
    queued_orders: int = Field(description=f"orders waiting for the engine to claim them (counted up to {MAX_PAGE})")
    websocket_clients: int


@operation("health.get", "viewer")
async def health(context: ApiContext, who: Principal, params: NoParams) -> Health:
    """The engine clock and trading state, the orders waiting for the engine, the WebSocket clients."""
    return Health(
        status="ok",
        api_version=API_VERSION,
        principal=who.name,
        role=who.role,
        engine=context.view.health(),
        queued_orders=len(context.queue.orders(OrderStatus.QUEUED, limit=MAX_PAGE)),
        websocket_clients=context.hub.clients,
    )


@router.get("/health", summary=health.summary)
async def get_health(request: Request, who: Principal = Depends(health.guard)) -> Health:
    return await call(health, request, who, NoParams())
