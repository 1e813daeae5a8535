"""API tokens with roles, checked in constant time, and the FastAPI dependencies that enforce them.

Roles, each including the one before: ``viewer`` reads; ``trader`` also submits, cancels and closes;
``admin`` also manages templates, risk and overrides.

Where tokens come from (never from the code or the repository; both sources may be used together,
names and tokens must be unique across them):

- ``HYBRID_API_TOKENS="alice:trader:<token>,ops:admin:<token>"`` (comma-separated ``name:role:token``);
- ``HYBRID_API_TOKENS_FILE``, the path of a file kept outside git (``chmod 600``), TOML or JSON by
  its suffix::

      # tokens.toml                              // tokens.json
      [[tokens]]                                 {"tokens": [
      name = "alice"                               {"name": "alice", "role": "trader", "token": "..."}
      role = "trader"                            ]}
      token = "..."

A token is at least 32 characters of ``A-Z a-z 0-9 - _``; ``python -m hybrid.api.auth NAME ROLE``
prints a fresh ``name:role:token`` entry. Only token *names* are ever logged.

Presenting a token: ``Authorization: Bearer <token>`` over HTTP. A WebSocket takes the same header
or, since browsers cannot set headers on a WebSocket, the subprotocol pair ``["bearer", "<token>"]``
(``new WebSocket(url, ["bearer", token])``); the server then accepts with subprotocol ``bearer``.
A token in any URL is refused (REST: 400 from :mod:`hybrid.api.gate`; WebSocket: closed with 1008): it
would be written to access logs. A refused WebSocket handshake is accepted and then closed with 1008 and a
reason, so the client can read why (an HTTP 403 to the upgrade carries none a browser can see).

Refusals are logged at most once per :data:`REFUSAL_LOG_INTERVAL` seconds (:class:`RefusalLog`): a client
hammering without a token cannot flood the log; the next line counts what was left out.

Fail closed: :func:`install_auth` refuses to start an app with no tokens configured unless
``insecure_local`` is set (the runner's ``--insecure-local`` flag), which is honoured only on a
loopback host and makes every request an ``admin`` named ``insecure-local``.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import os
import secrets
import stat
import sys
import threading
import time
import tomllib
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

from fastapi import FastAPI, HTTPException, Request, Security, WebSocket, WebSocketException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, ValidationError

log = logging.getLogger(__name__)

TOKENS_ENV = "HYBRID_API_TOKENS"
TOKENS_FILE_ENV = "HYBRID_API_TOKENS_FILE"
WS_SUBPROTOCOL = "bearer"
INSECURE_PRINCIPAL = "insecure-local"
MIN_TOKEN_LENGTH = 32
REFUSAL_LOG_INTERVAL = 10.0  # seconds between two logged auth refusals; the ones between are counted
URL_TOKEN_PARAMS = frozenset({"token", "access_token", "api_key", "apikey", "bearer"})

Role = Literal["viewer", "trader", "admin"]
ROLES: tuple[Role, ...] = ("viewer", "trader", "admin")  # each includes the ones before it


class AuthConfigError(ValueError):
    """The token configuration is unusable; the message names the source and the field, never a token."""


class ApiToken(BaseModel):
    """One configured token. ``token`` is a secret: it never appears in a repr, a log or an error."""

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    name: str = Field(pattern=r"^[A-Za-z0-9._-]{1,64}$")
    role: Role
    token: str = Field(min_length=MIN_TOKEN_LENGTH, max_length=512, pattern=r"^[A-Za-z0-9_-]+$", repr=False)


class _TokenFile(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    tokens: list[ApiToken] = Field(min_length=1)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who made a request: the token's name and role."""

    name: str
    role: Role

    def allows(self, role: Role) -> bool:
        """Whether this principal's role includes ``role``."""
        return ROLES.index(self.role) >= ROLES.index(role)


def _describe(exc: ValidationError, source: str) -> str:
    problems = "; ".join(
        f"{'.'.join(str(p) for p in error['loc']) or 'file'}: {error['msg']}"
        for error in exc.errors(include_input=False, include_url=False)
    )
    return f"{source}: {problems}"


def parse_tokens_env(value: str) -> list[ApiToken]:
    """Entries of ``HYBRID_API_TOKENS`` (``name:role:token``, comma-separated)."""
    tokens = []
    for index, entry in enumerate(filter(None, (part.strip() for part in value.split(","))), start=1):
        fields = entry.split(":")
        if len(fields) != 3:
            raise AuthConfigError(f"{TOKENS_ENV} entry {index} must be name:role:token")
        name, role, token = fields
        try:
            tokens.append(ApiToken.model_validate({"name": name, "role": role, "token": token}))
        except ValidationError as exc:
            raise AuthConfigError(_describe(exc, f"{TOKENS_ENV} entry {index}")) from None
    return tokens


