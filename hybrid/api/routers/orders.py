"""Orders: submit an intent to the persistent queue, read its status and journal, cancel it.

Idempotency. An intent may carry ``idempotency_key``; over REST it may instead (or also, if equal) come
in the ``Idempotency-Key`` header. Keys are per token: the same token sending the same intent with the
same key gets the order stored the first time (``201`` again, the original ``created_at``); the same
key with a different intent is ``409``. Without a key every submission is a new order.

Cancel. A queued order is cancelled at once. One the engine holds is withdrawn by its owner (an opening
order, a close or a roll alike; what filled stays held): the answer waits up to :data:`CANCEL_WAIT_SECONDS`
for the engine and is ``200`` with the order ``cancelled``, ``409`` with the reason when it could not be
cancelled (it filled first, or the engine had nothing left to withdraw), or ``202`` with the order still
``cancel_requested`` when the engine has not answered by then.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response, status
from pydantic import Field

from hybrid.api.auth import Principal
from hybrid.api.context import ApiContext
from hybrid.api.errors import Conflict, FieldErrors, NotFound, Responses, RiskRefused, Unavailable
from hybrid.api.fields import Limit, Offset, OrderId
from hybrid.api.operations import Params, call, operation
from hybrid.api.validation import check_intent, check_source
from hybrid.management.intent_commands import open_command
from hybrid.orders.intents import OpenIntent, OrderIntent
from hybrid.orders.queue import IdempotencyConflict, OrderNotFound, OrderQueue, QueuedOrder, StatusChange
from hybrid.orders.status import IllegalTransition, OrderStatus
from hybrid.orders.structures import RuleStructure

router = APIRouter(prefix="/orders", tags=["orders"])

RECOVERING: Responses = {503: {"description": "the queue is recovering after a restart (Retry-After)"}}
UNKNOWN_ORDER: Responses = {404: {"description": "unknown order"}, **RECOVERING}
CANCEL_WAIT_SECONDS = 5.0  # how long a cancel of an order the engine holds waits for the engine's answer

OrderIdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[0-9a-f]+$")]
KeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=128,
        pattern=r"^[A-Za-z0-9._:\-]+$",
        description="the intent's idempotency_key, as a header (both may be given if equal)",
    ),
]


class OrderRef(Params):
    order_id: OrderId


class OrderQuery(Params):
    status: OrderStatus | None = None
    limit: Limit = 100
    offset: Offset = 0


class CancelRequest(Params):
    reason: str = Field(default="cancel requested", min_length=1, max_length=256)


DEFAULT_CANCEL = CancelRequest()  # the body of a cancel sent without one


class CancelParams(OrderRef, CancelRequest):
    pass


async def queue_intent(context: ApiContext, who: Principal, intent: OrderIntent) -> QueuedOrder:
    """Store a checked intent in the queue for ``who``, awaiting its group commit (on disk, the loop free
    meanwhile); an idempotency key reused differently is a 409."""
    try:
        return await asyncio.wrap_future(context.queue.submit_future(intent, who.name))
    except IdempotencyConflict as exc:
        raise Conflict(str(exc)) from None


def _recovered(context: ApiContext) -> None:
    """Order statuses are answered only once the drainer's start-up recovery settled the previous run's."""
    if context.queue.recovering:
        raise Unavailable("the order queue is recovering after a restart; retry in a moment")


def _order(context: ApiContext, order_id: str) -> QueuedOrder:
    _recovered(context)
    try:
        return context.queue.get(order_id)
    except OrderNotFound as exc:
        raise NotFound(str(exc)) from None


def check_risk(context: ApiContext, intent: OrderIntent) -> None:
    """An open order within the account's pre-trade limits, or a 409 naming the limit, its value and the usage
    (a rules structure is resolved, and judged by the same gate, when it executes)."""
    if not isinstance(intent, OpenIntent) or isinstance(intent.structure, RuleStructure):
        return
    refusal = context.view.pre_trade(open_command(intent, intent.unit_legs()))
    if refusal is not None:
        fields = {k: getattr(refusal, k) for k in ("scope", "limit", "value", "usage", "after")}
        raise RiskRefused(f"refused by the pre-trade risk gate: {refusal.message}", fields)


@operation("orders.submit", "trader", OrderIntent)
async def submit(context: ApiContext, who: Principal, intent: OrderIntent) -> QueuedOrder:
    """Queue an open, close or roll intent after checking it against the chain and the groups."""
    check_source(intent)
    check_intent(context, intent)
    check_risk(context, intent)
    return await queue_intent(context, who, intent)


@operation("orders.list", "viewer", OrderQuery)
async def list_orders(context: ApiContext, who: Principal, params: OrderQuery) -> list[QueuedOrder]:
    """Orders newest first, optionally of one status."""
    _recovered(context)
    return context.queue.orders(params.status, params.limit, params.offset)


@operation("orders.get", "viewer", OrderRef)
async def get_order(context: ApiContext, who: Principal, params: OrderRef) -> QueuedOrder:
    """One order: its intent, status, who submitted it and when."""
    return _order(context, params.order_id)


@operation("orders.history", "viewer", OrderRef)
async def order_history(context: ApiContext, who: Principal, params: OrderRef) -> list[StatusChange]:
    """Every status change of one order, oldest first (the journal)."""
    _recovered(context)
    try:
        return context.queue.history(params.order_id)
    except OrderNotFound as exc:
        raise NotFound(str(exc)) from None


class _Outcome:
    """The status changes of one order, listened to from before a cancel so that none is missed."""

    def __init__(self, queue: OrderQueue, order_id: str) -> None:
        self._queue = queue
        self._order_id = order_id
        self._loop = asyncio.get_running_loop()
        self._changed = asyncio.Event()
        self.close = queue.subscribe(self._on_change)

    def _on_change(self, change: StatusChange) -> None:  # in the thread that changed the queue
        if change.order_id == self._order_id:
            self._loop.call_soon_threadsafe(self._changed.set)

    async def settled(self, timeout: float) -> QueuedOrder:
        """The order once it left ``cancel_requested``, or as it is after ``timeout`` seconds."""
        deadline = self._loop.time() + timeout
        while (order := self._queue.get(self._order_id)).status is OrderStatus.CANCEL_REQUESTED:
            remaining = deadline - self._loop.time()
            if remaining <= 0:
                break
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)
        return order


@operation("orders.cancel", "trader", CancelParams)
async def cancel(context: ApiContext, who: Principal, params: CancelParams) -> QueuedOrder:
    """Cancel an order: cancelled (or still cancel_requested), or 409 with the reason it could not be."""
    _order(context, params.order_id)
    outcome = _Outcome(context.queue, params.order_id)
    try:
        reason = f"{params.reason} (by {who.name})"
        await asyncio.wrap_future(context.queue.cancel_future(params.order_id, reason))
        order = await outcome.settled(CANCEL_WAIT_SECONDS)
    except IllegalTransition as exc:
        raise Conflict(str(exc)) from None
    finally:
        outcome.close()
    if order.status not in (OrderStatus.CANCELLED, OrderStatus.CANCEL_REQUESTED):
        raise Conflict(f"order {order.order_id} was not cancelled: it is {order.status} ({order.reason})")
    return order


def with_header_key(intent: OrderIntent, key: str | None, loc: tuple[str, ...]) -> OrderIntent:
    """``intent`` with the ``Idempotency-Key`` header as its key; a different key in the body is a 422."""
    if key is None or intent.idempotency_key == key:
        return intent
    if intent.idempotency_key is not None:
        message = "the Idempotency-Key header and the body's idempotency_key differ: send one, or the same"
        raise FieldErrors.one(loc, message, intent.idempotency_key, "idempotency_key_mismatch")
    return intent.model_copy(update={"idempotency_key": key})


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary=submit.summary,
    responses={
        409: {
            "description": "idempotency key reused with another intent, or a pre-trade risk limit refuses it "
            "(error risk_limit, with scope, limit, value, usage and after)"
        },
        422: {"description": "invalid"},
    },
)
async def post_order(
    request: Request,
    response: Response,
    intent: OrderIntent,
    idempotency_key: KeyHeader = None,
    who: Principal = Depends(submit.guard),
) -> QueuedOrder:
    intent = with_header_key(intent, idempotency_key, ("body", intent.kind, "idempotency_key"))
    order = await call(submit, request, who, intent)
    response.headers["Location"] = f"{request.url.path.rstrip('/')}/{order.order_id}"
    return order


@router.get("", summary=list_orders.summary, responses=RECOVERING)
async def get_orders(
    request: Request, query: Annotated[OrderQuery, Query()], who: Principal = Depends(list_orders.guard)
) -> list[QueuedOrder]:
    return await call(list_orders, request, who, query, "query")


@router.get("/{order_id}", summary=get_order.summary, responses=UNKNOWN_ORDER)
async def get_one_order(
    request: Request, order_id: OrderIdPath, who: Principal = Depends(get_order.guard)
) -> QueuedOrder:
    return await call(get_order, request, who, OrderRef(order_id=order_id))


@router.get("/{order_id}/history", summary=order_history.summary, responses=UNKNOWN_ORDER)
async def get_history(
    request: Request, order_id: OrderIdPath, who: Principal = Depends(order_history.guard)
) -> list[StatusChange]:
    return await call(order_history, request, who, OrderRef(order_id=order_id))


@router.post(
    "/{order_id}/cancel",
    summary=cancel.summary,
    responses={
        **UNKNOWN_ORDER,
        202: {"description": "the engine has not answered yet: the order is cancel_requested", "model": QueuedOrder},
        409: {"description": "not cancelled: the order is final, filled first, or had nothing left to withdraw"},
    },
)
async def post_cancel(
    request: Request,
    response: Response,
    order_id: OrderIdPath,
    body: CancelRequest = DEFAULT_CANCEL,
    who: Principal = Depends(cancel.guard),
) -> QueuedOrder:
    order = await call(cancel, request, who, CancelParams(order_id=order_id, reason=body.reason))
    if order.status is OrderStatus.CANCEL_REQUESTED:
        response.status_code = status.HTTP_202_ACCEPTED
    return order
