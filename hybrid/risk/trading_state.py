"""Changing the RiskEngine's trading state from a component, through a message-bus endpoint.

In NautilusTrader 1.231 only the ``RiskEngine`` itself can change the trading state
(``RiskEngine.set_trading_state``; it then publishes ``TradingStateChanged`` on
:data:`hybrid.nautilus_compat.topics.RISK_EVENTS`); there is no command for it on the bus and
strategies hold no reference to the engine. The runner
that owns the kernel therefore registers :data:`TRADING_STATE_ENDPOINT` once
(:func:`register_trading_state_endpoint`), and a component asks for a state with::

    self.msgbus.send(TRADING_STATE_ENDPOINT, SetTradingState(TradingState.REDUCING, reason, requested_by))

The engine then denies orders that would increase exposure (REDUCING) or all orders (HALTED).
REDUCING is judged per instrument, so a spread order (its instrument holds no position; the legs
do) still passes: strategies that open groups must also refuse new entries themselves while the
state is not ACTIVE (:class:`hybrid.trading.GroupTrader` follows that topic and does).
"""

from __future__ import annotations

from dataclasses import dataclass

from nautilus_trader.common.component import Logger, MessageBus
from nautilus_trader.model.enums import TradingState, trading_state_to_str
from nautilus_trader.risk.engine import RiskEngine

TRADING_STATE_ENDPOINT = "hybrid.risk.set_trading_state"


@dataclass(frozen=True)
class SetTradingState:
    """Ask the RiskEngine for ``state``; ``reason`` and ``requested_by`` go to its log."""

    state: TradingState
    reason: str
    requested_by: str


def register_trading_state_endpoint(msgbus: MessageBus, risk_engine: RiskEngine) -> None:
    """Let components change ``risk_engine``'s trading state through :data:`TRADING_STATE_ENDPOINT`."""

    log = Logger("TradingState")

    def handle(command: SetTradingState) -> None:
        if command.state != risk_engine.trading_state:
            log.warning(
                f"trading state -> {trading_state_to_str(command.state)} by {command.requested_by}: {command.reason}",
            )
            risk_engine.set_trading_state(command.state)

    msgbus.register(TRADING_STATE_ENDPOINT, handle)


def request_trading_state(msgbus: MessageBus, command: SetTradingState) -> bool:
    """Send ``command`` if a runner registered the endpoint; False when none did (the caller logs it)."""
    if TRADING_STATE_ENDPOINT not in msgbus.endpoints():
        return False
    msgbus.send(TRADING_STATE_ENDPOINT, command)
    return True
