"""The bot manager Actor in real backtests: tranches, the debounced stop, overrides, rolls with lineage,
groups of every source; every action logged, persisted and published."""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from nautilus_trader.common.actor import Actor
from nautilus_trader.common.config import ActorConfig

from hybrid.management.action_feed import ACTIONS_TOPIC
from hybrid.management.action_log import ActionLog, ActionRecord
from hybrid.management.bot_manager import BotManagerConfig
from hybrid.management.management_store import ManagementStore
from hybrid.runconfig.components import importable
from hybrid.runconfig.settings import ComponentSpec, ConfigError
from hybrid.store.db import Database
from tests.support.management_runs import (
    BEAR_PUTS,
    BULL_CALLS,
    CONDOR,
    Elsewhere,
    ElsewhereConfig,
    Outcome,
    run,
    template,
)

pytestmark = pytest.mark.slow  # a backtest, a server or a subprocess per test

CHECK = dt.timedelta(minutes=5)
ONE_GROUP = {"max_open_groups": 1}
TEST_RULES = {  # the house rules' shape with thresholds this 4-session market reaches
    "profit_tranches": [
        {"at_pct": 5, "fraction": 0.3},
        {"at_pct": 10, "fraction": 0.5},
        {"at_pct": 15, "fraction": 0.2},
    ],
    "stop_loss_pct": -20,
    "stop_confirmations": 2,
}


class PauserConfig(ElsewhereConfig, frozen=True):
    group_id: str


class Pauser(Elsewhere):
    """Pauses ``group_id`` as the API does."""

    def act(self, db: Database, now: dt.datetime) -> None:
        ManagementStore(db, ActionLog(db)).pause(self.config.group_id, now, "trader takes over")


class ListenerConfig(ActorConfig, frozen=True):
    pass


class Listener(Actor):
    """Collects what the bot publishes on the actions topic."""

    def __init__(self, config: ListenerConfig) -> None:
        super().__init__(config)
        self.records: list[ActionRecord] = []

    def on_start(self) -> None:
        self.msgbus.subscribe(ACTIONS_TOPIC, self.records.append)


def _at(row: dict) -> dt.datetime:
    return dt.datetime.fromisoformat(row["at"])


@pytest.fixture(scope="module")
def exits(scenario_catalog: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory) -> tuple[Outcome, Path]:
    """The high-IV market: bull call spreads gain, bear put spreads lose. Templates 3 (paused by config), 4
    (paused at run time) and 5 (its own rules) open the same structures half an hour later."""
    out = tmp_path_factory.mktemp("exits")
    database = out / "management.sqlite"
    templates = [
        template("bulls", "bull_call_spread", BULL_CALLS, units=10, conditions=ONE_GROUP),
        template("bears", "bear_put_spread", BEAR_PUTS, units=10, conditions=ONE_GROUP),
        template(
            "bulls_paused",
            "bull_call_spread",
            BULL_CALLS,
            units=10,
            conditions=ONE_GROUP,
            schedule={"kind": "daily", "at": "10:30"},
        ),
        template(
            "bears_paused_live",
            "bear_put_spread",
            BEAR_PUTS,
            units=10,
            conditions=ONE_GROUP,
            schedule={"kind": "daily", "at": "10:30"},
        ),
        template(
            "bulls_own_rules",
            "bull_call_spread",
            BULL_CALLS,
            units=10,
            conditions=ONE_GROUP,
            schedule={"kind": "daily", "at": "11:00"},
        ),
    ]
    bot = {
        "database": str(database),
        "rules": TEST_RULES,
        "overrides": [
            {"group": "template-3-*", "paused": True},
            {"group": "template-5-*", "rules": {"profit_tranches": [], "stop_loss_pct": -2, "stop_confirmations": 1}},
        ],
    }
    extra = (
        ComponentSpec(
            "actors",
            2,
            "tests.management.test_bot_manager:Pauser",
            "tests.management.test_bot_manager:PauserConfig",
            {"database": str(database), "group_id": "template-4-20240102T153000Z", "at": "2024-01-02T12:00"},
        ),
        ComponentSpec(
            "actors",
            3,
            "tests.management.test_bot_manager:Listener",
            "tests.management.test_bot_manager:ListenerConfig",
            {},
        ),
    )
    return run(scenario_catalog("high_iv"), out, bot=bot, recurring={"templates": templates}, extra=extra), database


