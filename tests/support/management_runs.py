"""Run tests/management_small.toml (order desk, bot manager, recurring templates) with per-test configs."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd
from nautilus_trader.common.actor import Actor
from nautilus_trader.common.config import ActorConfig
from nautilus_trader.common.events import TimeEvent

from hybrid.backtest import write_report
from hybrid.backtest.runner import run_backtest
from hybrid.calendar.exchange_time import NEW_YORK
from hybrid.management.action_feed import cached_actions
from hybrid.runconfig import load_settings
from hybrid.runconfig.settings import ComponentSpec
from hybrid.store.db import Database
from tests.support.iv_rank_runs import merged

CONFIG = Path(__file__).resolve().parent / "management_small.toml"
CONDOR = [
    {"by": "width", "from_strike": "short_put_strike", "points": -5},
    {"by": "delta", "delta": 0.16},
    {"by": "delta", "delta": 0.16},
    {"by": "width", "from_strike": "short_call_strike", "points": 5},
]
BULL_CALLS = [{"by": "atm_offset", "steps": 0}, {"by": "width", "from_strike": "leg1_strike", "points": 10}]
BEAR_PUTS = [{"by": "atm_offset", "steps": 0}, {"by": "width", "from_strike": "leg1_strike", "points": -10}]


def template(
    name: str,
    strategy: str,
    strikes: list[dict],
    *,
    units: int = 1,
    schedule: dict | None = None,
    conditions: dict | None = None,
    dte: tuple[int, int] = (30, 45),
) -> dict:
    """A template table as the TOML would give it (market execution, one expiry window)."""
    return {
        "name": name,
        "schedule": schedule or {"kind": "daily", "at": "10:00"},
        "conditions": conditions or {},
        "order": {
            "underlying": "SPY",
            "units": units,
            "execution": {"type": "market"},
            "structure": {
                "type": "rules",
                "strategy": strategy,
                "strikes": strikes,
                "expiries": [{"min_dte": dte[0], "max_dte": dte[1]}],
            },
        },
    }


class ElsewhereConfig(ActorConfig, frozen=True):
    """At ``at`` (New York wall time) change ``database`` through a connection of its own."""

    database: str
    at: str


class Elsewhere(Actor):
    """What a person does through the API while the engine runs: the subclass's :meth:`act` at ``at``."""

    def on_start(self) -> None:
        at = dt.datetime.fromisoformat(self.config.at).replace(tzinfo=NEW_YORK)
        self.clock.set_time_alert(type(self).__name__, at, callback=self._act)

    def _act(self, event: TimeEvent) -> None:
        db = Database(self.config.database)
        self.act(db, self.clock.utc_now())
        db.close()

    def act(self, db: Database, now: dt.datetime) -> None:
        raise NotImplementedError


@dataclass
class Outcome:
    """A finished run: its summary, its action rows (details parsed) and the two actors."""

    report: Path
    summary: dict
    actions: list[dict]
    actors: list

    @property
    def groups(self) -> list[dict]:
        return self.summary["groups"]

    def group(self, group_id: str) -> dict:
        return next(g for g in self.groups if g["group_id"] == group_id)

    def of(self, action: str, group_id: str | None = None) -> list[dict]:
        return [a for a in self.actions if a["action"] == action and (group_id is None or a["group_id"] == group_id)]

    def actor(self, name: str):
        return next(a for a in self.actors if type(a).__name__ == name)

    def orders(self) -> pd.DataFrame:
        return pd.read_csv(self.report / "orders.csv")


def run(
    catalog: Path,
    out: Path,
    *,
    bot: dict | None = None,
    recurring: dict | None = None,
    desk: dict | None = None,
    extra: tuple[ComponentSpec, ...] = (),
    start: str | None = None,
    end: str | None = None,
    without: tuple[str, ...] = (),
) -> Outcome:
    """One backtest; ``bot``/``recurring``/``desk`` override those components' config tables, ``without``
    drops components by class name, ``extra`` adds components."""
    settings = load_settings(CONFIG, catalog=catalog, out=out, start=start, end=end)
    overrides = {"OrderDesk": desk, "BotManager": bot, "RecurringTemplates": recurring}
    components = []
    for spec in settings.components:
        name = spec.path.rpartition(":")[2]
        if name not in without:
            components.append(replace(spec, config=merged(spec.config, overrides[name] or {})))
    settings = replace(settings, components=(*components, *extra))
    with run_backtest(settings) as backtest:
        report = write_report(backtest, out)
        actions = [{**row, "details": json.loads(row["details"])} for row in cached_actions(backtest.engine.cache)]
        return Outcome(
            report=report,
            summary=json.loads((report / "summary.json").read_text()),
            actions=actions,
            actors=list(backtest.engine.trader.actors()),
        )
