"""The default demo (configs/demo.toml) exercises the whole execution path: the IV-rank strategy's orders go
through TwoPart in combo mode and its groups are managed by the bot manager, the strategy having no exits
of its own; run over a small catalog, the report has a fill-rate table, the bot's actions, leg fills inside
their quotes and statistics agreeing with the summary."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import msgspec
import pandas as pd
import pytest

from hybrid.backtest import write_report
from hybrid.backtest.runner import run_backtest
from hybrid.execution.two_part import TwoPartConfig
from hybrid.management.bot_manager import BotManagerConfig
from hybrid.orders.execution_mode import ExecutionMode
from hybrid.runconfig import load_settings
from hybrid.runconfig.settings import ComponentSpec
from strategies.iv_rank import IVRankStrategyConfig
from tests.support.leg_fills import LEG_AUDIT, LegFillAudit, breaches

DEMO = Path(__file__).resolve().parents[2] / "configs" / "demo.toml"


def component(name: str) -> ComponentSpec:
    (spec,) = [s for s in load_settings(DEMO).components if s.path.endswith(f":{name}")]
    return spec


def test_the_demo_works_its_orders_with_two_part_combo_and_leaves_exits_to_the_bot() -> None:
    strategy = IVRankStrategyConfig.parse(msgspec.json.encode(component("IVRankStrategy").config))
    assert strategy.execution.mode == ExecutionMode.TWO_PART and strategy.execution.exec_algorithm_id == "TwoPart"
    assert strategy.execution.exec_algorithm_params == {"mode": "combo"}
    bot = BotManagerConfig.parse(msgspec.json.encode(component("BotManager").config))
    assert "autonomous" in bot.sources
    algorithm = TwoPartConfig.parse(msgspec.json.encode(component("TwoPart").config))
    assert algorithm.mode == "combo" and algorithm.stats_db == ":memory:"  # each run learns from its own fills
    assert "take_profit_pct" not in IVRankStrategyConfig.__struct_fields__  # one unit of profit taking: the bot's


@pytest.mark.slow  # a backtest
def test_the_demo_over_a_small_catalog_fills_through_the_ladder_and_the_bot_manages_its_groups(
    scenario_catalog: Callable[[str], Path], tmp_path: Path
) -> None:
    settings = load_settings(DEMO, catalog=scenario_catalog("high_iv"), out=tmp_path)
    settings = replace(settings, components=(*settings.components, ComponentSpec(*LEG_AUDIT)))
    with run_backtest(settings) as run:
        report = write_report(run, tmp_path)
        (audit,) = [a for a in run.engine.trader.actors() if isinstance(a, LegFillAudit)]
    summary = json.loads((report / "summary.json").read_text())
    groups = summary["groups"]
    assert groups and all(g["source"] == "autonomous" for g in groups) and summary["all_groups_balanced"]
    orders = pd.read_csv(report / "orders.csv")
    assert (orders["exec_algorithm_id"] == "TwoPart").all()
    rates = pd.read_csv(report / "fill_rates.csv")
    assert set(rates["mode"]) == {"combo"} and rates["attempts"].sum() > 0 and rates["fills"].sum() > 0
    actions = pd.read_csv(report / "actions.csv")
    managed = set(actions.loc[actions["action"] == "manage", "group_id"])
    assert managed == {g["group_id"] for g in groups}
    assert audit.matches and breaches(audit.matches) == []
    assert json.loads((report / "statistics.json").read_text()) == summary["statistics"]
