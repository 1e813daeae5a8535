"""JSON-RPC 2.0 at /rpc over real HTTP: the REST operations by name, batches, notifications, error codes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from hybrid.api import errors
from hybrid.api.context import ApiContext
from hybrid.api.operations import OPERATIONS
from hybrid.api.ratelimit import RateLimit
from tests.support.api import ADMIN, TRADER, VIEWER, Market, auth, make_context, market, second, serve

pytestmark = pytest.mark.slow  # a backtest, a server or a subprocess per test


def call(method: str, params: object = None, id_: object = 1) -> dict:
    request = {"jsonrpc": "2.0", "method": method, "id": id_}
    if params is not None:
        request["params"] = params
    return request


@pytest.fixture(scope="module")
def context(small_catalog: Path, tmp_path_factory: pytest.TempPathFactory) -> ApiContext:
    return make_context(small_catalog, tmp_path_factory.mktemp("api-rpc") / "state.sqlite")


@pytest.fixture(scope="module")
def facts(context: ApiContext) -> Market:
    return market(context.view)


def open_intent(facts: Market, **changes: object) -> dict:
    market_order = {"execution": {"type": "market"}}
    return {"kind": "open", "underlying": "SPY", "structure": facts.spread, "units": 1, **market_order, **changes}


@pytest.fixture(scope="module")
def url(context: ApiContext) -> Iterator[str]:
    with serve(context) as base:
        yield base


def rpc(url: str, payload: object, token: str = TRADER) -> httpx.Response:
    return httpx.post(f"{url}/rpc", json=payload, headers=auth(token), timeout=30)


def test_every_rest_operation_is_a_method() -> None:
    assert {
        "orders.submit",
        "orders.cancel",
        "groups.close",
        "groups.close_all",
        "groups.roll",
        "groups.pause",
        "templates.create",
        "chain.quotes",
        "analysis.analyze",
        "actions.list",
        "fill_stats.table",
        "health.get",
    } <= set(OPERATIONS)


def test_a_call_gives_what_rest_gives(url: str, facts: Market) -> None:
    submitted = rpc(url, call("orders.submit", open_intent(facts), "a")).json()
    assert submitted["id"] == "a" and submitted["result"]["status"] == "queued"
    order_id = submitted["result"]["order_id"]
    rest = httpx.get(f"{url}/api/v1/orders/{order_id}", headers=auth(VIEWER)).json()
    assert rest == submitted["result"]
    groups = rpc(url, call("groups.list", {"status": "open"}), VIEWER).json()["result"]
    assert [g["group_id"] for g in groups] == [facts.open_group]
    history = rpc(url, call("groups.history", {"group_id": facts.open_group, "limit": 5}), VIEWER).json()["result"]
    rest_history = httpx.get(f"{url}/api/v1/groups/{facts.open_group}/history?limit=5", headers=auth(VIEWER)).json()
    assert history == rest_history and history["root_id"] == facts.open_group
    portfolio = rpc(url, call("portfolio.history", {"lineages": True}), VIEWER).json()["result"]
    assert portfolio == httpx.get(f"{url}/api/v1/portfolio/history?lineages=true", headers=auth(VIEWER)).json()


def test_batch_keeps_order_and_skips_notifications(url: str) -> None:
    batch = [
        call("health.get", id_=1),
        {"jsonrpc": "2.0", "method": "health.get"},  # a notification: runs, no answer
        call("strategies.get", {"name": "iron_condor"}, 2),
        call("no.such", id_=3),
    ]
    answers = rpc(url, batch).json()
    assert [a["id"] for a in answers] == [1, 2, 3]
    assert answers[1]["result"]["name"] == "iron_condor"
    assert answers[2]["error"]["code"] == errors.METHOD_NOT_FOUND
    only_notifications = rpc(url, [{"jsonrpc": "2.0", "method": "health.get"}])
    assert only_notifications.status_code == 204 and only_notifications.content == b""


def test_standard_error_codes(url: str, facts: Market) -> None:
    parse = httpx.post(f"{url}/rpc", content=b"{not json", headers=auth(VIEWER) | {"Content-Type": "application/json"})
    assert parse.json() == {"jsonrpc": "2.0", "error": parse.json()["error"], "id": None}
    assert parse.json()["error"]["code"] == errors.PARSE_ERROR
    assert rpc(url, []).json()["error"]["code"] == errors.INVALID_REQUEST
    assert rpc(url, [1]).json()[0]["error"]["code"] == errors.INVALID_REQUEST
    old_version = {"jsonrpc": "1.0", "method": "health.get", "id": 1}
    assert rpc(url, old_version).json()["error"]["code"] == errors.INVALID_REQUEST
    assert rpc(url, {"jsonrpc": "2.0", "method": 5, "id": 1}).json()["error"]["code"] == errors.INVALID_REQUEST
    positional = rpc(url, call("orders.list", [10])).json()["error"]
    assert positional["code"] == errors.INVALID_PARAMS
    invalid = rpc(url, call("orders.list", {"limit": 0})).json()["error"]
    assert invalid["code"] == errors.INVALID_PARAMS and invalid["data"]["errors"][0]["loc"] == ["params", "limit"]
    low, high = facts.spread["strikes"]
    strike, nearest = facts.unlisted_strike(low)
    unlisted_spread = open_intent(facts, structure={**facts.spread, "strikes": [strike, high]})
    unlisted = rpc(url, call("orders.submit", unlisted_spread)).json()["error"]
    assert unlisted["code"] == errors.INVALID_PARAMS
    (error,) = unlisted["data"]["errors"]
    assert error["loc"] == ["params", "open", "structure", "catalogue", "strikes", 0]
    assert error["msg"].endswith(nearest)
    missing = rpc(url, call("orders.get", {"order_id": "abc"})).json()["error"]
    assert missing["code"] == errors.NOT_FOUND
    first = rpc(url, call("orders.submit", open_intent(facts, idempotency_key="k"))).json()
    assert "result" in first
    conflict = rpc(url, call("orders.submit", open_intent(facts, units=2, idempotency_key="k"))).json()["error"]
    assert conflict["code"] == errors.CONFLICT


def test_roles_are_checked_per_call(url: str, facts: Market) -> None:
    answers = rpc(url, [call("orders.submit", open_intent(facts), 1), call("orders.list", {}, 2)], VIEWER).json()
    assert answers[0]["error"]["code"] == errors.FORBIDDEN and "needs trader" in answers[0]["error"]["message"]
    assert isinstance(answers[1]["result"], list)
    admin_only = rpc(url, call("groups.pause", {"group_id": facts.open_group}), TRADER).json()
    assert admin_only["error"]["code"] == errors.FORBIDDEN
    paused = rpc(url, call("groups.pause", {"group_id": facts.open_group}), ADMIN).json()
    assert paused["result"]["state"]["paused"]
    assert httpx.post(f"{url}/rpc", json=call("health.get")).status_code == 401


def test_rate_limit_is_charged_per_call_in_a_batch(context: ApiContext) -> None:
    tight = {role: RateLimit(rate=0.01, burst=3) for role in ("viewer", "trader", "admin")}
    with serve(second(context), tight) as base:
        answers = rpc(base, [call("health.get", id_=n) for n in range(5)], VIEWER).json()
    assert ["result" in a for a in answers] == [True, True, True, False, False]
    assert answers[3]["error"]["code"] == errors.RATE_LIMITED and answers[3]["error"]["data"]["retry_after"] > 0
