"""What an ExecAlgorithm working a multi-leg primary needs beyond NautilusTrader 1.231's public API.

Upstream, in ``nautilus_trader/execution/algorithm.pyx`` of the installed package:

- ``ExecAlgorithm.spawn_market/spawn_limit/...`` build the child with ``instrument_id=primary.instrument_id``:
  an algorithm cannot spawn an order on one leg of a spread primary. And ``submit_order`` sends a
  spawned child with ``position_id=primary.position_id``, which the execution engine pins to the
  position of the first child fill; under NETTING a spawned order on another instrument is then
  denied. :func:`leg_order` builds a leg order that is not spawned, and :func:`announce_order` does
  for it what ``submit_order`` does only for spawned orders (cache it, publish its ``OrderInitialized``).
- A primary worked with ``reduce_primary=False`` stays ``INITIALIZED``; ``ExecAlgorithm.cancel_order``
  of such an order sends a ``CancelOrder`` on to the venue, which never saw it. Only the private
  ``ExecAlgorithm._handle_cancel_order`` (a strategy cancelling a primary it routed here) closes it
  locally: generate ``OrderCanceled``, ``order.apply``, ``cache.update_order``, publish on the
  strategy's order-events topic. :func:`close_locally` and :func:`deny_locally` do the same from
  the algorithm.
- ``events.order.{strategy_id}`` (``_get_order_events_topic`` of ``execution/engine.pyx``) is not a
  public name. A spread fill's synthetic leg fills belong to no order in the cache, so the
  algorithm's own event handler drops them (``_handle_event`` looks the order up first); only a
  subscription to that topic sees them (:func:`follow_order_events`).

Upstream: no issue found as of 1.231.0 for spawning on another instrument or closing a primary
locally. ``tests/nautilus_compat/test_exec_algorithm.py`` fails once any of the above changes.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from nautilus_trader.cache.base import CacheFacade
from nautilus_trader.common.component import MessageBus
from nautilus_trader.core.uuid import UUID4
from nautilus_trader.model.enums import OrderSide, TimeInForce
from nautilus_trader.model.events import OrderCanceled, OrderDenied, OrderEvent
from nautilus_trader.model.identifiers import ClientOrderId, ExecAlgorithmId, StrategyId
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.model.orders import LimitOrder, Order

from hybrid.nautilus_compat.topics import order_events


def leg_order(
    primary: Order,
    instrument: Instrument,
    client_order_id: ClientOrderId,
    side: OrderSide,
    quantity: Decimal,
    price: float,
    ts_init: int,
    exec_algorithm_id: ExecAlgorithmId,
    tags: list[str] | None,
    time_in_force: TimeInForce = TimeInForce.GTC,
) -> LimitOrder:
    """A limit order on ``instrument`` (a leg of ``primary``'s structure) that the algorithm owns.

    It is its own spawn (``exec_spawn_id`` = its id), so ``submit_order`` treats it as a primary and
    sends it with its own position id, not the primary's; it carries the primary's strategy and params.
    """
    return LimitOrder(
        trader_id=primary.trader_id,
        strategy_id=primary.strategy_id,
        instrument_id=instrument.id,
        client_order_id=client_order_id,
        order_side=side,
        quantity=instrument.make_qty(quantity),
        price=instrument.make_price(price),
        init_id=UUID4(),
        time_in_force=time_in_force,
        ts_init=ts_init,
        exec_algorithm_id=exec_algorithm_id,
        exec_algorithm_params=dict(primary.exec_algorithm_params) if primary.exec_algorithm_params else None,
        exec_spawn_id=client_order_id,
        tags=tags,
    )


def announce_order(cache: CacheFacade, msgbus: MessageBus, order: Order) -> None:
    """Cache ``order`` and publish its ``OrderInitialized``, as ``submit_order`` does for spawned orders."""
    cache.add_order(order)
    msgbus.publish(order_events(order.strategy_id), order.init_event)


def close_locally(cache: CacheFacade, msgbus: MessageBus, primary: Order, ts_ns: int) -> None:
    """Cancel a primary that never reached the venue, here, so its strategy sees the algorithm end."""
    event = OrderCanceled(
        primary.trader_id,
        primary.strategy_id,
        primary.instrument_id,
        primary.client_order_id,
        primary.venue_order_id,
        primary.account_id,
        UUID4(),
        ts_ns,
        ts_ns,
    )
    _apply(cache, msgbus, primary, event)


def deny_locally(cache: CacheFacade, msgbus: MessageBus, primary: Order, reason: str, ts_ns: int) -> None:
    """Deny a primary the algorithm cannot work (its strategy gets ``on_order_denied``)."""
    event = OrderDenied(
        primary.trader_id,
        primary.strategy_id,
        primary.instrument_id,
        primary.client_order_id,
        reason,
        UUID4(),
        ts_ns,
    )
    _apply(cache, msgbus, primary, event)


def follow_order_events(msgbus: MessageBus, strategy_id: StrategyId, handler: Callable[[object], None]) -> None:
    """Receive every order event of ``strategy_id``, synthetic spread leg fills included."""
    msgbus.subscribe(topic=order_events(strategy_id), handler=handler)


def _apply(cache: CacheFacade, msgbus: MessageBus, order: Order, event: OrderEvent) -> None:
    order.apply(event)
    cache.update_order(order)
    msgbus.publish(order_events(order.strategy_id), event)
