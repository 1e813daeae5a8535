"""Order intents (what people and templates ask for) as the commands an owning strategy executes.

An :class:`~hybrid.orders.intents.OpenIntent` names a structure (catalogue strikes, strike rules, or
custom legs), a side, units and an execution; :func:`open_command` turns it into an
:class:`~hybrid.trading.OpenGroup` for the strategy's :class:`~hybrid.trading.GroupTrader`:

- legs: rules are resolved against the chain now (:func:`hybrid.trading.resolve_rules`), the side is
  applied (``sell`` negates every leg); the structure's name is the catalogue name, ``custom`` for legs;
- execution: ``market`` -> a market order; ``limit`` -> the owner's limit working at the intent's fixed
  net premium; ``two_part`` -> the owner's orders handed to the ``TwoPart`` ExecAlgorithm with the
  intent's parameters (those left out take the algorithm's configured values).
"""

from __future__ import annotations

import datetime as dt
from typing import assert_never

from hybrid.execution.two_part import ALGORITHM_ID
from hybrid.options.legs import Leg
from hybrid.orders.execution_mode import ExecutionMode
from hybrid.orders.intents import Execution, LimitExecution, MarketExecution, OpenIntent, TwoPartExecution
from hybrid.orders.structures import CustomLegs, RuleStructure
from hybrid.trading import ExecutionConfig, MarketSnapshot, OpenGroup, resolve_rules

CUSTOM_STRUCTURE = "custom"


def execution_for(execution: Execution) -> tuple[ExecutionConfig | None, float | None]:
    """The command's execution config (None: the owner's own) and fixed limit price for an intent's execution."""
    match execution:
        case MarketExecution():
            return ExecutionConfig(mode=ExecutionMode.MARKET), None
        case LimitExecution():
            return None, execution.price
        case TwoPartExecution():
            params = execution.model_dump(exclude={"type"}, exclude_none=True)
            config = ExecutionConfig(
                mode=ExecutionMode.TWO_PART, exec_algorithm_id=ALGORITHM_ID, exec_algorithm_params=params or None
            )
            return config, None
        case _:
            assert_never(execution)


def intent_legs(intent: OpenIntent, market: MarketSnapshot, today: dt.date) -> list[Leg]:
    """One unit's legs as opened (side applied); rules are resolved against ``market``'s chain and marks."""
    if not isinstance(intent.structure, RuleStructure):
        return intent.unit_legs()
    legs = resolve_rules(intent.structure, market.chain, market.spot, today)
    return legs if intent.side == "buy" else [Leg(leg.kind, leg.strike, leg.expiry, -leg.quantity) for leg in legs]


def open_command(intent: OpenIntent, legs: list[Leg], group_id: str | None = None) -> OpenGroup:
    """The command that opens ``intent`` with its resolved ``legs`` as group ``group_id`` (None: the owner's id)."""
    execution, limit = execution_for(intent.execution)
    structure = CUSTOM_STRUCTURE if isinstance(intent.structure, CustomLegs) else intent.structure.strategy
    return OpenGroup(
        underlying=intent.underlying,
        structure=structure,
        legs=tuple(legs),
        units=intent.units,
        source=intent.source,
        execution=execution,
        limit_price=limit,
        group_id=group_id,
    )
