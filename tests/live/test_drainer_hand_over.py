"""The queue drainer on a running event loop, as in the live node, with a command builder that fails in a way it
does not expect (a bug, not a refusal): the order fails with the error as its reason and the drainer goes on
handing over the orders after it, instead of being left claiming (every later order then stayed ``queued``).
The drainer is registered on a message bus of its own with a stand-in owner that accepts every command."""

from __future__ import annotations

import asyncio
from pathlib import Path

from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import MessageBus, TestClock
from nautilus_trader.model.identifiers import TraderId
from nautilus_trader.portfolio.portfolio import Portfolio

from hybrid.live.drainer import QueueDrainer, QueueDrainerConfig
from hybrid.orders import ORDER_INTENT, QueuedOrder
from hybrid.orders.status import OrderStatus
from hybrid.trading import (
    GroupCommand,
    GroupCommandResult,
    TradeEnded,
    command_endpoint,
    result_topic,
    trade_ended_topic,
)

OWNER = "OrderDesk-000"
WAIT = 10.0  # seconds: the longest the test waits for the drainer
CLOSE = ORDER_INTENT.validate_python({"kind": "close", "group_id": "G-1", "execution": {"type": "market"}})


def started(database: Path) -> QueueDrainer:
    clock = TestClock()
    bus = MessageBus(TraderId("TESTER-001"), clock)
    cache = Cache()
    drainer = QueueDrainer(QueueDrainerConfig(owner=OWNER, database=str(database), market_wait_seconds=0))
    drainer.register_base(Portfolio(bus, cache, clock), bus, cache, clock)

    def owner(command: GroupCommand) -> None:
        bus.publish(result_topic(OWNER), GroupCommandResult(command.command_id, True, "G-1"))

    bus.register(command_endpoint(OWNER), owner)
    drainer.start()
    return drainer


async def settled(drainer: QueueDrainer, order: QueuedOrder) -> OrderStatus:
    """The order's status once it left ``queued`` and ``handed_to_engine`` (the test fails after :data:`WAIT`)."""
    queue = drainer.queue
    assert queue is not None
    async with asyncio.timeout(WAIT):
        while (status := queue.get(order.order_id).status) in (OrderStatus.QUEUED, OrderStatus.HANDED_TO_ENGINE):
            await asyncio.sleep(0.05)
    return status


def test_an_unexpected_error_building_a_command_fails_that_order_and_the_next_is_handed_over(tmp_path: Path) -> None:
    async def run() -> None:
        drainer = started(tmp_path / "queue.sqlite")
        queue = drainer.queue
        assert queue is not None and drainer._builder is not None
        build = drainer._builder.command

        def broken(order: QueuedOrder, now_ns: int) -> GroupCommand:
            if order.order_id == first.order_id:
                raise KeyError("a bug in the builder")
            return build(order, now_ns)

        drainer._builder.command = broken  # type: ignore[method-assign]
        first = queue.submit(CLOSE)
        assert await settled(drainer, first) is OrderStatus.FAILED
        assert "a bug in the builder" in (queue.get(first.order_id).reason or "")
        second = queue.submit(CLOSE)
        assert await settled(drainer, second) is OrderStatus.WORKING
        drainer.stop()

    asyncio.run(run())


def test_an_opening_the_owner_stops_working_unfilled_ends_cancelled_with_what_filled(tmp_path: Path) -> None:
    """TwoPart worked an opening to its end with units left (or its attempts ran out): no order event ends the
    queue order, so the owner's TradeEnded does; before, the order read ``partially_filled`` or ``working`` for good."""

    async def run() -> None:
        drainer = started(tmp_path / "queue.sqlite")
        queue = drainer.queue
        assert queue is not None
        order = queue.submit(CLOSE)
        assert await settled(drainer, order) is OrderStatus.WORKING
        drainer.msgbus.publish(trade_ended_topic(OWNER), TradeEnded("G-1", "open", "TwoPart worked it to its end"))
        async with asyncio.timeout(WAIT):  # the journal writes on its own thread
            while (ended := queue.get(order.order_id)).status is OrderStatus.WORKING:
                await asyncio.sleep(0.05)
        assert ended.status is OrderStatus.CANCELLED
        assert ended.reason == "ended by the engine with nothing filled: TwoPart worked it to its end"
        drainer.stop()

    asyncio.run(run())
