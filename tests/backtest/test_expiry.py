"""Groups held to expiry: in-the-money calls and puts assigned physically, holdings that net between groups,
the delivered shares flattened at the next open, and group P&L that adds up to the account to the cent.

Five groups of the order desk on Friday 2024-01-05's expiry, opened on the Tuesday, held through the close:

- ``calls_high`` (+C415 -C420) x2, then ``calls_low`` (+C410 -C415) x2: C415 nets to zero at the venue;
- ``puts_low`` (+P450 -P445) x1, then ``puts_high`` (+P455 -P450) x3: P450 nets to -2 (one leg fill flips
  the venue's position);
- ``call`` (+C410) x1.

Every strike is in the money at the expiry (spot about 433).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from nautilus_trader.common.actor import Actor
from nautilus_trader.common.config import ActorConfig
from nautilus_trader.common.events import TimeEvent
from nautilus_trader.persistence.catalog import ParquetDataCatalog

from hybrid.calendar.exchange_time import NEW_YORK
from hybrid.options.instruments import occ_symbol
from hybrid.options.legs import Leg
from hybrid.runconfig.settings import ComponentSpec
from hybrid.trading import GroupCommandResult, OpenGroup, command_endpoint, result_topic
from tests.support.book_oracle import ORACLE, oracle_of
from tests.support.management_runs import Outcome, run

pytestmark = pytest.mark.slow  # a backtest, a server or a subprocess per test

DESK = "OrderDesk-000"
SPY = "SPY.OPRA"
EXPIRY = dt.date(2024, 1, 5)
EXPIRY_NS = pd.Timestamp("2024-01-05 16:00", tz=NEW_YORK).value
MONDAY_OPEN_NS = pd.Timestamp("2024-01-08 09:30", tz=NEW_YORK).value
GROUPS = (  # name, structure, (kind, strike, quantity per unit), units; opened in this order
    ("calls_high", "bull_call_spread", (("call", 415, 1), ("call", 420, -1)), 2),
    ("calls_low", "bull_call_spread", (("call", 410, 1), ("call", 415, -1)), 2),
    ("puts_low", "bear_put_spread", (("put", 450, 1), ("put", 445, -1)), 1),
    ("puts_high", "bear_put_spread", (("put", 455, 1), ("put", 450, -1)), 3),
    ("call", "long_call", (("call", 410, 1),), 1),
)
HOLD = {"close_days_before_expiry": 0, "exit_time": "16:30"}  # the exit falls after the expiry: held to it


def contract(kind: str, strike: float) -> str:
    return f"{occ_symbol('SPY', EXPIRY, kind, strike)}.OPRA"


class ExpiryClient(Actor):
    """Opens the module's groups at 11:00 New York on 2024-01-02, market orders, in order."""

    def __init__(self, config: ActorConfig | None = None) -> None:
        super().__init__(config or ActorConfig())
        self.results: list[GroupCommandResult] = []

    def on_start(self) -> None:
        self.msgbus.subscribe(result_topic(DESK), self.results.append)
        self.clock.set_time_alert("open", dt.datetime(2024, 1, 2, 11, 0, tzinfo=NEW_YORK), callback=self.open)

    def open(self, event: TimeEvent) -> None:
        for name, structure, legs, units in GROUPS:
            unit = tuple(Leg(kind, float(strike), EXPIRY, quantity) for kind, strike, quantity in legs)
            self.msgbus.send(command_endpoint(DESK), OpenGroup("SPY", structure, unit, units, group_id=name))


@pytest.fixture(scope="module")
def held(expiry_catalog: Path, tmp_path_factory: pytest.TempPathFactory) -> Outcome:
    client = ComponentSpec("actors", 0, f"{__name__}:ExpiryClient", "nautilus_trader.common.config:ActorConfig", {})
    out = tmp_path_factory.mktemp("held-to-expiry")
    extra = (client, ComponentSpec(*ORACLE))
    outcome = run(expiry_catalog, out, desk=HOLD, without=("BotManager", "RecurringTemplates"), extra=extra)
    results = outcome.actor("ExpiryClient").results
    assert len(results) == len(GROUPS) and all(r.accepted for r in results), [r.reason for r in results]
    return outcome


def fills(outcome: Outcome, name: str) -> pd.DataFrame:
    frame = pd.read_csv(outcome.report / name)
    frame["qty"] = frame["last_qty"].astype(float) * frame["order_side"].map({"BUY": 1.0, "SELL": -1.0})
    frame["fee"] = frame["commission"].str.split(" ").str[0].astype(float)
    frame["ts"] = pd.to_datetime(frame["ts_event"], format="ISO8601").map(lambda t: t.value)  # ns where not whole
    return frame


def settlement_price(catalog: Path) -> float:
    """The underlying's LAST at the expiry instant: what the venue exercises on."""
    trades = ParquetDataCatalog(str(catalog)).trade_ticks(instrument_ids=[SPY], end=pd.Timestamp(EXPIRY_NS, tz="UTC"))
    return trades[-1].price.as_double()


def test_every_group_is_settled_its_shares_flattened_and_nothing_is_left(held: Outcome) -> None:
    groups = {g["group_id"]: g for g in held.groups}
    assert set(groups) == {name for name, *_ in GROUPS}
    for group in groups.values():
        assert group["status"] == "closed" and group["units"] == 0, group
        assert all(leg["filled_quantity"] == 0 for leg in group["legs"]), group
        assert group["balanced"] and group["out_of_ratio"] == [] and group["working_orders"] == 0
    assert held.summary["all_groups_balanced"] and held.summary["out_of_ratio"] == []
    delivered = {
        name: {leg["instrument_id"]: leg["delivered_quantity"] for leg in g["legs"] if leg["delivered_quantity"]}
        for name, g in groups.items()
    }
    assert delivered == {  # 100 shares per contract: calls deliver long, puts short; P450 -2 of puts_high's -3
        "calls_high": {SPY: -200},
        "calls_low": {SPY: 200},
        "puts_low": {SPY: 100},
        "puts_high": {SPY: -300 + 200},
        "call": {SPY: 100},
    }


