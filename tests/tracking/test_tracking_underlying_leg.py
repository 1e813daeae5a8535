"""A structure with an underlying leg (covered call) traded by the GroupTrader, as the group view sees it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from nautilus_trader.common.actor import Actor
from nautilus_trader.common.config import ActorConfig
from nautilus_trader.common.events import TimeEvent
from nautilus_trader.model.identifiers import InstrumentId

from hybrid.calendar.exchange_time import NEW_YORK
from hybrid.orders.structures import RuleStructure
from hybrid.runconfig.settings import ComponentSpec
from hybrid.tracking.tags import leg_ratio_tag, parse_leg_ratios
from hybrid.trading import (
    CloseGroup,
    GroupCommandResult,
    OpenGroup,
    command_endpoint,
    market_snapshot,
    resolve_rules,
    result_topic,
)
from tests.support.management_runs import run

pytestmark = pytest.mark.slow  # a backtest, a server or a subprocess per test

DESK = "OrderDesk-000"
SPY = InstrumentId.from_str("SPY.OPRA")


class CoveredCallClientConfig(ActorConfig, frozen=True):
    """Opens 2 covered calls on the first session and closes them on the second (``close`` false: keeps them)."""

    close: bool = True


class CoveredCallClient(Actor):
    def __init__(self, config: CoveredCallClientConfig) -> None:
        super().__init__(config)
        self.results: list[GroupCommandResult] = []

    def on_start(self) -> None:
        self.msgbus.subscribe(result_topic(DESK), self.results.append)
        steps = ((2, self.open), (3, self.close)) if self.config.close else ((2, self.open),)
        for day, step in steps:
            self.clock.set_time_alert(step.__name__, dt.datetime(2024, 1, day, 11, 0, tzinfo=NEW_YORK), callback=step)

    def open(self, event: TimeEvent) -> None:
        market = market_snapshot(self.cache, SPY, self.clock.timestamp_ns(), 0.045, 0.013)
        rules = RuleStructure(
            strategy="covered_call",
            strikes=[{"by": "atm_offset", "steps": 2}],
            expiries=[{"min_dte": 30, "max_dte": 45}],
        )
        legs = tuple(resolve_rules(rules, market.chain, market.spot, market.as_of.date()))
        self.msgbus.send(command_endpoint(DESK), OpenGroup("SPY", "covered_call", legs, 2))

    def close(self, event: TimeEvent) -> None:
        self.msgbus.send(command_endpoint(DESK), CloseGroup(self.results[0].group_id, reason="done"))


def _covered_call(small_catalog: Path, tmp_path: Path, close: bool) -> tuple[dict, object]:
    client = ComponentSpec(
        "actors",
        0,
        "tests.tracking.test_tracking_underlying_leg:CoveredCallClient",
        "tests.tracking.test_tracking_underlying_leg:CoveredCallClientConfig",
        {"close": close},
    )
    outcome = run(small_catalog, tmp_path, without=("BotManager", "RecurringTemplates"), extra=(client,))
    result = outcome.actor("CoveredCallClient").results[0]
    assert result.accepted, result.reason
    return outcome.group(result.group_id), outcome


def test_an_open_covered_call_holds_its_shares_as_a_balanced_leg(small_catalog: Path, tmp_path: Path) -> None:
    group, _ = _covered_call(small_catalog, tmp_path, close=False)
    legs = {leg["instrument_id"]: leg for leg in group["legs"]}
    stock, call = legs.pop(SPY.value), next(iter(legs.values()))
    # The call is sold: the structure instrument's units are -2, so the shares' ratio per unit is -100.
    assert group["status"] == "open" and group["units"] == -2
    assert (call["ratio"], call["expected_quantity"], call["filled_quantity"]) == (1, -2, -2)
    assert (stock["ratio"], stock["expected_quantity"], stock["filled_quantity"]) == (-100, 200, 200)
    assert group["balanced"] and group["pnl"] is not None


def test_a_closed_covered_call_is_flat_balanced_and_its_pnl_counts_the_shares(
    small_catalog: Path, tmp_path: Path
) -> None:
    group, outcome = _covered_call(small_catalog, tmp_path, close=True)
    assert group["status"] == "closed" and group["balanced"] and group["units"] == 0
    stock = next(leg for leg in group["legs"] if leg["instrument_id"] == SPY.value)
    assert (stock["ratio"], stock["expected_quantity"], stock["filled_quantity"]) == (-100, 0, 0)
    fills = outcome.orders()[lambda o: o["tags"].str.contains(f"group={group['group_id']}")]
    assert set(fills["instrument_id"]) >= {SPY.value}
    # every order is on a single instrument here, so the cash of all its fills is the P&L
    multiplier = fills["instrument_id"].map(lambda i: 1.0 if i == SPY.value else 100.0)
    sign = fills["side"].map({"BUY": -1.0, "SELL": 1.0})
    cash = (sign * fills["filled_qty"].astype(float) * fills["avg_px"].astype(float) * multiplier).sum()
    assert group["pnl"] == pytest.approx(cash - group["commissions"], abs=0.05)


def test_leg_ratio_tags_round_trip_and_bad_ones_name_the_tag() -> None:
    assert parse_leg_ratios(["group=G1", leg_ratio_tag(SPY, -100), "other"]) == {SPY: -100}
    assert parse_leg_ratios(["group=G1"]) == {}
    with pytest.raises(ValueError, match="tag 'leg_ratio' must be <instrument id>:<signed integer>"):
        parse_leg_ratios(["leg_ratio=SPY.OPRA:lots"])
    with pytest.raises(ValueError, match="tag 'leg_ratio' must be"):
        parse_leg_ratios(["leg_ratio=SPY.OPRA:0"])
