"""The recurring templates Actor in real backtests: the exchange calendar, entry conditions, restarts, one
claim per run across actors, templates created elsewhere; and its config and helpers."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from nautilus_trader.common.config import ActorFactory, ImportableActorConfig
from nautilus_trader.model.identifiers import InstrumentId

from data.synthetic import MarketConfig, generate
from hybrid.calendar.exchange_time import NEW_YORK
from hybrid.management.action_feed import open_action_log
from hybrid.management.action_log import ActionLog, ActionRecord
from hybrid.management.market_context import DailyIVHistory
from hybrid.management.recurring import RecurringTemplates, RecurringTemplatesConfig
from hybrid.management.template_store import TemplateStore
from hybrid.options.iv_data import AtmImpliedVol
from hybrid.options.ivrank import iv_rank
from hybrid.runconfig import load_settings
from hybrid.runconfig.components import importable
from hybrid.runconfig.settings import ComponentSpec
from hybrid.store.db import Database
from tests.conftest import SMALL_CATALOG_SEED
from tests.support.management_runs import BULL_CALLS, CONDOR, Elsewhere, ElsewhereConfig, Outcome, run, template

pytestmark = pytest.mark.slow  # a backtest, a server or a subprocess per test

NEVER = {"underlying_above": 100000}  # a condition that never holds: the run is evaluated and skipped
ONE_GROUP = {"max_open_groups": 1}
WIDE_CALLS = [{"by": "atm_offset", "steps": 0}, {"by": "width", "from_strike": "leg1_strike", "points": 30}]
PUT_FLY = [
    {"by": "width", "from_strike": "middle_strike", "points": 5},
    {"by": "atm_offset", "steps": -5},
    {"by": "width", "from_strike": "middle_strike", "points": -5},
]


def _runs(outcome: Outcome, template_id: int, action: str) -> list[str]:
    """The scheduled times (ISO UTC, to the minute) of a template's runs logged as ``action``."""
    return [
        a["details"]["scheduled_at"][:16]
        for a in outcome.actions
        if a["template_id"] == template_id and a["action"] == action
    ]


