"""The breaker's three states over a real backtest: none churns denied orders, every group ends balanced, and
only HALTED lets a group reach its expiry unmanaged (docs/management.md, "Circuit breaker and trading states").

The IV-rank strategy on the six-session high-IV catalog (2024-01-02 to 01-09) opens a condor on the Tuesday
expiring on Friday 01-05; the breaker trips on the first risk check after its fill (a daily loss limit of
$1: the spread and commissions put the marked equity below the day's start) and waits for an operator. The
bot manager would roll the condor below 2 days to expiry (on the Thursday, before the strategy's close
before expiry at 15:00).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from nautilus_trader.model.enums import TradingState

from hybrid.runconfig.settings import ComponentSpec
from tests.support.iv_rank_runs import Outcome, run_iv_rank

pytestmark = pytest.mark.slow  # a backtest per state

BOT = ComponentSpec(
    "actors",
    1,
    "hybrid.management.bot_manager:BotManager",
    "hybrid.management.bot_manager:BotManagerConfig",
    {
        "sources": ["autonomous"],
        "check_interval_minutes": 5,
        "rules": {"roll": {"below_dte": 2, "target_dte_min": 3, "target_dte_max": 10}},
    },
)
STRATEGY = {"min_dte": 3, "max_dte": 4, "check_interval_minutes": 5}
HANDFUL = 3  # denied orders any state may produce (none is expected)


def breaker(state: str) -> dict:
    return {"breaker": {"daily_loss_limit": 1.0, "reset": "operator", "state": state}}


@pytest.fixture(scope="module")
def runs(expiry_catalog: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    return {
        state: run_iv_rank(
            expiry_catalog, tmp_path_factory.mktemp(state.lower()), STRATEGY | breaker(state), actors=(BOT,)
        )
        for state in ("REDUCING", "HALTED", "FLATTEN")
    }


def settled_at_expiry(outcome: Outcome) -> pd.DataFrame:
    """The venue's settlement orders: legs still held at their expiry."""
    orders = outcome.orders()
    return orders[orders["tags"].astype(str).str.contains("EXPIRATION_")]


@pytest.mark.parametrize("state", ["REDUCING", "HALTED", "FLATTEN"])
def test_no_state_churns_and_every_group_ends_balanced(runs: dict[str, Outcome], state: str) -> None:
    out = runs[state]
    assert len(out.trips) == 1 and out.trips[0].state == state
    assert out.summary["risk"]["denials"]["count"] <= HANDFUL
    assert (out.orders()["status"] == "DENIED").sum() <= HANDFUL
    assert out.summary["counts"]["orders"] <= 12
    assert out.summary["groups"] and out.summary["all_groups_balanced"] is True
    for group in out.groups:
        assert group["balanced"] and not group["out_of_ratio"], group["group_id"]
    assert out.open_positions == 0  # closed, flattened or settled: nothing is left behind


def test_reducing_keeps_managing_and_closes_before_expiry(runs: dict[str, Outcome]) -> None:
    out = runs["REDUCING"]
    assert out.trading_state == TradingState.REDUCING
    assert settled_at_expiry(out).empty
    actions = pd.read_csv(out.report / "actions.csv")
    close = actions[actions["action"] == "close_all"]
    assert len(close) == 1 and close["reason"].iloc[0].startswith("no roll under REDUCING, closing instead")
    assert "roll" not in set(actions["action"]) and "held" not in set(actions["action"])
    assert all(group["status"] == "closed" for group in out.groups)


def test_halted_waits_for_a_quiet_book_then_holds_and_lets_the_group_expire(runs: dict[str, Outcome]) -> None:
    out = runs["HALTED"]
    assert out.trading_state == TradingState.HALTED
    trip = out.trips[0]
    assert trip.halted_ns is not None and trip.halted_ns >= trip.ts_ns
    assert not settled_at_expiry(out).empty  # asked for: HALTED freezes the close before expiry too
    actions = pd.read_csv(out.report / "actions.csv")
    held = actions[actions["action"] == "held"]
    # one bot action per decision held, not one per check: the roll (and the close it becomes) are each logged once
    assert 1 <= len(held) <= 2 and not held.duplicated(["group_id", "reason"]).any()
    assert held["reason"].str.contains("not sent, trading state HALTED").all()
    assert {"roll", "close_all"}.isdisjoint(actions["action"])


def test_flatten_closes_every_group_at_once_then_halts(runs: dict[str, Outcome]) -> None:
    out = runs["FLATTEN"]
    assert out.trading_state == TradingState.HALTED
    trip = out.trips[0]
    assert trip.halted_ns is not None
    assert pd.Timestamp(trip.halted_ns).date() == pd.Timestamp(trip.ts_ns).date()  # flat the day it tripped
    assert settled_at_expiry(out).empty
    assert all(group["status"] == "closed" for group in out.groups)
    assert "1 groups closed at the far touch, then HALTED" in trip.action


@pytest.mark.parametrize("state", ["REDUCING", "HALTED", "FLATTEN"])
def test_the_report_lists_the_trip_and_what_it_did(runs: dict[str, Outcome], state: str) -> None:
    out = runs[state]
    trips = pd.read_csv(out.report / "breaker_trips.csv")
    assert list(trips["state"]) == [state]
    assert trips["reason"].iloc[0].startswith("daily loss")
    assert trips["action"].iloc[0].startswith("new groups refused")
    assert trips["halted_at"].isna().iloc[0] == (state == "REDUCING")
    assert out.summary["risk"]["trips"][0]["state"] == state
    denials = pd.read_csv(out.report / "denials.csv")
    assert len(denials) == out.summary["risk"]["denials"]["count"]
