"""The order desk strategy (commands from actors, executed by its GroupTrader) and the intent-to-command glue."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from nautilus_trader.common.actor import Actor
from nautilus_trader.common.config import ActorConfig
from nautilus_trader.common.events import TimeEvent
from nautilus_trader.model.enums import OptionKind
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.instruments import OptionContract
from nautilus_trader.persistence.catalog import ParquetDataCatalog

from hybrid.calendar.exchange_time import NEW_YORK
from hybrid.management.intent_commands import execution_for, intent_legs, open_command
from hybrid.options.chain import OptionChain, contract_expiry
from hybrid.options.legs import Leg
from hybrid.orders.intents import LimitExecution, MarketExecution, OpenIntent, TwoPartExecution
from hybrid.orders.structures import RuleStructure
from hybrid.runconfig.settings import ComponentSpec
from hybrid.trading import (
    CloseGroup,
    ExecutionConfig,
    GroupCommandResult,
    MarketSnapshot,
    OpenGroup,
    RollGroup,
    command_endpoint,
    market_snapshot,
    resolve_rules,
    result_topic,
)
from tests.support.management_runs import BULL_CALLS, run

pytestmark = pytest.mark.slow  # a backtest, a server or a subprocess per test

DESK = "OrderDesk-000"
SPY = InstrumentId.from_str("SPY.OPRA")


class DeskClientConfig(ActorConfig, frozen=True):
    """Opens a 3-unit bull call spread on day 1, closes 2 units on day 2, rolls the rest to 43 days out on day 3."""


class DeskClient(Actor):
    def __init__(self, config: DeskClientConfig) -> None:
        super().__init__(config)
        self.results: list[GroupCommandResult] = []

    def on_start(self) -> None:
        self.msgbus.subscribe(result_topic(DESK), self.results.append)
        for day, step in ((2, self.open), (3, self.close), (4, self.roll)):
            at = dt.datetime(2024, 1, day, 11, 0, tzinfo=NEW_YORK)
            self.clock.set_time_alert(step.__name__, at, callback=step)

    def _legs(self, dte: tuple[int, int]) -> tuple[Leg, ...]:
        market = market_snapshot(self.cache, SPY, self.clock.timestamp_ns(), 0.045, 0.013)
        rules = RuleStructure(
            strategy="bull_call_spread", strikes=BULL_CALLS, expiries=[{"min_dte": dte[0], "max_dte": dte[1]}]
        )
        return tuple(resolve_rules(rules, market.chain, market.spot, market.as_of.date()))

    def open(self, event: TimeEvent) -> None:
        self.msgbus.send(command_endpoint(DESK), OpenGroup("SPY", "bull_call_spread", self._legs((30, 45)), 3))
        self.msgbus.send(command_endpoint(DESK), "not a command")

    def close(self, event: TimeEvent) -> None:
        self.msgbus.send(command_endpoint(DESK), CloseGroup(self.results[0].group_id, units=2, reason="partial"))

    def roll(self, event: TimeEvent) -> None:
        self.msgbus.send(command_endpoint(DESK), RollGroup(self.results[0].group_id, self._legs((43, 43))))


def test_the_desk_executes_commands_from_actors(small_catalog: Path, tmp_path: Path) -> None:
    client = ComponentSpec(
        "actors",
        0,
        "tests.strategies.test_order_desk:DeskClient",
        "tests.strategies.test_order_desk:DeskClientConfig",
        {},
    )
    outcome = run(small_catalog, tmp_path, without=("BotManager", "RecurringTemplates"), extra=(client,))
    results = outcome.actor("DeskClient").results
    opened, unknown, closed, rolled = results
    assert opened.accepted and closed.accepted and rolled.accepted
    assert not unknown.accepted and unknown.reason == "unknown command str"
    parent, child = outcome.group(opened.group_id), outcome.group(rolled.group_id)
    assert (parent["source"], parent["structure"], parent["opened_units"], parent["status"]) == (
        "manual",
        "bull_call_spread",
        3,
        "closed",
    )
    assert child["opened_units"] == 1 and child["status"] == "open"  # what was left after the partial close
    assert {leg["instrument_id"][6:12] for leg in child["legs"]} == {"240216"}
    assert outcome.summary["all_groups_balanced"]


def test_intent_executions_become_execution_configs() -> None:
    assert execution_for(MarketExecution()) == (ExecutionConfig(mode="market"), None)
    assert execution_for(LimitExecution(price=-1.25)) == (None, -1.25)  # the owner's limit working, fixed price
    config, limit = execution_for(TwoPartExecution(first_fraction=0.5, on_deadline="complete"))
    assert (config.mode, config.exec_algorithm_id, limit) == ("two_part", "TwoPart", None)
    assert config.exec_algorithm_params == {"first_fraction": 0.5, "on_deadline": "complete"}
    assert execution_for(TwoPartExecution())[0].exec_algorithm_params is None


@pytest.fixture(scope="module")
def market(small_catalog: Path) -> MarketSnapshot:
    chain = OptionChain.from_instruments(ParquetDataCatalog(str(small_catalog)).instruments(), "SPY")
    return MarketSnapshot(chain, 452.3, dt.datetime(2024, 1, 2, 10, tzinfo=NEW_YORK), 0.045, 0.013)


def test_rule_intents_resolve_against_the_chain_with_the_side_applied(market: MarketSnapshot) -> None:
    structure = {
        "type": "rules",
        "strategy": "bull_call_spread",
        "strikes": BULL_CALLS,
        "expiries": [{"min_dte": 30, "max_dte": 45}],
    }
    intent = OpenIntent(
        underlying="SPY", structure=structure, side="sell", units=2, execution={"type": "market"}, source="recurring"
    )
    legs = intent_legs(intent, market, dt.date(2024, 1, 2))
    # sold: the long call at the money becomes short; 460 is the listed strike nearest 452 + 10 (5-point grid there)
    assert [(leg.kind, leg.strike, leg.quantity) for leg in legs] == [("call", 452.0, -1), ("call", 460.0, 1)]
    command = open_command(intent, legs, group_id="template-1-20240102T150000Z")
    assert (command.structure, command.units, command.source, command.group_id) == (
        "bull_call_spread",
        2,
        "recurring",
        "template-1-20240102T150000Z",
    )
    assert command.legs == tuple(legs) and command.execution == ExecutionConfig(mode="market")


def test_custom_legs_keep_their_legs_and_are_named_custom(market: MarketSnapshot) -> None:
    expiry = dt.date(2024, 2, 16)
    legs = [
        {"kind": "put", "strike": 440, "expiry": expiry, "quantity": -1},
        {"kind": "put", "strike": 430, "expiry": expiry, "quantity": 1},
    ]
    intent = OpenIntent(
        underlying="SPY", structure={"type": "legs", "legs": legs}, units=1, execution={"type": "limit", "price": -1.1}
    )
    resolved = intent_legs(intent, market, dt.date(2024, 1, 2))
    assert resolved == [Leg("put", 440.0, expiry, -1), Leg("put", 430.0, expiry, 1)]
    command = open_command(intent, resolved)
    assert (command.structure, command.limit_price, command.execution, command.group_id) == ("custom", -1.1, None, None)


def test_atm_iv_passes_over_an_expiry_whose_calls_are_not_quoted(small_catalog: Path) -> None:
    """Live, the chain holds only contracts quoted on both sides now: an expiry can list puts and no calls,
    which is no reason for the entry decision to fail (it raised ChainError in the live node)."""
    instruments = ParquetDataCatalog(str(small_catalog)).instruments()
    chain = OptionChain.from_instruments(instruments, "SPY")
    first = chain.expiries[0]
    no_calls = [
        i
        for i in instruments
        if not (isinstance(i, OptionContract) and contract_expiry(i) == first and i.option_kind == OptionKind.CALL)
    ]
    snapshot = MarketSnapshot(
        OptionChain.from_instruments(no_calls, "SPY"), 452.3, dt.datetime(2024, 1, 2, 10, tzinfo=NEW_YORK), 0.045, 0.013
    )
    assert snapshot.chain.strikes(first, "put")
    assert snapshot.atm_iv() is None  # no marks attached: nothing to interpolate, and no error