def test_profit_is_taken_in_graduated_tranches_of_whole_units(exits: tuple[Outcome, Path]) -> None:
    outcome, _ = exits
    group = "template-1-20240102T150000Z"
    takes = outcome.of("close_units", group)
    assert len(takes) >= 2  # graduated: more than one close
    assert [level for t in takes for level in t["details"]["levels"]] == [1, 2, 3]  # each level once, in order
    cumulative = {1: 3, 2: 8, 3: 10}  # 30 % / 50 % / the rest of 10 units, whole
    closed = 0
    for take in takes:
        top = take["details"]["levels"][-1]
        assert take["details"]["pnl_pct"] >= {1: 5, 2: 10, 3: 15}[top]
        closed += take["details"]["units"]
        assert closed == cumulative[top]
    assert outcome.group(group)["status"] == "closed" and outcome.group(group)["opened_units"] == 10


def test_stop_loss_waits_for_consecutive_checks(exits: tuple[Outcome, Path]) -> None:
    outcome, _ = exits
    group = "template-2-20240102T150000Z"
    (stop,) = outcome.of("close_all", group)
    checks = outcome.of("stop_check", group)
    assert stop["details"]["pnl_pct"] <= -20 and stop["details"]["units"] == 10
    assert "on 2 consecutive checks" in stop["reason"]
    assert _at(checks[-1]) == _at(stop) - CHECK  # the first check beyond the stop did not close
    assert outcome.of("closed", group) and outcome.group(group)["status"] == "closed"


def test_a_paused_group_is_left_alone(exits: tuple[Outcome, Path]) -> None:
    outcome, database = exits
    group = "template-3-20240102T153000Z"
    assert [a["action"] for a in outcome.actions if a["group_id"] == group and a["component"] == "BotManager"] == [
        "manage",
        "pause",
    ]
    assert outcome.group(group)["status"] == "open" and outcome.group(group)["units"] == 10
    db = Database(database)
    assert ManagementStore(db, ActionLog(db)).state(group).paused  # persisted


def test_a_pause_made_elsewhere_takes_effect_at_the_next_check(exits: tuple[Outcome, Path]) -> None:
    outcome, database = exits
    paused, twin = "template-4-20240102T153000Z", "template-2-20240102T150000Z"
    assert outcome.of("close_all", twin)  # the same structure, not paused, was stopped out
    assert [a["action"] for a in outcome.actions if a["group_id"] == paused and a["component"] == "BotManager"] == [
        "manage"
    ]
    db = Database(database)
    (pause,) = ActionLog(db).query(group_id=paused, action="pause")
    assert pause.reason == "trader takes over" and outcome.group(paused)["status"] == "open"


def test_a_group_with_its_own_rules(exits: tuple[Outcome, Path]) -> None:
    outcome, _ = exits
    group = "template-5-20240102T160000Z"
    (set_rules,) = outcome.of("set_rules", group)
    assert set_rules["details"]["rules"]["stop_loss_pct"] == -2
    assert set_rules["details"]["rules"]["max_spread_ratio"] == 0.5  # the rest are the bot's rules
    (stop,) = outcome.of("close_all", group)
    assert "<= -2% on 1 consecutive checks" in stop["reason"]
    assert not outcome.of("close_units", group) and not outcome.of("stop_check", group)


def test_actions_are_persisted_and_published(exits: tuple[Outcome, Path]) -> None:
    outcome, database = exits
    bot_rows = [a for a in outcome.actions if a["component"] == "BotManager"]
    listener = outcome.actor("Listener")
    published = [r for r in listener.records if r.template_id is None]  # the templates actor publishes too
    assert [(r.action, r.group_id) for r in published] == [(a["action"], a["group_id"]) for a in bot_rows]
    stored = ActionLog(Database(database)).query()
    assert [(r.id, r.action) for r in stored if r.reason != "trader takes over"] == [
        (a["id"], a["action"]) for a in bot_rows
    ]
    assert outcome.summary["actions"]["by_action"] == dict(
        sorted(Counter(a["action"] for a in outcome.actions).items())
    )
    assert outcome.summary["all_groups_balanced"]