@pytest.fixture(scope="module")
def holiday_catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three sessions around a long weekend: Friday 2024-01-12, then (Martin Luther King Day) Tuesday 16, Wednesday 17."""
    out = tmp_path_factory.mktemp("catalogs") / "mlk"
    generate(
        MarketConfig.profile("small", seed=SMALL_CATALOG_SEED, start=dt.date(2024, 1, 12), days=3), out, progress=False
    )
    return out


def test_runs_fall_on_sessions_only(holiday_catalog: Path, tmp_path: Path) -> None:
    def at(schedule: dict) -> dict:
        return template("t", "iron_condor", CONDOR, schedule=schedule, conditions=NEVER)

    schedules = [
        {"kind": "daily", "at": "10:00"},
        {"kind": "weekly", "weekdays": ["mon"], "at": "10:00"},
        {"kind": "weekly", "weekdays": ["tue", "fri"], "at": "10:00"},
        {"kind": "monthly_day", "day": 15, "at": "12:00"},
        {"kind": "monthly_day", "day": 15, "at": "12:00", "if_not_trading_day": "skip"},
        {"kind": "monthly_weekday", "nth": 3, "weekday": "wed", "at": "12:00"},
        {"kind": "conditional", "every_minutes": 120},
    ]
    templates = [{**at(s), "name": f"t{i}"} for i, s in enumerate(schedules, 1)]
    outcome = run(holiday_catalog, tmp_path, recurring={"templates": templates}, without=("BotManager",))
    assert _runs(outcome, 1, "template_skipped") == ["2024-01-12T15:00", "2024-01-16T15:00", "2024-01-17T15:00"]
    assert _runs(outcome, 2, "template_skipped") == []  # the only Monday is a holiday
    assert _runs(outcome, 3, "template_skipped") == ["2024-01-12T15:00", "2024-01-16T15:00"]
    assert _runs(outcome, 4, "template_skipped") == ["2024-01-16T17:00"]  # the 15th moves to the next session
    assert _runs(outcome, 5, "template_skipped") == []
    assert _runs(outcome, 6, "template_skipped") == ["2024-01-17T17:00"]
    every_two_hours = [f"2024-01-{d}T{h}:30" for d in ("16", "17") for h in ("14", "16", "18", "20")]
    # the 09:30 open of the first session is the instant the template was created: not a run
    assert _runs(outcome, 7, "template_skipped") == [
        "2024-01-12T16:30",
        "2024-01-12T18:30",
        "2024-01-12T20:30",
        *every_two_hours,
    ]
    reasons = {a["reason"] for a in outcome.actions if a["action"] == "template_skipped"}
    assert all(re.fullmatch(r"underlying [\d.]+ not above 100000", r) for r in reasons)
    assert not outcome.groups


@pytest.fixture(scope="module")
def conditions(scenario_catalog: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory) -> Outcome:
    """The high-IV market (IV rank above 50 every session); call spreads make the portfolio long delta."""
    templates = [
        template("condor_rich", "iron_condor", CONDOR, units=2, conditions={**ONE_GROUP, "iv_rank_min": 50}),
        template("condor_cheap", "iron_condor", CONDOR, units=2, conditions={"iv_rank_max": 30}),
        template(
            "calls",
            "bull_call_spread",
            WIDE_CALLS,
            units=6,
            conditions=ONE_GROUP,
            schedule={"kind": "daily", "at": "10:00"},
        ),
        template(
            "fly_long_delta",
            "put_butterfly",
            PUT_FLY,
            units=1,
            conditions={**ONE_GROUP, "greeks": [{"greek": "delta", "op": ">", "value": 100}]},
            schedule={"kind": "daily", "at": "11:00"},
        ),
        template(
            "fly_short_delta",
            "put_butterfly",
            PUT_FLY,
            units=1,
            conditions={"greeks": [{"greek": "delta", "op": "<", "value": -1000}]},
            schedule={"kind": "daily", "at": "11:00"},
        ),
    ]
    return run(
        scenario_catalog("high_iv"),
        tmp_path_factory.mktemp("conditions"),
        recurring={"templates": templates},
        without=("BotManager",),
    )


def test_iv_rank_conditions(conditions: Outcome) -> None:
    (fired,) = [a for a in conditions.actions if a["template_id"] == 1 and a["action"] == "template_fired"]
    assert fired["details"]["iv_rank"] > 50 and fired["group_id"] == "template-1-20240102T150000Z"
    skipped = [a for a in conditions.actions if a["template_id"] == 2 and a["action"] == "template_skipped"]
    assert len(skipped) == 4 and all(re.fullmatch(r"IV rank [\d.]+ > 30", a["reason"]) for a in skipped)
    condor = conditions.group(fired["group_id"])
    assert (condor["source"], condor["structure"], condor["opened_units"]) == ("recurring", "iron_condor", 2)
    spot = fired["details"]["underlying_price"]
    strikes = {(leg["kind"], leg["quantity"]): leg["strike"] for leg in fired["details"]["legs"]}
    assert strikes[("put", 1)] < strikes[("put", -1)] < spot < strikes[("call", -1)] < strikes[("call", 1)]
    assert strikes[("call", 1)] - strikes[("call", -1)] == 5


def test_portfolio_delta_conditions_and_the_cap(conditions: Outcome) -> None:
    fly = [
        a for a in conditions.actions if a["template_id"] == 4 and a["action"] in ("template_fired", "template_skipped")
    ]
    assert fly[0]["action"] == "template_fired" and fly[0]["details"]["portfolio_greeks"]["delta"] > 100
    assert all(a["reason"].endswith("groups open, cap 1") for a in fly[1:])
    never = [a for a in conditions.actions if a["template_id"] == 5 and a["action"] == "template_skipped"]
    assert len(never) == 4 and all(a["reason"].startswith("portfolio delta < -1000 is false") for a in never)
    assert [g["structure"] for g in conditions.groups if g["status"] != "unfilled"].count("put_butterfly") == 1
    assert conditions.summary["all_groups_balanced"]


def _store(path: Path) -> TemplateStore:
    db = Database(path)
    return TemplateStore(db, ActionLog(db))


def test_a_restart_loses_no_run_and_fires_none_twice(small_catalog: Path, tmp_path: Path) -> None:
    database = str(tmp_path / "management.sqlite")
    templates = [
        {**template("ten", "bull_call_spread", BULL_CALLS), "grace_minutes": 90},
        template("nine_fifty_eight", "bull_call_spread", BULL_CALLS, schedule={"kind": "daily", "at": "09:58"}),
    ]
    first = run(
        small_catalog,
        tmp_path / "a",
        recurring={"database": database, "templates": templates},
        without=("BotManager",),
        end="2024-01-03T14:55:00Z",
    )
    # down from 09:55 to 10:40 New York: the 10:00 run is within its 90 minutes of grace, the 09:58 one is not
    second = run(
        small_catalog,
        tmp_path / "b",
        recurring={"database": database, "templates": []},
        without=("BotManager",),
        start="2024-01-03T15:40:00Z",
    )
    assert [
        a["action"] for a in second.actions if a["action"].startswith("template_") and "created" in a["action"]
    ] == []
    store = _store(tmp_path / "management.sqlite")
    ten = [(r.scheduled_at.isoformat()[:16], r.status) for r in store.runs(1)]
    assert ten == [
        ("2024-01-02T15:00", "fired"),
        ("2024-01-03T15:00", "fired"),
        ("2024-01-04T15:00", "fired"),
        ("2024-01-05T15:00", "fired"),
    ]
    late = [(r.scheduled_at.isoformat()[:16], r.status) for r in store.runs(2)]
    assert late == [
        ("2024-01-02T14:58", "fired"),
        ("2024-01-03T14:58", "skipped"),
        ("2024-01-04T14:58", "fired"),
        ("2024-01-05T14:58", "fired"),
    ]
    (caught_up,) = [
        a for a in second.actions if a["group_id"] == "template-1-20240103T150000Z" and a["action"] == "template_fired"
    ]
    assert caught_up["at"].startswith("2024-01-03T16:00")  # at the first option quotes after the restart
    assert [r.reason for r in store.runs(2)][1].startswith("missed")
    opened = [g["group_id"] for outcome in (first, second) for g in outcome.groups]
    assert len(opened) == len(set(opened)) == 7  # one group per fired run


def test_a_used_database_is_refused_for_an_earlier_clock(tmp_path: Path) -> None:
    path = str(tmp_path / "management.sqlite")
    later = dt.datetime(2024, 1, 5, 15, 0, tzinfo=dt.UTC)
    db, log = open_action_log(path, later)
    log.record(ActionRecord(later, "manage", "group taken under management", group_id="g"))
    db.close()
    message = (
        "database: .* has actions up to 2024-01-05T15:00:00.000000\\+00:00, after the clock's start "
        "2024-01-02T14:30:00.000000\\+00:00; give each backtest a fresh database"
    )
    with pytest.raises(ValueError, match=message):
        open_action_log(path, dt.datetime(2024, 1, 2, 14, 30, tzinfo=dt.UTC))
    open_action_log(path, later)[0].close()  # the same or a later clock is a restart


def test_two_actors_on_one_database_fire_each_run_once(small_catalog: Path, tmp_path: Path) -> None:
    database = str(tmp_path / "management.sqlite")
    config = {"database": database, "templates": [template("ten", "bull_call_spread", BULL_CALLS)]}
    twin = ComponentSpec(
        "actors",
        2,
        "hybrid.management.recurring:RecurringTemplates",
        "hybrid.management.recurring:RecurringTemplatesConfig",
        {**config, "component_id": "Twin"},
    )
    outcome = run(small_catalog, tmp_path, recurring=config, without=("BotManager",), extra=(twin,))
    fired = [a for a in outcome.actions if a["action"] == "template_fired"]
    assert sorted(a["group_id"] for a in fired) == [f"template-1-2024010{d}T150000Z" for d in (2, 3, 4, 5)]
    assert len(outcome.groups) == 4
    assert [s.template.name for s in _store(tmp_path / "management.sqlite").templates()] == ["ten"]  # one definition


class TemplateMakerConfig(ElsewhereConfig, frozen=True):
    template: dict


class TemplateMaker(Elsewhere):
    """Creates ``template`` as the API does."""

    def act(self, db: Database, now: dt.datetime) -> None:
        TemplateStore(db, ActionLog(db)).create(self.config.template, now)


def test_a_template_created_elsewhere_is_found_by_polling(small_catalog: Path, tmp_path: Path) -> None:
    database = str(tmp_path / "management.sqlite")
    noon = template("noon", "bull_call_spread", BULL_CALLS, schedule={"kind": "daily", "at": "12:00"})
    maker = ComponentSpec(
        "actors",
        2,
        "tests.management.test_recurring:TemplateMaker",
        "tests.management.test_recurring:TemplateMakerConfig",
        {"database": database, "at": "2024-01-02T11:00", "template": noon},
    )
    outcome = run(
        small_catalog,
        tmp_path,
        recurring={"database": database, "poll_minutes": 15},
        without=("BotManager",),
        extra=(maker,),
        end="2024-01-03T21:00:00Z",
    )
    fired = [(a["at"][:16], a["group_id"]) for a in outcome.actions if a["action"] == "template_fired"]
    assert fired == [
        ("2024-01-02T17:00", "template-1-20240102T170000Z"),
        ("2024-01-03T17:00", "template-1-20240103T170000Z"),
    ]


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            {"templates": [{"name": "x", "schedule": {"kind": "daily", "at": "18:00"}}]},
            "templates[0].order: Field required",
        ),
        (
            {"templates": [{**template("a", "iron_condor", CONDOR), "schedule": {"kind": "daily", "at": "18:00"}}]},
            "templates[0].schedule.daily.at: Value error, must be within the regular session",
        ),
        ({"templates": [template("a", "iron_condor", CONDOR)] * 2}, "templates: the name 'a' is used twice"),
        ({"iv_window": 1}, "iv_window must be >= 2 sessions, got 1"),
        ({"poll_minutes": 0}, "poll_minutes must be >= 1 or left out, got 0"),
    ],
)
def test_bad_config_is_one_line_naming_the_field(config: dict, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        RecurringTemplatesConfig(**config)


def test_iv_rank_ranks_todays_live_iv_against_the_sessions_before() -> None:
    spy = InstrumentId.from_str("SPY.OPRA")
    history = DailyIVHistory(spy, window=5)
    closes = [0.20, 0.25, 0.15, 0.30, 0.22]
    for day, iv in enumerate(closes, start=2):
        stamp = dt.datetime(2024, 1, day, 16, 0, tzinfo=NEW_YORK).timestamp()
        history.add(AtmImpliedVol(instrument_id=spy, iv_30d=iv, ts_event=int(stamp * 1e9), ts_init=int(stamp * 1e9)))
    other = InstrumentId.from_str("QQQ.OPRA")
    history.add(AtmImpliedVol(instrument_id=other, iv_30d=9.0, ts_event=0, ts_init=0))  # ignored
    assert history.rank(0.28, dt.date(2024, 1, 5)) is None  # only three sessions before the 5th
    assert history.rank(None, dt.date(2024, 1, 9)) is None
    assert history.rank(0.28, dt.date(2024, 1, 9)) == pytest.approx(iv_rank([0.25, 0.15, 0.30, 0.22, 0.28], 5).rank)


def test_the_demo_config_builds_its_components() -> None:
    """configs/recurring_demo.toml parses, and its actors accept their templates, rules and overrides."""
    settings = load_settings(Path(__file__).resolve().parents[2] / "configs" / "recurring_demo.toml")
    built = [importable(spec, str(settings.config_file)) for spec in settings.components]
    actors = [ActorFactory.create(config) for config in built if isinstance(config, ImportableActorConfig)]
    recurring = next(a for a in actors if isinstance(a, RecurringTemplates))
    assert [t.name for t in recurring.definitions] == ["condor_monday", "calls_monthly", "butterfly_daily"]
    assert recurring.definitions[0].conditions.iv_rank_min == 50
    assert recurring.definitions[2].conditions.greeks[0].describe() == "delta > 100"
