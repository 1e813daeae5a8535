"""The upstream ExecAlgorithm behaviours that :mod:`hybrid.nautilus_compat.exec_algorithm` works around.

Each assertion states what NautilusTrader 1.231 does; once one fails, the workaround it names can go.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from nautilus_trader.backtest.engine import BacktestEngine
from nautilus_trader.execution.algorithm import ExecAlgorithm
from nautilus_trader.execution.config import ExecAlgorithmConfig
from nautilus_trader.model.enums import OrderSide, OrderStatus
from nautilus_trader.model.events import OrderFilled
from nautilus_trader.model.identifiers import ClientOrderId, ExecAlgorithmId
from nautilus_trader.model.instruments import OptionSpread
from nautilus_trader.model.orders import Order

from bench.exec_simulation import SECOND_NS, OrderScheduleConfig, SimMarketConfig, make_market, run_schedule
from hybrid.nautilus_compat.exec_algorithm import close_locally, follow_order_events, leg_order
from hybrid.tracking.groups import LEG_FILL_MARKER

pytestmark = pytest.mark.slow  # a backtest, a server or a subprocess per test


@dataclass
class Seen:
    spawned: Order | None = None
    leg: Order | None = None
    primary_after_cancel: OrderStatus | None = None
    own_fills: list[ClientOrderId] = field(default_factory=list)  # what on_order_filled received
    topic_fills: list[ClientOrderId] = field(default_factory=list)  # what the strategy's topic carried


class Probe(ExecAlgorithm):
    """Spawns one marketable child of a spread primary, builds a leg order, and watches the events."""

    def __init__(self, seen: Seen) -> None:
        super().__init__(ExecAlgorithmConfig(exec_algorithm_id=ExecAlgorithmId("Probe")))
        self.seen = seen
        self.primary: Order | None = None

    def on_order(self, order: Order) -> None:
        self.primary = order
        spread = self.cache.instrument(order.instrument_id)
        legs = spread.legs()
        self.subscribe_quote_ticks(spread.id, aggregate_spread_quotes=True, params={"disable_vega_pricing": True})
        follow_order_events(self.msgbus, order.strategy_id, self._on_topic)
        self.seen.leg = leg_order(
            order,
            self.cache.instrument(legs[0][0]),
            ClientOrderId(f"{order.client_order_id.value}-L1"),
            OrderSide.BUY,
            order.quantity.as_decimal(),
            0.01,
            self.clock.timestamp_ns(),
            self.id,
            None,
        )
        self.cancel_order(order)  # the public cancel of an INITIALIZED primary
        self.seen.primary_after_cancel = order.status
        self.clock.set_time_alert_ns("spawn", self.clock.timestamp_ns() + SECOND_NS, self._spawn)

    def _spawn(self, _event: object) -> None:
        assert self.primary is not None
        spread = self.cache.instrument(self.primary.instrument_id)
        quote = self.cache.quote_tick(spread.id)
        child = self.spawn_limit(self.primary, self.primary.quantity, quote.ask_price, reduce_primary=False)
        self.seen.spawned = child
        self.submit_order(child)

    def on_order_filled(self, event: OrderFilled) -> None:
        self.seen.own_fills.append(event.client_order_id)
        if self.primary is not None and not self.primary.is_closed:
            close_locally(self.cache, self.msgbus, self.primary, self.clock.timestamp_ns())

    def _on_topic(self, event: object) -> None:
        if isinstance(event, OrderFilled):
            self.seen.topic_fills.append(event.client_order_id)


@dataclass
class Probed:
    engine: BacktestEngine
    spread: OptionSpread
    primary: Order
    seen: Seen


@pytest.fixture(scope="module")
def probed() -> Iterator[Probed]:
    sim = make_market(SimMarketConfig(seconds=20.0))
    spread = sim.vertical(0, 1)
    seen = Seen()
    schedule = OrderScheduleConfig(
        instrument_ids=(spread.id.value,),
        first_at_ns=sim.start_ns + 2 * SECOND_NS,
        quantity=1,
        exec_algorithm_id="Probe",
    )
    engine = run_schedule(sim, (spread,), schedule, Probe(seen), log_level="OFF")
    primary = engine.cache.order(engine.trader.strategies()[0].submitted[0])
    yield Probed(engine, spread, primary, seen)
    engine.dispose()


def test_spawned_orders_are_on_the_primary_instrument_and_carry_its_id(probed: Probed) -> None:
    """Why leg orders are built by hand: spawn_* cannot make an order on one leg of a spread primary."""
    spawned = probed.seen.spawned
    assert spawned is not None
    assert spawned.instrument_id == probed.primary.instrument_id
    assert spawned.is_spawned and spawned.exec_spawn_id == probed.primary.client_order_id


def test_an_order_that_is_its_own_spawn_is_not_spawned(probed: Probed) -> None:
    """What leg_order relies on: submit_order then treats it as a primary, with its own position id."""
    leg = probed.seen.leg
    assert leg is not None
    assert leg.exec_spawn_id == leg.client_order_id and not leg.is_spawned
    assert leg.instrument_id == probed.spread.legs()[0][0]


def test_the_public_cancel_leaves_an_initialized_primary_open(probed: Probed) -> None:
    """Why close_locally exists: cancel_order sends the cancel on to a venue that never saw the primary."""
    assert probed.seen.primary_after_cancel == OrderStatus.INITIALIZED


def test_the_local_close_reaches_the_cache(probed: Probed) -> None:
    assert probed.primary.status == OrderStatus.CANCELED
    assert probed.engine.cache.order(probed.primary.client_order_id).is_closed


def test_synthetic_leg_fills_arrive_only_on_the_strategys_topic(probed: Probed) -> None:
    """Why follow_order_events exists: the algorithm's own handlers never see a spread's leg fills."""
    spawned = probed.seen.spawned
    assert spawned is not None and spawned.client_order_id in probed.seen.own_fills
    leg_fills = [c for c in probed.seen.topic_fills if LEG_FILL_MARKER in c.value]
    assert leg_fills and all(c.value.startswith(spawned.client_order_id.value) for c in leg_fills)
    assert not [c for c in probed.seen.own_fills if LEG_FILL_MARKER in c.value]
