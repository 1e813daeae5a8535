"""The message-bus topics NautilusTrader 1.231 publishes its engine events and system commands on.

NautilusTrader has no public API for these names: they are string literals in its Cython sources, and
a component that wants every strategy's order events (the queue drainer, the API's WebSocket feed), the
risk engine's trading-state changes or the kernel's shutdown command subscribes to them by name. Where
each is published, in the installed package:

- :data:`ALL_ORDER_EVENTS`, :func:`order_events`: ``ExecutionEngine._get_order_events_topic``
  (``nautilus_trader/execution/engine.pyx``) and ``Strategy`` (``trading/strategy.pyx``) publish an
  order's events on ``events.order.{strategy_id}``; ``RiskEngine`` and ``Portfolio`` subscribe to
  ``events.order.*``.
- :data:`ALL_POSITION_EVENTS`: ``ExecutionEngine._get_position_events_topic`` publishes position events
  on ``events.position.{strategy_id}``.
- :data:`ALL_ACCOUNT_EVENTS`: ``Portfolio`` publishes every ``AccountState`` it applies on
  ``events.account.{account_id}`` (``nautilus_trader/portfolio/portfolio.pyx``).
- :data:`RISK_EVENTS`: ``RiskEngine.set_trading_state`` publishes ``TradingStateChanged`` on
  ``events.risk`` (``nautilus_trader/risk/engine.pyx``).
- :data:`SYSTEM_SHUTDOWN`: ``Component.shutdown_system`` publishes ``ShutdownSystem`` on
  ``commands.system.shutdown`` (``nautilus_trader/common/component.pyx``); the kernel subscribes to it.

Upstream: no issue found as of 1.231.0 asking for public topic names.
``tests/nautilus_compat/test_topics.py`` observes each topic on a small engine and fails once one moves.
"""

from __future__ import annotations

from nautilus_trader.model.identifiers import StrategyId

ALL_ORDER_EVENTS = "events.order.*"
ALL_POSITION_EVENTS = "events.position.*"
ALL_ACCOUNT_EVENTS = "events.account.*"
RISK_EVENTS = "events.risk"
SYSTEM_SHUTDOWN = "commands.system.shutdown"


def order_events(strategy_id: StrategyId | str) -> str:
    """The topic of ``strategy_id``'s order events (what its ``on_order_*`` handlers receive)."""
    return f"events.order.{strategy_id}"