def test_the_group_book_matches_a_rebuild_through_the_shared_settlement(held: Outcome) -> None:
    oracle_of(held.actors)


def test_the_venue_settles_only_net_positions_and_nothing_is_ordered_on_an_expired_contract(held: Outcome) -> None:
    orders = held.orders()
    settled = orders[orders["tags"].str.contains("EXPIRATION_OPRA_PHYSICAL_CLOSE")]
    assert sorted(settled["instrument_id"]) == sorted(
        [contract("call", 410), contract("call", 420), contract("put", 445), contract("put", 450), contract("put", 455)]
    )  # C415 netted to zero: the venue settled nothing there
    ours = orders[~orders["tags"].str.contains("EXPIRATION_")]
    options = ours[ours["instrument_id"] != SPY]
    assert (options["ts_init"] < EXPIRY_NS).all(), options[["client_order_id", "instrument_id", "ts_init"]]
    assert set(orders["status"]) <= {"FILLED", "CANCELED"}  # nothing left working


def test_delivered_shares_are_flattened_at_the_next_open_and_pay_the_share_fee(held: Outcome) -> None:
    shares = fills(held, "fills.csv")
    shares = shares[(shares["instrument_id"] == SPY) & ~shares["client_order_id"].str.startswith("OPRA-")]
    assert len(shares) == 5  # one order per group, none resting over the weekend
    assert (shares["ts"] >= MONDAY_OPEN_NS).all() and (shares["ts"] < MONDAY_OPEN_NS + 60 * 60 * 10**9).all()
    orders = held.orders().set_index("client_order_id").loc[shares["client_order_id"]]
    assert (orders["ts_init"] >= MONDAY_OPEN_NS).all()
    per_order = shares.groupby("client_order_id").agg(qty=("qty", "sum"), fee=("fee", "sum"))
    expected = per_order["qty"].abs().map(lambda q: max(1.0, round(0.005 * q, 2)))
    assert per_order["fee"].tolist() == expected.tolist()  # $0.005 a share, at least $1 an order
    assert held.summary["fee_per_share"] == 0.005 and held.summary["share_fee_minimum"] == 1.0


def test_leg_fills_csv_lists_each_leg_fill_once_and_no_settlement(held: Outcome) -> None:
    legs = fills(held, "leg_fills.csv")
    assert not legs["client_order_id"].str.startswith("OPRA-").any()  # settlement fills are in fills.csv
    assert not legs.duplicated(["client_order_id", "trade_id"]).any()
    # P450's position went +1 -> -2 on puts_high's leg fill: NautilusTrader splits it, the report joins it
    flip = legs[(legs["instrument_id"] == contract("put", 450)) & (legs["qty"] < 0)]
    assert flip["qty"].tolist() == [-3.0]
    assert held.summary["counts"]["leg_fills"] == len(legs)


def test_group_pnl_adds_up_to_the_account_to_the_cent(held: Outcome) -> None:
    summary = held.summary
    total = round(sum(g["pnl"] for g in summary["groups"]), 2)
    assert total == round(summary["ending_balance"] - summary["starting_balance"], 2)
    assert total == summary["statistics"]["pnl"]["total"]  # nothing is open: the equity is the balance


def test_netting_groups_settle_their_netted_contract_at_its_value_at_expiry(held: Outcome, expiry_catalog: Path):
    """Each group's P&L from its own fills: entry leg fills, settlement (netted holdings at intrinsic value,
    the rest at 0 plus shares at the strike) and the share flattening, less commissions."""
    spot = settlement_price(expiry_catalog)
    legs, all_fills = fills(held, "leg_fills.csv"), fills(held, "fills.csv")
    for name, _, unit, units in GROUPS:
        group = next(g for g in held.groups if g["group_id"] == name)
        own = pd.concat(  # the leg fills of its spread orders, the fills of its orders on one instrument
            [
                legs[legs["client_order_id"].str.rpartition("-LEG-")[0].isin(group["orders"])],
                all_fills[
                    all_fills["client_order_id"].isin(group["orders"]) & ~all_fills["instrument_id"].str.contains("___")
                ],
            ]
        )
        multiplier = own["instrument_id"].map(lambda i: 1.0 if i == SPY else 100.0)
        cash = -(own["qty"] * own["last_px"] * multiplier).sum() - own["fee"].sum()
        for kind, strike, quantity in unit:
            holding = Decimal(quantity * units)
            netted = _netted(name, kind, strike, holding)
            value = max(spot - strike, 0.0) if kind == "call" else max(strike - spot, 0.0)
            cash += float(netted) * round(value, 2) * 100  # closed at its intrinsic value
            shares = (holding - netted) * 100 * (1 if kind == "call" else -1)  # exercised: shares at the strike
            cash -= float(shares) * strike
        assert group["pnl"] == pytest.approx(cash, abs=0.005), name


def _netted(name: str, kind: str, strike: int, holding: Decimal) -> Decimal:
    """The part of the group's holding that cancelled against another group's (module docstring)."""
    if (kind, strike) == ("call", 415):
        return holding  # calls_high +2 and calls_low -2: all of it
    if (kind, strike) == ("put", 450):
        return holding if name == "puts_low" else Decimal(-1)  # +1 against one of puts_high's -3
    return Decimal(0)
