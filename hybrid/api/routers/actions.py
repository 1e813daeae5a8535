"""The bot action log: what the bot and the templates did or decided not to do, to what, when and why."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import Field

from hybrid.api.auth import Principal
from hybrid.api.context import ApiContext
from hybrid.api.fields import Instant, Limit, TemplateId
from hybrid.api.operations import Params, call, operation
from hybrid.management.action_log import ActionRecord
from hybrid.orders.intents import GroupId

router = APIRouter(prefix="/actions", tags=["actions"])


class ActionQuery(Params):
    """Every filter given must match; ``since`` is inclusive, ``until`` exclusive."""

    group_id: GroupId | None = None
    template_id: TemplateId | None = None
    action: str | None = Field(default=None, min_length=1, max_length=64, examples=["close", "template_fired"])
    since: Instant | None = None
    until: Instant | None = None
    limit: Limit = 100


@operation("actions.list", "viewer", ActionQuery)
async def list_actions(context: ApiContext, who: Principal, params: ActionQuery) -> list[ActionRecord]:
    """Logged bot actions, oldest first, by group, template, action and time."""
    return context.actions.query(**params.model_dump())


@router.get("", summary=list_actions.summary)
async def get_actions(
    request: Request, query: Annotated[ActionQuery, Query()], who: Principal = Depends(list_actions.guard)
) -> list[ActionRecord]:
    return await call(list_actions, request, who, query, "query")
