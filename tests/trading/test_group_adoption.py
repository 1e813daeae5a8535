"""A strategy's trader takes over the groups its orders hold, as after a restart: a new ``GroupTrader`` on the same
cache adopts every open group with the state the open had built (instrument, units per structure unit, the
underlying's shares, expiry exits, roll lineage, what is held) and an order still at the venue (as a broker keeps
it) as the group's working trade, and closes, partly closes, cancels or refuses a cancel of them as it does for
groups it opened. One backtest; the strategy replaces its trader mid-run."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.events import OrderEvent, OrderFilled
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.trading.strategy import Strategy

from hybrid.calendar.exchange_time import NEW_YORK
from hybrid.options.legs import Leg
from hybrid.orders.execution_mode import ExecutionMode
from hybrid.orders.structures import RuleStructure
from hybrid.runconfig.settings import ComponentSpec
from hybrid.trading import (
    CancelGroup,
    CloseGroup,
    ExecutionConfig,
    GroupCommand,
    GroupCommandResult,
    GroupState,
    GroupTrader,
    GroupTradingConfig,
    OpenGroup,
    RollGroup,
    market_snapshot,
    resolve_rules,
)
from tests.support.iv_rank_runs import run_iv_rank

pytestmark = pytest.mark.slow  # a backtest

MARKET = ExecutionConfig(mode=ExecutionMode.MARKET)
RESTING = ExecutionConfig(mode=ExecutionMode.LIMIT, reprice_after_seconds=6 * 3600)
SEEN: dict[str, object] = {}  # what the strategy saw, for the test to read after the run
KEPT = ("tags", "instrument_id", "per_unit", "underlying_id", "shares_ratio", "expiry_ns", "exit_ns", "cross_ns")
KEPT += ("parent_group_id", "held", "trade", "closing_reason", "leg_ids")


class AdoptingDeskConfig(GroupTradingConfig, frozen=True):
    pass


class AdoptingDesk(Strategy):
    """Opens three groups at 10:00, rolls one at 11:00, replaces its trader at 12:00, trades the adopted at 13:00."""

    def __init__(self, config: AdoptingDeskConfig) -> None:
        super().__init__(config)
        self.trader = GroupTrader.from_config(self, config)
        self.spy = InstrumentId.from_str("SPY.OPRA")
        self.groups: dict[str, str] = {}
        self.done: set[str] = set()
        self.results: list[tuple[str, GroupCommandResult]] = []

    def on_start(self) -> None:
        self.trader.start()
        self.subscribe_quote_ticks(self.spy)

    def on_order_filled(self, event: OrderFilled) -> None:
        self.trader.on_order_filled(event)

    def on_order_event(self, event: OrderEvent) -> None:
        self.trader.on_order_event(event)

    def on_quote_tick(self, tick: QuoteTick) -> None:
        self.trader.on_quote_tick(tick)
        if tick.instrument_id != self.spy:
            return
        now = dt.datetime.fromtimestamp(tick.ts_event / 1e9, tz=NEW_YORK)
        for at, step in (("10:00", self.open), ("11:00", self.roll), ("12:00", self.restart), ("13:00", self.trade)):
            if at not in self.done and now.time() >= dt.time.fromisoformat(at):
                self.done.add(at)
                step(tick.ts_event, now.date())

    def legs(self, ts_ns: int, today: dt.date, dte: tuple[int, int]) -> tuple[Leg, ...]:
        market = market_snapshot(self.cache, self.spy, ts_ns, 0.045, 0.013)
        assert market is not None
        rules = RuleStructure(
            strategy="bull_call_spread",
            strikes=[{"by": "atm_offset", "steps": 0}, {"by": "atm_offset", "steps": 2}],
            expiries=[{"min_dte": dte[0], "max_dte": dte[1]}],
        )
        return tuple(resolve_rules(rules, market.chain, market.spot, today))

    def run(self, name: str, command: GroupCommand) -> GroupCommandResult:
        result = self.trader.run_command(command)
        self.results.append((name, result))
        return result

    def open(self, ts_ns: int, today: dt.date) -> None:
        spread = self.legs(ts_ns, today, (30, 45))
        put = Leg("put", spread[0].strike, spread[0].expiry, -2)  # one contract, two per unit: per_unit -2
        covered = (Leg("call", spread[1].strike, spread[1].expiry, -1), Leg("underlying", None, None, 100))
        for name, structure, legs, units in (
            ("spread", "bull_call_spread", spread, 2),
            ("put", "short_put", (put,), 1),
            ("covered", "covered_call", covered, 3),
        ):
            result = self.run(
                f"open {name}", OpenGroup("SPY", structure, legs, units, source="manual", execution=MARKET)
            )
            self.groups[name] = result.group_id or ""
        resting = OpenGroup("SPY", "bull_call_spread", spread, 1, source="manual", execution=RESTING, limit_price=0.01)
        self.groups["resting"] = self.run("open resting", resting).group_id or ""  # a cent: it rests

    def roll(self, ts_ns: int, today: dt.date) -> None:
        result = self.run("roll spread", RollGroup(self.groups["spread"], self.legs(ts_ns, today, (20, 30)), MARKET))
        self.groups["child"] = result.group_id or ""

    def restart(self, ts_ns: int, today: dt.date) -> None:
        """A new trader on the same cache, as a new process after the paper book's restore."""
        SEEN["before"] = {g: _kept(s) for g, s in self.trader.groups.items()}
        SEEN["legs_before"] = {g: _legs(s) for g, s in self.trader.groups.items()}
        self.trader.groups[self.groups["resting"]].trade = None  # not cancelled by the stop: a broker keeps it
        self.trader.stop()
        self.trader = GroupTrader.from_config(self, self.config)
        self.trader.start()
        SEEN["after"] = {g: _kept(s) for g, s in self.trader.groups.items()}
        SEEN["legs_after"] = {g: _legs(s) for g, s in self.trader.groups.items()}

    def trade(self, ts_ns: int, today: dt.date) -> None:
        self.run("cancel resting", CancelGroup(self.groups["resting"]))
        self.run("cancel put", CancelGroup(self.groups["put"]))
        self.run("close put", CloseGroup(self.groups["put"], execution=MARKET))
        self.run("close child 1 unit", CloseGroup(self.groups["child"], units=1, execution=MARKET))
        self.run("close covered", CloseGroup(self.groups["covered"], execution=MARKET))
        SEEN["results"] = [(name, r.accepted, r.reason) for name, r in self.results]
        SEEN["resting_cancel_awaits_venue"] = next(r.awaiting_venue for n, r in self.results if n == "cancel resting")
        SEEN["groups"] = dict(self.groups)


