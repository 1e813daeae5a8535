"""Per-token rate limits: a token bucket per API token, sized by the token's role.

A bucket holds up to ``burst`` requests and refills at ``rate`` per second; a request takes one (or
``cost``). An empty bucket answers 429 with ``Retry-After`` (whole seconds, at least 1) telling when
the request would pass. Buckets are keyed by the token's name, so each token has its own budget.

Configuration: :data:`DEFAULT_LIMITS`, overridden per role by
``HYBRID_RATE_LIMITS="viewer=10/20,trader=20/40,admin=20/40"`` (``role=rate/burst``; roles left out
keep their default). Routes declare ``Depends(rate_limited("trader"))``, which also authenticates.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import cache

from fastapi import Depends, FastAPI, HTTPException, Request, status

from hybrid.api.auth import ROLES, Principal, Role, http_error, require_role

LIMITS_ENV = "HYBRID_RATE_LIMITS"


@dataclass(frozen=True, slots=True)
class RateLimit:
    """``rate`` requests per second on average, up to ``burst`` at once."""

    rate: float
    burst: int

    def __post_init__(self) -> None:
        if not (math.isfinite(self.rate) and self.rate > 0):
            raise ValueError(f"rate must be a positive number of requests per second, got {self.rate!r}")
        if self.burst < 1:
            raise ValueError(f"burst must be at least 1, got {self.burst!r}")


DEFAULT_LIMITS: Mapping[Role, RateLimit] = {
    "viewer": RateLimit(rate=10, burst=20),
    "trader": RateLimit(rate=20, burst=40),
    "admin": RateLimit(rate=20, burst=40),
}


def parse_limits(value: str) -> dict[Role, RateLimit]:
    """``role=rate/burst`` entries, comma-separated, over :data:`DEFAULT_LIMITS`."""
    limits = dict(DEFAULT_LIMITS)
    for entry in filter(None, (part.strip() for part in value.split(","))):
        role, _, numbers = entry.partition("=")
        rate, _, burst = numbers.partition("/")
        if role not in ROLES:
            raise ValueError(f"{LIMITS_ENV}: role must be one of {', '.join(ROLES)}, got {role!r}")
        try:
            limits[role] = RateLimit(float(rate), int(burst))
        except ValueError as exc:
            raise ValueError(f"{LIMITS_ENV}: {entry!r} must be role=rate/burst ({exc})") from None
    return limits


class RateLimiter:
    """Token buckets per principal. ``clock`` returns seconds (monotonic); tests inject their own."""

    def __init__(
        self, limits: Mapping[Role, RateLimit] = DEFAULT_LIMITS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        missing = [role for role in ROLES if role not in limits]
        if missing:
            raise ValueError(f"rate limits missing for role {', '.join(missing)}")
        self.limits = dict(limits)
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # name -> (tokens left, when)
        self._lock = threading.Lock()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> RateLimiter:
        return cls(parse_limits(environ.get(LIMITS_ENV, "")))

    def acquire(self, principal: Principal, cost: float = 1.0) -> float:
        """Take ``cost`` from the principal's bucket: 0.0 when allowed, else the seconds to wait."""
        limit = self.limits[principal.role]
        if not 0 < cost <= limit.burst:
            raise ValueError(f"cost must be in (0, {limit.burst}] for role {principal.role}, got {cost}")
        with self._lock:
            now = self._clock()
            tokens, then = self._buckets.get(principal.name, (float(limit.burst), now))
            tokens = min(float(limit.burst), tokens + (now - then) * limit.rate)
            if tokens >= cost:
                self._buckets[principal.name] = (tokens - cost, now)
                return 0.0
            self._buckets[principal.name] = (tokens, now)
            return (cost - tokens) / limit.rate


def install_rate_limiter(app: FastAPI, limiter: RateLimiter) -> None:
    """Attach ``limiter`` to ``app`` for :func:`rate_limited`."""
    app.state.rate_limiter = limiter


async def get_rate_limiter(request: Request) -> RateLimiter:
    """The app's limiter (a dependency too, e.g. for JSON-RPC batches that charge per call).

    Async so FastAPI resolves it on the event loop instead of a worker thread on every request.
    """
    try:
        return request.app.state.rate_limiter
    except AttributeError:
        raise RuntimeError("no rate limiter: call hybrid.api.ratelimit.install_rate_limiter(app, ...)") from None


def too_many_requests(principal: Principal, wait: float) -> HTTPException:
    """The 429 for a principal that must wait ``wait`` seconds."""
    message = f"token {principal.name!r} is over its rate limit; retry in {wait:.2f} s"
    retry_after = {"Retry-After": str(max(1, math.ceil(wait)))}
    return http_error(status.HTTP_429_TOO_MANY_REQUESTS, "rate_limited", message, retry_after)


@cache
def rate_limited(role: Role) -> Callable[..., Awaitable[Principal]]:
    """A dependency: :func:`require_role` (401/403), then one request from the token's bucket (429)."""

    async def principal_within_limit(
        principal: Principal = Depends(require_role(role)),
        limiter: RateLimiter = Depends(get_rate_limiter),
    ) -> Principal:
        wait = limiter.acquire(principal)
        if wait > 0:
            raise too_many_requests(principal, wait)
        return principal

    return principal_within_limit
