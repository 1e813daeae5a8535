"""The risk routes over real HTTP: a tripped breaker shows its reason and trip time, an admin's reset goes through the
breaker's own endpoint (a trader's is a 403) and the trading state request follows; the stress grid of the finished
spread demo's open group is the one pricing code's and its parameters are validated."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from nautilus_trader.model.enums import TradingState
from nautilus_trader.model.identifiers import StrategyId

from hybrid.api.engine_view import CacheEngineView
from hybrid.risk import CircuitBreaker, CircuitBreakerConfig, ResetBreaker, breaker_endpoint
from tests.support.api import ADMIN, TRADER, VIEWER, auth, engine_kernel, engine_view, make_context, serve

pytestmark = pytest.mark.slow  # a backtest and a server

TRIP_NS = 1_704_300_000_000_000_000


@dataclasses.dataclass
class Guarded:
    """A strategy as the view sees it: an id and a circuit breaker, reset through its endpoint."""

    id: StrategyId
    breaker: CircuitBreaker
    states: list[TradingState]


@pytest.fixture(scope="module")
def guarded(small_catalog: Path) -> Guarded:
    states: list[TradingState] = []
    breaker = CircuitBreaker(CircuitBreakerConfig(reset="operator"), lambda s, _: states.append(s), lambda _: None)
    strategy = Guarded(StrategyId("Guarded-001"), breaker, states)
    msgbus = engine_kernel(small_catalog).msgbus
    msgbus.register(
        breaker_endpoint(strategy.id), lambda c: breaker.reset(c.requested_by) if isinstance(c, ResetBreaker) else None
    )
    return strategy


@pytest.fixture(scope="module")
def url(small_catalog: Path, guarded: Guarded, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    context = make_context(small_catalog, tmp_path_factory.mktemp("api-risk") / "state.sqlite")
    plain = engine_view(small_catalog)
    kernel = engine_kernel(small_catalog)
    view = CacheEngineView.from_kernel(kernel, rate=plain.rate, dividend=plain.dividend)
    view._strategies = lambda: [guarded]  # type: ignore[assignment]  # the run's strategies have no breaker
    with serve(dataclasses.replace(context, view=view)) as base:
        yield base + "/api/v1"


def client(url: str, token: str) -> httpx.Client:
    return httpx.Client(base_url=url, headers=auth(token), timeout=30, trust_env=False)


def test_a_tripped_breaker_shows_its_reason_and_an_admin_resets_it_through_its_endpoint(
    url: str, guarded: Guarded
) -> None:
    guarded.breaker.trip("3 losing closes in a row (limit 3)", TRIP_NS)
    with client(url, VIEWER) as viewer, client(url, TRADER) as trader, client(url, ADMIN) as admin:
        (shown,) = viewer.get("/risk").json()["breakers"]
        assert (shown["strategy_id"], shown["tripped"], shown["reason"]) == (
            "Guarded-001", True, "3 losing closes in a row (limit 3)",
        )  # fmt: skip
        assert shown["tripped_at"].startswith("2024-01-03T16:40:00")
        assert viewer.get("/risk").json()["gate"] is False  # this run has no account gate: no limits listed
        assert trader.post("/risk/reset").status_code == 403
        assert guarded.breaker.tripped
        answer = admin.post("/risk/reset")
        assert answer.status_code == 200, answer.text
        assert answer.json()["reset"] == ["Guarded-001"]
        assert not guarded.breaker.tripped
        assert guarded.states == [TradingState.REDUCING, TradingState.ACTIVE]
        assert admin.post("/risk/reset").json()["detail"]["error"] == "conflict"  # nothing left to reset


def test_the_stress_grid_of_the_open_group_and_its_parameter_errors(url: str) -> None:
    with client(url, VIEWER) as viewer:
        grid = viewer.get("/risk/stress", params={"moves": 41, "shifts": 21}).json()
        assert (len(grid["moves"]), len(grid["vol_shifts"])) == (41, 21)
        assert grid["moves"][0] == -0.2 and grid["vol_shifts"][-1] == 10.0
        (group,) = grid["groups"]
        assert grid["book"] == group["pnl"]
        assert group["pnl"][20][10] == pytest.approx(0.0, abs=0.01)
        assert group["pnl"][0][10] < 0 < group["pnl"][40][10]  # a bull call spread loses as the market falls
        later = viewer.get("/risk/stress", params={"moves": 3, "shifts": 3, "at": "2099-01-01"}).json()
        assert later["at"] == "2099-01-01"
        errors = viewer.get("/risk/stress", params={"moves": 0, "shift_min": 5, "shift_max": -5}).json()["detail"]
        assert {tuple(e["loc"]) for e in errors} == {("query", "moves")}
        ordered = viewer.get("/risk/stress", params={"shift_min": 5, "shift_max": -5})
        assert ordered.status_code == 422 and "shift_min" in ordered.text
        past = viewer.get("/risk/stress", params={"at": "2000-01-01"})
        assert past.status_code == 422 and past.json()["detail"][0]["loc"] == ["query", "at"]
