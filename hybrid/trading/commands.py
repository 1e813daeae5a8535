"""Typed commands an Actor sends to the strategy that owns groups, and the replies it publishes.

Actors cannot submit orders (NautilusTrader reserves that for strategies), so the bot manager,
recurring templates and the API's order drainer ask the owning strategy over the message bus::

    endpoint = command_endpoint(strategy_id)            # "hybrid.trading.<strategy id>.command"
    self.msgbus.subscribe(result_topic(strategy_id), self.on_result)
    self.msgbus.send(endpoint, OpenGroup(underlying="SPY", structure="iron_condor", legs=legs, units=2,
                                         source="recurring"))

The owning strategy's :class:`hybrid.trading.GroupTrader` registers the endpoint when it starts
and answers every command with one :class:`GroupCommandResult` on ``result_topic(strategy_id)``:
accepted (with the group id) or refused (with the reason, e.g. a risk limit). Acceptance means the
orders were started, not that they filled; the group's fills are in the cache under its tags.

Legs are per one unit as opened (the side already applied, as ``OpenIntent.unit_legs()`` gives
them). ``limit_price`` is a net premium per share of one unit, positive = debit paid (the
intents' convention); None lets the execution config price it from the market.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from nautilus_trader.model.identifiers import StrategyId

from hybrid.options.legs import Leg
from hybrid.trading.order_working import ExecutionConfig


def command_endpoint(strategy_id: StrategyId | str) -> str:
    """The point-to-point endpoint of the strategy that owns the groups."""
    return f"hybrid.trading.{strategy_id}.command"


def result_topic(strategy_id: StrategyId | str) -> str:
    """The topic on which that strategy publishes a :class:`GroupCommandResult` per command."""
    return f"hybrid.trading.{strategy_id}.result"


def trade_ended_topic(strategy_id: StrategyId | str) -> str:
    """The topic on which that strategy publishes a :class:`TradeEnded` when it stops working a trade unfilled."""
    return f"hybrid.trading.{strategy_id}.trade_ended"


@dataclass(frozen=True)
class TradeEnded:
    """The owner stopped working a group's trade before all of it filled, of its own accord (an opening whose
    attempts ran out, or that TwoPart worked to its end): no order event says so, since every order of the
    trade has ended, so this tells whoever follows the command (the API's drainer) that it is over."""

    group_id: str
    purpose: str  # "open" (a close is never given up)
    reason: str


def _new_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True)
class OpenGroup:
    """Open a new group of ``units`` units of ``legs`` on ``underlying``."""

    underlying: str
    structure: str
    legs: tuple[Leg, ...]
    units: int
    source: str = "manual"
    execution: ExecutionConfig | None = None
    limit_price: float | None = None
    group_id: str | None = None
    parent_group_id: str | None = None
    command_id: str = field(default_factory=_new_id)


@dataclass(frozen=True)
class CloseGroup:
    """Close ``units`` units of a group (all of them when None)."""

    group_id: str
    units: int | None = None
    execution: ExecutionConfig | None = None
    limit_price: float | None = None
    reason: str = "requested"
    command_id: str = field(default_factory=_new_id)


@dataclass(frozen=True)
class RollGroup:
    """Close a group and open ``legs`` (the same structure at later expiries) as its child group."""

    group_id: str
    legs: tuple[Leg, ...]
    execution: ExecutionConfig | None = None
    command_id: str = field(default_factory=_new_id)


@dataclass(frozen=True)
class CancelGroup:
    """Withdraw what a group is working on: an opening order, a close, or both trades of a roll.

    What filled stays held; a withdrawn close leaves the group open (and closable again). A group with
    nothing working is refused with the reason, so a person asking to cancel learns it could not be done.
    """

    group_id: str
    reason: str = "cancel requested"
    command_id: str = field(default_factory=_new_id)


GroupCommand = OpenGroup | CloseGroup | RollGroup | CancelGroup


@dataclass(frozen=True)
class GroupCommandResult:
    """The owning strategy's answer: ``group_id`` is the group opened or acted on.

    ``awaiting_venue``: for an accepted :class:`CancelGroup`, True while an order cancel is still on its
    way (its ``OrderCanceled`` ends it); False when nothing was at the venue and the cancel is done.
    """

    command_id: str
    accepted: bool
    group_id: str | None = None
    reason: str | None = None
    awaiting_venue: bool = False
