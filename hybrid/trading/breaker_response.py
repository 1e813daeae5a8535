"""What a group-owning strategy does when its circuit breaker trips, per breaker state.

The breaker (:mod:`hybrid.risk.breaker`) decides when; this says what happens to the book, so that no
state leaves a group unbalanced or churns orders the RiskEngine would deny:

- ``REDUCING``: the engine's state goes to REDUCING; working opening orders are withdrawn (what filled is
  balanced); no group is opened; closes, the closing half of rolls, closes before expiry and leg repairs
  keep running.
- ``HALTED``: REDUCING first, as above; once every group is balanced with nothing working or wanted
  (:meth:`GroupTrader.when_quiet`), the engine's state goes to HALTED: from then nothing is submitted by
  the group trader, leg balancing or the bot manager (each holds what it would have sent, with one
  WARNING or one bot action), and a group that reaches its expiry while halted is settled by the venue.
- ``FLATTEN``: REDUCING, working opening orders cancelled, every group closed at the far touch
  (:meth:`GroupTrader.flatten`); once every group is closed and balanced, HALTED.

A reset asks for ACTIVE again (a halt still waiting for a quiet book is called off); what was held is
then sent.
"""

from __future__ import annotations

from collections.abc import Callable

from nautilus_trader.model.enums import TradingState
from nautilus_trader.trading.strategy import Strategy

from hybrid.risk.breaker import BreakerState
from hybrid.risk.trading_state import SetTradingState, request_trading_state
from hybrid.trading.group_trader import GroupTrader


class BreakerResponse:
    """Carries out a trip of ``strategy``'s breaker on its ``trader`` (module docstring); ``on_halted(ts_ns)``
    is told when the HALTED state took hold."""

    def __init__(self, strategy: Strategy, trader: GroupTrader, on_halted: Callable[[int], None]) -> None:
        self.strategy = strategy
        self.trader = trader
        self.on_halted = on_halted

    def respond(self, state: BreakerState, reason: str) -> str:
        """Act on a trip; returns what was done, for the log and the report."""
        withdrawn = self.trader.withdraw_entries(reason)
        self._request(TradingState.REDUCING, reason)
        open_groups = sum(s.held != 0 for s in self.trader.open_groups())
        did = f"new groups refused, {withdrawn} working entries withdrawn"
        if state == "REDUCING":
            return f"{did}; {open_groups} open groups still managed (closes, rolls' closes, expiry, repairs)"
        if state == "FLATTEN":
            closing = self.trader.flatten(reason)
            self.trader.when_quiet(lambda: self._halt(reason), flat=True)
            return f"{did}; {closing} groups closed at the far touch, then HALTED"
        self.trader.when_quiet(lambda: self._halt(reason))
        return f"{did}; HALTED once the {open_groups} open groups are balanced with nothing working"

    def reactivate(self, reason: str) -> None:
        """The breaker was reset: call off a pending halt and ask for ACTIVE."""
        self.trader.when_quiet(None)
        self._request(TradingState.ACTIVE, reason)

    def _halt(self, reason: str) -> None:
        self._request(TradingState.HALTED, reason)
        self.on_halted(self.strategy.clock.timestamp_ns())

    def _request(self, state: TradingState, reason: str) -> None:
        if not request_trading_state(self.strategy.msgbus, SetTradingState(state, reason, str(self.strategy.id))):
            self.strategy.log.warning(
                "no trading-state endpoint registered: new entries are stopped by this strategy only"
            )
