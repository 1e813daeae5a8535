"""Group trading: what every strategy that owns position groups shares (see :mod:`.group_trader`)."""

from hybrid.trading.breaker_response import BreakerResponse
from hybrid.trading.commands import (
    CancelGroup,
    CloseGroup,
    GroupCommand,
    GroupCommandResult,
    OpenGroup,
    RollGroup,
    TradeEnded,
    command_endpoint,
    result_topic,
    trade_ended_topic,
)
from hybrid.trading.group_trader import (
    EntryGate,
    EntryProposal,
    GroupState,
    GroupTrader,
    GroupTradingConfig,
    parse_time,
    propose,
)
from hybrid.trading.market import MarketSnapshot, market_snapshot, untradeable
from hybrid.trading.order_working import ExecutionConfig, check_execution, limit_price
from hybrid.trading.strike_rules import resolve_rules

__all__ = [
    "BreakerResponse",
    "CancelGroup",
    "CloseGroup",
    "EntryGate",
    "EntryProposal",
    "ExecutionConfig",
    "GroupCommand",
    "GroupCommandResult",
    "GroupState",
    "GroupTrader",
    "GroupTradingConfig",
    "MarketSnapshot",
    "OpenGroup",
    "RollGroup",
    "TradeEnded",
    "check_execution",
    "command_endpoint",
    "limit_price",
    "market_snapshot",
    "parse_time",
    "propose",
    "resolve_rules",
    "result_topic",
    "trade_ended_topic",
    "untradeable",
]
