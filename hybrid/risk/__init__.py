"""Risk: pre-trade limits, the circuit breaker, the trading-state endpoint and the options margin model."""

from hybrid.risk.breaker import (
    STATES,
    BreakerState,
    CircuitBreaker,
    CircuitBreakerConfig,
    ResetBreaker,
    Trip,
    breaker_endpoint,
    check_breaker,
    trips_key,
)
from hybrid.risk.limits import BookState, EntryRisk, RiskLimitsConfig, check_entry, check_limits
from hybrid.risk.margin import MarginRates, OptionsMarginInstaller, OptionsMarginModel, entry_requirement
from hybrid.risk.trading_state import (
    TRADING_STATE_ENDPOINT,
    SetTradingState,
    TradingStateFollower,
    register_trading_state_endpoint,
    request_trading_state,
)

__all__ = [
    "STATES",
    "TRADING_STATE_ENDPOINT",
    "BookState",
    "BreakerState",
    "CircuitBreaker",
    "CircuitBreakerConfig",
    "EntryRisk",
    "MarginRates",
    "OptionsMarginInstaller",
    "OptionsMarginModel",
    "ResetBreaker",
    "RiskLimitsConfig",
    "SetTradingState",
    "TradingStateFollower",
    "Trip",
    "breaker_endpoint",
    "check_breaker",
    "check_entry",
    "check_limits",
    "entry_requirement",
    "register_trading_state_endpoint",
    "request_trading_state",
    "trips_key",
]
