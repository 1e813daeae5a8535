"""Orders on their way to the engine: intents (what to do), the persistent queue (when, and what became of it)."""

from hybrid.orders.chain_check import ChainProblem, ChainValidator, chain_errors, chain_validator
from hybrid.orders.intents import (
    ORDER_INTENT,
    CloseGroupIntent,
    LimitExecution,
    MarketExecution,
    OpenIntent,
    OrderIntent,
    RollGroupIntent,
    TwoPartExecution,
)
from hybrid.orders.queue import (
    IdempotencyConflict,
    OrderNotFound,
    OrderQueue,
    QueuedOrder,
    QueueError,
    RecoveryReport,
    StatusChange,
)
from hybrid.orders.status import IllegalTransition, OrderStatus
from hybrid.orders.structures import CatalogueStructure, CustomLegs, RuleStructure

__all__ = [
    "ORDER_INTENT",
    "CatalogueStructure",
    "ChainProblem",
    "ChainValidator",
    "CloseGroupIntent",
    "CustomLegs",
    "IdempotencyConflict",
    "IllegalTransition",
    "LimitExecution",
    "MarketExecution",
    "OpenIntent",
    "OrderIntent",
    "OrderNotFound",
    "OrderQueue",
    "OrderStatus",
    "QueueError",
    "QueuedOrder",
    "RecoveryReport",
    "RollGroupIntent",
    "RuleStructure",
    "StatusChange",
    "TwoPartExecution",
    "chain_errors",
    "chain_validator",
]
