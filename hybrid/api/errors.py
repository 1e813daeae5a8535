"""The API's errors, one set for REST and JSON-RPC: each carries its HTTP status and its JSON-RPC code.

REST bodies: ``{"detail": {"error": <word>, "message": <one line>}}`` (the shape of the auth and rate
limit errors; a risk refusal, ``risk_limit``, adds ``scope``, ``limit``, ``value``, ``usage`` and ``after``), and for 422 the list FastAPI itself gives, ``{"detail": [{"type", "loc", "msg",
"input"}, ...]}``, so every field error looks the same whichever layer found it. ``input`` echoes at
most a bounded slice of what was sent (:func:`bounded_input`: :data:`MAX_ECHO` characters; a non-finite
number as its name), so a 10 MB field costs a 10 MB request, never a 10 MB answer; the handler of
FastAPI's own validation errors answers 422 whatever the input held.

JSON-RPC codes: the standard ones (:data:`PARSE_ERROR` ... :data:`INTERNAL_ERROR`; invalid params carry
the field errors in ``data.errors``) and, for what the REST API answers with 403, 404, 409 and 429,
server-defined codes from the reserved -32000..-32099 range (503: -32053).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError

log = logging.getLogger(__name__)

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
FORBIDDEN = -32003
NOT_FOUND = -32004
CONFLICT = -32009
RATE_LIMITED = -32029
UNAVAILABLE = -32053

MAX_ECHO = 120  # characters of a field's input an error echoes back
Responses = dict[int | str, dict[str, Any]]  # an endpoint's documented error statuses (FastAPI ``responses=``)


class ApiError(Exception):
    """An expected failure of an operation; ``message`` is one line naming what to change."""

    status: int = status.HTTP_400_BAD_REQUEST
    rpc_code: int = INVALID_REQUEST
    error: str = "bad_request"
    headers: dict[str, str] = {}  # noqa: RUF012  # a class default, never mutated

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def rpc_data(self) -> dict[str, Any] | None:
        return None

    def details(self) -> dict[str, Any]:
        """Fields the REST body adds beside ``error`` and ``message``."""
        return {}


class NotFound(ApiError):
    status = status.HTTP_404_NOT_FOUND
    rpc_code = NOT_FOUND
    error = "not_found"


class Conflict(ApiError):
    """The request is valid but the state does not allow it (idempotency key reuse, a final order, ...)."""

    status = status.HTTP_409_CONFLICT
    rpc_code = CONFLICT
    error = "conflict"


class RiskRefused(Conflict):
    """A pre-trade risk limit refuses the order: the body names the limit, its setting and the usage."""

    error = "risk_limit"

    def __init__(self, message: str, fields: dict[str, Any]) -> None:
        super().__init__(message)
        self.fields = fields

    def details(self) -> dict[str, Any]:
        return self.fields

    def rpc_data(self) -> dict[str, Any]:
        return self.fields


class Unavailable(ApiError):
    """Not yet: the answer would be wrong now (the queue's start-up recovery is still running); retry soon."""

    status = status.HTTP_503_SERVICE_UNAVAILABLE
    rpc_code = UNAVAILABLE
    error = "unavailable"
    headers = {"Retry-After": "1"}  # noqa: RUF012  # a class constant


class FieldErrors(ApiError):
    """Field-level validation errors; ``loc`` is relative to the operation's parameters until
    :meth:`located` prefixes where they were sent (``body``, ``query``; ``params`` in JSON-RPC)."""

    status = status.HTTP_422_UNPROCESSABLE_CONTENT
    rpc_code = INVALID_PARAMS
    error = "invalid"

    def __init__(self, errors: Sequence[dict[str, Any]]) -> None:
        self.errors = [dict(error) for error in errors]
        super().__init__("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in self.errors))

    @classmethod
    def one(
        cls, loc: tuple[str | int, ...], message: str, value: object = None, kind: str = "value_error"
    ) -> FieldErrors:
        return cls([{"type": kind, "loc": loc, "msg": message, "input": value}])

    @classmethod
    def from_validation(cls, exc: ValidationError, prefix: tuple[str | int, ...] = ()) -> FieldErrors:
        found = exc.errors(include_url=False, include_context=False)
        return cls([{**error, "loc": (*prefix, *error["loc"])} for error in found])

    def located(self, where: str) -> FieldErrors:
        return FieldErrors([{**error, "loc": (where, *error["loc"])} for error in self.errors])

    def jsonable(self) -> list[dict[str, Any]]:
        return [jsonable_error(error) for error in self.errors]

    def rpc_data(self) -> dict[str, Any]:
        return {"errors": self.jsonable()}


def bounded_input(value: object) -> object:
    """What an error may echo of an input: short scalars as they are, a non-finite number as its name
    (``"NaN"``, ``"Infinity"``), anything longer as the first :data:`MAX_ECHO` characters of its JSON text."""
    if value is None or (isinstance(value, bool | int) and abs(value) < 10**15):
        return value
    if isinstance(value, float):
        return (
            value if math.isfinite(value) else ("NaN" if math.isnan(value) else ("-" if value < 0 else "") + "Infinity")
        )
    text = value if isinstance(value, str) else json.dumps(value, default=str, allow_nan=True)
    return text if len(text) <= MAX_ECHO else text[:MAX_ECHO] + f"... ({len(text)} characters)"


def jsonable_error(error: dict[str, Any]) -> dict[str, Any]:
    """One field error as JSON: type, loc, msg and a bounded input (no ``ctx``: it may hold the input again)."""
    loc = [part if isinstance(part, int) else bounded_input(str(part)) for part in error.get("loc", ())]
    msg = str(error.get("msg", ""))
    return {
        "type": str(error.get("type", "value_error")),
        "loc": loc,
        "msg": msg if len(msg) <= 4 * MAX_ECHO else msg[: 4 * MAX_ECHO] + "...",
        "input": bounded_input(error.get("input")),
    }


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    if isinstance(exc, FieldErrors):
        return JSONResponse({"detail": exc.jsonable()}, status_code=exc.status)
    body = {"detail": {"error": exc.error, "message": exc.message, **exc.details()}}
    return JSONResponse(body, status_code=exc.status, headers=exc.headers or None)


async def _request_invalid(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    try:
        return JSONResponse({"detail": [jsonable_error(dict(error)) for error in exc.errors()]}, status_code=422)
    except Exception:  # never a 500 for a client's bad input
        log.exception("encoding a validation error failed")
        body = {"detail": [{"type": "invalid", "loc": ["body"], "msg": "the request is invalid", "input": None}]}
        return JSONResponse(body, status_code=422)


def install_error_handlers(app: FastAPI) -> None:
    """Answer :class:`ApiError` with its status and the bodies described in the module docstring, and
    FastAPI's own validation errors with the same bounded 422 list."""
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _request_invalid)
