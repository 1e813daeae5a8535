"""The shared group-trading machinery: execution prices, rule resolution, and the message-bus endpoint."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
from nautilus_trader.common.actor import Actor
from nautilus_trader.common.config import ActorConfig
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.persistence.catalog import ParquetDataCatalog

from hybrid.calendar.exchange_time import NEW_YORK
from hybrid.options.chain import ChainError, Mark, OptionChain
from hybrid.orders.structures import RuleStructure
from hybrid.runconfig.settings import ComponentSpec
from hybrid.trading import (
    CloseGroup,
    ExecutionConfig,
    GroupCommandResult,
    OpenGroup,
    RollGroup,
    check_execution,
    command_endpoint,
    limit_price,
    market_snapshot,
    resolve_rules,
    result_topic,
)
from tests.support.iv_rank_runs import run_iv_rank

pytestmark = pytest.mark.slow  # a backtest, a server or a subprocess per test

STRATEGY_ID = "IVRankStrategy-000"


@pytest.mark.parametrize(
    ("side", "attempts", "cross", "expected"),
    [
        (OrderSide.BUY, 0, False, 1.05),  # mid 1.00 + 0.25 x half-spread 0.20
        (OrderSide.BUY, 2, False, 1.15),
        (OrderSide.BUY, 9, False, 1.20),  # never past the far touch
        (OrderSide.SELL, 1, False, 0.90),
        (OrderSide.SELL, 0, True, 0.80),
    ],
)
def test_limit_price_moves_by_half_spread_fractions(
    side: OrderSide, attempts: int, cross: bool, expected: float
) -> None:
    assert limit_price(side, 0.80, 1.20, 0.25, attempts, cross) == pytest.approx(expected)


def test_credit_spread_prices_stay_on_the_negative_side() -> None:
    assert limit_price(OrderSide.BUY, -1.40, -1.00, 0.5, 0) == pytest.approx(-1.10)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"mode": "twap"}, "execution.mode must be one of limit, market, two_part"),
        ({"mode": "two_part"}, "execution.exec_algorithm_id is required"),
        ({"concession_half_spreads": 2.0}, "execution.concession_half_spreads must be a fraction"),
        ({"repair_order_type": "stop"}, "execution.repair_order_type must be"),
    ],
)
def test_bad_execution_is_one_line_naming_the_field(fields: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ExecutionConfig(**fields)


def test_two_part_route_names_the_exec_algorithm() -> None:
    config = check_execution(
        ExecutionConfig(mode="two_part", exec_algorithm_id="TwoPart", exec_algorithm_params={"mode": "combo"})
    )
    assert (config.exec_algorithm_id, config.exec_algorithm_params) == ("TwoPart", {"mode": "combo"})


def test_endpoint_and_topic_are_per_strategy() -> None:
    assert command_endpoint(STRATEGY_ID) == "hybrid.trading.IVRankStrategy-000.command"
    assert result_topic(STRATEGY_ID) == "hybrid.trading.IVRankStrategy-000.result"


@pytest.fixture(scope="module")
def chain(small_catalog: Path) -> OptionChain:
    instruments = ParquetDataCatalog(str(small_catalog)).instruments()
    chain = OptionChain.from_instruments(instruments, "SPY")
    expiry = chain.expiry_by_dte(dt.date(2024, 1, 2), 30, 45)
    marks = {}
    for right, sign in (("call", 1.0), ("put", -1.0)):
        for strike in chain.strikes(expiry, right):  # a smooth, made-up delta curve around 450
            delta = sign / (1.0 + 2.718281828 ** ((strike - 450.0) / 12.0 * sign))
            marks[chain.contract(expiry, right, strike).id] = Mark(delta=delta)
    chain.attach_marks(marks)
    return chain


def test_resolves_a_delta_condor_with_wings_a_width_away(chain: OptionChain) -> None:
    rules = RuleStructure(
        strategy="iron_condor",
        strikes=[
            {"by": "width", "from_strike": "short_put_strike", "points": -5},
            {"by": "delta", "delta": 0.16},
            {"by": "delta", "delta": 0.16},
            {"by": "width", "from_strike": "short_call_strike", "points": 5},
        ],
        expiries=[{"min_dte": 30, "max_dte": 45}],
    )
    legs = resolve_rules(rules, chain, 450.0, dt.date(2024, 1, 2))
    strikes = {(leg.kind, leg.quantity): leg.strike for leg in legs}
    assert strikes[("put", -1)] < 450 < strikes[("call", -1)]
    assert strikes[("put", -1)] - strikes[("put", 1)] == strikes[("call", 1)] - strikes[("call", -1)] == 5
    assert 30 <= (legs[0].expiry - dt.date(2024, 1, 2)).days <= 45


def test_butterfly_anchor_moves_until_the_wings_are_equal(chain: OptionChain) -> None:
    rules = RuleStructure(
        strategy="call_butterfly",
        strikes=[
            {"by": "width", "from_strike": "middle_strike", "points": 5},
            {"by": "atm_offset", "steps": 0},
            {"by": "width", "from_strike": "middle_strike", "points": -5},
        ],
        expiries=[{"min_dte": 30, "max_dte": 45}],
    )
    for spot in (448.0, 449.6, 451.2, 452.9):  # 1-point strikes near the money, 5-point further out
        low, middle, high = sorted(leg.strike for leg in resolve_rules(rules, chain, spot, dt.date(2024, 1, 2)))
        assert high - middle == middle - low > 0


def test_no_expiry_in_the_window_names_the_nearest(chain: OptionChain) -> None:
    rules = RuleStructure(
        strategy="naked_call",
        strikes=[{"by": "atm_offset", "steps": 0}],
        expiries=[{"min_dte": 200, "max_dte": 300}],
    )
    with pytest.raises(ChainError, match="no expiry 200-300 DTE"):
        resolve_rules(rules, chain, 450.0, dt.date(2024, 1, 2))


class BusClientConfig(ActorConfig, frozen=True):
    """Open a bull call spread at ``open_at`` (New York) through the endpoint, close it at ``close_at``."""

    strategy_id: str = STRATEGY_ID
    open_at: str = "2024-01-02T11:00"
    close_at: str = "2024-01-03T11:00"
    close_first: str | None = None  # a group id to close at ``open_at`` instead of opening
    roll: bool = False  # roll at ``close_at`` (to 35-46 DTE) instead of closing
    dte: tuple[int, int] = (30, 45)


class BusClient(Actor):
    """What a recurring-template actor does: resolve rules against the chain, ask the owning strategy."""

    def __init__(self, config: BusClientConfig) -> None:
        super().__init__(config)
        self.results: list[GroupCommandResult] = []
        self.sent: list[str] = []
        self.spy = InstrumentId.from_str("SPY.OPRA")

    def on_start(self) -> None:
        self.msgbus.subscribe(result_topic(self.config.strategy_id), self.results.append)
        self.subscribe_quote_ticks(self.spy)

    def on_quote_tick(self, tick: QuoteTick) -> None:
        now = dt.datetime.fromtimestamp(tick.ts_event / 1e9, tz=NEW_YORK).replace(tzinfo=None)
        endpoint = command_endpoint(self.config.strategy_id)
        if (
            "open" not in self.sent
            and now >= dt.datetime.fromisoformat(self.config.open_at)
            and self.config.close_first
        ):
            self.msgbus.send(endpoint, CloseGroup(self.config.close_first))
            self.sent.extend(["open", "close"])
        elif "open" not in self.sent and now >= dt.datetime.fromisoformat(self.config.open_at):
            legs = self.vertical(tick.ts_event, now.date(), *self.config.dte)
            self.msgbus.send(endpoint, OpenGroup("SPY", "bull_call_spread", legs, 2, source="recurring"))
            self.sent.append("open")
        elif "close" not in self.sent and self.results and now >= dt.datetime.fromisoformat(self.config.close_at):
            group_id = self.results[0].group_id
            if self.config.roll:
                self.msgbus.send(endpoint, RollGroup(group_id, self.vertical(tick.ts_event, now.date(), 35, 46)))
            else:
                self.msgbus.send(endpoint, CloseGroup(group_id, reason="template exit"))
            self.sent.append("close")

    def vertical(self, ts_ns: int, today: dt.date, min_dte: int, max_dte: int) -> tuple:
        market = market_snapshot(self.cache, self.spy, ts_ns, 0.045, 0.013)
        rules = RuleStructure(
            strategy="bull_call_spread",
            strikes=[{"by": "atm_offset", "steps": 0}, {"by": "atm_offset", "steps": 2}],
            expiries=[{"min_dte": min_dte, "max_dte": max_dte}],
        )
        return tuple(resolve_rules(rules, market.chain, market.spot, today))


def test_an_actor_opens_and_closes_a_group_through_the_message_bus(
    scenario_catalog: Callable[[str], Path],
    tmp_path: Path,
) -> None:
    client = ComponentSpec(
        "actors", 0, "tests.trading.test_group_trader:BusClient", "tests.trading.test_group_trader:BusClientConfig", {}
    )
    out = run_iv_rank(
        scenario_catalog("low_iv"),  # the strategy opens nothing of its own here
        tmp_path,
        actors=(client,),
    )
    bus = next(a for a in out.actors if isinstance(a, BusClient))
    assert [r.accepted for r in bus.results] == [True, True]
    (group,) = out.groups
    assert (group["group_id"], group["source"], group["structure"]) == (
        bus.results[0].group_id,
        "recurring",
        "bull_call_spread",
    )
    assert group["status"] == "closed" and group["balanced"]
    tags = out.orders()["tags"]
    assert tags.str.contains("source=recurring").all()


def test_unknown_group_close_is_refused_with_the_reason(
    scenario_catalog: Callable[[str], Path], tmp_path: Path
) -> None:
    client = ComponentSpec(
        "actors",
        0,
        "tests.trading.test_group_trader:BusClient",
        "tests.trading.test_group_trader:BusClientConfig",
        {"close_first": "G-nope"},
    )
    out = run_iv_rank(scenario_catalog("low_iv"), tmp_path, actors=(client,))
    bus = next(a for a in out.actors if isinstance(a, BusClient))
    (result,) = bus.results
    assert not result.accepted and result.reason == f"no open group G-nope owned by {STRATEGY_ID}"
    assert out.groups == []


def test_a_roll_closes_the_group_and_opens_its_child_with_the_lineage_tag(
    scenario_catalog: Callable[[str], Path],
    tmp_path: Path,
) -> None:
    client = ComponentSpec(
        "actors",
        0,
        "tests.trading.test_group_trader:BusClient",
        "tests.trading.test_group_trader:BusClientConfig",
        {"roll": True, "dte": [20, 30]},
    )
    out = run_iv_rank(scenario_catalog("low_iv"), tmp_path, actors=(client,))
    bus = next(a for a in out.actors if isinstance(a, BusClient))
    assert [r.accepted for r in bus.results] == [True, True]
    parent, child = out.groups
    assert parent["status"] == "closed" and child["status"] == "open"
    assert child["group_id"] == bus.results[1].group_id != parent["group_id"]
    assert parent["instrument_id"] != child["instrument_id"]  # a later expiry
    child_orders = out.orders()[lambda o: o["tags"].str.contains(f"group={child['group_id']}")]
    assert child_orders["tags"].str.contains(f"parent={parent['group_id']}").all()
    assert parent["balanced"] and child["balanced"]