@pytest.fixture(scope="module")
def rolls(small_catalog: Path, tmp_path_factory: pytest.TempPathFactory) -> Outcome:
    """Condors opened 10 days before expiry roll at 8 days to the expiry 14-21 days out: template 1 with the
    same strikes, template 2 re-centred to the entry deltas, template 3 to a window with no expiry."""
    roll = {"below_dte": 9, "target_dte_min": 14, "target_dte_max": 21}
    condor = {"units": 2, "conditions": ONE_GROUP, "dte": (8, 12)}
    templates = [
        template("condor_strikes", "iron_condor", CONDOR, **condor),
        template("condor_deltas", "iron_condor", CONDOR, **condor, schedule={"kind": "daily", "at": "10:30"}),
        template("condor_no_expiry", "iron_condor", CONDOR, **condor, schedule={"kind": "daily", "at": "11:00"}),
    ]
    bot = {
        "rules": {"roll": roll},
        "overrides": [
            {"group": "template-2-*", "rules": {"roll": {**roll, "recentre": "same_deltas"}}},
            {"group": "template-3-*", "rules": {"roll": {**roll, "target_dte_min": 100, "target_dte_max": 120}}},
        ],
    }
    out = tmp_path_factory.mktemp("rolls")
    bot["database"] = str(out / "management.sqlite")
    return run(small_catalog, out, bot=bot, recurring={"templates": templates})


def _strikes(group: dict) -> list[tuple[str, str]]:
    return sorted((leg["instrument_id"][12], leg["instrument_id"][13:21]) for leg in group["legs"])


def _expiry(group: dict) -> str:
    return group["legs"][0]["instrument_id"][6:12]


def test_rolls_keep_the_strikes_and_make_one_lineage(rolls: Outcome) -> None:
    parent = "template-1-20240102T150000Z"
    (roll,) = rolls.of("roll", parent)
    assert roll["reason"] == "roll: 8 days to the nearest expiry" and roll["at"].startswith("2024-01-04")
    (opened,) = [a for a in rolls.of("roll_opened") if a["details"]["parent_id"] == parent]
    child = rolls.group(opened["group_id"])
    assert opened["details"] == {"parent_id": parent, "root_id": parent, "generation": 1}
    assert (_expiry(rolls.group(parent)), _expiry(child)) == ("240112", "240119")  # 8 -> 15 days
    assert _strikes(child) == _strikes(rolls.group(parent))
    assert child["source"] == "recurring" and child["opened_units"] == 2 and child["status"] == "open"
    (lineage,) = [x for x in rolls.summary["actions"]["lineages"] if x["root_id"] == parent]
    assert lineage["group_ids"] == [parent, child["group_id"]]
    assert lineage["pnl"] == pytest.approx(rolls.group(parent)["pnl"] + child["pnl"], abs=0.02)
    (closed,) = rolls.of("closed", parent)
    assert closed["details"]["root_id"] == parent


def test_a_rolled_group_still_counts_against_its_templates_cap(rolls: Outcome) -> None:
    runs = [a for a in rolls.actions if a["template_id"] == 1 and a["action"] in ("template_fired", "template_skipped")]
    assert [a["action"] for a in runs] == ["template_fired", "template_skipped", "template_skipped", "template_skipped"]
    assert runs[-1]["reason"] == "1 groups open, cap 1"  # the template's own group is closed: this is its roll


def test_a_same_deltas_roll_recentres_on_the_entry_deltas(rolls: Outcome) -> None:
    parent = "template-2-20240102T153000Z"
    (opened,) = [a for a in rolls.of("roll_opened") if a["details"]["parent_id"] == parent]
    db = Database(rolls.report / "management.sqlite")
    store = ManagementStore(db, ActionLog(db))
    entry = store.state(parent).entry_deltas
    assert entry is not None and store.state(opened["group_id"]).entry_deltas == entry  # the lineage's targets
    short_call, long_call, short_put, long_put = entry  # canonical order: kind, then signed quantity
    assert -0.3 < short_put < long_put < 0 < long_call < short_call < 0.3
    assert _expiry(rolls.group(opened["group_id"])) == "240119"
    assert not rolls.of("manage", opened["group_id"])  # registered by the roll, not as a new root


def test_a_roll_that_cannot_be_built_closes_the_group(rolls: Outcome) -> None:
    group = "template-3-20240102T160000Z"
    (failed,) = rolls.of("roll_failed", group)
    assert "no expiry 100-120 DTE" in failed["reason"]
    (close,) = rolls.of("close_all", group)
    assert close["reason"].startswith("closing instead of rolling")
    assert rolls.group(group)["status"] == "closed" and not rolls.of("roll", group)
    assert rolls.summary["all_groups_balanced"]


