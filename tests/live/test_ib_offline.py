"""Interactive Brokers mode without a gateway: the project's iron condor orders through NautilusTrader's IB clients.

The orders are the ones the project's order path makes: the two-part algorithm working an iron condor sold for a
credit (a BUY at a negative price, as the IV-rank strategy sends it) over a short backtest, in combo and in legging
mode, tagged with the group. Fresh copies of them go through the IB execution client that
``run_live.py --mode ib`` configures (:func:`hybrid.live.ib.ib_clients`, with :func:`hybrid.live.ib.apply_ib_fixes`)
to a fake gateway at ibapi's EClient boundary (:mod:`tests.support.ib_gateway`), which answers with IB's callbacks.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from nautilus_trader.model.enums import OrderSide, OrderStatus
from nautilus_trader.model.identifiers import ClientOrderId, StrategyId
from nautilus_trader.model.orders import Order

from tests.support.ib_gateway import ACCOUNT, FakeGateway, IbNode, Placed
from tests.support.two_part import CONDOR, CONDOR_MARKET, Worked, work

GROUP = "g0"  # the group id the backtest's order schedule tags its first order with
LEG_PRICES = {"P00090000": 0.80, "P00095000": 1.60, "C00105000": 1.90, "C00110000": 0.90}  # the venue's fills


@pytest.fixture(scope="module")
def combo() -> Iterator[Worked]:
    worked = work(quantity=2, legs=CONDOR, market=CONDOR_MARKET, params={"mode": "combo"}, until_s=8)
    yield worked
    worked.engine.dispose()


@pytest.fixture(scope="module")
def legging() -> Iterator[Worked]:
    worked = work(quantity=2, legs=CONDOR, market=CONDOR_MARKET, params={"mode": "legging"}, until_s=12)
    yield worked
    worked.engine.dispose()


@pytest.fixture
def gateway() -> FakeGateway:
    return FakeGateway()


@pytest.fixture
def node(gateway: FakeGateway, combo: Worked, tmp_path: Path) -> Iterator[IbNode]:
    ib = IbNode(gateway, list(combo.market.options), tmp_path / "state.sqlite")
    yield ib
    ib.close()


def leg_price(symbol: str) -> float:
    return next(price for key, price in LEG_PRICES.items() if symbol.endswith(key))


def fill_as_placed(node: IbNode, placed: Placed) -> float:
    """The venue fills ``placed`` at :data:`LEG_PRICES`; returns the net price per unit it reported (debit +)."""
    units = int(placed.order.totalQuantity)
    symbol_of = {
        node.client.instrument_provider.contract[i].conId: i.symbol.value
        for i in node.client.instrument_provider.contract
    }
    if placed.contract.secType == "BAG":
        assert placed.order.action == "BUY"  # a bought combo's legs trade as their combo legs say
        legs = [
            (leg.conId, "BOT" if leg.action == "BUY" else "SLD", units * leg.ratio, leg_price(symbol_of[leg.conId]))
            for leg in placed.contract.comboLegs
        ]
    else:
        side = "BOT" if placed.order.action == "BUY" else "SLD"
        legs = [(placed.contract.conId, side, units, leg_price(symbol_of[placed.contract.conId]))]
    net = sum((1 if side == "BOT" else -1) * qty * price for _, side, qty, price in legs) / units
    node.gateway.fill(placed.order_id, legs, round(net, 2))
    node.settle()
    return net


def combo_child(worked: Worked) -> Order:
    return next(o for o in worked.children if o.instrument_id == worked.spread.id)


def test_a_combo_iron_condor_is_one_guaranteed_bag_order_with_the_legs_con_ids_ratios_and_actions(
    node: IbNode, gateway: FakeGateway, combo: Worked
) -> None:
    child = combo_child(combo)
    node.load_spread(combo.spread.id)
    order = node.submit(child, combo.primary)
    assert order.status == OrderStatus.ACCEPTED
    (placed,) = gateway.placed
    bag = placed.contract
    assert (bag.secType, bag.symbol, bag.exchange, bag.currency) == ("BAG", "SPY", "SMART", "USD")
    expected = {
        (node.con_id(o), 1, "BUY" if ratio > 0 else "SELL")
        for o in combo.market.options
        for leg_id, ratio in combo.spread.legs()
        if leg_id == o.id
    }
    assert {(leg.conId, leg.ratio, leg.action) for leg in bag.comboLegs} == expected
    assert len(bag.comboLegs) == 4
    assert {action for *_, action in expected} == {"BUY", "SELL"}  # wings bought, body sold
    ib_order = placed.order
    assert (ib_order.action, ib_order.orderType) == ("BUY", "LMT")
    assert ib_order.lmtPrice == child.price.as_double() < 0  # a credit: a BUY of the condor at a negative price
    assert ib_order.totalQuantity == child.quantity.as_decimal()
    assert ib_order.orderRef == f"{child.client_order_id.value}:{placed.order_id}"
    assert ib_order.account == ACCOUNT
    # one underlying's options: IB guarantees the combo (all legs or none); NonGuaranteed is not sent
    assert not ib_order.smartComboRoutingParams


def test_legging_sends_each_leg_as_an_option_order_with_the_bought_wings_first(
    node: IbNode, gateway: FakeGateway, legging: Worked
) -> None:
    legs = [o for o in legging.children if o.instrument_id != legging.spread.id]
    assert len(legs) >= 4
    for child in legs:
        node.submit(child, legging.primary)
    assert [p.contract.secType for p in gateway.placed] == ["OPT"] * len(legs)
    options = {o.id: o for o in legging.market.options}
    assert [
        (p.contract.conId, p.order.action, p.order.lmtPrice, p.order.orderRef.rpartition(":")[0])
        for p in gateway.placed
    ] == [
        (node.con_id(options[c.instrument_id]), c.side.name, c.price.as_double(), c.client_order_id.value) for c in legs
    ]
    bought = {node.con_id(options[i]) for i, ratio in legging.spread.legs() if ratio > 0}
    assert {p.contract.conId for p in gateway.placed[:2]} == bought
    assert all(p.order.action == "BUY" for p in gateway.placed[:2])
    assert not any(p.order.smartComboRoutingParams for p in gateway.placed)


def test_combo_fills_book_the_legs_and_the_net_credit_in_the_group_view(
    node: IbNode, gateway: FakeGateway, combo: Worked
) -> None:
    child = combo_child(combo)
    node.load_spread(combo.spread.id)
    node.submit(child, combo.primary)
    net = fill_as_placed(node, gateway.placed[0])
    order = node.cache.order(child.client_order_id)
    assert order.status == OrderStatus.FILLED
    assert order.avg_px == pytest.approx(net)  # the combo's net price, not a leg's (1.231's bug, worked around)
    group = node.book.get(GROUP)
    units = child.quantity.as_decimal()
    assert group is not None and group.status == "open"
    assert group.units == units
    assert {leg.instrument_id: leg.quantity for leg in group.legs} == {
        leg_id: ratio * units for leg_id, ratio in combo.spread.legs()
    }
    assert group.entry_premium == pytest.approx(net) == pytest.approx(-1.80)
    assert group.commissions == pytest.approx(0.65 * 4 * float(units))
    assert group.balanced and group.working_orders == 0


def test_leg_fills_book_each_leg_in_the_group_view(node: IbNode, gateway: FakeGateway, legging: Worked) -> None:
    legs = [o for o in legging.children if o.instrument_id != legging.spread.id and o.status == OrderStatus.FILLED]
    for child in legs:
        node.submit(child, legging.primary)
        fill_as_placed(node, gateway.placed[-1])
    group = node.book.get(GROUP)
    assert group is not None
    held = {leg.instrument_id: leg.quantity for leg in group.legs}
    for child in legs:
        assert node.cache.order(child.client_order_id).status == OrderStatus.FILLED
    expected: dict = {}
    for child in legs:
        signed = child.quantity.as_decimal() * (1 if child.side == OrderSide.BUY else -1)
        expected[child.instrument_id] = expected.get(child.instrument_id, Decimal(0)) + signed
    assert {i: q for i, q in held.items() if q} == {i: q for i, q in expected.items() if q}
    cash = sum(
        (-1 if c.side == OrderSide.BUY else 1) * float(c.quantity) * leg_price(c.instrument_id.symbol.value) * 100
        for c in legs
    )
    assert group.cash == pytest.approx(cash - 0.65 * sum(float(c.quantity) for c in legs))


def test_orders_reconciled_after_a_restart_keep_their_strategy_and_group_tags(
    gateway: FakeGateway, combo: Worked, tmp_path: Path
) -> None:
    database = tmp_path / "state.sqlite"
    child = combo_child(combo)
    first = IbNode(gateway, list(combo.market.options), database)
    first.load_spread(combo.spread.id)
    first.submit(child, combo.primary)
    first.close()  # the node stops; the gateway keeps the working order

    by_hand = copy.deepcopy(gateway.placed[0])  # the same combo placed in TWS by hand: the journal never saw it
    by_hand.order_id, by_hand.order.orderRef = 99, "TWS-by-hand"
    gateway.open_orders[99] = by_hand

    second = IbNode(gateway, list(combo.market.options), database)
    try:
        second.load_spread(combo.spread.id)
        assert second.run(second.engine.reconcile_execution_state())
        second.settle()
        order = second.cache.order(child.client_order_id)
        assert order is not None and order.is_open
        assert order.strategy_id == child.strategy_id
        assert order.tags == child.tags
        group = second.book.get(GROUP)
        assert group is not None and group.order_ids == [child.client_order_id.value] and group.working_orders == 1
        external = second.cache.order(ClientOrderId("TWS-by-hand"))
        assert (external.strategy_id, external.tags) == (StrategyId("EXTERNAL"), ["VENUE"])

        net = fill_as_placed(second, gateway.placed[0])  # the venue fills it after the restart
        group = second.book.get(GROUP)
        assert group.status == "open" and group.units == child.quantity.as_decimal()
        assert group.entry_premium == pytest.approx(net)
    finally:
        second.close()
