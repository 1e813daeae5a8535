"""What the owning strategy does with a command that meets a group already working on something: a cancel
withdraws the working trade (an opening order or a close; what filled stays held), a close replaces a working
close, and a cancel with nothing working is refused with the reason. One backtest drives a script of commands
through the message bus, as the API's drainer does."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
from nautilus_trader.common.actor import Actor
from nautilus_trader.common.config import ActorConfig
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.identifiers import InstrumentId

from hybrid.calendar.exchange_time import NEW_YORK
from hybrid.orders.execution_mode import ExecutionMode
from hybrid.orders.structures import RuleStructure
from hybrid.runconfig.settings import ComponentSpec
from hybrid.trading import (
    CancelGroup,
    CloseGroup,
    ExecutionConfig,
    GroupCommand,
    GroupCommandResult,
    OpenGroup,
    command_endpoint,
    market_snapshot,
    resolve_rules,
    result_topic,
)
from tests.support.iv_rank_runs import run_iv_rank

pytestmark = pytest.mark.slow  # a backtest

STRATEGY_ID = "IVRankStrategy-000"
MARKET = ExecutionConfig(mode=ExecutionMode.MARKET)
RESTING = ExecutionConfig(mode=ExecutionMode.LIMIT, reprice_after_seconds=6 * 3600)  # not repriced in the script
UNFILLABLE_CLOSE = -50.0  # closing a long debit spread for a 50.00 credit: it rests
RESTING_OPEN = 0.01  # opening a debit spread for a cent: it rests

# (New York time on 2024-01-02, what to send): "kept" is the group opened at once, "resting" the one whose
# opening order rests
SCRIPT = (
    ("10:00", "open kept"),
    ("10:00", "open resting"),
    ("11:00", "cancel resting"),  # its opening order: withdrawn, nothing filled, no close
    ("11:00", "close kept at limit"),
    ("12:00", "cancel kept"),  # the resting close: withdrawn, the group stays open
    ("12:30", "cancel kept"),  # nothing working now: refused
    ("13:00", "close kept at limit"),
    ("14:00", "close kept at market"),  # replaces the resting close
)


class ScriptConfig(ActorConfig, frozen=True):
    strategy_id: str = STRATEGY_ID


class Script(Actor):
    """Sends :data:`SCRIPT`'s commands on the underlying's first tick at or after their time."""

    def __init__(self, config: ScriptConfig) -> None:
        super().__init__(config)
        self.results: dict[str, GroupCommandResult] = {}  # by command id
        self.sent: list[tuple[str, GroupCommand]] = []
        self.groups: dict[str, str] = {}
        self.spy = InstrumentId.from_str("SPY.OPRA")

    def on_start(self) -> None:
        self.msgbus.subscribe(result_topic(self.config.strategy_id), self._on_result)
        self.subscribe_quote_ticks(self.spy)

    def _on_result(self, result: GroupCommandResult) -> None:
        self.results[result.command_id] = result

    def answers(self) -> list[tuple[str, bool, str | None]]:
        return [(step, self.results[c.command_id].accepted, self.results[c.command_id].reason) for step, c in self.sent]

    def on_quote_tick(self, tick: QuoteTick) -> None:
        now = dt.datetime.fromtimestamp(tick.ts_event / 1e9, tz=NEW_YORK)
        for at, step in SCRIPT[len(self.sent) :]:
            if now < dt.datetime.combine(dt.date(2024, 1, 2), dt.time.fromisoformat(at), tzinfo=NEW_YORK):
                return
            command = self._command(step, tick.ts_event, now.date())
            self.sent.append((step, command))
            self.msgbus.send(command_endpoint(self.config.strategy_id), command)
            result = self.results[command.command_id]  # answered at once
            if step.startswith("open"):
                self.groups[step.split()[1]] = result.group_id or ""

    def _command(self, step: str, ts_ns: int, today: dt.date) -> GroupCommand:
        verb, name, *how = step.split()
        if verb == "open":
            market = market_snapshot(self.cache, self.spy, ts_ns, 0.045, 0.013)
            rules = RuleStructure(
                strategy="bull_call_spread",
                strikes=[{"by": "atm_offset", "steps": 0}, {"by": "atm_offset", "steps": 2}],
                expiries=[{"min_dte": 30, "max_dte": 45}],
            )
            legs = tuple(resolve_rules(rules, market.chain, market.spot, today))
            if name == "kept":
                return OpenGroup("SPY", "bull_call_spread", legs, 1, source="manual", execution=MARKET)
            return OpenGroup(
                "SPY", "bull_call_spread", legs, 1, source="manual", execution=RESTING, limit_price=RESTING_OPEN
            )
        group_id = self.groups[name]
        if verb == "cancel":
            return CancelGroup(group_id)
        if how == ["at", "limit"]:
            return CloseGroup(group_id, execution=RESTING, limit_price=UNFILLABLE_CLOSE, reason="resting close")
        return CloseGroup(group_id, execution=MARKET, reason="market close")


def test_cancel_withdraws_the_working_trade_and_a_close_replaces_a_working_close(
    scenario_catalog: Callable[[str], Path], tmp_path: Path
) -> None:
    script = ComponentSpec(
        "actors", 0, "tests.trading.test_group_commands:Script", "tests.trading.test_group_commands:ScriptConfig", {}
    )
    out = run_iv_rank(scenario_catalog("low_iv"), tmp_path, actors=(script,))  # the strategy opens nothing here
    actor = next(a for a in out.actors if isinstance(a, Script))
    kept, resting = actor.groups["kept"], actor.groups["resting"]
    assert actor.answers() == [
        ("open kept", True, None),
        ("open resting", True, None),
        ("cancel resting", True, None),
        ("close kept at limit", True, None),
        ("cancel kept", True, None),
        ("cancel kept", False, f"group {kept} has nothing working to cancel"),
        ("close kept at limit", True, None),
        ("close kept at market", True, None),
    ]
    awaiting = [actor.results[c.command_id].awaiting_venue for step, c in actor.sent if step.startswith("cancel")]
    assert awaiting == [True, True, False]  # both withdrawn orders were at the venue
    groups = {group["group_id"]: group for group in out.groups}
    assert resting not in groups or groups[resting]["status"] == "unfilled"  # cancelled, never closed
    orders = out.orders()
    resting_orders = orders[orders["tags"].str.contains(f"group={resting}")]
    assert len(resting_orders) == 1 and (resting_orders["status"] == "CANCELED").all()
    group = groups[kept]
    assert group["status"] == "closed" and group["balanced"]
    assert group["entry_premium"] > 0 > group["exit_premium"]  # a debit paid, then a credit received
    kept_orders = orders[orders["tags"].str.contains(f"group={kept}")]
    assert list(kept_orders["status"]) == ["FILLED", "CANCELED", "CANCELED", "FILLED"]
