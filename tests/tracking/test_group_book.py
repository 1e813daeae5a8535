"""The incremental group book gives what a full rebuild gives, after every order event of real backtests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from hybrid.runconfig.settings import ComponentSpec
from tests.support import management_runs
from tests.support.book_oracle import ORACLE, oracle_of
from tests.support.iv_rank_runs import run_iv_rank
from tests.support.management_runs import BULL_CALLS, CONDOR, template

pytestmark = pytest.mark.slow  # a backtest, a server or a subprocess per test

Catalogs = Callable[[str], Path]


def test_the_book_matches_a_rebuild_through_the_iv_rank_strategys_run(scenario_catalog: Catalogs, tmp_path: Path):
    large = {"risk_per_position": 1.0, "max_units": 150, "risk": {"max_loss_per_group": None, "max_abs_delta": None}}
    large["risk"] |= {"max_abs_vega": None, "buying_power_fraction": 1.0}
    out = run_iv_rank(scenario_catalog("high_iv"), tmp_path, large, actors=(ComponentSpec(*ORACLE),))
    assert out.repairs > 0  # leg fills were missing and repaired: the hardest case for the book
    oracle_of(out.actors)


def test_the_book_matches_a_rebuild_through_expiry_settlement(expiry_catalog: Path, tmp_path: Path):
    expiry = {"min_dte": 1, "max_dte": 3, "close_days_before_expiry": 0, "exit_time": "16:30"}
    out = run_iv_rank(expiry_catalog, tmp_path, expiry, actors=(ComponentSpec(*ORACLE),))
    assert out.orders()["tags"].str.contains("EXPIRATION_OPRA").any()
    oracle_of(out.actors)


def test_the_book_matches_a_rebuild_with_legs_worked_one_by_one(scenario_catalog: Catalogs, tmp_path: Path):
    two_part = ComponentSpec(
        "exec_algorithms",
        0,
        "hybrid.execution.two_part:TwoPart",
        "hybrid.execution.two_part:TwoPartConfig",
        {"stats_db": str(tmp_path / "stats.sqlite"), "deadline_seconds": 1800.0, "child_timeout_seconds": 300.0},
    )
    params = {"mode": "legging"}
    execution = {"mode": "two_part", "exec_algorithm_id": "TwoPart", "exec_algorithm_params": params}
    out = run_iv_rank(
        scenario_catalog("high_iv"), tmp_path, {"execution": execution}, actors=(two_part, ComponentSpec(*ORACLE))
    )
    assert out.groups
    oracle_of(out.actors)


def test_the_book_matches_a_rebuild_under_the_bot_and_recurring_templates(small_catalog: Path, tmp_path: Path):
    roll = {"below_dte": 9, "target_dte_min": 14, "target_dte_max": 21}
    templates = [
        template("condors", "iron_condor", CONDOR, units=2, dte=(8, 12)),
        template("bulls", "bull_call_spread", BULL_CALLS, units=3, schedule={"kind": "daily", "at": "11:00"}),
    ]
    bot = {"database": str(tmp_path / "management.sqlite"), "rules": {"roll": roll}}
    out = management_runs.run(
        small_catalog, tmp_path, bot=bot, recurring={"templates": templates}, extra=(ComponentSpec(*ORACLE),)
    )
    assert {a["action"] for a in out.actions} >= {"roll"}  # lineage across groups, the book's other hard case
    oracle_of(out.actors)
