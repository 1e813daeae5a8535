"""Queued API orders as the group commands the owning strategy executes.

- open: :mod:`hybrid.management.intent_commands` (shared with recurring templates): legs resolved
  against the market now (rule structures), side applied, execution mapped; the group id is
  :func:`group_id_for` the queue order, so the engine's orders carry the queue order's identity in their
  ``group=`` tag;
- close: the group and units as asked, the intent's execution;
- roll: the group's structure as the cache sees it (its spread's legs and ratios, signed as opened) moved
  to the new expiries: the given dates, or per DTE window the listed expiry the chain picks, matched to
  the group's expiries in date order; strikes kept (``same_strikes``) or, per leg, the listed strike at
  the new expiry whose delta is nearest the old contract's delta now (``same_deltas``). Underlying legs
  are not rolled (the group view has no ratio for them).

Every command's ``command_id`` is the queue order id, so the owner's :class:`GroupCommandResult` answers
the order it belongs to. Problems are :class:`CommandError` (one line: the order is rejected with it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import replace
from typing import assert_never

from nautilus_trader.cache.base import CacheFacade
from nautilus_trader.model.identifiers import InstrumentId, Symbol, Venue
from nautilus_trader.model.instruments import OptionContract

from hybrid.management.intent_commands import execution_for, intent_legs, open_command
from hybrid.options.chain import ChainError, contract_expiry, contract_right
from hybrid.options.legs import Leg
from hybrid.orders.intents import CloseGroupIntent, OpenIntent, RollGroupIntent
from hybrid.orders.queue import QueuedOrder
from hybrid.orders.structures import RuleStructure
from hybrid.tracking import PositionGroup
from hybrid.trading import CloseGroup, GroupCommand, MarketSnapshot, OpenGroup, RollGroup, market_snapshot

GROUP_PREFIX = "Q-"

GroupLookup = Callable[[str], PositionGroup | None]  # a group by id, as the group book has it now


class CommandError(ValueError):
    """The order cannot become a command now (the message says why)."""


def group_id_for(order_id: str) -> str:
    """The id of the group a queued open order opens: the queue order id, recognisable in the order tags."""
    return GROUP_PREFIX + order_id


class CommandBuilder:
    """Builds commands from queued orders against the engine's cache and clock (see the module docstring).

    ``group`` finds a group to roll: the kernel's group book (``group_book(cache, msgbus).get``).
    """

    def __init__(self, cache: CacheFacade, group: GroupLookup, venue: str, rate: float, dividend: float) -> None:
        self.cache = cache
        self.group = group
        self.venue = Venue(venue)
        self.rate = rate
        self.dividend = dividend

    def command(self, order: QueuedOrder, now_ns: int) -> GroupCommand:
        """One case per intent kind: a new kind is a type error here until it has its command."""
        intent = order.intent
        match intent:
            case OpenIntent():
                return self._open(order, intent, now_ns)
            case CloseGroupIntent():
                execution, limit = execution_for(intent.execution)
                reason = f"order {order.order_id}"
                return CloseGroup(intent.group_id, intent.units, execution, limit, reason, command_id=order.order_id)
            case RollGroupIntent():
                execution, _ = execution_for(intent.execution)
                legs = self._rolled_legs(intent, now_ns)
                return RollGroup(intent.group_id, legs, execution, command_id=order.order_id)
            case _:
                assert_never(intent)

    def _market(self, underlying: str, now_ns: int) -> MarketSnapshot:
        market = market_snapshot(
            self.cache, InstrumentId(Symbol(underlying), self.venue), now_ns, self.rate, self.dividend
        )
        if market is None:
            raise CommandError(f"no quoted market for {underlying}.{self.venue} and its options yet")
        return market

    def _open(self, order: QueuedOrder, intent: OpenIntent, now_ns: int) -> OpenGroup:
        if isinstance(intent.structure, RuleStructure):
            market = self._market(intent.underlying, now_ns)
            try:
                legs = intent_legs(intent, market, market.as_of.date())
            except ChainError as exc:
                raise CommandError(str(exc)) from None
        else:
            legs = intent.unit_legs()
        return replace(open_command(intent, legs, group_id_for(order.order_id)), command_id=order.order_id)

    def _rolled_legs(self, intent: RollGroupIntent, now_ns: int) -> tuple[Leg, ...]:
        group = self.group(intent.group_id)
        if group is None or group.status != "open":
            raise CommandError(f"group {intent.group_id} is not open: there is nothing to roll")
        contracts = self._contracts(group)
        legs = [self._leg(contract, ratio, group) for contract, ratio in contracts]
        market = self._market(contracts[0][0].underlying, now_ns)
        today = market.as_of.date()
        current = sorted({contract_expiry(contract) for contract, _ in contracts})
        targets = intent.targets
        if len(targets) != len(current):
            raise CommandError(f"group {group.group_id} has {len(current)} expiries; the roll gives {len(targets)}")
        try:
            new = {
                old: target
                if isinstance(target, dt.date)
                else market.chain.expiry_by_dte(today, target.min_dte, target.max_dte)
                for old, target in zip(current, targets)
            }
            moved = [(leg, contract, new[contract_expiry(contract)]) for leg, (contract, _) in zip(legs, contracts)]
            if intent.recentre == "same_strikes":
                return tuple(Leg(leg.kind, leg.strike, expiry, leg.quantity) for leg, _, expiry in moved)
            return tuple(self._same_delta(leg, contract, expiry, market) for leg, contract, expiry in moved)
        except ChainError as exc:
            raise CommandError(str(exc)) from None

    def _contracts(self, group: PositionGroup) -> list[tuple[OptionContract, int]]:
        contracts = []
        for leg in group.legs:
            instrument = self.cache.instrument(leg.instrument_id)
            if isinstance(instrument, OptionContract) and leg.ratio != 0:
                contracts.append((instrument, leg.ratio))
        if not contracts:
            raise CommandError(f"group {group.group_id} has no option legs to roll")
        return contracts

    @staticmethod
    def _leg(contract: OptionContract, ratio: int, group: PositionGroup) -> Leg:
        sign = 1 if group.units > 0 else -1  # a group opened by selling its spread holds the legs negated
        return Leg(contract_right(contract), float(contract.strike_price), contract_expiry(contract), ratio * sign)

    def _same_delta(self, leg: Leg, contract: OptionContract, expiry: dt.date, market: MarketSnapshot) -> Leg:
        mark = market.chain.mark(contract.id)
        if mark is None or mark.delta is None:
            raise CommandError(f"no delta for {contract.id} now: roll with same_strikes")
        strike = market.chain.strike_by_delta(expiry, contract_right(contract), mark.delta)
        return Leg(leg.kind, strike, expiry, leg.quantity)
