"""JSON-RPC 2.0 at ``POST /rpc``: the REST operations by name (``orders.submit``, ``groups.close``, ...).

Every method is an operation of :mod:`hybrid.api.operations`, with the same role, parameters (by name,
a JSON object; positional arrays are refused) and result as its REST route. Batches (a JSON array of
requests) run in order; notifications (no ``id``) run but get no response; a request or a batch of only
notifications answers ``204``. A batch holds at most :data:`MAX_BATCH` calls.

Auth: the HTTP request needs a known bearer token (401 otherwise); each call then needs its method's
role (error -32003) and takes one request from the token's rate limit (error -32029, with
``retry_after`` seconds in ``data``), so a batch of n calls costs n.

Errors: -32700 parse error, -32600 invalid request, -32601 method not found, -32602 invalid params
(``data.errors``: the field errors, ``loc`` starting with ``params``), -32603 internal error, and
-32003 forbidden, -32004 not found, -32009 conflict, -32029 rate limited.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from hybrid.api import errors
from hybrid.api.auth import Principal, require_role
from hybrid.api.errors import FieldErrors
from hybrid.api.gate import strict_loads
from hybrid.api.operations import OPERATIONS, context_of
from hybrid.api.ratelimit import RateLimiter, get_rate_limiter
from hybrid.api.routers import ROUTERS  # noqa: F401  (registers every operation before the schema lists them)

log = logging.getLogger(__name__)

MAX_BATCH = 100

router = APIRouter(tags=["rpc"])

_REQUEST_SCHEMA = {
    "type": "object",
    "required": ["jsonrpc", "method"],
    "properties": {
        "jsonrpc": {"type": "string", "enum": ["2.0"]},
        "method": {"type": "string", "enum": sorted(OPERATIONS), "description": "an operation name"},
        "params": {"type": "object", "description": "the method's parameters, by name"},
        "id": {"oneOf": [{"type": "string"}, {"type": "integer"}, {"type": "null"}]},
    },
}


def _error(id_: Any, code: int, message: str, data: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return {"jsonrpc": "2.0", "error": error, "id": id_}


def _valid_id(request: dict) -> bool:
    value = request.get("id")
    return value is None or (isinstance(value, str | int) and not isinstance(value, bool))


async def _call(request: Request, who: Principal, limiter: RateLimiter, item: Any) -> dict[str, Any] | None:
    """One call: its response object, or None for a notification."""
    if not isinstance(item, dict) or not _valid_id(item):
        message = "a request is an object with jsonrpc, method and an id of string, number or null"
        return _error(None, errors.INVALID_REQUEST, message)
    id_ = item.get("id")
    notification = "id" not in item
    method = item.get("method")
    if item.get("jsonrpc") != "2.0" or not isinstance(method, str) or set(item) - {"jsonrpc", "method", "params", "id"}:
        message = 'a request has "jsonrpc": "2.0", a string "method", and optionally "params" and "id"'
        return _error(id_, errors.INVALID_REQUEST, message)
    answer = await _run(request, who, limiter, method, item.get("params", {}), id_)
    return None if notification else answer


async def _run(
    request: Request, who: Principal, limiter: RateLimiter, method: str, params: Any, id_: Any
) -> dict[str, Any]:
    op = OPERATIONS.get(method)
    if op is None:
        return _error(id_, errors.METHOD_NOT_FOUND, f"no method {method!r}; see docs/api.md for the list")
    if not who.allows(op.role):
        return _error(id_, errors.FORBIDDEN, f"token {who.name!r} has role {who.role}; {method} needs {op.role}")
    wait = limiter.acquire(who)
    if wait > 0:
        return _error(id_, errors.RATE_LIMITED, f"token {who.name!r} is over its rate limit", {"retry_after": wait})
    if not isinstance(params, dict):
        return _error(id_, errors.INVALID_PARAMS, "params must be an object of named parameters")
    try:
        value = op.adapter.validate_python(params)
    except ValidationError as exc:
        invalid = errors.FieldErrors.from_validation(exc, prefix=("params",))
        return _error(id_, errors.INVALID_PARAMS, "invalid params", invalid.rpc_data())
    try:
        result = await op(context_of(request), who, value)
    except errors.FieldErrors as exc:
        located = exc.located("params")
        return _error(id_, errors.INVALID_PARAMS, "invalid params", located.rpc_data())
    except errors.ApiError as exc:
        return _error(id_, exc.rpc_code, exc.message, exc.rpc_data())
    except Exception:
        log.exception("JSON-RPC method %s failed", method)
        return _error(id_, errors.INTERNAL_ERROR, f"{method} failed inside the server; the log has the details")
    return {"jsonrpc": "2.0", "result": jsonable_encoder(result), "id": id_}


@router.post(
    "/rpc",
    summary="JSON-RPC 2.0: every operation by name, single or batched",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "oneOf": [_REQUEST_SCHEMA, {"type": "array", "items": _REQUEST_SCHEMA, "maxItems": MAX_BATCH}]
                    }
                }
            },
        }
    },
    responses={
        200: {"description": "the response object, or an array of them for a batch"},
        204: {"description": "only notifications were sent"},
    },
)
async def rpc(
    request: Request,
    who: Principal = Depends(require_role("viewer")),
    limiter: RateLimiter = Depends(get_rate_limiter),
) -> Response:
    try:
        payload = strict_loads(await request.body(), ())
    except FieldErrors as exc:  # a key given twice, NaN, Infinity, a number beyond a float
        return JSONResponse(_error(None, errors.PARSE_ERROR, f"the body is not strict JSON: {exc}", exc.rpc_data()))
    except ValueError as exc:
        return JSONResponse(_error(None, errors.PARSE_ERROR, f"the body is not JSON: {exc}"))
    if isinstance(payload, list):
        if not payload or len(payload) > MAX_BATCH:
            message = f"a batch holds 1 to {MAX_BATCH} requests, got {len(payload)}"
            return JSONResponse(_error(None, errors.INVALID_REQUEST, message))
        answers = [answer for item in payload if (answer := await _call(request, who, limiter, item)) is not None]
        return JSONResponse(answers) if answers else Response(status_code=204)
    answer = await _call(request, who, limiter, payload)
    return JSONResponse(answer) if answer is not None else Response(status_code=204)
