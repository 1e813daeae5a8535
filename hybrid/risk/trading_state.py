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
state is not ACTIVE. Components do not submit what the engine would deny: each follows the state
with a :class:`TradingStateFollower` (the group trader, leg balancing, the bot manager) and holds its
orders while HALTED instead of having them denied and retried.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from nautilus_trader.common.component import Logger, MessageBus
from nautilus_trader.common.messages import TradingStateChanged
from nautilus_trader.model.enums import TradingState, trading_state_to_str
from nautilus_trader.risk.engine import RiskEngine

from hybrid.nautilus_compat.topics import RISK_EVENTS

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


class TradingStateFollower:
    """The RiskEngine's trading state as the engine last published it (ACTIVE until it says otherwise):
    ``on_change(old, new)`` is called once per change, so a component reacts once per decision."""

    def __init__(self, on_change: Callable[[TradingState, TradingState], None] | None = None) -> None:
        self.on_change = on_change
        self.state = TradingState.ACTIVE
        self._msgbus: MessageBus | None = None

    @property
    def halted(self) -> bool:
        return self.state == TradingState.HALTED

    @property
    def active(self) -> bool:
        return self.state == TradingState.ACTIVE

    def start(self, msgbus: MessageBus) -> None:
        self._msgbus = msgbus
        msgbus.subscribe(RISK_EVENTS, self._on_event)

    def stop(self) -> None:
        if self._msgbus is not None:
            self._msgbus.unsubscribe(RISK_EVENTS, self._on_event)
            self._msgbus = None

    def _on_event(self, event: object) -> None:
        if not isinstance(event, TradingStateChanged) or event.state == self.state:
            return
        old, self.state = self.state, event.state
        if self.on_change is not None:
            self.on_change(old, self.state)
