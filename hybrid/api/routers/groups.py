"""Position groups from every source (autonomous, manual, recurring), the engine's positions and the
portfolio; closing, rolling and overriding the bot.

A close or roll is an intent on the order queue like any submission (``201`` with the queued order).
Overrides (pause, resume, custom rules) change the bot's management state at once, logged in the
action log; a group the bot has not taken under management yet is registered first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, status
from pydantic import BaseModel, Field, ValidationError, create_model

from hybrid.api.auth import Principal
from hybrid.api.context import ApiContext
from hybrid.api.errors import Conflict, FieldErrors, NotFound, Responses
from hybrid.api.operations import NoParams, Params, call, operation
from hybrid.api.pnl_history import PORTFOLIO, HistoryPoint, lineage_root
from hybrid.api.routers.orders import queue_intent
from hybrid.api.schemas import Group, Lineage, Management, Portfolio, Position
from hybrid.api.validation import check_close, check_roll, find_group
from hybrid.management.management_rules import ManagementRules
from hybrid.orders.intents import CloseGroupIntent, Execution, GroupId, RollGroupIntent
from hybrid.orders.queue import QueuedOrder
from hybrid.tracking.tags import Source

router = APIRouter(tags=["groups"])

GroupIdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:\-]+$")]
Reason = Annotated[str, Field(min_length=1, max_length=256)]
UNKNOWN_GROUP: Responses = {404: {"description": "unknown group"}}
NOT_TRADEABLE: Responses = {**UNKNOWN_GROUP, 409: {"description": "the group is not open"}}


def _body_of(intent: type[BaseModel]) -> type[Params]:
    """The REST body of a group intent: its fields but ``kind`` and ``group_id`` (the path names the group)."""
    fields: dict[str, Any] = {
        name: (info.annotation, info) for name, info in intent.model_fields.items() if name not in ("kind", "group_id")
    }
    return create_model(f"{intent.__name__}Body", __base__=Params, __doc__=intent.__doc__, **fields)


if TYPE_CHECKING:  # built at import from the intents' fields; to the type checker, request bodies

    class CloseRequest(Params): ...

    class RollRequest(Params): ...

else:
    CloseRequest = _body_of(CloseGroupIntent)
    RollRequest = _body_of(RollGroupIntent)


class GroupQuery(Params):
    status: Literal["open", "closed", "unfilled"] | None = None
    source: Source | None = None


class GroupRef(Params):
    group_id: GroupId


class CloseAllParams(Params):
    """Close every open group (optionally of one source), one close intent per group."""

    execution: Execution
    source: Source | None = Field(default=None, description="only groups of this source")
    priority: int = Field(default=5, ge=0, le=9)
    idempotency_key: str | None = Field(
        default=None,
        min_length=1,
        max_length=63,
        pattern=r"^[A-Za-z0-9._\-]+$",
        description="each group's close gets <key>:<group_id>, so a resent close-all queues nothing twice",
    )


class CloseAll(BaseModel):
    orders: list[QueuedOrder]


class HistoryQuery(Params):
    limit: int = Field(default=1000, ge=1, le=10_000, description="the newest points of each series at most")
    since: dt.datetime | None = Field(default=None, description="only points after this time (ISO 8601 with offset)")


class HistoryParams(HistoryQuery, GroupRef):
    pass


class PortfolioHistoryQuery(HistoryQuery):
    lineages: bool = Field(default=False, description="also every lineage's points")


class LineageHistory(BaseModel):
    """A roll lineage's P&L over time: the sum of its groups' P&L (a roll continues its root's line)."""

    root_id: str
    points: list[HistoryPoint]


class GroupHistory(LineageHistory):
    group_id: str
    members: list[str] = Field(description="the lineage's groups, root first")


class PortfolioHistory(BaseModel):
    points: list[HistoryPoint] = Field(description="the portfolio's total P&L over time")
    lineages: list[LineageHistory] | None = Field(default=None, description="with lineages=true")


class OverrideRequest(Params):
    reason: Reason = "manual override"


DEFAULT_OVERRIDE = OverrideRequest()  # the body of a pause or resume sent without one


class OverrideParams(OverrideRequest, GroupRef):
    pass


class RulesRequest(Params):
    rules: ManagementRules | None = Field(description="the group's own rules; null to go back to the defaults")
    reason: Reason = "manual override"


class RulesParams(RulesRequest, GroupRef):
    pass


def _managements(context: ApiContext, group_ids: Iterable[str]) -> dict[str, Management]:
    """The bot's state, lineage and rules in force of each managed group among ``group_ids``, in one query."""
    return {
        group_id: Management(
            state=managed.state,
            lineage=Lineage(
                root_id=managed.lineage.root_id,
                parent_id=managed.lineage.parent_id,
                generation=managed.lineage.generation,
            ),
            rules=managed.state.rules if managed.state.rules is not None else context.bot_rules,
        )
        for group_id, managed in context.management.managed(group_ids).items()
    }


def _management(context: ApiContext, group_id: str) -> Management | None:
    return _managements(context, [group_id]).get(group_id)


def _group(context: ApiContext, group_id: str) -> Group:
    group = find_group(context, group_id)
    if group is None:
        raise NotFound(f"no group {group_id!r}")
    return group.model_copy(update={"management": _management(context, group_id)})


def _intent[T: BaseModel](model: type[T], data: dict) -> T:
    """A group intent from a REST body and the path's group id; errors are placed in the body."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise FieldErrors.from_validation(exc, prefix=("body",)) from None


def _tradeable(context: ApiContext, group_id: str) -> Group:
    group = _group(context, group_id)
    if group.status != "open":
        raise Conflict(f"group {group_id!r} is {group.status}: there is nothing to close or roll")
    return group


def managed_groups(context: ApiContext, query: GroupQuery | None = None) -> list[Group]:
    """The view's groups with the bot's management state, optionally filtered by status and source."""
    query = query or GroupQuery()
    groups = [
        group
        for group in context.view.groups()
        if (query.status is None or group.status == query.status)
        and (query.source is None or group.source == query.source)
    ]
    managements = _managements(context, (group.group_id for group in groups))
    return [  # the view's groups carry no management: only the managed ones are copied
        group
        if (management := managements.get(group.group_id)) is None
        else group.model_copy(update={"management": management})
        for group in groups
    ]


@operation("groups.list", "viewer", GroupQuery)
async def list_groups(context: ApiContext, who: Principal, params: GroupQuery) -> list[Group]:
    """Every group with its legs, P&L, Greeks and management state, optionally by status and source."""
    return managed_groups(context, params)


@operation("groups.get", "viewer", GroupRef)
async def get_group(context: ApiContext, who: Principal, params: GroupRef) -> Group:
    """One group with its management state and lineage."""
    return _group(context, params.group_id)


@operation("groups.history", "viewer", HistoryParams)
async def group_history(context: ApiContext, who: Principal, params: HistoryParams) -> GroupHistory:
    """The P&L history of a group's roll lineage as the node recorded it (each minute and after fills)."""
    group_id = params.group_id
    group = find_group(context, group_id)
    root = (
        context.history.series_of(group_id)
        if group is None
        else lineage_root(group.model_copy(update={"management": _management(context, group_id)}))
    )
    if root is None:
        raise NotFound(f"no group {group_id!r}")
    try:
        members = [member.lineage.group_id for member in context.management.lineage(group_id)]
    except KeyError:  # not managed: its own lineage
        members = [group_id]
    points = context.history.points(root, params.limit, params.since)
    return GroupHistory(group_id=group_id, root_id=root, members=members, points=points)


@operation("portfolio.history", "viewer", PortfolioHistoryQuery)
async def portfolio_history(context: ApiContext, who: Principal, params: PortfolioHistoryQuery) -> PortfolioHistory:
    """The portfolio's total P&L over time as the node recorded it, and optionally every lineage's."""
    points = context.history.points(PORTFOLIO, params.limit, params.since)
    if not params.lineages:
        return PortfolioHistory(points=points)
    lineages = context.history.lineages(params.limit, params.since)
    return PortfolioHistory(
        points=points, lineages=[LineageHistory(root_id=root, points=series) for root, series in lineages.items()]
    )


@operation("groups.close", "trader", CloseGroupIntent)
async def close_group(context: ApiContext, who: Principal, intent: CloseGroupIntent) -> QueuedOrder:
    """Queue a close of every remaining unit of an open group, or of ``units`` of them."""
    _tradeable(context, intent.group_id)
    check_close(context, intent, prefix=())
    return await queue_intent(context, who, intent)


@operation("groups.close_all", "trader", CloseAllParams)
async def close_all(context: ApiContext, who: Principal, params: CloseAllParams) -> CloseAll:
    """Queue a close of every open group (optionally of one source); resent with its key, the first call's orders."""
    key = params.idempotency_key
    if key is not None and (first := await context.off_loop(context.queue.keyed, who.name, f"{key}:")):
        same = all(
            (order.intent.execution, order.intent.priority) == (params.execution, params.priority) for order in first
        )
        if not same:
            raise Conflict(f"idempotency key {key!r} was already used for a close-all with another execution")
        return CloseAll(orders=first)
    orders = []
    for group in context.view.groups():
        if group.status != "open" or (params.source is not None and group.source != params.source):
            continue
        intent = CloseGroupIntent(
            group_id=group.group_id,
            execution=params.execution,
            priority=params.priority,
            idempotency_key=None if key is None else f"{key}:{group.group_id}",
        )
        orders.append(await queue_intent(context, who, intent))
    return CloseAll(orders=orders)


@operation("groups.roll", "trader", RollGroupIntent)
async def roll_group(context: ApiContext, who: Principal, intent: RollGroupIntent) -> QueuedOrder:
    """Queue a roll: close the group and open the same structure at later expiries, as one lineage."""
    _tradeable(context, intent.group_id)
    check_roll(context, intent, prefix=())
    return await queue_intent(context, who, intent)


async def _managed(context: ApiContext, group_id: str) -> None:
    """Make sure the bot's store knows the group (registering it if the view knows it)."""
    try:
        context.management.state(group_id)
    except KeyError:
        if find_group(context, group_id) is None:
            raise NotFound(f"no group {group_id!r}") from None
        await context.off_loop(context.management.register, group_id, context.view.now())


async def _override(context: ApiContext, group_id: str, change: Callable[..., object], *args: object) -> Management:
    await _managed(context, group_id)
    await context.off_loop(change, group_id, *args)
    management = _management(context, group_id)
    if management is None:
        raise RuntimeError(f"group {group_id!r} is not under management after it was registered")
    return management


@operation("groups.pause", "admin", OverrideParams)
async def pause_group(context: ApiContext, who: Principal, params: OverrideParams) -> Management:
    """Stop the bot managing a group (a person takes over) until it is resumed."""
    reason = f"{params.reason} (by {who.name})"
    return await _override(context, params.group_id, context.management.pause, context.view.now(), reason)


@operation("groups.resume", "admin", OverrideParams)
async def resume_group(context: ApiContext, who: Principal, params: OverrideParams) -> Management:
    """Hand a paused group back to the bot."""
    reason = f"{params.reason} (by {who.name})"
    return await _override(context, params.group_id, context.management.resume, context.view.now(), reason)


@operation("groups.set_rules", "admin", RulesParams)
async def set_rules(context: ApiContext, who: Principal, params: RulesParams) -> Management:
    """Give a group its own management rules (profit tranches, stop, roll), or null for the defaults."""
    reason = f"{params.reason} (by {who.name})"
    return await _override(
        context, params.group_id, context.management.set_rules, params.rules, context.view.now(), reason
    )


@operation("positions.list", "viewer")
async def list_positions(context: ApiContext, who: Principal, params: NoParams) -> list[Position]:
    """Open positions per instrument (per leg), marked at mid, with share-equivalent Greeks."""
    return context.view.positions()


@operation("portfolio.get", "viewer")
async def get_portfolio(context: ApiContext, who: Principal, params: NoParams) -> Portfolio:
    """Portfolio Greeks and realised, unrealised and total P&L."""
    return context.view.portfolio()


@router.get("/groups", summary=list_groups.summary)
async def get_groups(
    request: Request, query: Annotated[GroupQuery, Query()], who: Principal = Depends(list_groups.guard)
) -> list[Group]:
    return await call(list_groups, request, who, query, "query")


@router.post(
    "/groups/close-all",
    status_code=status.HTTP_201_CREATED,
    summary=close_all.summary,
    responses={409: {"description": "idempotency key reused with another intent"}},
)
async def post_close_all(request: Request, body: CloseAllParams, who: Principal = Depends(close_all.guard)) -> CloseAll:
    return await call(close_all, request, who, body)


@router.get("/groups/{group_id}", summary=get_group.summary, responses=UNKNOWN_GROUP)
async def get_one_group(request: Request, group_id: GroupIdPath, who: Principal = Depends(get_group.guard)) -> Group:
    return await call(get_group, request, who, GroupRef(group_id=group_id))


@router.get("/groups/{group_id}/history", summary=group_history.summary, responses=UNKNOWN_GROUP)
async def get_group_history(
    request: Request,
    group_id: GroupIdPath,
    query: Annotated[HistoryQuery, Query()],
    who: Principal = Depends(group_history.guard),
) -> GroupHistory:
    params = HistoryParams(group_id=group_id, limit=query.limit, since=query.since)
    return await call(group_history, request, who, params, "query")


@router.post(
    "/groups/{group_id}/close",
    status_code=status.HTTP_201_CREATED,
    summary=close_group.summary,
    responses=NOT_TRADEABLE,
)
async def post_close(
    request: Request, group_id: GroupIdPath, body: CloseRequest, who: Principal = Depends(close_group.guard)
) -> QueuedOrder:
    intent = _intent(CloseGroupIntent, {**body.model_dump(exclude_unset=True), "group_id": group_id})
    return await call(close_group, request, who, intent)


@router.post(
    "/groups/{group_id}/roll",
    status_code=status.HTTP_201_CREATED,
    summary=roll_group.summary,
    responses=NOT_TRADEABLE,
)
async def post_roll(
    request: Request, group_id: GroupIdPath, body: RollRequest, who: Principal = Depends(roll_group.guard)
) -> QueuedOrder:
    intent = _intent(RollGroupIntent, {**body.model_dump(exclude_unset=True), "group_id": group_id})
    return await call(roll_group, request, who, intent)


@router.post("/groups/{group_id}/pause", summary=pause_group.summary, responses=UNKNOWN_GROUP)
async def post_pause(
    request: Request,
    group_id: GroupIdPath,
    body: OverrideRequest = DEFAULT_OVERRIDE,
    who: Principal = Depends(pause_group.guard),
) -> Management:
    return await call(pause_group, request, who, OverrideParams(group_id=group_id, reason=body.reason))


@router.post("/groups/{group_id}/resume", summary=resume_group.summary, responses=UNKNOWN_GROUP)
async def post_resume(
    request: Request,
    group_id: GroupIdPath,
    body: OverrideRequest = DEFAULT_OVERRIDE,
    who: Principal = Depends(resume_group.guard),
) -> Management:
    return await call(resume_group, request, who, OverrideParams(group_id=group_id, reason=body.reason))


@router.put("/groups/{group_id}/rules", summary=set_rules.summary, responses=UNKNOWN_GROUP)
async def put_rules(
    request: Request, group_id: GroupIdPath, body: RulesRequest, who: Principal = Depends(set_rules.guard)
) -> Management:
    return await call(set_rules, request, who, RulesParams(group_id=group_id, **body.model_dump(exclude_unset=True)))


@router.get("/positions", tags=["positions"], summary=list_positions.summary)
async def get_positions(request: Request, who: Principal = Depends(list_positions.guard)) -> list[Position]:
    return await call(list_positions, request, who, NoParams())


@router.get("/portfolio/history", tags=["positions"], summary=portfolio_history.summary)
async def get_portfolio_history(
    request: Request,
    query: Annotated[PortfolioHistoryQuery, Query()],
    who: Principal = Depends(portfolio_history.guard),
) -> PortfolioHistory:
    return await call(portfolio_history, request, who, query, "query")


@router.get("/portfolio", tags=["positions"], summary=get_portfolio.summary)
async def get_portfolio_route(request: Request, who: Principal = Depends(get_portfolio.guard)) -> Portfolio:
    return await call(get_portfolio, request, who, NoParams())