def load_tokens_file(path: str | Path) -> list[ApiToken]:
    """Tokens from a TOML or JSON file (``{"tokens": [{"name", "role", "token"}, ...]}``)."""
    path = Path(path)
    loaders = {".toml": tomllib.loads, ".json": json.loads}
    loader = loaders.get(path.suffix.lower())
    if loader is None:
        raise AuthConfigError(f"{TOKENS_FILE_ENV}: {path} must end in .toml or .json")
    try:
        data = loader(path.read_text())
    except OSError as exc:
        raise AuthConfigError(f"{TOKENS_FILE_ENV}: cannot read {path}: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise AuthConfigError(f"{TOKENS_FILE_ENV}: {path} is not valid {path.suffix[1:]}: {exc}") from None
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        log.warning("%s is readable by other users; chmod 600 it", path)
    try:
        return _TokenFile.model_validate(data).tokens
    except ValidationError as exc:
        raise AuthConfigError(_describe(exc, str(path))) from None


def _digest(token: str) -> bytes:
    # Comparing fixed-length digests keeps the comparison time independent of the token's length.
    return hashlib.sha256(token.encode()).digest()


class TokenRegistry:
    """The configured tokens, kept as SHA-256 digests; looks a presented token up in constant time."""

    def __init__(self, tokens: Iterable[ApiToken]) -> None:
        self._entries: list[tuple[bytes, Principal]] = []
        names: set[str] = set()
        for entry in tokens:
            digest = _digest(entry.token)
            if entry.name in names:
                raise AuthConfigError(f"token name {entry.name!r} is configured twice")
            if any(hmac.compare_digest(digest, known) for known, _ in self._entries):
                raise AuthConfigError(f"token {entry.name!r} reuses another name's token; give each its own")
            names.add(entry.name)
            self._entries.append((digest, Principal(entry.name, entry.role)))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> TokenRegistry:
        """Tokens from ``HYBRID_API_TOKENS`` and the file named by ``HYBRID_API_TOKENS_FILE``."""
        tokens = parse_tokens_env(environ.get(TOKENS_ENV, ""))
        if path := environ.get(TOKENS_FILE_ENV):
            tokens += load_tokens_file(path)
        return cls(tokens)

    def __len__(self) -> int:
        return len(self._entries)

    def authenticate(self, token: str) -> Principal | None:
        """The principal whose token this is, or ``None``; compares against every token, no early exit."""
        presented = _digest(token)
        found = None
        for digest, principal in self._entries:
            if hmac.compare_digest(presented, digest):
                found = principal
        return found


def is_loopback(host: str) -> bool:
    """Whether ``host`` only listens on this machine (127.0.0.0/8, ::1 or ``localhost``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class RefusalLog:
    """Auth refusals, logged at most once per ``interval`` seconds with the count of those left out."""

    def __init__(self, interval: float = REFUSAL_LOG_INTERVAL, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval
        self._clock = clock
        self._last: float | None = None
        self._skipped = 0
        self._lock = threading.Lock()

    def refused(self, what: str, client: str, reason: str) -> None:
        """Log one refusal (``what``: method and path), unless one was logged less than ``interval`` ago."""
        with self._lock:
            now = self._clock()
            if self._last is not None and now - self._last < self.interval:
                self._skipped += 1
                return
            skipped, self._skipped, self._last = self._skipped, 0, now
        more = f" ({skipped} more refused since the last line)" if skipped else ""
        log.warning("refused %s from %s: %s%s", what, client, reason, more)


REFUSALS = RefusalLog()  # one per process: what matters is how much reaches the log


def url_token(query: Mapping[str, str] | Iterable[str]) -> str | None:
    """The name of a query parameter that looks like a token (``token``, ``access_token``, ...), or None."""
    return next((name for name in query if name.lower() in URL_TOKEN_PARAMS), None)


@dataclass(frozen=True, slots=True)
class Authenticator:
    """What :func:`install_auth` keeps on the app: the tokens, or the explicit insecure local mode."""

    registry: TokenRegistry
    insecure_local: bool

    def principal(self, token: str | None) -> Principal | None:
        if self.insecure_local:
            return Principal(INSECURE_PRINCIPAL, "admin")
        return None if token is None else self.registry.authenticate(token)


def install_auth(app: FastAPI, registry: TokenRegistry, *, host: str, insecure_local: bool = False) -> Authenticator:
    """Attach the tokens to ``app``; fail closed when there are none.

    With no tokens the app refuses to start (:class:`AuthConfigError`) unless ``insecure_local`` is
    set and ``host`` is a loopback address; then every request is an admin. With tokens configured,
    ``insecure_local`` changes nothing.
    """
    if len(registry) == 0:
        if not insecure_local:
            raise AuthConfigError(
                f"no API tokens configured: set {TOKENS_ENV} or {TOKENS_FILE_ENV} "
                "(python -m hybrid.api.auth NAME ROLE prints an entry), or run with --insecure-local "
                "on 127.0.0.1 to allow every local request as admin"
            )
        if not is_loopback(host):
            raise AuthConfigError(f"--insecure-local only binds a loopback host such as 127.0.0.1, not {host!r}")
        log.warning("API auth is OFF (--insecure-local): every request on %s is an admin", host)
    authenticator = Authenticator(registry, insecure_local=len(registry) == 0)
    app.state.authenticator = authenticator
    return authenticator


def _authenticator(app: FastAPI) -> Authenticator:
    try:
        return app.state.authenticator
    except AttributeError:
        raise RuntimeError("API auth is not installed: call hybrid.api.auth.install_auth(app, ...)") from None


def http_error(code: int, error: str, message: str, headers: dict[str, str] | None = None) -> HTTPException:
    """The API's error shape for auth and limits: ``{"detail": {"error": <code word>, "message": ...}}``."""
    return HTTPException(code, detail={"error": error, "message": message}, headers=headers)


def check_role(principal: Principal, role: Role) -> None:
    """A 403 ``HTTPException`` unless ``principal`` has ``role`` (JSON-RPC uses :meth:`Principal.allows`)."""
    if not principal.allows(role):
        wanted = " or ".join(ROLES[ROLES.index(role) :])
        message = f"token {principal.name!r} has role {principal.role}; this needs {wanted}"
        raise http_error(status.HTTP_403_FORBIDDEN, "forbidden", message)


def _known_role(role: str) -> None:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, got {role!r}")


_bearer = HTTPBearer(auto_error=False, description="An API token: `Authorization: Bearer <token>`")


@cache
def require_role(role: Role) -> Callable[..., Awaitable[Principal]]:
    """A dependency: the request's :class:`Principal`; 401 without a known bearer token, 403 below ``role``.

    ``Depends(require_role("trader"))``; the same role gives the same dependency, so FastAPI runs it
    once per request however many times it is declared.
    """
    _known_role(role)

    async def principal_with_role(
        request: Request, credentials: HTTPAuthorizationCredentials | None = Security(_bearer)
    ) -> Principal:
        principal = _authenticator(request.app).principal(credentials.credentials if credentials else None)
        if principal is None:
            client = request.client.host if request.client else "unknown"
            reason = "unknown token" if credentials else "no bearer token"
            REFUSALS.refused(f"{request.method} {request.url.path}", client, reason)
            message = f"{reason}: send Authorization: Bearer <token>"
            raise http_error(status.HTTP_401_UNAUTHORIZED, "unauthorized", message, {"WWW-Authenticate": "Bearer"})
        check_role(principal, role)
        return principal

    return principal_with_role


def _ws_token(websocket: WebSocket) -> str | None:
    scheme, _, value = websocket.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    offered = websocket.scope.get("subprotocols") or []
    if WS_SUBPROTOCOL in offered:
        return next((p for p in offered if p != WS_SUBPROTOCOL), None)
    return None


def ws_subprotocol(websocket: WebSocket) -> str | None:
    """The subprotocol to accept with: ``"bearer"`` when the client sent its token that way, else None."""
    return WS_SUBPROTOCOL if WS_SUBPROTOCOL in (websocket.scope.get("subprotocols") or []) else None


@cache
def require_ws_role(role: Role) -> Callable[..., Awaitable[Principal]]:
    """The WebSocket twin of :func:`require_role`: an unauthorised handshake is accepted, then closed with
    1008 and a reason saying what to change."""
    _known_role(role)

    async def ws_principal_with_role(websocket: WebSocket) -> Principal:
        reason = None
        principal = _authenticator(websocket.app).principal(_ws_token(websocket))
        if (name := url_token(websocket.query_params)) is not None:
            reason = f"tokens in the URL are refused (?{name}=): send it as a subprotocol or header"
        elif principal is None:
            client = websocket.client.host if websocket.client else "unknown"
            REFUSALS.refused(f"WebSocket {websocket.url.path}", client, "no known token")
            reason = "a known API token is required: subprotocols ['bearer', <token>] or Authorization: Bearer"
        elif not principal.allows(role):
            reason = f"token {principal.name!r} has role {principal.role}; this needs {role}"
        if reason is not None or principal is None:
            await websocket.accept(subprotocol=ws_subprotocol(websocket))
            raise WebSocketException(status.WS_1008_POLICY_VIOLATION, reason)
        return principal

    return ws_principal_with_role


def generate_token() -> str:
    """A fresh random token (256 bits, URL-safe), for ``HYBRID_API_TOKENS`` or the tokens file."""
    return secrets.token_urlsafe(32)


def main(argv: list[str]) -> int:
    """``python -m hybrid.api.auth NAME ROLE``: print a ``name:role:token`` entry with a new token."""
    if len(argv) != 2 or argv[1] not in ROLES:
        print(f"usage: python -m hybrid.api.auth NAME {{{','.join(ROLES)}}}", file=sys.stderr)
        return 2
    try:
        entry = ApiToken(name=argv[0], role=argv[1], token=generate_token())
    except ValidationError as exc:
        print(_describe(exc, "NAME"), file=sys.stderr)
        return 2
    print(f"{entry.name}:{entry.role}:{entry.token}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
