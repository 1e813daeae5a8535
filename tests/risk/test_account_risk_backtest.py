"""The account gate in a backtest: two autonomous strategies on one account are judged on the account's groups, not
each on its own book, and the report lists every refusal with its reason."""

from __future__ import annotations

import tomllib
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from hybrid.runconfig.settings import ComponentSpec
from tests.support.iv_rank_runs import CONFIG, run_iv_rank

pytestmark = pytest.mark.slow  # a backtest

GATE = ComponentSpec(
    "actors", 0, "hybrid.risk.account:AccountRisk", "hybrid.risk.account:AccountRiskConfig",
    {"limits": {"max_open_groups": 1, "max_loss_per_group": 5000.0}},
)  # fmt: skip


def second_strategy() -> ComponentSpec:
    """The same IV-rank strategy again, under its own id (its own limits allow 4 groups)."""
    config = tomllib.loads(CONFIG.read_text())["strategies"][0]["config"] | {"order_id_tag": "002"}
    return ComponentSpec(
        "strategies", 1, "strategies.iv_rank:IVRankStrategy", "strategies.iv_rank:IVRankStrategyConfig", config
    )


def test_two_strategies_share_the_account_limit_and_the_report_lists_each_refusal(
    scenario_catalog, tmp_path: Path
) -> None:
    out = run_iv_rank(scenario_catalog("high_iv"), tmp_path, actors=(GATE, second_strategy()))
    assert len(out.groups) == 1  # either strategy's own limit (4) would have let each open one a day
    assert out.summary["strategies"] == ["IVRankStrategy-000", "IVRankStrategy-002"]
    refusals = pd.read_csv(out.report / "refusals.csv")
    assert len(refusals) >= 1
    assert set(refusals["limit"]) == {"max_open_groups"} and set(refusals["source"]) == {"autonomous"}
    assert (refusals["value"] == 1).all() and (refusals["usage"] == 1).all()
    assert refusals["reason"].str.startswith("max_open_groups: 1 open, limit 1").all()
    assert out.summary["risk_refusals"] == refusals.where(refusals.notna(), None).to_dict("records")
    assert out.summary["all_groups_balanced"] is True


DELTA_GATE = replace(
    GATE, config={"limits": {"max_open_groups": 10, "max_loss_per_group": 5000.0, "max_abs_delta": 5.0}}
)


def test_two_strategies_whose_combined_delta_would_pass_the_account_limit_open_one_group_between_them(
    scenario_catalog, tmp_path: Path
) -> None:
    """Each strategy's own delta limit (300 shares) lets its condor in; the account's 5 shares hold one of them."""
    out = run_iv_rank(scenario_catalog("high_iv"), tmp_path, actors=(DELTA_GATE, second_strategy()))
    refusals = pd.read_csv(out.report / "refusals.csv")
    first_group = out.groups[0]["group_id"]  # G-<date>-<time>-...: the instant of the first entry
    first_instant = pd.Timestamp(f"{first_group[2:10]} {first_group[11:17]}", tz="UTC")
    refused_then = refusals[pd.to_datetime(refusals["at"]) == first_instant]
    assert len(refused_then) == 1  # the other strategy's condor of the same instant
    refusal = refused_then.iloc[0]
    assert refusal["limit"] == "max_abs_delta" and refusal["scope"] == "account"
    assert abs(refusal["usage"]) <= 5.0 < abs(refusal["after"])  # the first strategy's condor is the usage
    assert abs(refusal["after"]) > 1.5 * abs(refusal["usage"])  # ... and the refused one about doubles it
    assert set(refusals["limit"]) == {"max_abs_delta"}
    assert (refusals["after"].abs() > 5.0).all()
    assert out.summary["all_groups_balanced"] is True