def test_groups_of_every_source_are_managed_through_their_owner(
    scenario_catalog: Callable[[str], Path],
    tmp_path: Path,
) -> None:
    """The autonomous IV-rank strategy's condors are stopped out through its own endpoint; the spread demo,
    which takes no commands, is logged once and left alone."""
    iv_rank = tomllib.loads(Path("configs/iv_rank_small.toml").read_text())["strategies"][0]["config"]
    extra = (
        ComponentSpec(
            "strategies",
            1,
            "strategies.iv_rank:IVRankStrategy",
            "strategies.iv_rank:IVRankStrategyConfig",
            iv_rank,
        ),
        ComponentSpec(
            "strategies",
            2,
            "strategies.spread_demo:SpreadDemo",
            "strategies.spread_demo:SpreadDemoConfig",
            {"quantity": 2, "hold_days": 3, "entry_every_days": 5},
        ),
    )
    outcome = run(
        scenario_catalog("high_iv"), tmp_path, bot={"rules": TEST_RULES}, without=("RecurringTemplates",), extra=extra
    )
    autonomous = [g for g in outcome.groups if g["strategy_id"].startswith("IVRankStrategy")]
    assert autonomous and all(g["source"] == "autonomous" for g in autonomous)
    for group in autonomous:
        (stop,) = outcome.of("close_all", group["group_id"])
        assert group["status"] == "closed" and "stop loss" in stop["reason"]
    (demo,) = [g for g in outcome.groups if g["strategy_id"].startswith("SpreadDemo")]
    assert [a["action"] for a in outcome.actions if a["group_id"] == demo["group_id"]] == ["not_managed"]
    assert outcome.summary["all_groups_balanced"]


def test_a_full_autonomous_book_still_rolls_its_group(scenario_catalog: Callable[[str], Path], tmp_path: Path) -> None:
    """The IV-rank strategy at its open-group limit: the roll's new group replaces its parent, which is
    not counted against the limit (before, every roll of a full book was refused and closed instead)."""
    iv_rank = tomllib.loads(Path("configs/iv_rank_small.toml").read_text())["strategies"][0]["config"]
    config = {**iv_rank, "min_dte": 8, "max_dte": 12, "risk": {**iv_rank["risk"], **ONE_GROUP}}
    extra = (
        ComponentSpec(
            "strategies", 1, "strategies.iv_rank:IVRankStrategy", "strategies.iv_rank:IVRankStrategyConfig", config
        ),
    )
    roll = {"below_dte": 9, "target_dte_min": 14, "target_dte_max": 21}
    bot = {"rules": {"profit_tranches": [], "stop_loss_pct": None, "roll": roll}}
    outcome = run(scenario_catalog("high_iv"), tmp_path, bot=bot, without=("RecurringTemplates",), extra=extra)
    (parent, *_) = [g for g in outcome.groups if g["strategy_id"].startswith("IVRankStrategy")]
    assert outcome.of("roll", parent["group_id"]) and not outcome.of("roll_failed")
    (opened,) = [a for a in outcome.of("roll_opened") if a["details"]["parent_id"] == parent["group_id"]]
    assert outcome.group(opened["group_id"])["status"] == "open" and outcome.summary["all_groups_balanced"]


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"check_interval_minutes": 0}, "check_interval_minutes must be >= 1"),
        ({"sources": ("robot",)}, "sources: 'robot' is not one of autonomous, manual, recurring"),
        ({"active_from": "9h45"}, "active_from must be a New York time like 09:45"),
        ({"rules": {"stop_loss_pct": 5}}, "rules.stop_loss_pct: Input should be less than 0 (got 5)"),
        (
            {"overrides": [{"group": "g*", "rules": {"stop_confirmations": 0}}]},
            "overrides[0].rules.stop_confirmations: Input should be greater than or equal to 1 (got 0)",
        ),
        ({"overrides": [{"group": "g*", "pause": True}]}, "overrides[0].pause: Extra inputs are not permitted"),
    ],
)
def test_bad_config_is_one_line_naming_the_field(config: dict, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        BotManagerConfig(**config)
    spec = ComponentSpec(
        "actors",
        0,
        "hybrid.management.bot_manager:BotManager",
        "hybrid.management.bot_manager:BotManagerConfig",
        config,
    )
    with pytest.raises(ConfigError) as error:  # what run_backtest.py prints, before anything is built
        importable(spec, "run.toml")
    assert str(error.value).startswith(f"run.toml: actors[0].config (BotManagerConfig): {message}")
