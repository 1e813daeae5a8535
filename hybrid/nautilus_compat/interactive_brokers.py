"""The Interactive Brokers adapter (NautilusTrader 1.231): its connection retries, its combo fill prices, and
reconciled orders' strategy and tags.

Connection retries. ``InteractiveBrokersClient.__init__``
(``nautilus_trader/adapters/interactive_brokers/client/client.py``) reads its attempt limit from the environment
only, ``IB_MAX_CONNECTION_ATTEMPTS``, default ``0`` = retry forever: ``TradingNode.build()`` with no gateway up
then never returns. There is no config field for it. :func:`limit_connection_attempts` sets one attempt unless
the environment already says; :func:`hybrid.live.ib.check_reachable` fails fast before that. Upstream: no issue
found as of 1.231.0.

Combo fill prices. BUG: a BAG order's executions arrive per leg; the adapter books one spread-level
``OrderFilled`` per combo unit round plus a ``-LEG-`` fill per leg execution, and prices the spread fill at the
price of the leg execution that opened the round (``InteractiveBrokersExecutionClient._generate_combo_fill`` in
``adapters/interactive_brokers/execution.py``: ``last_px`` from ``execution.price``), not at the combo's net
price. The net price, the order status's average for that chunk, is passed in as ``avg_px_override`` but only
put in the fill's ``info``. An iron condor sold for a 1.80 credit was booked at +1.90 (its short call's price):
the order's average price, the group's entry premium and every fill statistic read from it were wrong.
:func:`combo_fills_at_combo_price` prices the spread fill at ``avg_px_override``. Upstream: no issue found as of
1.231.0 (the development snapshot after it has the same code).

Reconciled orders. After a restart, NautilusTrader's cache is empty (it persists to Redis only) and the live
execution engine rebuilds the orders the gateway still holds from their status reports
(``LiveExecutionEngine._generate_order`` in ``live/execution_engine.py``) with the strategy ``EXTERNAL`` and the
tags ``["VENUE"]``, whatever they had. The client order id survives (the adapter sends it as the IB ``orderRef``,
``<client order id>:<IB order id>``, and strips the suffix on the way back), so
:func:`restore_reconciled_orders` maps it back: a lookup from the project's journal
(:mod:`hybrid.live.order_refs`) gives the strategy id and the tags the order was submitted with, and the
rebuilt order carries them. By design upstream (it cannot know an order's tags without a cache database).

``tests/nautilus_compat/test_interactive_brokers.py`` fails once upstream changes any of the three.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, MutableMapping
from typing import Any

from nautilus_trader.adapters.interactive_brokers.common import IBContract
from nautilus_trader.adapters.interactive_brokers.execution import InteractiveBrokersExecutionClient
from nautilus_trader.adapters.interactive_brokers.parsing.price_conversion import nautilus_price_to_ib_price
from nautilus_trader.execution.reports import OrderStatusReport
from nautilus_trader.live.execution_engine import LiveExecutionEngine
from nautilus_trader.model.events import OrderInitialized
from nautilus_trader.model.identifiers import ClientOrderId, StrategyId, VenueOrderId
from nautilus_trader.model.objects import Price
from nautilus_trader.model.orders import Order
from nautilus_trader.model.orders.unpacker import OrderUnpacker

MAX_CONNECTION_ATTEMPTS_ENV = "IB_MAX_CONNECTION_ATTEMPTS"
OrderRefLookup = Callable[[ClientOrderId], tuple[StrategyId, list[str]] | None]


def limit_connection_attempts(env: MutableMapping[str, str] = os.environ) -> None:
    """One connection attempt (the adapter retries forever by default), unless the environment says otherwise."""
    env.setdefault(MAX_CONNECTION_ATTEMPTS_ENV, "1")


def combo_fills_at_combo_price(client: InteractiveBrokersExecutionClient) -> None:
    """Price ``client``'s spread-level fills at the combo's net price (module docstring, "Combo fill prices")."""
    original = client._generate_combo_fill
    magnifier = client.instrument_provider.get_price_magnifier

    def generate(
        order: Order,
        execution: Any,  # ibapi's Execution (ibapi has no type information)
        contract: IBContract,
        commission_report: Any,
        venue_order_id: VenueOrderId,
        avg_px_override: Price | None = None,
    ) -> None:
        if avg_px_override is not None:
            execution = copy.copy(execution)
            execution.price = nautilus_price_to_ib_price(avg_px_override.as_double(), magnifier(order.instrument_id))
        original(order, execution, contract, commission_report, venue_order_id, avg_px_override=avg_px_override)

    client._generate_combo_fill = generate  # type: ignore[method-assign, assignment]


def restore_reconciled_orders(engine: LiveExecutionEngine, lookup: OrderRefLookup) -> None:
    """Orders ``engine`` rebuilds from the venue's reports get back the strategy and tags ``lookup`` gives for their
    client order id (module docstring, "Reconciled orders"); others are left as the engine makes them."""
    original = engine._generate_order

    def generate(report: OrderStatusReport, is_external: bool = True) -> Order | None:
        order = original(report, is_external)
        known = None if order is None else lookup(order.client_order_id)
        if order is None or known is None:
            return order
        strategy_id, tags = known
        init = OrderInitialized.to_dict(order.init_event)
        init.update(strategy_id=strategy_id.value, tags=list(tags))
        return OrderUnpacker.from_init(OrderInitialized.from_dict(init))

    engine._generate_order = generate  # type: ignore[method-assign]
