"""One registry of operations behind both REST and JSON-RPC, so the two never drift apart.

An operation is a named coroutine ``handler(context, principal, params)`` with the role it needs and
the type its parameters validate against. A router's route builds the parameters from the path, the
query and the body and calls the operation; ``POST /rpc`` looks the method up by name and validates
its ``params`` object against the same type. Handlers raise :class:`~hybrid.api.errors.ApiError`
subclasses, which each layer turns into its own kind of answer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from pydantic import BaseModel, ConfigDict, TypeAdapter

from hybrid.api.auth import Principal, Role
from hybrid.api.context import ApiContext
from hybrid.api.errors import FieldErrors
from hybrid.api.ratelimit import rate_limited

Handler = Callable[[ApiContext, Principal, Any], Awaitable[Any]]


class Params(BaseModel):
    """Base of operation parameters: immutable, unknown fields are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class NoParams(Params):
    """An operation that takes no parameters."""


@dataclass(frozen=True)
class Operation:
    """A named operation: what role it needs, what its parameters are, what it does."""

    name: str
    role: Role
    params: Any
    handler: Handler
    summary: str
    adapter: TypeAdapter = field(repr=False)

    @property
    def guard(self) -> Callable[..., Awaitable[Principal]]:
        """The REST dependency: a token with this operation's role (401/403), within its rate (429)."""
        return rate_limited(self.role)

    async def __call__(self, context: ApiContext, who: Principal, params: Any) -> Any:
        return await self.handler(context, who, params)


OPERATIONS: dict[str, Operation] = {}


def operation(name: str, role: Role, params: Any = NoParams) -> Callable[[Handler], Operation]:
    """Register the decorated handler as operation ``name`` (a JSON-RPC method of the same name)."""

    def register(handler: Handler) -> Operation:
        if name in OPERATIONS:
            raise ValueError(f"operation {name!r} is registered twice")
        summary = (handler.__doc__ or name).strip().splitlines()[0]
        op = Operation(name, role, params, handler, summary, TypeAdapter(params))
        OPERATIONS[name] = op
        return op

    return register


def context_of(request: Request) -> ApiContext:
    return request.app.state.context


async def call(op: Operation, request: Request, who: Principal, params: Any, where: str = "body") -> Any:
    """Run ``op`` for a REST route; field errors are placed under ``where`` (``body`` or ``query``)."""
    try:
        return await op(context_of(request), who, params)
    except FieldErrors as exc:
        raise exc.located(where) from None
