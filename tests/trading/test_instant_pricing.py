"""Decisions see the market of their instant: an order decided at t is priced from the quotes of t, after
every data point stamped t (the underlying's tick comes first here) and the spread's aggregated quote of t."""

from __future__ import annotations

import pytest
from nautilus_trader.common.events import TimeEvent
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.orders import Order
from nautilus_trader.trading.strategy import Strategy

from bench.exec_simulation import SECOND_NS, build_engine
from hybrid.options.legs import Leg
from hybrid.trading import CloseGroup, ExecutionConfig, GroupTrader, GroupTradingConfig, OpenGroup
from tests.support.instant_market import EXPIRY, SPREAD_AFTER, START, UNDERLYING, move_ns, moving_market

pytestmark = pytest.mark.slow  # a backtest per test


class CloserConfig(GroupTradingConfig, frozen=True):
    # the close is decided at MOVE_S on the underlying's tick ("tick"), on the spread's first quote then,
    # built from the first leg's move before the second's ("spread"), or on a timer ("timer")
    trigger: str = "tick"


class Closer(Strategy):
    """Buys one bull call spread at the ask on the underlying's tick at 10 s and closes it when the options move."""

    def __init__(self, config: CloserConfig) -> None:
        super().__init__(config)
        self.trader = GroupTrader.from_config(self, config)
        self.underlying_id = UNDERLYING
        self.group_id: str | None = None

    def on_start(self) -> None:
        self.trader.start()
        self.subscribe_quote_ticks(self.underlying_id)
        if self.config.trigger == "timer":
            self.clock.set_time_alert_ns("close", move_ns(), self._close_on_timer)

    def on_stop(self) -> None:
        self.trader.stop()

    def on_quote_tick(self, tick: QuoteTick) -> None:
        self.trader.on_quote_tick(tick)
        moved = tick.ts_event == move_ns()
        if tick.instrument_id != self.underlying_id:
            if moved and self.config.trigger == "spread" and self.trader.groups[self.group_id].trade is None:
                self._close()
            return
        if tick.ts_event == START + 10 * SECOND_NS:
            legs = (Leg("call", 105.0, EXPIRY, 1), Leg("call", 110.0, EXPIRY, -1))
            crossing = ExecutionConfig(concession_half_spreads=1.0, quote_update_interval_seconds=None)
            result = self.trader.open_group(OpenGroup("SPY", "bull_call_spread", legs, 1, execution=crossing))
            assert result.accepted, result.reason
            self.group_id = result.group_id
        elif moved and self.config.trigger == "tick":
            self._close()

    def _close_on_timer(self, _event: TimeEvent) -> None:
        self._close()

    def _close(self) -> None:
        assert self.group_id is not None
        result = self.trader.close_group(CloseGroup(self.group_id, reason="test"))
        assert result.accepted, result.reason

    def on_order_filled(self, event: object) -> None:
        self.trader.on_order_filled(event)  # type: ignore[arg-type]

    def on_order_event(self, event: object) -> None:
        self.trader.on_order_event(event)  # type: ignore[arg-type]


def closing_order(trigger: str, interval: int | None) -> Order:
    engine = build_engine(moving_market(), log_level="OFF")
    execution = ExecutionConfig(quote_update_interval_seconds=interval)
    engine.add_strategy(Closer(CloserConfig(trigger=trigger, execution=execution, rate=0.045, dividend=0.0)))
    try:
        engine.run()
        orders = [
            o for o in engine.cache.orders() if o.side == OrderSide.SELL and "-LEG-" not in o.client_order_id.value
        ]
        assert len(orders) >= 1, [str(o) for o in engine.cache.orders()]
        return orders[0]
    finally:
        engine.dispose()


@pytest.mark.parametrize("interval", [None, 60])
def test_a_close_decided_on_the_underlyings_tick_is_not_priced_below_the_bid_of_its_instant(
    interval: int | None,
) -> None:
    order = closing_order("tick", interval)
    assert order.ts_init >= move_ns()
    assert order.price.as_double() >= SPREAD_AFTER[0]  # never sold below a bid already known at that instant


@pytest.mark.parametrize(("trigger", "interval"), [("spread", None), ("timer", 60)])
def test_a_close_is_priced_after_the_last_quote_change_at_its_instant(trigger: str, interval: int | None) -> None:
    order = closing_order(trigger, interval)
    mid = sum(SPREAD_AFTER) / 2
    assert order.price.as_double() == pytest.approx(mid - 0.25 * (SPREAD_AFTER[1] - SPREAD_AFTER[0]) / 2)
