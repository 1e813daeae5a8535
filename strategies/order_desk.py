"""The order desk: the strategy that owns the groups people and recurring templates open.

It has no entry logic of its own. Actors (the recurring templates, the bot manager) and, in a live node,
the API's order-queue drainer cannot submit orders, so they send :mod:`hybrid.trading.commands` to this
strategy's endpoint::

    self.msgbus.subscribe(result_topic("OrderDesk-000"), on_result)
    self.msgbus.send(command_endpoint("OrderDesk-000"), OpenGroup(...))   # CloseGroup, RollGroup

and its :class:`hybrid.trading.GroupTrader` executes them: structure orders tagged with the group id and
source, leg balancing, groups closed ``close_days_before_expiry`` sessions before their first expiry at
``exit_time``, one :class:`~hybrid.trading.GroupCommandResult` per command. ``execution`` is how orders are
worked when a command does not say (a template's or person's market / two-part choice comes with the
command).
"""

from __future__ import annotations

from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.events import OrderEvent, OrderFilled
from nautilus_trader.trading.strategy import Strategy

from hybrid.trading import GroupTrader, GroupTradingConfig


class OrderDeskConfig(GroupTradingConfig, frozen=True):
    """Venue of the groups, default execution, the rates of the entry analysis, and the expiry exit: the
    fields every group-owning strategy shares, nothing more."""


class OrderDesk(Strategy):
    """Executes group commands from actors and the API (module docstring)."""

    def __init__(self, config: OrderDeskConfig) -> None:
        super().__init__(config)
        self.trader = GroupTrader.from_config(self, config)

    def on_start(self) -> None:
        self.trader.start()

    def on_stop(self) -> None:
        self.trader.stop()

    def on_quote_tick(self, tick: QuoteTick) -> None:
        self.trader.on_quote_tick(tick)

    def on_order_filled(self, event: OrderFilled) -> None:
        self.trader.on_order_filled(event)

    def on_order_event(self, event: OrderEvent) -> None:
        self.trader.on_order_event(event)
