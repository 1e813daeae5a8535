"""Per-token rate limits: token buckets per role, 429 with Retry-After; time comes from a fake clock."""

from __future__ import annotations

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from hybrid.api.auth import Principal, TokenRegistry, generate_token, install_auth, parse_tokens_env
from hybrid.api.ratelimit import (
    DEFAULT_LIMITS,
    LIMITS_ENV,
    RateLimit,
    RateLimiter,
    install_rate_limiter,
    parse_limits,
    rate_limited,
)

VIEWER, TRADER, OTHER_TRADER = (generate_token() for _ in range(3))
LIMITS = {"viewer": RateLimit(rate=2, burst=3), "trader": RateLimit(rate=10, burst=5), "admin": RateLimit(100, 100)}


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_allows_its_burst_then_refills_at_its_rate():
    clock = FakeClock()
    limiter = RateLimiter(LIMITS, clock)
    vera = Principal("vera", "viewer")
    assert [limiter.acquire(vera) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.acquire(vera) == pytest.approx(0.5)  # one request at 2/s
    clock.now += 0.25
    assert limiter.acquire(vera) == pytest.approx(0.25)
    clock.now += 0.25
    assert limiter.acquire(vera) == 0.0
    clock.now += 3600  # a long pause fills the bucket to its burst, no more
    assert [limiter.acquire(vera) for _ in range(4)][-1] == pytest.approx(0.5)


def test_each_token_has_its_own_bucket_sized_by_its_role():
    limiter = RateLimiter(LIMITS, FakeClock())
    tom, tina, vera = Principal("tom", "trader"), Principal("tina", "trader"), Principal("vera", "viewer")
    assert all(limiter.acquire(tom) == 0.0 for _ in range(5))
    assert limiter.acquire(tom) == pytest.approx(0.1)
    assert limiter.acquire(tina) == 0.0
    assert all(limiter.acquire(vera) == 0.0 for _ in range(3))


def test_a_request_may_cost_more_than_one_but_never_more_than_the_burst():
    limiter = RateLimiter(LIMITS, FakeClock())
    tom = Principal("tom", "trader")
    assert limiter.acquire(tom, cost=4) == 0.0
    assert limiter.acquire(tom, cost=2) == pytest.approx(0.1)
    for cost in (0, 6):
        with pytest.raises(ValueError, match=r"cost must be in \(0, 5\]"):
            limiter.acquire(tom, cost=cost)


def test_limits_are_configured_per_role_from_the_environment():
    limiter = RateLimiter.from_env({LIMITS_ENV: "viewer=1.5/4, admin=50/60"})
    assert limiter.limits == {**DEFAULT_LIMITS, "viewer": RateLimit(1.5, 4), "admin": RateLimit(50, 60)}
    assert RateLimiter.from_env({}).limits == DEFAULT_LIMITS


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("root=1/2", "role must be one of viewer, trader, admin, got 'root'"),
        ("viewer=fast/2", "'viewer=fast/2' must be role=rate/burst"),
        ("viewer=1", "'viewer=1' must be role=rate/burst"),
        ("viewer=0/2", "rate must be a positive number"),
        ("viewer=1/0", "burst must be at least 1"),
        ("viewer=inf/2", "rate must be a positive number"),
    ],
)
def test_bad_limits_are_clear_errors(value, words):
    with pytest.raises(ValueError, match=words):
        parse_limits(value)


def test_every_role_needs_a_limit():
    with pytest.raises(ValueError, match="missing for role admin"):
        RateLimiter({"viewer": RateLimit(1, 1), "trader": RateLimit(1, 1)})


@pytest.fixture
def app_and_clock():
    clock = FakeClock()
    app = FastAPI()
    tokens = f"vera:viewer:{VIEWER},tom:trader:{TRADER},tina:trader:{OTHER_TRADER}"
    install_auth(app, TokenRegistry(parse_tokens_env(tokens)), host="127.0.0.1")
    install_rate_limiter(app, RateLimiter(LIMITS, clock))

    @app.post("/orders")
    async def submit(who: Principal = Depends(rate_limited("trader"))) -> dict:
        return {"name": who.name}

    return app, clock


def test_the_dependency_answers_429_with_retry_after_until_the_bucket_refills(app_and_clock):
    app, clock = app_and_clock
    with TestClient(app) as client:
        tom = {"Authorization": f"Bearer {TRADER}"}
        assert [client.post("/orders", headers=tom).status_code for _ in range(5)] == [200] * 5
        limited = client.post("/orders", headers=tom)
        assert limited.status_code == 429
        assert limited.headers["retry-after"] == "1"  # 0.1 s rounds up to whole seconds
        assert limited.json()["detail"] == {
            "error": "rate_limited",
            "message": "token 'tom' is over its rate limit; retry in 0.10 s",
        }
        assert client.post("/orders", headers={"Authorization": f"Bearer {OTHER_TRADER}"}).status_code == 200
        clock.now += 0.1
        assert client.post("/orders", headers=tom).json() == {"name": "tom"}


def test_authentication_comes_before_the_limit(app_and_clock):
    app, _ = app_and_clock
    with TestClient(app) as client:
        assert client.post("/orders").status_code == 401
        assert client.post("/orders", headers={"Authorization": f"Bearer {VIEWER}"}).status_code == 403


def test_retry_after_is_whole_seconds_rounded_up():
    clock = FakeClock()
    app = FastAPI()
    install_auth(app, TokenRegistry(parse_tokens_env(f"vera:viewer:{VIEWER}")), host="127.0.0.1")
    install_rate_limiter(app, RateLimiter({**LIMITS, "viewer": RateLimit(rate=0.4, burst=1)}, clock))

    @app.get("/read")
    async def read(who: Principal = Depends(rate_limited("viewer"))) -> dict:
        return {"name": who.name}

    with TestClient(app) as client:
        vera = {"Authorization": f"Bearer {VIEWER}"}
        assert client.get("/read", headers=vera).status_code == 200
        assert client.get("/read", headers=vera).headers["retry-after"] == "3"  # 2.5 s
        clock.now += 2.5
        assert client.get("/read", headers=vera).status_code == 200


def test_an_app_without_a_limiter_says_how_to_install_one():
    app = FastAPI()
    install_auth(app, TokenRegistry(parse_tokens_env(f"vera:viewer:{VIEWER}")), host="127.0.0.1")

    @app.get("/read")
    async def read(who: Principal = Depends(rate_limited("viewer"))) -> dict:
        return {"name": who.name}

    with (
        TestClient(app, raise_server_exceptions=True) as client,
        pytest.raises(RuntimeError, match="install_rate_limiter"),
    ):
        client.get("/read", headers={"Authorization": f"Bearer {VIEWER}"})
