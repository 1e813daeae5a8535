"""The API's front door: an ASGI middleware every HTTP request passes before any route reads its body.

In this order, each answered without reading more of the request than it needs:

1. ``GET /livez`` passes without a token (it answers ``{"status": "ok"}`` and nothing else), and so do the
   web UI's page ``/`` and its files under ``/ui/`` (they hold no data; the page asks for a token);
2. a token in the URL (``?token=``, ``?access_token=``, ... :data:`~hybrid.api.auth.URL_TOKEN_PARAMS`)
   is a 400: URLs end up in access logs and browser histories;
3. no known bearer token is a 401, decided on the headers alone: an anonymous client cannot make the
   server read, buffer or parse a byte of its body (roles, 403, stay with the routes);
4. a body over :data:`MAX_BODY_BYTES` is a 413, from its ``Content-Length`` before reading, or, sent
   chunked, as soon as the bytes read pass the limit;
5. a JSON body is parsed strictly (:func:`strict_loads`): ``NaN``, ``Infinity``, a number too large for a
   float and a key given twice in one object are 422s naming the field (``loc`` such as
   ``["body", "execution", "price"]``), where Python's parser would let them through; a body that is
   not JSON at all is a 422 ``json_invalid``.

The body read here is handed on to the route unchanged. WebSockets are left to their route (see
:func:`hybrid.api.auth.require_ws_role`), lifespan events pass through.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hybrid.api.auth import REFUSALS, Authenticator, url_token
from hybrid.api.errors import FieldErrors, jsonable_error

MAX_BODY_BYTES = 256 * 1024  # the largest request body: an intent or a template is a few kilobytes
LIVEZ = "/livez"
UI_PAGE, UI_FILES = "/", "/ui/"  # the web UI's page and static files (hybrid.api.routers.ui)
RAW_JSON_PATHS = frozenset({"/rpc"})  # routes answering bad JSON in their own protocol (JSON-RPC's parse error)
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class _Duplicate:
    """Stands in the parsed tree for an object that gave a key twice."""

    def __init__(self, key: str) -> None:
        self.key = key


class _NotFinite:
    """Stands in the parsed tree for NaN, Infinity or a number beyond a float's range."""

    def __init__(self, text: str) -> None:
        self.text = text


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any] | _Duplicate:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            return _Duplicate(key)
        found[key] = value
    return found


def _float(text: str) -> float | _NotFinite:
    value = float(text)
    return value if math.isfinite(value) else _NotFinite(text)


def _problems(node: Any, loc: tuple[str | int, ...]) -> Iterator[dict[str, Any]]:
    if isinstance(node, _Duplicate):
        yield {"type": "duplicate_key", "loc": loc, "msg": f"the key {node.key!r} is given twice", "input": node.key}
    elif isinstance(node, _NotFinite):
        message = "must be a finite number: NaN, Infinity and numbers beyond a float's range are refused"
        yield {"type": "finite_number", "loc": loc, "msg": message, "input": node.text[:32]}
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _problems(value, (*loc, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _problems(value, (*loc, index))


def strict_loads(data: bytes | str, where: tuple[str | int, ...] = ("body",)) -> Any:
    """``json.loads`` that refuses what JSON does not allow but Python's parser accepts.

    Raises :class:`~hybrid.api.errors.FieldErrors` (located under ``where``) for duplicate keys and
    non-finite numbers, ``ValueError`` for text that is not JSON at all.
    """
    tree = json.loads(data, object_pairs_hook=_pairs, parse_float=_float, parse_constant=_NotFinite)
    problems = list(_problems(tree, where))
    if problems:
        raise FieldErrors(problems)
    return tree


def _json_content(headers: Headers) -> bool:
    kind = headers.get("content-type", "").split(";")[0].strip().lower()
    return not kind or kind == "application/json" or kind.endswith("+json")


def _error(status: int, error: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": {"error": error, "message": message}}, status_code=status, headers=headers)


def _too_large(limit: int) -> JSONResponse:
    return _error(413, "too_large", f"the request body is over {limit} bytes, the most this API reads")


class Gate:
    """The middleware of the module docstring; ``authenticator`` is the app's (see :func:`install_auth`)."""

    def __init__(self, app: ASGIApp, authenticator: Authenticator, max_body: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.authenticator = authenticator
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = self._refusal(scope)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if scope["method"] not in _BODY_METHODS and "content-length" not in headers:
            await self.app(scope, receive, send)
            return
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body:
            await _too_large(self.max_body)(scope, receive, send)
            return
        body, more = await self._read(receive)
        if body is None:
            await _too_large(self.max_body)(scope, receive, send)
            return
        if body and scope["path"] not in RAW_JSON_PATHS and _json_content(headers):
            try:
                strict_loads(body)
            except FieldErrors as exc:
                await JSONResponse({"detail": exc.jsonable()}, status_code=422)(scope, receive, send)
                return
            except ValueError as exc:  # not JSON at all (UnicodeDecodeError is one too)
                problem = {"type": "json_invalid", "loc": ["body"], "msg": f"the body is not JSON: {exc}"}
                await JSONResponse({"detail": [jsonable_error(problem)]}, status_code=422)(scope, receive, send)
                return
        await self.app(scope, _replay(body, more, receive), send)

    def _refusal(self, scope: Scope) -> JSONResponse | None:
        """The 400 or 401 for a request, or None when it may go on."""
        query = [name for name, _ in parse_qsl(scope.get("query_string", b"").decode("latin-1"), True)]
        if (name := url_token(query)) is not None:
            message = f"tokens in the URL are refused (?{name}=): send Authorization: Bearer <token>"
            return _error(400, "token_in_url", message)
        path = scope["path"]
        if scope["method"] in ("GET", "HEAD") and (path in (LIVEZ, UI_PAGE) or path.startswith(UI_FILES)):
            return None
        scheme, _, token = Headers(scope=scope).get("authorization", "").partition(" ")
        presented = token.strip() if scheme.lower() == "bearer" and token.strip() else None
        if self.authenticator.principal(presented) is not None:
            return None
        client = scope.get("client")
        reason = "unknown token" if presented else "no bearer token"
        REFUSALS.refused(f"{scope['method']} {scope['path']}", client[0] if client else "unknown", reason)
        headers = {"WWW-Authenticate": "Bearer"}
        return _error(401, "unauthorized", f"{reason}: send Authorization: Bearer <token>", headers)

    async def _read(self, receive: Receive) -> tuple[bytes | None, Message | None]:
        """The whole body, or None once it passes the limit; and a disconnect that came instead of more."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return b"".join(chunks), message
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                return None, None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks), None


def _replay(body: bytes, disconnect: Message | None, receive: Receive) -> Receive:
    """A ``receive`` that gives the body read already, then whatever the client sends next."""
    pending: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]
    if disconnect is not None:
        pending.append(disconnect)

    async def replay() -> Message:
        return pending.pop(0) if pending else await receive()

    return replay
