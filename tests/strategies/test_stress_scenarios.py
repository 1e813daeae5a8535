"""Stress scenarios (docs/management.md, "Stress scenarios"): condors on through a crisis built with the synthetic
generator's own parameters, the breaker tripping on the daily loss, and a gap through short strikes at the open.

The crisis: six sessions from 2024-01-02 in the generator's spike regime from the first day (every regime
moves to ``spike``), a drift of -800 % a year and 80 % of the variance overnight, so SPY falls from about
422 to 358 mostly in gaps at the opens (401 after 418 on 01-04, 378 after 389 on 01-05). The IV-rank strategy
opens a condor a day (3-10 days out, closed on expiry day at 15:00) until the breaker trips on a $300 daily
loss.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from nautilus_trader.persistence.catalog import ParquetDataCatalog

from data.synthetic import MarketConfig, generate
from data.synthetic.config import VolatilityModel
from hybrid.calendar.exchange_time import NEW_YORK
from tests.support.iv_rank_runs import Outcome, run_iv_rank

pytestmark = pytest.mark.slow  # a backtest per state

SPIKE = ((0.0, 0.0, 1.0),) * 3
CRISIS = VolatilityModel(spot_drift=-8.0, overnight_variance_share=0.8, transition=SPIKE)
STRATEGY = {
    "min_dte": 3,
    "max_dte": 10,
    "check_interval_minutes": 5,
    "close_days_before_expiry": 0,
    "exit_time": "15:00",
}


def breaker(state: str) -> dict:
    return {"breaker": {"daily_loss_limit": 300.0, "max_consecutive_losses": None, "reset": "operator", "state": state}}


@pytest.fixture(scope="module")
def crisis(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("catalogs") / "crisis"
    generate(MarketConfig.profile("small", seed=5, scenario="high_iv", days=6, vol=CRISIS), out, progress=False)
    return out


@pytest.fixture(scope="module")
def runs(crisis: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    return {
        state: run_iv_rank(crisis, tmp_path_factory.mktemp(state.lower()), STRATEGY | breaker(state))
        for state in ("REDUCING", "FLATTEN")
    }


def spy_days(catalog: Path) -> pd.DataFrame:
    """SPY's first and last mid of each session."""
    ticks = ParquetDataCatalog(str(catalog)).quote_ticks(instrument_ids=["SPY.OPRA"])
    frame = pd.DataFrame(
        {
            "day": [pd.Timestamp(t.ts_event, tz="UTC").tz_convert(NEW_YORK).date() for t in ticks],
            "mid": [(t.bid_price.as_double() + t.ask_price.as_double()) / 2 for t in ticks],
        }
    )
    return frame.groupby("day")["mid"].agg(["first", "last"])


def strikes(group: dict, kind: str) -> list[float]:
    """The strikes of the group's legs of ``kind`` ("P" or "C"), from their OCC symbols."""
    out = []
    for leg in group["legs"]:
        symbol = leg["instrument_id"].split(".")[0]
        if symbol[-9] == kind:
            out.append(int(symbol[-8:]) / 1000)
    return out


def short_put(group: dict) -> float:
    return next(
        int(leg["instrument_id"].split(".")[0][-8:]) / 1000
        for leg in group["legs"]
        if leg["instrument_id"].split(".")[0][-9] == "P" and leg["ratio"] < 0
    )


def test_the_crisis_falls_in_gaps(crisis: Path) -> None:
    days = spy_days(crisis)
    assert days["first"].iloc[0] > 415 and days["last"].iloc[-1] < 365
    gaps = (days["first"] / days["last"].shift(1) - 1).dropna()
    assert (gaps < -0.02).sum() >= 2  # at least two opens more than 2 % below the previous close


@pytest.mark.parametrize("state", ["REDUCING", "FLATTEN"])
def test_the_breaker_trips_on_the_daily_loss_and_nothing_churns(runs: dict[str, Outcome], state: str) -> None:
    out = runs[state]
    assert len(out.trips) == 1 and out.trips[0].reason.startswith("daily loss")
    assert out.summary["risk"]["denials"]["count"] == 0
    assert out.summary["all_groups_balanced"] is True
    assert len(out.groups) >= 2 and all(group["structure"] == "iron_condor" for group in out.groups)
    refused = [d for d in out.decisions if d["action"] == "refused"]
    assert refused and all("circuit breaker: daily loss" in d["reason"] for d in refused)


def test_flatten_closes_every_condor_and_the_account_holds_no_margin(runs: dict[str, Outcome]) -> None:
    out = runs["FLATTEN"]
    assert all(group["status"] == "closed" for group in out.groups)
    assert out.open_positions == 0
    assert out.locked == 0.0  # a flat book holds nothing under the defined-risk model
    assert out.trips[0].halted_ns is not None


def test_reducing_holds_no_more_than_the_condors_wings(runs: dict[str, Outcome]) -> None:
    """Under REDUCING the condors left open stay margined as defined risk: at most their widest wing each."""
    out = runs["REDUCING"]
    held = [group for group in out.groups if group["status"] == "open"]
    wings = sum(
        max(max(strikes(g, "P")) - min(strikes(g, "P")), max(strikes(g, "C")) - min(strikes(g, "C"))) * 100 * g["units"]
        for g in held
    )
    assert 0.0 <= out.locked <= wings + 0.01


def test_a_gap_through_the_short_put_at_the_open_is_still_closed_before_expiry(
    runs: dict[str, Outcome], crisis: Path
) -> None:
    """The first condor (expiring Friday 01-05, closed at 15:00 that day) is held into Friday's open, which
    gaps below its short put; it is closed, balanced, before its expiry, and nothing is settled by the venue."""
    out = runs["REDUCING"]
    days = spy_days(crisis)
    first = out.groups[0]
    friday = pd.Timestamp("2024-01-05").date()
    thursday = pd.Timestamp("2024-01-04").date()
    assert days.loc[friday, "first"] < short_put(first) < days.loc[thursday, "last"]
    assert first["status"] == "closed" and first["balanced"]
    orders = out.orders()
    assert not orders["tags"].astype(str).str.contains("EXPIRATION_").any()