def _kept(state: GroupState) -> dict:
    kept = {name: getattr(state, name) for name in KEPT}
    trade = state.trade
    if trade is not None:  # how it is worked is the trader's default after a restart
        kept["trade"] = (trade.side, trade.quantity, trade.purpose, trade.limit, trade.working, trade.withdrawn)
    return kept


def _legs(state: GroupState) -> list[tuple]:
    return sorted(dataclasses.astuple(dataclasses.replace(leg, price=None, iv=None)) for leg in state.legs)


def test_a_new_trader_adopts_the_open_groups_and_manages_them(
    scenario_catalog: Callable[[str], Path], tmp_path: Path
) -> None:
    desk = ComponentSpec(
        "strategies",
        1,
        "tests.trading.test_group_adoption:AdoptingDesk",
        "tests.trading.test_group_adoption:AdoptingDeskConfig",
        {},
    )
    SEEN.clear()
    out = run_iv_rank(scenario_catalog("low_iv"), tmp_path, actors=(desk,))  # the IV-rank strategy opens nothing
    groups = SEEN["groups"]
    assert isinstance(groups, dict)
    spread, put, covered, child, resting = (groups[n] for n in ("spread", "put", "covered", "child", "resting"))
    before, after = SEEN["before"], SEEN["after"]
    assert isinstance(before, dict) and isinstance(after, dict)
    assert set(before) == set(after) == {put, covered, child, resting}  # the rolled spread closed before
    assert after == before
    assert SEEN["legs_after"] == SEEN["legs_before"]
    assert (after[put]["per_unit"], after[put]["held"]) == (-2, -2)
    assert (after[covered]["per_unit"], after[covered]["shares_ratio"], after[covered]["held"]) == (-1, -100, -3)
    assert after[child]["parent_group_id"] == spread
    assert after[resting]["trade"][2:4] == ("open", 0.01) and after[resting]["held"] == 0
    assert SEEN["results"] == [
        ("open spread", True, None),
        ("open put", True, None),
        ("open covered", True, None),
        ("open resting", True, None),
        ("roll spread", True, None),
        ("cancel resting", True, None),
        ("cancel put", False, f"group {put} has nothing working to cancel"),
        ("close put", True, None),
        ("close child 1 unit", True, None),
        ("close covered", True, None),
    ]
    by_id = {group["group_id"]: group for group in out.groups}
    assert by_id[put]["status"] == by_id[covered]["status"] == "closed"
    assert by_id[put]["exit_premium"] is not None and by_id[covered]["balanced"]
    assert (by_id[child]["status"], by_id[child]["units"]) == ("open", 1)
    assert resting not in by_id or by_id[resting]["status"] == "unfilled"  # cancelled, nothing filled
    orders = out.orders()
    # repriced at the trader's default interval once adopted (its own execution is not on the order), then cancelled
    assert set(orders[orders["tags"].str.contains(f"group={resting}")]["status"]) == {"CANCELED"}
    assert SEEN["resting_cancel_awaits_venue"] is True
