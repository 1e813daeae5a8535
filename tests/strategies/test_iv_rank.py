"""The autonomous IV-rank strategy in real backtests over small catalogs in each IV-rank band."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from nautilus_trader.model.enums import TradingState
from nautilus_trader.model.identifiers import InstrumentId, is_generic_spread_id

from hybrid.runconfig.settings import ComponentSpec
from strategies.iv_rank import IVRankStrategy, IVRankStrategyConfig, RegimeConfig
from tests.support.iv_rank_runs import Outcome, run_iv_rank

pytestmark = pytest.mark.slow  # a backtest, a server or a subprocess per test

Catalogs = Callable[[str], Path]


@pytest.fixture(scope="module")
def high(scenario_catalog: Catalogs, tmp_path_factory: pytest.TempPathFactory) -> Outcome:
    return run_iv_rank(scenario_catalog("high_iv"), tmp_path_factory.mktemp("high"))


@pytest.fixture(scope="module")
def mid(scenario_catalog: Catalogs, tmp_path_factory: pytest.TempPathFactory) -> Outcome:
    return run_iv_rank(scenario_catalog("mid_iv"), tmp_path_factory.mktemp("mid"))


def opened(outcome: Outcome) -> list[dict]:
    return [d for d in outcome.decisions if d["action"] == "open"]


def assert_balanced(outcome: Outcome) -> None:
    assert outcome.summary["all_groups_balanced"] is True
    for group in outcome.groups:
        assert group["balanced"], group["group_id"]
        for leg in group["legs"]:
            assert leg["filled_quantity"] == leg["expected_quantity"], (group["group_id"], leg)


def test_high_iv_rank_opens_iron_condors_with_four_balanced_legs(high: Outcome) -> None:
    assert opened(high) and all(d["iv_rank"] > 50 and d["structure"] == "iron_condor" for d in opened(high))
    filled = [g for g in high.groups if g["status"] != "unfilled"]
    assert filled
    for group in high.groups:
        assert (group["structure"], group["source"]) == ("iron_condor", "autonomous")
        assert len(group["legs"]) == 4
        assert sorted(leg["ratio"] for leg in group["legs"]) == [-1, -1, 1, 1]
    for group in filled:
        assert group["units"] > 0 and all(leg["filled_quantity"] != 0 for leg in group["legs"])
    assert_balanced(high)


def test_condor_short_strikes_straddle_the_money_and_wings_are_five_wide(high: Outcome) -> None:
    for group in high.groups:
        strikes = {}
        for leg in group["legs"]:
            symbol = InstrumentId.from_str(leg["instrument_id"]).symbol.value
            strikes[(symbol[12], leg["ratio"])] = int(symbol[13:]) / 1000
        assert strikes[("P", 1)] < strikes[("P", -1)] < strikes[("C", -1)] < strikes[("C", 1)]
        assert strikes[("P", -1)] - strikes[("P", 1)] == strikes[("C", 1)] - strikes[("C", -1)] == 5


def test_mid_iv_rank_opens_call_butterflies(mid: Outcome) -> None:
    assert opened(mid) and all(30 < d["iv_rank"] <= 50 and d["structure"] == "call_butterfly" for d in opened(mid))
    assert mid.groups and {g["structure"] for g in mid.groups} == {"call_butterfly"}
    for group in mid.groups:
        assert sorted(leg["ratio"] for leg in group["legs"]) == [-2, 1, 1]
    assert_balanced(mid)


def test_low_iv_rank_opens_nothing(scenario_catalog: Catalogs, tmp_path: Path) -> None:
    low = run_iv_rank(scenario_catalog("low_iv"), tmp_path)
    assert low.decisions and all(d["iv_rank"] < 30 and d["action"] == "none" for d in low.decisions)
    assert low.groups == [] and low.summary["counts"]["orders"] == 0


def test_orders_carry_group_and_source_tags(high: Outcome) -> None:
    orders = high.orders()
    assert len(orders) > 0
    for tags in orders["tags"]:
        assert "source=autonomous" in tags and "group=G-" in tags and "structure=iron_condor" in tags


def test_options_margin_holds_each_condors_widest_wing(high: Outcome) -> None:
    held = [g for g in high.groups if g["status"] == "open"]
    assert held
    # every condor is 5 wide on both sides: 5 x 100 per unit, the credit is already cash
    assert high.locked == pytest.approx(sum(500 * g["units"] for g in held))


def test_circuit_breaker_trips_on_the_daily_loss_and_no_entry_follows(
    scenario_catalog: Catalogs, tmp_path: Path
) -> None:
    out = run_iv_rank(
        scenario_catalog("mid_iv"),
        tmp_path,
        {"breaker": {"daily_loss_limit": 1.0, "reset": "operator"}, "check_interval_minutes": 5},
    )
    assert len(out.trips) == 1 and out.trips[0].reason.startswith("daily loss")
    assert out.trading_state == TradingState.REDUCING
    assert len(opened(out)) == 1 and len(out.groups) == 1
    later = out.decisions[1:]
    assert later and all(d["action"] == "refused" and "circuit breaker: daily loss" in d["reason"] for d in later)
    assert out.orders()["tags"].str.contains(f"group={out.groups[0]['group_id']}").all()  # no order for another group


@pytest.mark.parametrize(
    ("risk", "reason"),
    [
        ({"max_open_groups": 1}, "max_open_groups: 1 open, limit 1"),
        ({"max_abs_vega": 1.0}, "max_abs_vega: portfolio vega would be"),
        ({"max_loss_per_group": 50.0}, "max_loss_per_group:"),
    ],
)
def test_risk_limits_refuse_entries_with_the_reason(
    scenario_catalog: Catalogs, tmp_path: Path, risk: dict, reason: str
) -> None:
    out = run_iv_rank(scenario_catalog("high_iv"), tmp_path, {"risk": risk})
    refused = [d for d in out.decisions if d["action"] == "refused"]
    assert refused and all(reason in d["reason"] for d in refused)
    allowed = 1 if "max_open_groups" in risk else 0
    assert len(out.groups) == allowed
    assert_balanced(out)


def test_orders_larger_than_the_displayed_size_are_repaired_to_balance(
    scenario_catalog: Catalogs, tmp_path: Path
) -> None:
    out = run_iv_rank(
        scenario_catalog("high_iv"),
        tmp_path,
        {
            "risk_per_position": 1.0,
            "max_units": 150,
            "risk": {
                "max_open_groups": 1,
                "max_loss_per_group": None,
                "max_abs_delta": None,
                "max_abs_vega": None,
                "buying_power_fraction": 1.0,
            },
        },
    )
    (group,) = out.groups
    legs = pd.read_csv(out.report / "leg_fills.csv")
    synthetic = legs.groupby("instrument_id")["last_qty"].sum()
    assert (synthetic < group["units"]).all()  # the venue's leg fills fell short: the leg-fill bug
    orders = out.orders()
    repairs = orders[~orders["instrument_id"].map(lambda i: is_generic_spread_id(InstrumentId.from_str(i)))]
    assert out.repairs == len(repairs) > 0 and repairs["tags"].str.contains(f"group={group['group_id']}").all()
    assert_balanced(out)


def test_groups_close_the_session_before_expiry_and_nothing_stays_open(
    scenario_catalog: Catalogs, tmp_path: Path
) -> None:
    out = run_iv_rank(scenario_catalog("high_iv"), tmp_path, {"min_dte": 1, "max_dte": 4})
    assert out.groups and all(g["status"] in ("closed", "unfilled") for g in out.groups)
    assert any(g["status"] == "closed" for g in out.groups)
    assert out.open_positions == 0
    assert_balanced(out)


def test_a_close_that_has_not_filled_by_the_last_session_crosses_before_its_close(
    expiry_catalog: Path, tmp_path: Path
) -> None:
    # limits at mid, repriced only after a day: without the deadline they would still rest at the expiry
    execution = {"concession_half_spreads": 0.0, "reprice_after_seconds": 86_400}
    out = run_iv_rank(
        expiry_catalog,
        tmp_path,
        {"min_dte": 1, "max_dte": 3, "execution": execution, "risk": {"max_open_groups": 2}},
    )
    orders = out.orders()
    assert not orders["tags"].str.contains("EXPIRATION_").any()  # nothing reached the venue's settlement
    fills = pd.read_csv(out.report / "fills.csv")
    deadline = pd.Timestamp("2024-01-04 15:50", tz="America/New_York")  # 10 minutes before Thursday's close
    expiring = [g for g in out.groups if "240105" in g["instrument_id"] and g["opened_units"]]
    assert expiring and all(g["status"] == "closed" for g in expiring)
    closed_at = {}
    for group in expiring:
        closing = fills[fills["client_order_id"].isin(group["orders"]) & (fills["order_side"] == "SELL")]
        closed_at[group["group_id"]] = pd.Timestamp(closing["ts_event"].max()).tz_convert("America/New_York")
    assert all(at < deadline + pd.Timedelta(minutes=10) for at in closed_at.values()), closed_at  # before the close
    assert any(at >= deadline for at in closed_at.values()), closed_at  # one had to cross


def test_fills_are_deterministic(high: Outcome, scenario_catalog: Catalogs, tmp_path: Path) -> None:
    again = run_iv_rank(scenario_catalog("high_iv"), tmp_path)
    assert again.summary["groups"] == high.summary["groups"]
    columns = ["client_order_id", "instrument_id", "order_side", "last_qty", "last_px", "ts_event"]
    first, second = (pd.read_csv(o.report / "fills.csv")[columns] for o in (high, again))
    pd.testing.assert_frame_equal(first, second)


def test_a_group_held_to_expiry_is_settled_by_the_venue_and_closed_in_the_books(
    expiry_catalog: Path, tmp_path: Path
) -> None:
    out = run_iv_rank(
        expiry_catalog,
        tmp_path,
        {
            "min_dte": 1,
            "max_dte": 3,
            "close_days_before_expiry": 0,
            "exit_time": "16:30",
            "risk": {"max_open_groups": 1},
        },
    )
    expired, *later = out.groups
    assert expired["status"] == "closed" and expired["units"] == 0 and expired["exit_premium"] is not None
    assert all(leg["filled_quantity"] == 0 for leg in expired["legs"])
    settlement = out.orders()[lambda o: o["tags"].str.contains("EXPIRATION_OPRA")]
    assert len(settlement) == 4  # the venue closed every leg at expiry
    assert later  # the settled group freed its slot: a new one opened after the expiry
    assert_balanced(out)


def test_a_custom_regime_table_trades_a_calendar_when_iv_is_low(scenario_catalog: Catalogs, tmp_path: Path) -> None:
    calendar = {
        "min_rank": 0,
        "max_rank": 30,
        "strategy": "put_calendar_spread",
        "strikes": [{"by": "atm_offset", "steps": 0}],
        "expiries": [{"min_dte": 14, "max_dte": 24}, {"min_dte": 35, "max_dte": 46}],
    }
    out = run_iv_rank(scenario_catalog("low_iv"), tmp_path, {"regimes": [calendar], "risk": {"max_open_groups": 1}})
    assert opened(out)[0]["structure"] == "put_calendar_spread"
    (group,) = out.groups
    expiries = {InstrumentId.from_str(leg["instrument_id"]).symbol.value[6:12] for leg in group["legs"]}
    assert len(expiries) == 2 and group["source"] == "autonomous"
    assert_balanced(out)


def test_a_bad_regime_table_is_one_line_naming_the_row() -> None:
    one_rule = [{"by": "delta", "delta": 0.16}]
    with pytest.raises(ValueError, match=r"^regimes\[0\] \(iron_condor\): strikes: .*takes 4 strikes rules"):
        IVRankStrategy(
            IVRankStrategyConfig(
                regimes=[RegimeConfig(min_rank=50, max_rank=100, strategy="iron_condor", strikes=one_rule)]
            ),
        )
    with pytest.raises(ValueError, match=r"regimes\[0\]: need 0 <= min_rank < max_rank <= 100"):
        IVRankStrategy(IVRankStrategyConfig(regimes=[RegimeConfig(min_rank=60, max_rank=40)]))


def test_entries_can_be_routed_through_the_two_part_algorithm(scenario_catalog: Catalogs, tmp_path: Path) -> None:
    two_part = ComponentSpec(
        "exec_algorithms",
        0,
        "hybrid.execution.two_part:TwoPart",
        "hybrid.execution.two_part:TwoPartConfig",
        {"stats_db": str(tmp_path / "stats.sqlite"), "deadline_seconds": 1800.0, "child_timeout_seconds": 300.0},
    )
    execution = {"mode": "two_part", "exec_algorithm_id": "TwoPart", "exec_algorithm_params": {"first_fraction": 0.4}}
    out = run_iv_rank(scenario_catalog("high_iv"), tmp_path, {"execution": execution}, actors=(two_part,))
    orders = out.orders()
    assert (orders["exec_algorithm_id"] == "TwoPart").all()
    assert out.groups and {g["structure"] for g in out.groups} == {"iron_condor"}
    assert any(g["status"] == "open" for g in out.groups)
    assert_balanced(out)
