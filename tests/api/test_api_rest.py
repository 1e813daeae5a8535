"""The REST API over real HTTP on 127.0.0.1: every router's happy path, auth, field errors, idempotency.

The engine behind it is a finished backtest of the spread demo over the small catalog: closed bull call
spread groups and one open; the facts the tests need (group ids, the open group's expiry, listed
strikes) are read from the engine (:class:`tests.support.api.Market`).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from hybrid.api.app import create_app, history_recorder
from hybrid.api.auth import AuthConfigError, TokenRegistry
from hybrid.api.context import ApiContext
from hybrid.api.ratelimit import RateLimit
from hybrid.api.server import ServerThread
from hybrid.execution.fill_stats import Attempt
from hybrid.management.management_rules import ManagementRules
from hybrid.options.analytics import analyze
from hybrid.options.greeks import implied_volatility
from hybrid.options.legs import Leg
from hybrid.options.pricing import as_of_datetime, years_to_expiry
from tests.support.api import ADMIN, TRADER, VIEWER, Market, auth, make_context, market, second, serve
from tests.support.live import eventually

pytestmark = pytest.mark.slow  # a backtest, a server or a subprocess per test

MARKET_ORDER = {"execution": {"type": "market"}}


@dataclass
class Api:
    url: str
    context: ApiContext
    facts: Market

    def client(self, token: str | None) -> httpx.Client:
        headers = auth(token) if token else {}
        return httpx.Client(base_url=f"{self.url}/api/v1", headers=headers, timeout=30, trust_env=False)

    def open_intent(self, **changes: object) -> dict:
        limit = {"type": "limit", "price": 2.5}
        spread = self.facts.spread
        return {"kind": "open", "underlying": "SPY", "structure": spread, "units": 1, "execution": limit, **changes}


@pytest.fixture(scope="module")
def api(small_catalog: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    context = make_context(small_catalog, tmp_path_factory.mktemp("api-rest") / "state.sqlite")
    with serve(context) as url:
        yield Api(url, context, market(context.view))


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


@pytest.mark.parametrize(
    "path", ["/health", "/groups", "/orders", "/chain", "/strategies", "/templates", "/leg-templates", "/reports"]
)
def test_every_route_needs_a_known_token(api: Api, path: str) -> None:
    with api.client(None) as anonymous, api.client("x" * 43) as stranger:
        for client in (anonymous, stranger):
            response = client.get(path)
            assert response.status_code == 401
            assert response.headers["WWW-Authenticate"] == "Bearer"
    with httpx.Client(base_url=api.url) as client:
        assert client.get("/openapi.json").status_code == 401
        assert client.get("/openapi.json", headers=auth(VIEWER)).json()["info"]["title"]


def test_roles_gate_trading_and_administration(api: Api, viewer: httpx.Client, trader: httpx.Client) -> None:
    assert viewer.post("/orders", json=api.open_intent()).status_code == 403
    assert viewer.post(f"/groups/{api.facts.open_group}/close", json=MARKET_ORDER).status_code == 403
    assert trader.post(f"/groups/{api.facts.open_group}/pause", json={}).status_code == 403
    template = {"name": "t", "order": api.open_intent(), "schedule": {"kind": "daily", "at": "10:00"}}
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
    with (
        serve(second(api.context), tight) as url,
        httpx.Client(base_url=f"{url}/api/v1", headers=auth(VIEWER), trust_env=False) as client,
    ):
        codes = [client.get("/strategies").status_code for _ in range(3)]
        limited = client.get("/health")
    assert codes == [200, 200, 429]
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1


def test_cors_is_closed_unless_origins_are_configured(api: Api) -> None:
    preflight = {"Origin": "http://ui.example", "Access-Control-Request-Method": "GET"}
    with httpx.Client(base_url=api.url) as client:
        assert "access-control-allow-origin" not in client.options("/api/v1/health", headers=preflight).headers
    origins = ["http://ui.example"]
    app = create_app(second(api.context), tokens=TokenRegistry([]), insecure_local=True, cors_origins=origins)
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
    built = viewer.post("/strategies/bull_call_spread/build", json={"strikes": [450, 455], "expiries": ["2024-06-21"]})
    assert built.json() == {
        "strategy": "bull_call_spread",
        "legs": [
            {"kind": "call", "strike": 450.0, "expiry": "2024-06-21", "quantity": 1, "price": None, "iv": None},
            {"kind": "call", "strike": 455.0, "expiry": "2024-06-21", "quantity": -1, "price": None, "iv": None},
        ],
    }
    broken = viewer.post("/strategies/bull_call_spread/build", json={"strikes": [455, 450], "expiries": ["2024-06-21"]})
    assert "must be <" in errors_at(broken)[("body", "strikes")]


def test_chain_expiries_strikes_and_quotes(api: Api, viewer: httpx.Client) -> None:
    facts = api.facts
    expiry = str(facts.expiry)
    expiries = {e["expiry"]: e for e in viewer.get("/chain/SPY/expiries").json()}
    assert list(expiries) == [str(e) for e in facts.expiries]
    assert expiries[expiry]["dte"] == facts.dte and expiries[expiry]["calls"] == len(facts.strikes)
    strikes = viewer.get("/chain/SPY/strikes", params={"expiry": expiry, "right": "call"}).json()["strikes"]
    assert strikes == list(facts.strikes)
    chain = viewer.get("/chain/SPY/quotes", params={"expiry": expiry, "right": "call"}).json()
    assert chain["as_of"] == api.context.view.now().isoformat().replace("+00:00", "Z")
    assert [q["strike"] for q in chain["quotes"]] == strikes
    quote = next(q for q in chain["quotes"] if q["strike"] == facts.spread["strikes"][0])
    assert quote["bid"] < quote["mid"] < quote["ask"]
    # the vectorised chain IV agrees with NautilusTrader's own solver on the same mid
    years = years_to_expiry(facts.expiry, as_of_datetime(api.context.view.now()))
    spot = chain["spot"]["mid"]
    reference = implied_volatility(quote["mid"], spot, quote["strike"], years, True, chain["rate"], chain["dividend"])
    assert quote["iv"] == pytest.approx(reference.iv, rel=1e-4)
    assert 0 < quote["greeks"]["delta"] < 1
    day, nearest = facts.unlisted_expiry(facts.expiry)
    missing = viewer.get("/chain/SPY/quotes", params={"expiry": str(day)})
    assert errors_at(missing)[("query", "expiry")] == f"SPY: expiry {day} is not listed; {nearest}"
    unknown = viewer.get("/chain/QQQ/expiries")
    assert unknown.status_code == 404 and "loaded: SPY" in unknown.json()["detail"]["message"]


def test_analysis_prices_legs_from_the_chain(api: Api, viewer: httpx.Client) -> None:
    spread = api.facts.spread
    result = viewer.post("/analysis", json={"underlying": "SPY", "structure": spread}).json()
    long_leg, short_leg = (leg["quote"] for leg in result["legs"])
    assert result["figures"]["net_premium"] == pytest.approx((long_leg["mid"] - short_leg["mid"]) * 100)
    assert result["market"]["ask"] == pytest.approx((long_leg["ask"] - short_leg["bid"]) * 100)
    # the same legs through the analytics directly give the same figures
    legs = [Leg(**leg["leg"] | {"expiry": dt.date.fromisoformat(leg["leg"]["expiry"])}) for leg in result["legs"]]
    inputs = {name: result[name] for name in ("spot", "vol", "rate", "dividend")}
    direct = analyze(legs, **inputs, as_of=api.context.view.now())
    assert result["figures"]["max_profit"] == pytest.approx(direct.max_profit)
    assert result["figures"]["breakevens"] == pytest.approx(list(direct.breakevens))
    natural = viewer.post("/analysis", json={"underlying": "SPY", "structure": spread, "price_at": "natural"}).json()
    assert natural["figures"]["net_premium"] == pytest.approx(result["market"]["ask"])
    strike, nearest = api.facts.unlisted_strike(spread["strikes"][1])
    unlisted = {**spread, "strikes": [spread["strikes"][0], strike]}
    wrong = viewer.post("/analysis", json={"underlying": "SPY", "structure": unlisted})
    assert errors_at(wrong)[("body", "structure", "catalogue", "strikes", 1)].endswith(nearest)


def test_preview_validates_like_a_submission_and_queues_nothing(api: Api, viewer: httpx.Client) -> None:
    before = len(api.context.queue.orders(limit=1000))
    preview = viewer.post("/analysis/preview", json=api.open_intent(units=3)).json()
    assert preview["market_total"]["mid"] == pytest.approx(3 * preview["market_per_unit"]["mid"])
    assert preview["limit_vs_mid"] == pytest.approx(2.5 - preview["market_per_unit"]["mid"] / 100)
    assert len(api.context.queue.orders(limit=1000)) == before
    day, nearest = api.facts.unlisted_expiry(api.facts.expiry)
    intent = api.open_intent(structure={**api.facts.spread, "expiries": [str(day)]})
    unlisted = viewer.post("/analysis/preview", json=intent)
    assert errors_at(unlisted)[("body", "structure", "catalogue", "expiries", 0)].endswith(nearest)


# -- orders -----------------------------------------------------------------------------------------


def test_submit_queues_the_order_and_journals_it(api: Api, trader: httpx.Client, viewer: httpx.Client) -> None:
    response = trader.post("/orders", json=api.open_intent())
    assert response.status_code == 201
    order = response.json()
    assert order["status"] == "queued" and order["submitted_by"] == "tom"
    assert response.headers["Location"].endswith(f"/api/v1/orders/{order['order_id']}")
    assert viewer.get(f"/orders/{order['order_id']}").json() == order
    history = viewer.get(f"/orders/{order['order_id']}/history").json()
    assert [(h["previous"], h["status"]) for h in history] == [(None, "accepted"), ("accepted", "queued")]
    assert order["order_id"] in {o["order_id"] for o in viewer.get("/orders", params={"status": "queued"}).json()}
    assert viewer.get("/orders/0123abcd").status_code == 404


@pytest.mark.parametrize("source", ["recurring", "autonomous"])
def test_an_order_through_the_api_is_manual_and_cannot_claim_another_source(
    api: Api, trader: httpx.Client, source: str
) -> None:
    """A source has limits of its own (the account gate's ``sources``): a person's order may not take another's."""
    errors = errors_at(trader.post("/orders", json=api.open_intent() | {"source": source}))
    assert errors == {
        ("body", "open", "source"): "an order submitted through the API is 'manual' (templates' orders are "
        "'recurring', strategies' 'autonomous')"
    }
    assert trader.post("/orders", json=api.open_intent() | {"source": "manual"}).status_code == 201


def test_idempotency_key_in_header_or_body(api: Api, trader: httpx.Client) -> None:
    first = trader.post("/orders", json=api.open_intent(), headers={"Idempotency-Key": "idem-1"})
    again = trader.post("/orders", json=api.open_intent(idempotency_key="idem-1"))
    assert first.status_code == again.status_code == 201
    assert again.json()["order_id"] == first.json()["order_id"]
    conflict = trader.post("/orders", json=api.open_intent(units=2), headers={"Idempotency-Key": "idem-1"})
    assert conflict.status_code == 409 and "idem-1" in conflict.json()["detail"]["message"]
    mismatch = trader.post("/orders", json=api.open_intent(idempotency_key="a"), headers={"Idempotency-Key": "b"})
    assert ("body", "open", "idempotency_key") in errors_at(mismatch)


def test_invalid_orders_get_field_errors(api: Api, trader: httpx.Client) -> None:
    facts, spread = api.facts, api.facts.spread
    strike, nearest = facts.unlisted_strike(spread["strikes"][0])
    intent = api.open_intent(structure={**spread, "strikes": [strike, spread["strikes"][1]]})
    unlisted = trader.post("/orders", json=intent)
    assert errors_at(unlisted)[("body", "open", "structure", "catalogue", "strikes", 0)] == (
        f"SPY: strike {strike:g} is not listed for calls expiring {facts.expiry}; {nearest}"
    )
    rule = trader.post("/orders", json=api.open_intent(structure={**spread, "strikes": spread["strikes"][::-1]}))
    assert "must be <" in errors_at(rule)[("body", "open", "structure", "catalogue", "strikes")]
    units = trader.post("/orders", json=api.open_intent(units=10_000))
    assert "at most" in errors_at(units)[("body", "open", "units")]
    price = trader.post("/orders", json=api.open_intent(execution={"type": "limit", "price": 1e9}))
    assert ("body", "open", "execution", "limit", "price") in errors_at(price)
    underlying = trader.post("/orders", json=api.open_intent(underlying="QQQ"))
    assert errors_at(underlying)[("body", "open", "underlying")] == "no option chain is loaded for QQQ"
    day, _ = facts.unlisted_expiry(facts.expiry)
    put = {"kind": "put", "strike": spread["strikes"][0], "expiry": str(day), "quantity": 1}
    legs = {"type": "legs", "legs": [put]}
    expiry = trader.post("/orders", json=api.open_intent(structure=legs))
    assert "not listed" in errors_at(expiry)[("body", "open", "structure", "legs", "legs", 0, "expiry")]
    close = trader.post("/orders", json={"kind": "close", "group_id": facts.closed_group, **MARKET_ORDER})
    assert "is closed" in errors_at(close)[("body", "close", "group_id")]


def test_cancel_a_queued_order_then_409(api: Api, trader: httpx.Client, viewer: httpx.Client) -> None:
    order = trader.post("/orders", json=api.open_intent()).json()
    assert viewer.post(f"/orders/{order['order_id']}/cancel").status_code == 403
    cancelled = trader.post(f"/orders/{order['order_id']}/cancel", json={"reason": "changed my mind"})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["reason"] == "changed my mind (by tom)"
    assert trader.post(f"/orders/{order['order_id']}/cancel").status_code == 409
    assert trader.post("/orders/ffff/cancel").status_code == 404


# -- groups, positions, overrides -------------------------------------------------------------------


def test_groups_positions_and_portfolio(api: Api, viewer: httpx.Client) -> None:
    facts = api.facts
    groups = viewer.get("/groups").json()
    assert [g["group_id"] for g in groups] == [g.group_id for g in api.context.view.groups()]
    held = viewer.get(f"/groups/{facts.open_group}").json()
    assert held["underlying"] == "SPY" and held["units"] == facts.units > 0
    assert [leg["filled_quantity"] for leg in held["legs"]] == [facts.units, -facts.units]  # a vertical, long the low
    assert [g["group_id"] for g in viewer.get("/groups", params={"status": "open"}).json()] == [facts.open_group]
    assert viewer.get("/groups/nope").status_code == 404
    positions = viewer.get("/positions").json()
    portfolio = viewer.get("/portfolio").json()
    assert portfolio["open_positions"] == len(positions) == 2 and portfolio["open_groups"] == 1
    assert portfolio["greeks"]["delta"] == pytest.approx(sum(p["greeks"]["delta"] for p in positions))
    assert portfolio["greeks"]["delta"] == pytest.approx(held["greeks"]["delta"])
    assert portfolio["total_pnl"] == pytest.approx(portfolio["realized_pnl"] + portfolio["unrealized_pnl"])


def test_pnl_history_of_a_group_and_of_the_portfolio(api: Api, viewer: httpx.Client) -> None:
    facts = api.facts
    samples = history_recorder(api.context).sample()  # what the app's recorder does each minute
    total = viewer.get("/portfolio").json()["total_pnl"]
    portfolio = eventually(lambda: (body := viewer.get("/portfolio/history").json())["points"] and body, "a point")
    assert portfolio["lineages"] is None and portfolio["points"][-1]["pnl"] == pytest.approx(total, abs=0.01)
    held = viewer.get(f"/groups/{facts.open_group}/history", params={"limit": 1}).json()
    pnl = viewer.get(f"/groups/{facts.open_group}").json()["pnl"]
    assert held["root_id"] == facts.open_group and held["members"] == [facts.open_group]
    assert [(p["pnl"], p["group_id"]) for p in held["points"]] == [(pytest.approx(pnl, abs=0.01), facts.open_group)]
    every = viewer.get("/portfolio/history", params={"lineages": "true"}).json()["lineages"]
    assert {lineage["root_id"] for lineage in every} >= {s.series for s in samples if s.series}
    assert viewer.get("/groups/nope/history").status_code == 404
    assert ("query", "limit") in errors_at(viewer.get("/portfolio/history", params={"limit": 0}))


def test_close_roll_and_close_all_queue_intents(api: Api, trader: httpx.Client) -> None:
    facts = api.facts
    group = f"/groups/{facts.open_group}"
    close = trader.post(f"{group}/close", json={**MARKET_ORDER, "units": 1})
    assert close.status_code == 201
    assert close.json()["intent"]["kind"] == "close" and close.json()["intent"]["units"] == 1
    too_many = trader.post(f"{group}/close", json={**MARKET_ORDER, "units": int(facts.units) + 1})
    assert f"at most {facts.units:g}" in errors_at(too_many)[("body", "units")]
    assert trader.post(f"/groups/{facts.closed_group}/close", json=MARKET_ORDER).status_code == 409
    assert trader.post("/groups/nope/close", json=MARKET_ORDER).status_code == 404
    later = facts.expiries[facts.expiries.index(facts.expiry) + 1]
    roll = trader.post(f"{group}/roll", json={**MARKET_ORDER, "expiries": [str(later)]})
    assert roll.status_code == 201 and roll.json()["intent"]["kind"] == "roll"
    day, nearest = facts.unlisted_expiry(later)
    unlisted = trader.post(f"{group}/roll", json={**MARKET_ORDER, "expiries": [str(day)]})
    assert errors_at(unlisted)[("body", "expiries", 0)].endswith(nearest)
    both = trader.post(f"{group}/roll", json=MARKET_ORDER)
    assert "exactly one of expiries or dte" in errors_at(both)[("body", "expiries")]
    window = trader.post(f"{group}/roll", json={**MARKET_ORDER, "dte": [{"min_dte": 700, "max_dte": 720}]})
    assert "no expiry 700-720 DTE" in errors_at(window)[("body", "dte", 0)]
    everything = trader.post("/groups/close-all", json={**MARKET_ORDER, "idempotency_key": "flat"})
    assert everything.status_code == 201
    (order,) = everything.json()["orders"]
    assert order["intent"]["group_id"] == facts.open_group and order["idempotency_key"] == f"flat:{facts.open_group}"
    resent = trader.post("/groups/close-all", json={**MARKET_ORDER, "idempotency_key": "flat"})
    assert [o["order_id"] for o in resent.json()["orders"]] == [order["order_id"]]


def test_overrides_change_management_and_are_logged(api: Api, admin: httpx.Client, viewer: httpx.Client) -> None:
    group = api.facts.open_group
    paused = admin.post(f"/groups/{group}/pause", json={"reason": "earnings"}).json()
    assert paused["state"]["paused"] is True and paused["lineage"]["root_id"] == group
    assert paused["rules"] is None  # no bot manager runs behind this API: no rules in force
    api.context.bot_rules = ManagementRules(stop_loss_pct=-300.0)
    try:
        assert viewer.get(f"/groups/{group}").json()["management"]["rules"]["stop_loss_pct"] == -300.0  # the bot's
        rules = {"stop_loss_pct": -150.0, "profit_tranches": [{"at_pct": 50.0, "fraction": 1.0}]}
        custom = admin.put(f"/groups/{group}/rules", json={"rules": rules}).json()
    finally:
        api.context.bot_rules = None
    assert custom["state"]["rules"]["stop_loss_pct"] == -150.0 == custom["rules"]["stop_loss_pct"]  # its own
    bad = admin.put(f"/groups/{group}/rules", json={"rules": {"stop_loss_pct": 10}})
    assert ("body", "rules", "stop_loss_pct") in errors_at(bad)
    resumed = admin.post(f"/groups/{group}/resume").json()  # the body is optional
    assert resumed["state"]["paused"] is False
    managed = viewer.get(f"/groups/{group}").json()["management"]
    assert managed["state"]["rules"]["stop_loss_pct"] == -150.0
    listed = {g["group_id"]: g["management"] for g in viewer.get("/groups").json()}  # read in one query
    assert listed[group] == managed and listed[api.facts.closed_group] is None
    actions = viewer.get("/actions", params={"group_id": group}).json()
    assert [a["action"] for a in actions] == ["manage", "pause", "set_rules", "resume"]
    assert actions[1]["reason"] == "earnings (by ada)"
    assert viewer.get("/actions", params={"since": "2024-01-05T00:00:00"}).status_code == 422  # no UTC offset
    assert admin.post("/groups/nope/pause", json={}).status_code == 404


# -- templates, fill statistics, health -------------------------------------------------------------


def test_template_crud_with_upcoming_runs(api: Api, admin: httpx.Client, viewer: httpx.Client) -> None:
    assert api.context.view.now().date() == dt.date(2024, 1, 5)  # the small catalog's last session, a Friday
    mondays = {"kind": "weekly", "weekdays": ["mon"], "at": "10:00"}
    template = {"name": "monday spread", "order": api.open_intent(), "schedule": mondays}
    created = admin.post("/templates", json=template)
    assert created.status_code == 201
    body = created.json()
    template_id = body["template_id"]
    assert body["template"]["order"]["source"] == "recurring"
    # Mondays 10:00 New York; 2024-01-15 is Martin Luther King Jr. Day, a market holiday
    assert body["next_runs"][:2] == ["2024-01-08T15:00:00Z", "2024-01-22T15:00:00Z"]
    one = viewer.get(f"/templates/{template_id}", params={"upcoming": 1}).json()
    assert one["next_runs"] == ["2024-01-08T15:00:00Z"]
    updated = admin.put(f"/templates/{template_id}", json={**template, "schedule": {"kind": "daily", "at": "15:30"}})
    assert updated.json()["next_runs"][0] == "2024-01-08T20:30:00Z"
    assert admin.post(f"/templates/{template_id}/disable").json()["template"]["enabled"] is False
    assert viewer.get("/templates", params={"enabled": "false"}).json()[0]["template_id"] == template_id
    assert admin.post(f"/templates/{template_id}/enable").json()["template"]["enabled"] is True
    assert viewer.get(f"/templates/{template_id}/runs").json() == []
    strike, nearest = api.facts.unlisted_strike(api.facts.spread["strikes"][1])
    spread = api.facts.spread
    unlisted_order = api.open_intent(structure={**spread, "strikes": [spread["strikes"][0], strike]})
    unlisted = admin.post("/templates", json={**template, "order": unlisted_order})
    assert errors_at(unlisted)[("body", "order", "structure", "catalogue", "strikes", 1)].endswith(nearest)
    after_close = admin.post("/templates", json={**template, "schedule": {"kind": "daily", "at": "17:00"}})
    assert ("body", "schedule", "daily", "at") in errors_at(after_close)
    assert admin.delete(f"/templates/{template_id}").status_code == 204
    assert viewer.get(f"/templates/{template_id}").status_code == 404
    logged = [a["action"] for a in viewer.get("/actions", params={"template_id": template_id}).json()]
    assert logged == [
        "template_created",
        "template_updated",
        "template_disabled",
        "template_enabled",
        "template_deleted",
    ]


def test_fill_stats_table(api: Api, viewer: httpx.Client) -> None:
    stats = api.context.fill_stats
    for filled in (1.0, 0.0):
        outcome = (1.0, 0.0, 2.0) if filled else (None, None, None)  # avg_px, slippage, time_to_fill_s
        ladder = ("SPY", "combo", 1, 4, 0, "combo", "X.OPRA", "BUY")  # underlying .. side
        stats.record(Attempt("live", "r1", 0, *ladder, 1.0, filled, 1.0, 1.0, *outcome))
    stats.flush()
    rows = viewer.get("/fill-stats", params={"scope": "live", "by": ["underlying", "mode"]}).json()
    assert rows == [
        {
            "keys": {"underlying": "SPY", "mode": "combo"},
            "attempts": 2,
            "fills": 1,
            "fill_rate": 0.5,
            "quantity": 2.0,
            "filled": 1.0,
            "filled_ratio": 0.5,
            "avg_slippage": 0.0,
            "avg_time_to_fill_s": 2.0,
        }
    ]
    assert ("query", "by", 0) in errors_at(viewer.get("/fill-stats", params={"by": "price"}))


def test_health(viewer: httpx.Client) -> None:
    health = viewer.get("/health").json()
    assert health["principal"] == "vera" and health["status"] == "ok" and health["role"] == "viewer"
    assert health["engine"]["trading_state"] == "ACTIVE" and health["engine"]["underlyings"] == ["SPY"]
    assert health["queued_orders"] >= 1


# -- what the web UI adds ---------------------------------------------------------------------------


def test_recognise_names_the_catalogue_structure_of_custom_legs(api: Api, viewer: httpx.Client) -> None:
    spread = api.facts.spread
    low, high = spread["strikes"]
    expiry = spread["expiries"][0]
    legs = [
        {"kind": "call", "strike": high, "expiry": expiry, "quantity": -3},
        {"kind": "call", "strike": low, "expiry": expiry, "quantity": 3},
    ]
    named = viewer.post("/strategies/recognise", json={"legs": legs}).json()
    assert (named["strategy"], named["strikes"], named["units"]) == ("bull_call_spread", [low, high], 3)
    legs[0]["quantity"] = -1  # a 3:1 ratio of calls is no catalogue structure
    assert viewer.post("/strategies/recognise", json={"legs": legs}).json()["strategy"] is None


def test_leg_templates_save_replace_list_and_delete(api: Api, viewer: httpx.Client, trader: httpx.Client) -> None:
    spread = api.facts.spread
    legs = [
        {"kind": "call", "strike": strike, "expiry": spread["expiries"][0], "quantity": quantity}
        for strike, quantity in zip(spread["strikes"], (1, -1))
    ]
    body = {"name": "my spread", "underlying": "SPY", "structure": {"type": "legs", "legs": legs}}
    assert viewer.post("/leg-templates", json=body).status_code == 403
    first = trader.post("/leg-templates", json=body)
    assert first.status_code == 201
    legs[1]["quantity"] = -2
    second = trader.post("/leg-templates", json=body).json()  # the same name: replaced
    assert second["leg_template_id"] == first.json()["leg_template_id"]
    listed = viewer.get("/leg-templates").json()
    assert [(t["name"], t["structure"]["legs"][1]["quantity"]) for t in listed] == [("my spread", -2)]
    legs[1]["quantity"] = -1
    legs.append(dict(legs[0]))  # the same contract twice
    assert ("body", "structure", "legs", 2) in errors_at(trader.post("/leg-templates", json=body))
    assert trader.delete(f"/leg-templates/{second['leg_template_id']}").status_code == 204
    assert trader.delete(f"/leg-templates/{second['leg_template_id']}").status_code == 404
    assert viewer.get("/leg-templates").json() == []


def test_reports_list_and_read_report_folders(api: Api, viewer: httpx.Client, tmp_path: Path) -> None:
    folder = tmp_path / "demo-1"
    folder.mkdir()
    summary = {"config_file": "configs/demo.toml", "counts": {"groups": 1}, "statistics": {"pnl": {"total": -5.5}}}
    (folder / "summary.json").write_text(json.dumps(summary))
    (folder / "equity.csv").write_text("ts_ns,equity\n1,100.0\n2,94.5\n")
    (tmp_path / "not-a-report").mkdir()
    api.context.reports = tmp_path
    try:
        listed = viewer.get("/reports").json()
        assert [(r["name"], r["groups"], r["total_pnl"]) for r in listed] == [("demo-1", 1, -5.5)]
        report = viewer.get("/reports/demo-1").json()
        assert report["equity"]["rows"] == [{"ts_ns": "1", "equity": "100.0"}, {"ts_ns": "2", "equity": "94.5"}]
        assert report["actions"] == {"rows": [], "truncated": False}
        assert viewer.get("/reports/not-a-report").status_code == 404
        assert viewer.get("/reports/..%2Fetc").status_code in (404, 422)
    finally:
        api.context.reports = Path("reports")


def test_the_ui_page_and_plotly_are_served_without_a_token(api: Api) -> None:
    with httpx.Client(base_url=api.url, trust_env=False) as client:
        page = client.get("/")
        assert page.status_code == 200 and "/ui/js/app.js" in page.text
        assert "default-src 'self'" in page.headers["Content-Security-Policy"]
        assert client.get("/ui/js/api.js").headers["content-type"].startswith("text/javascript")
        assert client.get("/ui/vendor/plotly.min.js").content.startswith(b"/**")
