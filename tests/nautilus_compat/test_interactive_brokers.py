"""Upstream facts behind :mod:`hybrid.nautilus_compat.interactive_brokers`; each fails once upstream changes it.

The adapter's behaviour is shown through NautilusTrader's own IB execution client and live execution engine against
the fake gateway of :mod:`tests.support.ib_gateway`, without the project's workarounds.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
from nautilus_trader.adapters.interactive_brokers.client.client import InteractiveBrokersClient
from nautilus_trader.common.factories import OrderFactory
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.events import OrderFilled
from nautilus_trader.model.identifiers import StrategyId
from nautilus_trader.model.instruments import OptionContract
from nautilus_trader.model.objects import Price, Quantity
from nautilus_trader.model.orders import Order

from bench.exec_simulation import SimMarketConfig, make_market
from hybrid.nautilus_compat.interactive_brokers import MAX_CONNECTION_ATTEMPTS_ENV, limit_connection_attempts
from hybrid.options.chain import make_option_spread
from hybrid.tracking import GroupTags
from tests.support.ib_gateway import FakeGateway, IbNode
from tests.support.two_part import CONDOR, CONDOR_MARKET


def test_ib_client_still_reads_its_attempt_limit_from_the_environment_with_forever_as_default() -> None:
    source = inspect.getsource(InteractiveBrokersClient.__init__)
    assert f'os.getenv("{MAX_CONNECTION_ATTEMPTS_ENV}", "0")' in source


def test_one_attempt_unless_the_environment_says_otherwise() -> None:
    env: dict[str, str] = {}
    limit_connection_attempts(env)
    assert env == {MAX_CONNECTION_ATTEMPTS_ENV: "1"}
    env = {MAX_CONNECTION_ATTEMPTS_ENV: "5"}
    limit_connection_attempts(env)
    assert env == {MAX_CONNECTION_ATTEMPTS_ENV: "5"}


@pytest.fixture
def options() -> list[OptionContract]:
    return list(make_market(SimMarketConfig(**CONDOR_MARKET)).options)


def submitted_condor(node: IbNode, options: list[OptionContract]) -> Order:
    """A condor (bought wings, sold body) bought for a 1.80 credit, submitted through the raw adapter."""
    spread = make_option_spread([(options[i], ratio) for i, ratio in CONDOR])
    node.load_spread(spread.id)
    factory = OrderFactory(node.msgbus.trader_id, StrategyId("S-001"), node.clock)
    tags = GroupTags("g1", "manual", "iron_condor").to_tags()
    order = factory.limit(spread.id, OrderSide.BUY, Quantity.from_int(1), Price.from_str("-1.80"), tags=tags)
    return node.submit(order)


def test_ib_adapter_still_prices_a_combo_fill_at_the_price_of_a_leg(
    options: list[OptionContract], tmp_path: Path
) -> None:
    node = IbNode(FakeGateway(), options, tmp_path / "state.sqlite", fixes=False)
    try:
        order = submitted_condor(node, options)
        placed = node.gateway.placed[0]
        prices = dict(zip((node.con_id(o) for o in options), (0.80, 1.60, 1.90, 0.90), strict=True))
        legs = [
            (leg.conId, "BOT" if leg.action == "BUY" else "SLD", 1, prices[leg.conId])
            for leg in placed.contract.comboLegs
        ]
        node.gateway.fill(placed.order_id, legs, -1.80)
        node.settle()
        (spread_fill,) = [e for e in node.cache.order(order.client_order_id).events if isinstance(e, OrderFilled)]
        assert spread_fill.last_px == Price.from_str(f"{legs[0][3]:.2f}")  # the first leg's price, not -1.80
    finally:
        node.close()


def test_orders_reconciled_after_a_restart_still_come_back_external_without_tags(
    options: list[OptionContract], tmp_path: Path
) -> None:
    gateway = FakeGateway()
    first = IbNode(gateway, options, tmp_path / "state.sqlite", fixes=False)
    order = submitted_condor(first, options)
    first.close()
    second = IbNode(gateway, options, tmp_path / "state.sqlite", fixes=False)
    try:
        second.load_spread(order.instrument_id)
        assert second.run(second.engine.reconcile_execution_state())
        reconciled = second.cache.order(order.client_order_id)
        assert (reconciled.strategy_id, reconciled.tags) == (StrategyId("EXTERNAL"), ["VENUE"])
    finally:
        second.close()
