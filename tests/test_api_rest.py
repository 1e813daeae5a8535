"""The REST API over real HTTP on 127.0.0.1: every router's happy path, auth, field errors, idempotency.

The engine behind it is a finished backtest of the spread demo over the small catalog (engine time
2024-01-05 20:59 UTC): two closed bull call spread groups and one open, five units of 452/453 calls
expiring 2024-02-02.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from hybrid.api.app import create_app
from hybrid.api.auth import AuthConfigError, TokenRegistry
from hybrid.api.context import ApiContext
from hybrid.api.ratelimit import RateLimit
from hybrid.api.server import ServerThread
from hybrid.execution.fill_stats import Attempt
from hybrid.options.analytics import analyze
from hybrid.options.greeks import implied_volatility
from hybrid.options.legs import Leg
from hybrid.options.pricing import as_of_datetime, years_to_expiry
from tests.api_support import ADMIN, TRADER, VIEWER, auth, make_context, serve

EXPIRY = "2024-02-02"
OPEN_GROUP = "O-20240105-163100-001-000-14"
CLOSED_GROUP = "O-20240102-143000-001-000-1"
SPREAD = {"type": "catalogue", "strategy": "bull_call_spread", "strikes": [450, 455], "expiries": [EXPIRY]}


def open_intent(**changes: object) -> dict:
    return {"kind": "open", "underlying": "SPY", "structure": SPREAD, "units": 1, "execution": {"type": "limit", "price": 2.5}, **changes}


@dataclass
class Api:
    url: str
    context: ApiContext

    def client(self, token: str | None) -> httpx.Client:
        return httpx.Client(base_url=f"{self.url}/api/v1", headers=auth(token) if token else {}, timeout=30)


@pytest.fixture(scope="module")
def api(small_catalog: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    context = make_context(small_catalog, tmp_path_factory.mktemp("api-rest") / "state.sqlite")
    with serve(context) as url:
        yield Api(url, context)


@pytest.fixture(scope="module")
def viewer(api: Api) -> Iterator[httpx.Client]:
    with api.client(VIEWER) as client:
        yield client


@pytest.fixture(scope="module")
def trader(api: Api) -> Iterator[httpx.Client]:
    with api.client(TRADER) as client:
        yield client


@pytest.fixture(scope="module")
def admin(api: Api) -> Iterator[httpx.Client]:
    with api.client(ADMIN) as client:
        yield client


def errors_at(response: httpx.Response) -> dict[tuple, str]:
    assert response.status_code == 422, response.text
    return {tuple(error["loc"]): error["msg"] for error in response.json()["detail"]}


# -- auth -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/health", "/groups", "/orders", "/chain", "/strategies", "/templates"])
def test_every_route_needs_a_known_token(api: Api, path: str) -> None:
    with api.client(None) as anonymous, api.client("x" * 43) as stranger:
        for client in (anonymous, stranger):
            response = client.get(path)
            assert response.status_code == 401
            assert response.headers["WWW-Authenticate"] == "Bearer"
    with httpx.Client(base_url=api.url) as client:
        assert client.get("/openapi.json").status_code == 401
        assert client.get("/openapi.json", headers=auth(VIEWER)).json()["info"]["title"]


def test_roles_gate_trading_and_administration(viewer: httpx.Client, trader: httpx.Client) -> None:
    assert viewer.post("/orders", json=open_intent()).status_code == 403
    assert viewer.post(f"/groups/{OPEN_GROUP}/close", json={"execution": {"type": "market"}}).status_code == 403
    assert trader.post(f"/groups/{OPEN_GROUP}/pause", json={}).status_code == 403
    template = {"name": "t", "order": open_intent(), "schedule": {"kind": "daily", "at": "10:00"}}
    denied = trader.post("/templates", json=template)
    assert denied.status_code == 403
    assert "needs admin" in denied.json()["detail"]["message"]


def test_the_app_refuses_to_start_without_tokens(api: Api) -> None:
    with pytest.raises(AuthConfigError, match="no API tokens configured"):
        create_app(api.context, tokens=TokenRegistry([]))
    with pytest.raises(AuthConfigError, match="loopback"):
        create_app(api.context, tokens=TokenRegistry([]), host="0.0.0.0", insecure_local=True)
    assert create_app(api.context, tokens=TokenRegistry([]), insecure_local=True) is not None


def test_rate_limit_answers_429_with_retry_after(api: Api) -> None:
    tight = {role: RateLimit(rate=0.1, burst=2) for role in ("viewer", "trader", "admin")}
    with serve(api.context, tight) as url, httpx.Client(base_url=f"{url}/api/v1", headers=auth(VIEWER)) as client:
        codes = [client.get("/strategies").status_code for _ in range(3)]
        assert codes == [200, 200, 429]
        limited = client.get("/health")
        assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1


def test_cors_is_closed_unless_origins_are_configured(api: Api) -> None:
    preflight = {"Origin": "http://ui.example", "Access-Control-Request-Method": "GET"}
    with httpx.Client(base_url=api.url) as client:
        assert "access-control-allow-origin" not in client.options("/api/v1/health", headers=preflight).headers
    app = create_app(api.context, tokens=TokenRegistry([]), insecure_local=True, cors_origins=["http://ui.example"])
    with ServerThread(app) as url, httpx.Client(base_url=url) as client:
        allowed = client.options("/api/v1/health", headers=preflight)
        assert allowed.headers["access-control-allow-origin"] == "http://ui.example"


# -- strategies, chain, analysis --------------------------------------------------------------------


def test_strategy_catalogue_lists_gets_and_builds(viewer: httpx.Client) -> None:
    verticals = viewer.get("/strategies", params={"category": "vertical"}).json()
    assert verticals and {s["category"] for s in verticals} == {"vertical"}
    assert viewer.get("/strategies/butterfly_call").json()["name"] == "call_butterfly"
    unknown = viewer.get("/strategies/iron_condr")
    assert unknown.status_code == 404 and "iron_condor" in unknown.json()["detail"]["message"]
    built = viewer.post("/strategies/bull_call_spread/build", json={"strikes": [450, 455], "expiries": [EXPIRY]}).json()
    assert built == {
        "strategy": "bull_call_spread",
        "legs": [
            {"kind": "call", "strike": 450.0, "expiry": EXPIRY, "quantity": 1, "price": None, "iv": None},
            {"kind": "call", "strike": 455.0, "expiry": EXPIRY, "quantity": -1, "price": None, "iv": None},
        ],
    }
    broken = viewer.post("/strategies/bull_call_spread/build", json={"strikes": [455, 450], "expiries": [EXPIRY]})
    assert "must be <" in errors_at(broken)[("body", "strikes")]


def test_chain_expiries_strikes_and_quotes(api: Api, viewer: httpx.Client) -> None:
    expiries = {e["expiry"]: e for e in viewer.get("/chain/SPY/expiries").json()}
    assert expiries[EXPIRY]["dte"] == 28 and expiries[EXPIRY]["calls"] > 10
    strikes = viewer.get("/chain/SPY/strikes", params={"expiry": EXPIRY, "right": "call"}).json()["strikes"]
    assert strikes == sorted(strikes) and 450.0 in strikes
    chain = viewer.get("/chain/SPY/quotes", params={"expiry": EXPIRY, "right": "call"}).json()
    assert chain["as_of"] == "2024-01-05T20:59:00Z" and chain["rate"] == api.context.view.rate
    quote = next(q for q in chain["quotes"] if q["strike"] == 450.0)
    assert quote["bid"] < quote["mid"] < quote["ask"]
    # the vectorised chain IV agrees with NautilusTrader's own solver on the same mid
    years = years_to_expiry(dt.date.fromisoformat(EXPIRY), as_of_datetime(api.context.view.now()))
    reference = implied_volatility(quote["mid"], chain["spot"]["mid"], 450.0, years, True, chain["rate"], chain["dividend"])
    assert quote["iv"] == pytest.approx(reference.iv, rel=1e-4)
    assert 0 < quote["greeks"]["delta"] < 1
    missing = viewer.get("/chain/SPY/quotes", params={"expiry": "2024-02-03"})
    assert errors_at(missing)[("query", "expiry")] == "SPY: expiry 2024-02-03 is not listed; nearest listed: 2024-02-02, 2024-02-09"
    unknown = viewer.get("/chain/QQQ/expiries")
    assert unknown.status_code == 404 and "loaded: SPY" in unknown.json()["detail"]["message"]


def test_analysis_prices_legs_from_the_chain(api: Api, viewer: httpx.Client) -> None:
    result = viewer.post("/analysis", json={"underlying": "SPY", "structure": SPREAD}).json()
    long_leg, short_leg = (leg["quote"] for leg in result["legs"])
    assert result["figures"]["net_premium"] == pytest.approx((long_leg["mid"] - short_leg["mid"]) * 100)
    assert result["market"]["ask"] == pytest.approx((long_leg["ask"] - short_leg["bid"]) * 100)
    # the same legs through the analytics directly give the same figures
    legs = [Leg(**leg["leg"] | {"expiry": dt.date.fromisoformat(leg["leg"]["expiry"])}) for leg in result["legs"]]
    direct = analyze(legs, spot=result["spot"], vol=result["vol"], rate=result["rate"], dividend=result["dividend"], as_of=api.context.view.now())
    assert result["figures"]["max_profit"] == pytest.approx(direct.max_profit)
    assert result["figures"]["breakevens"] == pytest.approx(list(direct.breakevens))
    natural = viewer.post("/analysis", json={"underlying": "SPY", "structure": SPREAD, "price_at": "natural"}).json()
    assert natural["figures"]["net_premium"] == pytest.approx(result["market"]["ask"])
    wrong = viewer.post("/analysis", json={"underlying": "SPY", "structure": {**SPREAD, "strikes": [450, 455.5]}})
    assert errors_at(wrong)[("body", "structure", "catalogue", "strikes", 1)].endswith("nearest listed: 455, 456")


def test_preview_validates_like_a_submission_and_queues_nothing(api: Api, viewer: httpx.Client) -> None:
    before = len(api.context.queue.list(limit=1000))
    preview = viewer.post("/analysis/preview", json=open_intent(units=3)).json()
    assert preview["market_total"]["mid"] == pytest.approx(3 * preview["market_per_unit"]["mid"])
    assert preview["limit_vs_mid"] == pytest.approx(2.5 - preview["market_per_unit"]["mid"] / 100)
    assert len(api.context.queue.list(limit=1000)) == before
    unlisted = viewer.post("/analysis/preview", json=open_intent(structure={**SPREAD, "expiries": ["2024-02-03"]}))
    assert "nearest listed: 2024-02-02, 2024-02-09" in errors_at(unlisted)[("body", "structure", "catalogue", "expiries", 0)]


# -- orders -----------------------------------------------------------------------------------------


def test_submit_queues_the_order_and_journals_it(trader: httpx.Client, viewer: httpx.Client) -> None:
    response = trader.post("/orders", json=open_intent())
    assert response.status_code == 201
    order = response.json()
    assert order["status"] == "queued" and order["submitted_by"] == "tom"
    assert response.headers["Location"].endswith(f"/api/v1/orders/{order['order_id']}")
    assert viewer.get(f"/orders/{order['order_id']}").json() == order
    history = viewer.get(f"/orders/{order['order_id']}/history").json()
    assert [(h["previous"], h["status"]) for h in history] == [(None, "accepted"), ("accepted", "queued")]
    assert order["order_id"] in {o["order_id"] for o in viewer.get("/orders", params={"status": "queued"}).json()}
    assert viewer.get("/orders/0123abcd").status_code == 404


def test_idempotency_key_in_header_or_body(trader: httpx.Client) -> None:
    first = trader.post("/orders", json=open_intent(), headers={"Idempotency-Key": "idem-1"})
    again = trader.post("/orders", json=open_intent(idempotency_key="idem-1"))
    assert first.status_code == again.status_code == 201
    assert again.json()["order_id"] == first.json()["order_id"]
    conflict = trader.post("/orders", json=open_intent(units=2), headers={"Idempotency-Key": "idem-1"})
    assert conflict.status_code == 409 and "idem-1" in conflict.json()["detail"]["message"]
    mismatch = trader.post("/orders", json=open_intent(idempotency_key="a"), headers={"Idempotency-Key": "b"})
    assert ("body", "open", "idempotency_key") in errors_at(mismatch)


def test_invalid_orders_get_field_errors(trader: httpx.Client) -> None:
    strike = trader.post("/orders", json=open_intent(structure={**SPREAD, "strikes": [450.5, 455]}))
    assert errors_at(strike)[("body", "open", "structure", "catalogue", "strikes", 0)] == (
        "SPY: strike 450.5 is not listed for calls expiring 2024-02-02; nearest listed: 450, 451"
    )
    rule = trader.post("/orders", json=open_intent(structure={**SPREAD, "strikes": [455, 450]}))
    assert "must be <" in errors_at(rule)[("body", "open", "structure", "catalogue", "strikes")]
    units = trader.post("/orders", json=open_intent(units=10_000))
    assert "at most" in errors_at(units)[("body", "open", "units")]
    price = trader.post("/orders", json=open_intent(execution={"type": "limit", "price": 1e9}))
    assert ("body", "open", "execution", "limit", "price") in errors_at(price)
    underlying = trader.post("/orders", json=open_intent(underlying="QQQ"))
    assert errors_at(underlying)[("body", "open", "underlying")] == "no option chain is loaded for QQQ"
    legs = {"type": "legs", "legs": [{"kind": "put", "strike": 449, "expiry": "2024-02-01", "quantity": 1}]}
    expiry = trader.post("/orders", json=open_intent(structure=legs))
    assert "not listed" in errors_at(expiry)[("body", "open", "structure", "legs", "legs", 0, "expiry")]
    close = trader.post("/orders", json={"kind": "close", "group_id": CLOSED_GROUP, "execution": {"type": "market"}})
    assert "is closed" in errors_at(close)[("body", "close", "group_id")]


def test_cancel_a_queued_order_then_409(trader: httpx.Client, viewer: httpx.Client) -> None:
    order = trader.post("/orders", json=open_intent()).json()
    assert viewer.post(f"/orders/{order['order_id']}/cancel").status_code == 403
    cancelled = trader.post(f"/orders/{order['order_id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert trader.post(f"/orders/{order['order_id']}/cancel").status_code == 409
    assert trader.post("/orders/ffff/cancel").status_code == 404


# -- groups, positions, overrides -------------------------------------------------------------------


def test_groups_positions_and_portfolio(api: Api, viewer: httpx.Client) -> None:
    groups = viewer.get("/groups").json()
    assert [g["status"] for g in groups] == ["closed", "closed", "open"]
    open_group = viewer.get(f"/groups/{OPEN_GROUP}").json()
    assert open_group["underlying"] == "SPY" and open_group["units"] == 5
    assert [(leg["strike"], leg["filled_quantity"]) for leg in open_group["legs"]] == [(452.0, 5), (453.0, -5)]
    assert viewer.get("/groups", params={"status": "open"}).json()[0]["group_id"] == OPEN_GROUP
    assert viewer.get("/groups/nope").status_code == 404
    positions = viewer.get("/positions").json()
    portfolio = viewer.get("/portfolio").json()
    assert portfolio["open_positions"] == len(positions) == 2 and portfolio["open_groups"] == 1
    assert portfolio["greeks"]["delta"] == pytest.approx(sum(p["greeks"]["delta"] for p in positions))
    assert portfolio["greeks"]["delta"] == pytest.approx(open_group["greeks"]["delta"])
    assert portfolio["total_pnl"] == pytest.approx(portfolio["realized_pnl"] + portfolio["unrealized_pnl"])


def test_close_roll_and_close_all_queue_intents(trader: httpx.Client) -> None:
    close = trader.post(f"/groups/{OPEN_GROUP}/close", json={"execution": {"type": "market"}, "units": 2})
    assert close.status_code == 201
    assert close.json()["intent"]["kind"] == "close" and close.json()["intent"]["units"] == 2
    too_many = trader.post(f"/groups/{OPEN_GROUP}/close", json={"execution": {"type": "market"}, "units": 6})
    assert "at most 5" in errors_at(too_many)[("body", "units")]
    assert trader.post(f"/groups/{CLOSED_GROUP}/close", json={"execution": {"type": "market"}}).status_code == 409
    assert trader.post("/groups/nope/close", json={"execution": {"type": "market"}}).status_code == 404
    roll = trader.post(f"/groups/{OPEN_GROUP}/roll", json={"execution": {"type": "market"}, "expiries": ["2024-02-09"]})
    assert roll.status_code == 201 and roll.json()["intent"]["kind"] == "roll"
    unlisted = trader.post(f"/groups/{OPEN_GROUP}/roll", json={"execution": {"type": "market"}, "expiries": ["2024-02-10"]})
    assert "nearest listed: 2024-02-09, 2024-02-16" in errors_at(unlisted)[("body", "expiries", 0)]
    both = trader.post(f"/groups/{OPEN_GROUP}/roll", json={"execution": {"type": "market"}})
    assert "exactly one of expiries or dte" in errors_at(both)[("body", "expiries")]
    window = trader.post(f"/groups/{OPEN_GROUP}/roll", json={"execution": {"type": "market"}, "dte": [{"min_dte": 100, "max_dte": 120}]})
    assert "no expiry 100-120 DTE" in errors_at(window)[("body", "dte", 0)]
    everything = trader.post("/groups/close-all", json={"execution": {"type": "market"}, "idempotency_key": "flat"})
    assert everything.status_code == 201
    (order,) = everything.json()["orders"]
    assert order["intent"]["group_id"] == OPEN_GROUP and order["idempotency_key"] == f"flat:{OPEN_GROUP}"
    resent = trader.post("/groups/close-all", json={"execution": {"type": "market"}, "idempotency_key": "flat"})
    assert [o["order_id"] for o in resent.json()["orders"]] == [order["order_id"]]


def test_overrides_change_management_and_are_logged(admin: httpx.Client, viewer: httpx.Client) -> None:
    paused = admin.post(f"/groups/{OPEN_GROUP}/pause", json={"reason": "earnings"}).json()
    assert paused["state"]["paused"] is True and paused["lineage"]["root_id"] == OPEN_GROUP
    rules = {"stop_loss_pct": -150.0, "profit_tranches": [{"at_pct": 50.0, "fraction": 1.0}]}
    custom = admin.put(f"/groups/{OPEN_GROUP}/rules", json={"rules": rules}).json()
    assert custom["state"]["rules"]["stop_loss_pct"] == -150.0
    bad = admin.put(f"/groups/{OPEN_GROUP}/rules", json={"rules": {"stop_loss_pct": 10}})
    assert ("body", "rules", "stop_loss_pct") in errors_at(bad)
    resumed = admin.post(f"/groups/{OPEN_GROUP}/resume", json={}).json()
    assert resumed["state"]["paused"] is False
    assert viewer.get(f"/groups/{OPEN_GROUP}").json()["management"]["state"]["rules"]["stop_loss_pct"] == -150.0
    actions = viewer.get("/actions", params={"group_id": OPEN_GROUP}).json()
    assert [a["action"] for a in actions] == ["manage", "pause", "set_rules", "resume"]
    assert actions[1]["reason"] == "earnings (by ada)"
    assert viewer.get("/actions", params={"since": "2024-01-05T00:00:00"}).status_code == 422  # no UTC offset
    assert admin.post("/groups/nope/pause", json={}).status_code == 404


# -- templates, fill statistics, health -------------------------------------------------------------


def test_template_crud_with_upcoming_runs(admin: httpx.Client, viewer: httpx.Client) -> None:
    template = {"name": "monday spread", "order": open_intent(), "schedule": {"kind": "weekly", "weekdays": ["mon"], "at": "10:00"}}
    created = admin.post("/templates", json=template)
    assert created.status_code == 201
    body = created.json()
    template_id = body["template_id"]
    assert body["template"]["order"]["source"] == "recurring"
    # Mondays 10:00 New York; 2024-01-15 is Martin Luther King Jr. Day, a market holiday
    assert body["next_runs"][:2] == ["2024-01-08T15:00:00Z", "2024-01-22T15:00:00Z"]
    assert viewer.get(f"/templates/{template_id}", params={"upcoming": 1}).json()["next_runs"] == ["2024-01-08T15:00:00Z"]
    updated = admin.put(f"/templates/{template_id}", json={**template, "schedule": {"kind": "daily", "at": "15:30"}}).json()
    assert updated["next_runs"][0] == "2024-01-08T20:30:00Z"
    assert admin.post(f"/templates/{template_id}/disable").json()["template"]["enabled"] is False
    assert viewer.get("/templates", params={"enabled": "false"}).json()[0]["template_id"] == template_id
    assert admin.post(f"/templates/{template_id}/enable").json()["template"]["enabled"] is True
    assert viewer.get(f"/templates/{template_id}/runs").json() == []
    unlisted = admin.post("/templates", json={**template, "order": open_intent(structure={**SPREAD, "strikes": [450, 455.5]})})
    assert "nearest listed" in errors_at(unlisted)[("body", "order", "structure", "catalogue", "strikes", 1)]
    assert ("body", "schedule", "daily", "at") in errors_at(admin.post("/templates", json={**template, "schedule": {"kind": "daily", "at": "17:00"}}))
    assert admin.delete(f"/templates/{template_id}").status_code == 204
    assert viewer.get(f"/templates/{template_id}").status_code == 404
    logged = [a["action"] for a in viewer.get("/actions", params={"template_id": template_id}).json()]
    assert logged == ["template_created", "template_updated", "template_disabled", "template_enabled", "template_deleted"]


def test_fill_stats_table(api: Api, viewer: httpx.Client) -> None:
    stats = api.context.fill_stats
    for filled in (1.0, 0.0):
        stats.record(Attempt("live", "r1", 0, "SPY", "combo", 1, 4, 0, "combo", "X.OPRA", "BUY", 1.0, filled, 1.0, 1.0, 1.0 if filled else None, 0.0 if filled else None, 2.0 if filled else None))
    stats.flush()
    rows = viewer.get("/fill-stats", params={"scope": "live", "by": ["underlying", "mode"]}).json()
    assert rows == [
        {"keys": {"underlying": "SPY", "mode": "combo"}, "attempts": 2, "fills": 1, "fill_rate": 0.5, "quantity": 2.0,
         "filled": 1.0, "filled_ratio": 0.5, "avg_slippage": 0.0, "avg_time_to_fill_s": 2.0}
    ]
    assert ("query", "by", 0) in errors_at(viewer.get("/fill-stats", params={"by": "price"}))


def test_health(viewer: httpx.Client) -> None:
    health = viewer.get("/health").json()
    assert health["principal"] == "vera" and health["status"] == "ok"
    assert health["engine"]["trading_state"] == "ACTIVE" and health["engine"]["underlyings"] == ["SPY"]
    assert health["queue"]["queued"] >= 1
