"""The topics of :mod:`hybrid.nautilus_compat.topics`, observed on small engines; each fails once a topic moves."""

from __future__ import annotations

from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.actor import Actor
from nautilus_trader.common.component import MessageBus, TestClock
from nautilus_trader.common.messages import ShutdownSystem, TradingStateChanged
from nautilus_trader.model.enums import TradingState
from nautilus_trader.model.events import OrderFilled, OrderInitialized, PositionOpened
from nautilus_trader.model.identifiers import TraderId
from nautilus_trader.portfolio.portfolio import Portfolio
from nautilus_trader.risk.engine import RiskEngine
from nautilus_trader.test_kit.stubs.events import TestEventStubs

from hybrid.nautilus_compat.topics import (
    ALL_ACCOUNT_EVENTS,
    ALL_ORDER_EVENTS,
    ALL_POSITION_EVENTS,
    RISK_EVENTS,
    SYSTEM_SHUTDOWN,
    order_events,
)
from tests.nautilus_compat.conftest import SpreadRun


def _kernel() -> tuple[MessageBus, Cache, TestClock, Portfolio]:
    clock = TestClock()
    msgbus = MessageBus(TraderId("COMPAT-001"), clock)
    cache = Cache()
    return msgbus, cache, clock, Portfolio(msgbus, cache, clock)


def test_strategy_order_events_are_still_published_on_events_order_strategy_id(spread_run: SpreadRun) -> None:
    assert order_events(spread_run.strategy.id) == f"events.order.{spread_run.strategy.id}"
    kinds = {type(e) for e in spread_run.order_topic_events}
    assert {OrderInitialized, OrderFilled} <= kinds


def test_position_events_are_still_published_under_events_position(spread_run: SpreadRun) -> None:
    assert any(isinstance(e, PositionOpened) for e in spread_run.position_topic_events)


def test_engines_still_follow_every_order_and_position_event_on_the_wildcard_topics() -> None:
    msgbus, cache, clock, portfolio = _kernel()
    RiskEngine(portfolio, msgbus, cache, clock)
    assert msgbus.has_subscribers(ALL_ORDER_EVENTS)
    assert msgbus.has_subscribers(ALL_POSITION_EVENTS)
    assert ALL_ORDER_EVENTS in {s.topic for s in msgbus.subscriptions()}
    assert ALL_POSITION_EVENTS in {s.topic for s in msgbus.subscriptions()}


def test_the_portfolio_still_publishes_account_states_under_events_account() -> None:
    msgbus, _, _, portfolio = _kernel()
    seen: list[object] = []
    msgbus.subscribe(ALL_ACCOUNT_EVENTS, seen.append)
    state = TestEventStubs.margin_account_state()
    portfolio.update_account(state)
    assert seen == [state]


def test_risk_engine_still_publishes_trading_state_changes_on_events_risk() -> None:
    msgbus, cache, clock, portfolio = _kernel()
    engine = RiskEngine(portfolio, msgbus, cache, clock)
    seen: list[object] = []
    msgbus.subscribe(RISK_EVENTS, seen.append)
    engine.set_trading_state(TradingState.HALTED)
    assert [type(e) for e in seen] == [TradingStateChanged]


def test_shutdown_system_is_still_published_on_commands_system_shutdown() -> None:
    msgbus, cache, clock, portfolio = _kernel()
    actor = Actor()
    actor.register_base(portfolio, msgbus, cache, clock)
    seen: list[ShutdownSystem] = []
    msgbus.subscribe(SYSTEM_SHUTDOWN, seen.append)
    actor.shutdown_system("compat test")
    assert [(type(c), c.reason) for c in seen] == [(ShutdownSystem, "compat test")]
