"""Risk: pre-trade limits, the circuit breaker, the trading-state endpoint and the options margin model."""

from hybrid.risk.breaker import CircuitBreaker, CircuitBreakerConfig, ResetBreaker, breaker_endpoint, check_breaker
from hybrid.risk.limits import BookState, EntryRisk, RiskLimitsConfig, check_entry, check_limits
from hybrid.risk.margin import MarginRates, OptionsMarginInstaller, OptionsMarginModel, entry_requirement
from hybrid.risk.trading_state import (
    TRADING_STATE_ENDPOINT,
    SetTradingState,
    register_trading_state_endpoint,
    request_trading_state,
)

__all__ = [
    "TRADING_STATE_ENDPOINT",
    "BookState",
    "CircuitBreaker",
    "CircuitBreakerConfig",
    "EntryRisk",
    "MarginRates",
    "OptionsMarginInstaller",
    "OptionsMarginModel",
    "ResetBreaker",
    "RiskLimitsConfig",
    "SetTradingState",
    "breaker_endpoint",
    "check_breaker",
    "check_entry",
    "check_limits",
    "entry_requirement",
    "register_trading_state_endpoint",
    "request_trading_state",
]
