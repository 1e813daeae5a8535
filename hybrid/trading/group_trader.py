"""The machinery every order-owning strategy shares to open, close and roll position groups.

Composition, not inheritance: a Strategy owns one :class:`GroupTrader` and feeds it from its
handlers, so the autonomous strategy, the manual-order drainer and recurring templates all trade
groups the same way while each stays a plain NautilusTrader ``Strategy``::

    def on_start(self):             self.trader.start()
    def on_stop(self):              self.trader.stop()
    def on_quote_tick(self, tick):  self.trader.on_quote_tick(tick)
    def on_order_filled(self, e):   self.trader.on_order_filled(e)
    def on_order_event(self, e):    self.trader.on_order_event(e)

What it does:

- open: a structure's legs (catalogue-built, per unit) are bound to the listed chain
  (:func:`hybrid.options.chain.bind`); the option legs go as ONE order on the spread (or the single
  contract); every order carries the group's tags (:class:`hybrid.tracking.GroupTags`). The
  underlying leg is named on the option orders by a ``leg_ratio=`` tag (shares per instrument
  unit, :mod:`hybrid.tracking.tags`), so the group view expects it, and leg balancing buys or
  sells it as a separate tagged order on the ``Equity`` once the option units have filled. Before anything is sent the
  entry is described as an :class:`EntryProposal` (legs priced at mid, max loss, Greeks) and put to
  the strategy's ``gate`` (risk limits, buying power) and to the engine's trading state: a refusal
  is logged with its reason and returned.
- spread quotes: ``subscribe_quote_ticks(spread_id, aggregate_spread_quotes=True, ...)`` after the
  ``OptionSpread`` is built by ``request_instrument`` (spread quotes are aggregated from the legs,
  never stored); prices come from the structure's quote (see :mod:`hybrid.trading.order_working`).
- close: an order in the opposite direction for all or some units; a working opening order is
  cancelled first, and a close already working is replaced (its order cancelled, then the new close sent):
  a market close supersedes a resting limit. Groups are closed ``close_days_before_expiry`` sessions
  before their first expiry at ``exit_time`` New York time, so nothing reaches expiry, and that is
  enforced: a close that has
  not filled ``cross_minutes_before_close`` minutes before the close of the last session before expiry
  (of expiry day itself with 0 days) is re-sent at the far touch, and from then on re-crossed every
  minute. Only a group whose exit time falls at or after its expiry (held to expiry on purpose) reaches
  it; it is settled by the venue, and the trader books it closed when the expiry is recorded or the
  settlement fills arrive (shares delivered by a physical settlement are flattened by leg balancing at
  the next session). Nothing is ordered on a structure with an expired contract.
- cancel (:class:`~hybrid.trading.commands.CancelGroup`): the group's working trade is withdrawn (an
  opening order, a close, or both halves of a roll); what filled stays held, a withdrawn close leaves the
  group open. A group with nothing working is refused with the reason.
- orders are priced and sent at the end of the instant they were decided in
  (:meth:`hybrid.nautilus_compat.instant_end.InstantEnd.defer`): a decision on the underlying's tick
  at t, or on a timer at t, is priced from the quotes of t after all data stamped t and the spread's
  aggregated quote of t are in, and reaches the venue's book of that instant (docs/backtest.md,
  "Decisions and the market of their instant").
- after every fill or ended order of a group: at the end of the instant, leg balancing
  (:class:`hybrid.execution.balancing.LegBalancer`); when a group is flat again it is reported closed
  with its P&L (``on_closed``), a rejection with its reason (``on_rejected``).
- Actors ask through the message bus: ``command_endpoint(strategy_id)`` takes the commands of
  :mod:`hybrid.trading.commands`, answered on ``result_topic(strategy_id)``.
- the RiskEngine's trading state (:class:`hybrid.risk.TradingStateFollower`): outside ACTIVE no group is
  opened and working opening orders are withdrawn (what filled is balanced and managed); while HALTED
  nothing is submitted, neither trades nor leg repairs: each is held with one WARNING and sent once
  trading resumes, so nothing is denied and retried. :meth:`GroupTrader.when_quiet` tells the breaker's
  response when every group is balanced with nothing working (it halts only then), :meth:`GroupTrader.flatten`
  closes every group at the far touch (:mod:`hybrid.trading.breaker_response`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal, assert_never, cast

import msgspec
from nautilus_trader.cache.base import CacheFacade
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.enums import OrderSide, TradingState, trading_state_to_str
from nautilus_trader.model.events import (
    OrderCanceled,
    OrderDenied,
    OrderEvent,
    OrderExpired,
    OrderFilled,
    OrderRejected,
)
from nautilus_trader.model.identifiers import (
    ClientOrderId,
    ExecAlgorithmId,
    InstrumentId,
    Symbol,
    Venue,
    is_generic_spread_id,
)
from nautilus_trader.model.orders import Order
from nautilus_trader.trading.config import StrategyConfig
from nautilus_trader.trading.strategy import Strategy

from hybrid.calendar import nyse as calendar
from hybrid.calendar.exchange_time import NEW_YORK, ns_new_york_date
from hybrid.execution.balancing import AfterHours, LegBalancer, Repair, RepairOrderType, holdings, plan_repairs
from hybrid.nautilus_compat.instant_end import InstantEnd
from hybrid.nautilus_compat.spreads import LEG_FILL_MARKER
from hybrid.options.analytics import AnalysisResult, analyze
from hybrid.options.chain import BoundStrategy, ChainError, bind
from hybrid.options.instruments import OPTION_MULTIPLIER, first_expiration_ns
from hybrid.options.legs import Leg
from hybrid.orders.execution_mode import ExecutionMode
from hybrid.risk.account import account_risk
from hybrid.risk.limits import EntryRisk, entry_risk
from hybrid.risk.trading_state import TradingStateFollower
from hybrid.tracking import GroupTags, PositionGroup, legged_units
from hybrid.tracking.book import group_book
from hybrid.tracking.settlement import EXPIRY_TOPIC, ExpiryRecord, is_settlement
from hybrid.tracking.tags import PARENT_KEY, PER_UNIT_KEY, leg_ratio_tag
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
from hybrid.trading.market import ChainMemo, MarketSnapshot, market_snapshot
from hybrid.trading.order_working import ExecutionConfig, check_execution, limit_price
from hybrid.trading.restored import restored_group

Purpose = Literal["open", "close"]
_FALLBACK_VOL = 0.2
_ENDED = (OrderCanceled, OrderExpired, OrderRejected, OrderDenied)
_LATE = 60_000_000_000  # past the cross deadline a resting close is re-crossed this often (ns)


@dataclass(frozen=True)
class EntryProposal:
    """A group about to be opened, as the risk gate sees it; money per unit in dollars, Greeks share-equivalent."""

    tags: GroupTags
    underlying_id: InstrumentId
    units: int
    legs: tuple[Leg, ...]
    spot: float
    analysis: AnalysisResult
    market: MarketSnapshot

    @property
    def max_loss_per_unit(self) -> float | None:
        """The most one unit can lose at the first expiry (a positive number), None when unbounded."""
        return None if self.analysis.max_loss is None else max(-self.analysis.max_loss, 0.0)

    def risk(self) -> EntryRisk:
        """What opening it adds to the account: Greeks, maximum loss and buying power (all units)."""
        return entry_risk(self.legs, self.units, self.spot, self.analysis, OPTION_MULTIPLIER)


def propose(
    cache: CacheFacade,
    command: OpenGroup,
    group_id: str | Callable[[], str],
    venue: Venue,
    now_ns: int,
    rate: float,
    dividend: float,
    memo: ChainMemo | None = None,
) -> tuple[EntryProposal, BoundStrategy] | str:
    """The entry ``command`` would open now, its legs bound to the listed chain and priced at mid, or why it
    cannot be opened (the one description the gates judge, the trader's and the API's alike). ``group_id``
    may be a function making one, called only once the legs are bound; ``memo``: the caller's chain memo
    (:func:`market_snapshot`)."""
    underlying_id = InstrumentId(Symbol(command.underlying), venue)
    expiries = {leg.expiry for leg in command.legs if leg.expiry is not None}  # the option legs
    market = market_snapshot(cache, underlying_id, now_ns, rate, dividend, expiries, memo)
    if market is None:
        return f"no quoted market for {underlying_id} and its options"
    try:
        bound = bind(command.legs, market.chain, strategy_type=command.structure, ts_init=now_ns)
        if bound.option_instrument is None:
            return "a group needs at least one option leg"
        tags = GroupTags(group_id if isinstance(group_id, str) else group_id(), command.source, command.structure)
        priced = tuple(b.leg for b in bound.legs)
        analysis = analyze(priced, market.spot, market.atm_iv() or _FALLBACK_VOL, rate, dividend, market.as_of)
    except (ChainError, ValueError) as e:
        return str(e)
    return EntryProposal(tags, underlying_id, command.units, priced, market.spot, analysis, market), bound


EntryGate = Callable[[EntryProposal], str | None]


@dataclass
class _Trade:
    """A wanted trade on the structure instrument: ``quantity`` instrument units still to fill."""

    side: OrderSide
    quantity: Decimal
    purpose: Purpose
    execution: ExecutionConfig
    limit: float | None
    reason: str
    attempts: int = 0
    cross: bool = False
    working: ClientOrderId | None = None
    since_ns: int = 0
    canceling: bool = False
    withdrawn: bool = False  # cancelled by a CancelGroup or superseded: ends when its working order does
    held: bool = False  # not sent while the trading state is HALTED (warned once)


ROLL_REASON = "roll"  # the closing reason of a group being rolled


@dataclass
class GroupState:
    """What the owning strategy knows of one of its groups while it lives."""

    tags: GroupTags
    instrument_id: InstrumentId
    per_unit: int  # signed instrument units per structure unit (bind's option_quantity)
    underlying_id: InstrumentId
    shares_ratio: int  # underlying shares per instrument unit; 0 without an underlying leg
    expiry_ns: int
    exit_ns: int
    cross_ns: int | None  # from then a close goes at the far touch; None: held to expiry on purpose
    opened_ns: int
    parent_group_id: str | None = None
    held: Decimal = Decimal(0)  # signed instrument units filled at the structure level
    trade: _Trade | None = None
    close_after_cancel: CloseGroup | None = None
    closing_reason: str | None = None
    legs: tuple[Leg, ...] = field(default_factory=tuple)
    leg_ids: frozenset[InstrumentId] = frozenset()
    flattening: bool = False  # closed by a FLATTEN: every close of it goes at the far touch

    @property
    def units(self) -> Decimal:
        """Structure units held (signed like the opening side: positive once opened)."""
        return self.held / self.per_unit

    @property
    def rolling(self) -> bool:
        """Closing for a roll: its new group replaces it (a risk gate need not count both)."""
        return self.closing_reason == ROLL_REASON


class GroupTradingConfig(StrategyConfig, frozen=True):
    """The fields every group-owning strategy's config shares: subclass it and build the trader with
    :meth:`GroupTrader.from_config` (rate and dividend yield are the carry b = r - q of the Greeks)."""

    venue: str = "OPRA"
    execution: ExecutionConfig = ExecutionConfig()
    rate: float = 0.045
    dividend: float = 0.013
    close_days_before_expiry: int = 1
    exit_time: str = "15:00"
    cross_minutes_before_close: int = 10


class GroupTrader:
    """Opens, closes, rolls and balances the groups of one Strategy (see the module docstring)."""

    @classmethod
    def from_config(
        cls,
        strategy: Strategy,
        config: GroupTradingConfig,
        gate: EntryGate | None = None,
        on_closed: Callable[[PositionGroup], None] | None = None,
        on_rejected: Callable[[str], None] | None = None,
    ) -> GroupTrader:
        """The trader of ``strategy`` configured by the shared fields of its config."""
        return cls(
            strategy,
            venue=config.venue,
            execution=config.execution,
            rate=config.rate,
            dividend=config.dividend,
            close_days_before_expiry=config.close_days_before_expiry,
            exit_time=config.exit_time,
            cross_minutes_before_close=config.cross_minutes_before_close,
            gate=gate,
            on_closed=on_closed,
            on_rejected=on_rejected,
        )

    def __init__(
        self,
        strategy: Strategy,
        venue: str,
        execution: ExecutionConfig,
        rate: float = 0.045,
        dividend: float = 0.013,
        close_days_before_expiry: int = 1,
        exit_time: str = "15:00",
        cross_minutes_before_close: int = 10,
        gate: EntryGate | None = None,
        on_closed: Callable[[PositionGroup], None] | None = None,
        on_rejected: Callable[[str], None] | None = None,
    ) -> None:
        if close_days_before_expiry < 0:
            raise ValueError(f"close_days_before_expiry must be >= 0, got {close_days_before_expiry}")
        if not 1 <= cross_minutes_before_close <= 390:
            raise ValueError(f"cross_minutes_before_close must be 1 to 390, got {cross_minutes_before_close}")
        self.strategy = strategy
        self.venue = Venue(venue)
        self.execution = check_execution(execution)
        self.rate = rate
        self.dividend = dividend
        self.close_days_before_expiry = close_days_before_expiry
        self.exit_time = parse_time(exit_time, "exit_time")
        self.cross_before_close_ns = cross_minutes_before_close * 60_000_000_000
        self.gate = gate
        self.on_closed = on_closed
        self.on_rejected = on_rejected
        self.follower = TradingStateFollower(self._on_trading_state)
        self.balancer = LegBalancer(
            strategy,
            order_type=cast(RepairOrderType, execution.repair_order_type),  # checked by check_execution
            slippage_ticks=execution.repair_slippage_ticks,
            on_checked=self._on_checked,
            after_hours=cast(AfterHours, execution.repair_after_hours),  # checked by check_execution
            halted=lambda: self.follower.halted,
        )
        self.groups: dict[str, GroupState] = {}
        self._on_quiet: tuple[Callable[[], None], bool] | None = None  # (callback, flat too): see when_quiet
        self._quiet_due = False
        # instrument -> the ids of the groups on it, in the order they were watched: a dict, not a set, so
        # groups sharing one instrument are worked in the same order whatever the hash seed
        self._watchers: dict[InstrumentId, dict[str, None]] = {}
        self._instant: InstantEnd | None = None  # where wanted trades are priced and sent (set at start)
        self._due: dict[str, int] = {}  # group -> the instant its trade was decided, sent at its end, in order
        self._chains = ChainMemo()  # the chain of the last entry, reused while the quotes stay the same

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Register the command endpoint, follow the risk engine's trading state and the expiry records, and
        take over the groups of this strategy the cache holds from an earlier run (:meth:`adopt`)."""
        self._instant = InstantEnd(self.strategy.clock, f"{self.strategy.id}:work")
        self.strategy.msgbus.register(command_endpoint(self.strategy.id), self.handle_command)
        self.follower.start(self.strategy.msgbus)
        self.strategy.msgbus.subscribe(EXPIRY_TOPIC, self._on_expiry)
        self.adopt()

    def adopt(self) -> list[str]:
        """Take over the active groups whose orders this strategy owns and it does not know (a restart: the paper
        venue's restored book, a broker's reconciled orders), so they are closed, rolled, cancelled, balanced and
        closed before expiry as a group opened in this run; the ids taken over.

        The state is built by the open's own code from the structure the orders name
        (:func:`hybrid.trading.restored.restored_group`), holding what the group view counts; an order still
        working (a broker keeps them; the paper venue cancelled its own at the restart) becomes the group's trade.
        """
        strategy = self.strategy
        adopted = []
        for group in group_book(strategy.cache, strategy.msgbus).active_groups():
            if group.strategy_id != strategy.id.value or group.group_id in self.groups:
                continue
            restored = restored_group(strategy.cache, group, self.venue)
            try:
                if isinstance(restored, str):
                    raise ValueError(restored)
                state = self._new_state(
                    restored.tags,
                    restored.bound,
                    restored.underlying_id,
                    restored.legs,
                    restored.opened_ns,
                    restored.parent_group_id,
                )
            except (ChainError, ValueError) as e:
                strategy.log.error(f"group {group.group_id} not taken over: {e}")
                continue
            state.held = group.units
            state.trade = self._resumed_trade(state, restored.orders)
            self.groups[group.group_id] = state
            self._watch(state)
            self.balancer.on_group_event(group.group_id)
            adopted.append(group.group_id)
            strategy.log.info(
                f"took over group {group.group_id} ({group.source}): {state.held} of {state.instrument_id} held"
                + (f", its {state.trade.purpose} working" if state.trade is not None else "")
            )
        return adopted

    def _resumed_trade(self, state: GroupState, orders: tuple[Order, ...]) -> _Trade | None:
        """The trade of the group's structure order still working at the venue, worked on as it was sent."""
        working = [
            o
            for o in orders
            if not o.is_closed
            and o.instrument_id == state.instrument_id
            and o.exec_spawn_id in (None, o.client_order_id)  # a primary, not an algorithm's child
        ]
        if not working:
            return None
        order = working[-1]
        opening = (order.side == OrderSide.BUY) == (state.per_unit > 0)
        mode = (
            ExecutionMode.TWO_PART
            if order.exec_algorithm_id is not None
            else ExecutionMode.LIMIT
            if order.has_price
            else ExecutionMode.MARKET
        )
        execution = msgspec.structs.replace(self.execution, mode=mode)
        limit = None
        if mode == ExecutionMode.LIMIT:  # net premium per structure unit, as _send prices it
            limit = order.price.as_double() * abs(state.per_unit) * (1 if order.side == OrderSide.BUY else -1)
        purpose: Purpose = "open" if opening else "close"
        if not opening:
            state.closing_reason = "close working before the restart"
        trade = _Trade(order.side, order.leaves_qty.as_decimal(), purpose, execution, limit, purpose)
        trade.working, trade.since_ns = order.client_order_id, order.ts_last
        return trade

    def stop(self) -> None:
        """Deregister; working orders are cancelled, held groups stay open (the report shows them)."""
        self.strategy.msgbus.deregister(command_endpoint(self.strategy.id), self.handle_command)
        self.follower.stop()
        self.strategy.msgbus.unsubscribe(EXPIRY_TOPIC, self._on_expiry)
        self._due.clear()
        self._on_quiet = None
        for state in self.groups.values():
            if state.trade is not None and state.trade.working is not None:
                order = self.strategy.cache.order(state.trade.working)
                if order is not None and order.is_open:
                    self.strategy.cancel_order(order)

    @property
    def trading_state(self) -> TradingState:
        """The RiskEngine's trading state as last published."""
        return self.follower.state

    def _on_trading_state(self, old: TradingState, new: TradingState) -> None:
        """Once per change: outside ACTIVE withdraw working entries; leaving HALTED, send what was held."""
        if new != TradingState.ACTIVE:
            self.withdraw_entries(f"trading state {trading_state_to_str(new)}")
        if old == TradingState.HALTED and new != TradingState.HALTED:
            for state in tuple(self.groups.values()):
                if state.trade is not None:
                    state.trade.held = False
                    self._work(state)
                self.balancer.on_group_event(state.tags.group_id)  # repairs held by the halt
        self._check_quiet()

    # -- breaker responses -------------------------------------------------------------------

    def withdraw_entries(self, reason: str) -> int:
        """Withdraw every working opening trade (what filled stays and is balanced); how many were working."""
        withdrawn = 0
        for state in tuple(self.groups.values()):
            trade = state.trade
            if trade is not None and trade.purpose == "open" and not trade.withdrawn:
                self._withdraw(state)
                withdrawn += 1
        if withdrawn:
            self.strategy.log.warning(f"{reason}: {withdrawn} working opening orders withdrawn")
        return withdrawn

    def flatten(self, reason: str) -> int:
        """Close every group at the far touch (an opening order is cancelled first, then what it filled is
        closed); how many groups were asked to close."""
        closing = 0
        execution = self.execution
        if execution.mode == ExecutionMode.TWO_PART:  # "at market": no ladder from mid
            execution = msgspec.structs.replace(execution, mode=ExecutionMode.LIMIT)
        for state in tuple(self.groups.values()):
            state.flattening = True
            if state.close_after_cancel is not None or (state.held == 0 and state.trade is None):
                continue
            trade = state.trade
            if trade is not None and trade.purpose == "close" and trade.working is None:
                state.trade = None  # replaced by the flattening close below
            result = self.close_group(CloseGroup(state.tags.group_id, execution=execution, reason=reason))
            closing += result.accepted
        return closing

    def when_quiet(self, callback: Callable[[], None] | None, flat: bool = False) -> None:
        """Call ``callback`` once, at the end of the first instant in which every group is balanced with
        nothing working, wanted or held (``flat``: and every group is closed); None cancels the wait."""
        self._on_quiet = None if callback is None else (callback, flat)
        self._check_quiet()

    def quiet(self, flat: bool = False) -> bool:
        """Every group balanced, with no trade working, wanted or waiting (``flat``: no group left open)."""
        if flat and any(state.held != 0 for state in self.groups.values()):
            return False
        if any(state.trade is not None or state.close_after_cancel is not None for state in self.groups.values()):
            return False
        book = group_book(self.strategy.cache, self.strategy.msgbus)
        for group_id in self.groups:
            group = book.get(group_id)
            if group is None:
                continue
            if group.working_orders or plan_repairs(holdings(group), group.units):
                return False
            if flat and any(leg.quantity != 0 for leg in group.legs):
                return False
        return True

    def _check_quiet(self) -> None:
        if self._on_quiet is not None and self._instant is not None and not self._quiet_due:
            self._quiet_due = True
            self._instant.defer(self._fire_quiet)

    def _fire_quiet(self) -> None:
        self._quiet_due = False
        pending = self._on_quiet
        if pending is not None and self.quiet(flat=pending[1]):
            self._on_quiet = None
            pending[0]()

    # -- queries -----------------------------------------------------------------------------

    def open_groups(self) -> list[GroupState]:
        """Groups opened or opening, not yet closed."""
        return list(self.groups.values())

    # -- commands ----------------------------------------------------------------------------

    def handle_command(self, command: object) -> None:
        """The message-bus endpoint (anything may be sent to it): run the command and publish its result."""
        if isinstance(command, GroupCommand):
            result = self.run_command(command)
        else:
            result = GroupCommandResult(
                getattr(command, "command_id", "?"), False, None, f"unknown command {type(command).__name__}"
            )
        self.strategy.msgbus.publish(result_topic(self.strategy.id), result)

    def run_command(self, command: GroupCommand) -> GroupCommandResult:
        """One case per command type: a new type of :data:`GroupCommand` is a type error here until handled."""
        match command:
            case OpenGroup():
                return self.open_group(command)
            case CloseGroup():
                return self.close_group(command)
            case RollGroup():
                return self.roll_group(command)
            case CancelGroup():
                return self.cancel_group(command)
            case _:
                assert_never(command)

    def open_group(self, command: OpenGroup) -> GroupCommandResult:
        """Check the entry, then start its orders; refused with a logged reason when it may not be opened."""
        refuse = self._refuser(command.command_id, command.group_id)
        if command.units < 1:
            return refuse(f"units must be >= 1, got {command.units}")
        if self.trading_state != TradingState.ACTIVE:
            return refuse(f"trading state is {trading_state_to_str(self.trading_state)}: no new groups")
        execution = self._execution(command.execution)
        if isinstance(execution, str):
            return refuse(execution)
        now = self.strategy.clock.timestamp_ns()
        group_id = command.group_id or self._new_group_id  # a new id only once the entry is bound
        proposed = propose(
            self.strategy.cache, command, group_id, self.venue, now, self.rate, self.dividend, self._chains
        )
        if isinstance(proposed, str):
            return refuse(proposed)
        proposal, bound = proposed
        tags = proposal.tags
        try:
            state = self._new_state(tags, bound, proposal.underlying_id, proposal.legs, now, command.parent_group_id)
        except (ChainError, ValueError) as e:
            return refuse(str(e))
        if tags.group_id in self.groups:
            return refuse(f"group {tags.group_id} already exists")
        reason = self.gate(proposal) if self.gate is not None else None
        if reason is None:
            reason = self._account_gate(proposal, command.parent_group_id is not None)
        if reason is not None:
            return refuse(f"{tags.structure} x{command.units}: {reason}")
        analysis = proposal.analysis
        self.groups[tags.group_id] = state
        self._watch(state)
        side = OrderSide.BUY if bound.option_quantity > 0 else OrderSide.SELL
        quantity = Decimal(abs(bound.option_quantity) * command.units)
        state.trade = _Trade(side, quantity, "open", execution, command.limit_price, "open")
        self.strategy.log.info(
            f"open group {tags.group_id} ({tags.source}): {tags.structure} x{command.units} on {state.instrument_id}, "
            f"net premium {analysis.net_premium:.2f}, max loss {proposal.max_loss_per_unit} per unit",
        )
        self._work(state)
        return GroupCommandResult(command.command_id, True, tags.group_id)

    def _account_gate(self, proposal: EntryProposal, replaces: bool) -> str | None:
        """The account-wide pre-trade gate (:mod:`hybrid.risk.account`), when the run has one."""
        gate = account_risk(self.strategy.msgbus)
        if gate is None:
            return None
        tags = proposal.tags
        refusal = gate.check(tags.source, tags.structure, proposal.units, proposal.risk(), replaces, tags.group_id)
        return None if refusal is None else refusal.message

    def close_group(self, command: CloseGroup) -> GroupCommandResult:
        """Close all (``units=None``) or some units with an order in the opposite direction."""
        refuse = self._refuser(command.command_id, command.group_id)
        state = self.groups.get(command.group_id)
        if state is None:
            return refuse(f"no open group {command.group_id} owned by {self.strategy.id}")
        execution = self._execution(command.execution)
        if isinstance(execution, str):
            return refuse(execution)
        trade = state.trade
        if trade is not None and trade.working is not None:
            # an opening order: close what it filled once it is cancelled; a close: replace it
            state.close_after_cancel = command
            trade.withdrawn = True
            if not trade.canceling:
                self._cancel(trade)
            return GroupCommandResult(command.command_id, True, command.group_id)
        quantity = abs(state.held)
        if command.units is not None:
            quantity = min(quantity, Decimal(command.units * abs(state.per_unit)))
        if quantity == 0:
            return refuse(f"group {command.group_id} holds nothing to close")
        side = OrderSide.SELL if state.held > 0 else OrderSide.BUY
        state.closing_reason = command.reason
        state.trade = _Trade(side, quantity, "close", execution, command.limit_price, command.reason)
        if state.flattening or self._late(state, self.strategy.clock.timestamp_ns()):
            state.trade.cross = True  # too late to wait for a passive fill (see _close_expiring)
        self.strategy.log.info(
            f"close group {command.group_id}: {quantity} of {state.instrument_id} ({command.reason})"
        )
        self._work(state)
        return GroupCommandResult(command.command_id, True, command.group_id)

    def cancel_group(self, command: CancelGroup) -> GroupCommandResult:
        """Withdraw the group's working trade, and for a roll's new group the closing half on its parent too.

        Accepted with ``awaiting_venue`` while the group's own order is being cancelled; refused when the
        group has nothing working (nothing to withdraw).
        """
        refuse = self._refuser(command.command_id, command.group_id)
        state = self.groups.get(command.group_id)
        if state is None:
            return refuse(f"no open group {command.group_id} owned by {self.strategy.id}")
        parent = self.groups.get(state.parent_group_id) if state.parent_group_id else None
        rolled_from = parent if parent is not None and parent.rolling else None
        if not _working(state) and (rolled_from is None or not _working(rolled_from)):
            return refuse(f"group {command.group_id} has nothing working to cancel")
        awaiting = self._withdraw(state)
        if rolled_from is not None:
            self._withdraw(rolled_from)
        self.strategy.log.info(f"cancel group {command.group_id}: its working trade is withdrawn ({command.reason})")
        return GroupCommandResult(command.command_id, True, command.group_id, awaiting_venue=awaiting)

    def _withdraw(self, state: GroupState) -> bool:
        """Stop working the group's trade (a withdrawn close leaves it open); True while its order's cancel
        is on its way to the venue."""
        state.close_after_cancel = None
        trade = state.trade
        if trade is None:
            return False
        if trade.purpose == "close":
            state.closing_reason = None
        trade.withdrawn = True
        if trade.working is not None and not trade.canceling:
            self._cancel(trade)
        if not trade.canceling:  # nothing at the venue: withdrawn at once
            state.trade = None
            trade.working = None
        return trade.canceling

    def roll_group(self, command: RollGroup) -> GroupCommandResult:
        """Close the group and open ``legs`` as its child (same source and structure name)."""
        state = self.groups.get(command.group_id)
        if state is None:
            return self._refuser(command.command_id, command.group_id)(f"no open group {command.group_id} to roll")
        closed = self.close_group(CloseGroup(command.group_id, execution=command.execution, reason=ROLL_REASON))
        if not closed.accepted:
            return GroupCommandResult(command.command_id, False, command.group_id, closed.reason)
        tags = state.tags
        return self.open_group(
            OpenGroup(
                underlying=state.underlying_id.symbol.value,
                structure=tags.structure,
                legs=command.legs,
                units=max(int(abs(state.units)), 1),
                source=tags.source,
                execution=command.execution,
                parent_group_id=tags.group_id,
                command_id=command.command_id,
            ),
        )

    # -- handlers ----------------------------------------------------------------------------

    def on_quote_tick(self, tick: QuoteTick) -> None:
        """Work the orders of the groups on this instrument (a leg repair waiting for a fresher quote among
        them), then close groups that reached their exit time."""
        for group_id in tuple(self._watchers.get(tick.instrument_id, ())):
            self.balancer.on_quote(group_id)
            state = self.groups.get(group_id)
            if state is None or state.trade is None:
                continue
            trade = state.trade
            if trade.working is None:
                self._work(state)
            elif (
                trade.execution.mode == ExecutionMode.LIMIT
                and not trade.canceling
                and tick.ts_event - trade.since_ns >= trade.execution.reprice_after_seconds * 1_000_000_000
            ):
                self._cancel(trade)
        self._close_expiring(tick.ts_event)

    def on_order_filled(self, event: OrderFilled) -> None:
        """Count structure-level fills and schedule the group's balance check."""
        state = self._group_of(event.client_order_id)
        if state is None:
            self._on_settlement(event)
            return
        if event.instrument_id == state.instrument_id:
            qty = event.last_qty.as_decimal()
            state.held += qty if event.order_side == OrderSide.BUY else -qty
            trade = state.trade
            if trade is not None:
                trade.quantity = max(trade.quantity - qty, Decimal(0))
                if trade.quantity == 0:
                    state.trade = None
                    self._close_after_cancel(state)
        self.balancer.on_group_event(state.tags.group_id)

    def on_order_event(self, event: OrderEvent) -> None:
        """A group order ended without filling completely: reprice, give up or cross, and re-check balance."""
        if not isinstance(event, _ENDED):
            return
        state = self._group_of(event.client_order_id)
        if state is None:
            return
        if isinstance(event, (OrderRejected, OrderDenied)):
            reason = f"{type(event).__name__} {event.client_order_id} (group {state.tags.group_id}): {event.reason}"
            self.strategy.log.warning(reason)
            if self.on_rejected is not None:
                self.on_rejected(reason)
        trade = state.trade
        if trade is not None and trade.working == event.client_order_id:
            self._count_legged(state, trade, event.client_order_id)
            self._after_order_ended(state, trade, give_up=isinstance(event, OrderDenied))
        self.balancer.on_group_event(state.tags.group_id)

    # -- internals ---------------------------------------------------------------------------

    def _count_legged(self, state: GroupState, trade: _Trade, client_order_id: ClientOrderId) -> None:
        """An order its algorithm worked leg by leg had no structure-level fill: count the units it recorded."""
        legged = legged_units(self.strategy.cache, client_order_id)
        if legged is None:
            return
        qty = Decimal(legged.units)
        state.held += qty if trade.side == OrderSide.BUY else -qty
        trade.quantity = max(trade.quantity - qty, Decimal(0))

    def _on_settlement(self, event: OrderFilled) -> None:
        """The venue settled an expired leg: the groups holding it are settled (the group view attributes
        the settlement, :mod:`hybrid.tracking.settlement`); assigned shares are flattened by balancing."""
        order = self.strategy.cache.order(event.client_order_id)
        if order is None or not is_settlement(order):
            return
        self._settle(lambda state: event.instrument_id in state.leg_ids and state.expiry_ns <= event.ts_event)

    def _on_expiry(self, record: ExpiryRecord) -> None:
        """Options of an underlying expired: its groups whose first expiry has come are settled, also when
        the venue had nothing to settle (their holdings netted out)."""
        self._settle(lambda state: state.underlying_id == record.underlying_id and state.expiry_ns <= record.ts_ns)

    def _settle(self, expired: Callable[[GroupState], bool]) -> None:
        for state in tuple(self.groups.values()):
            if expired(state):
                state.held = Decimal(0)
                state.trade = None
                state.closing_reason = state.closing_reason or "settled at expiry"
                self.balancer.on_group_event(state.tags.group_id)

    def _after_order_ended(self, state: GroupState, trade: _Trade, give_up: bool) -> None:
        trade.working = None
        trade.canceling = False
        if state.close_after_cancel is not None:
            state.trade = None
            self._close_after_cancel(state)
            return
        if trade.withdrawn:
            state.trade = None
            return
        if trade.quantity == 0:
            state.trade = None
            return
        if trade.execution.mode == ExecutionMode.TWO_PART:  # the algorithm worked it to its end: no second run
            if trade.purpose == "close":  # what it left must still go: cross directly
                trade.execution = msgspec.structs.replace(trade.execution, mode=ExecutionMode.LIMIT)
                trade.cross = True
            else:
                self._give_up(state, f"TwoPart worked it to its end with {trade.quantity} left unfilled")
            return
        trade.attempts += 1
        if trade.attempts <= trade.execution.max_reprices and not give_up:
            return  # re-sent one concession further at the next quote
        if trade.purpose == "close":
            trade.cross = True  # a group must not stay open: keep crossing at the far touch
            return
        self._give_up(state, f"given up after {trade.attempts} attempts with {trade.quantity} left unfilled")
        self.strategy.log.warning(
            f"group {state.tags.group_id}: opening order given up after {trade.attempts} attempts, "
            f"{abs(state.held)} of {state.instrument_id} filled",
        )

    def _give_up(self, state: GroupState, reason: str) -> None:
        """Stop working the group's opening trade unfilled, and say so (:class:`TradeEnded`)."""
        state.trade = None
        ended = TradeEnded(state.tags.group_id, "open", reason)
        self.strategy.msgbus.publish(trade_ended_topic(self.strategy.id), ended)

    def _close_after_cancel(self, state: GroupState) -> None:
        """The order a close waited for has ended (cancelled or filled): send that close, if anything is held."""
        command, state.close_after_cancel = state.close_after_cancel, None
        if command is not None and state.held != 0:
            self.close_group(command)

    def _work(self, state: GroupState) -> None:
        """Send the group's wanted trade at the end of this instant, if nothing is working by then."""
        trade = state.trade
        group_id = state.tags.group_id
        if (
            trade is None
            or trade.withdrawn
            or trade.working is not None
            or trade.quantity <= 0
            or group_id in self._due
        ):
            return
        if self._instant is None:
            raise RuntimeError(f"group {group_id}: the group trader of {self.strategy.id} is not started")
        if self.follower.halted:
            self._hold(state, trade)
            return
        self._due[group_id] = self.strategy.clock.timestamp_ns()
        self._instant.defer(lambda: self._send(group_id))

    def _send(self, group_id: str) -> None:
        """Price and submit the group's wanted trade from the instant's quotes, if the structure has one."""
        decided_ns = self._due.pop(group_id, None)
        if decided_ns is None:
            return  # stopped since
        state = self.groups.get(group_id)
        trade = state.trade if state is not None else None
        if state is None or trade is None or trade.working is not None or trade.quantity <= 0:
            return
        if self.follower.halted:
            self._hold(state, trade)
            return
        strategy = self.strategy
        now = strategy.clock.timestamp_ns()
        expires = first_expiration_ns(strategy.cache, state.instrument_id)
        if expires is not None and now >= expires:
            state.trade = None
            strategy.log.error(f"group {state.tags.group_id}: not sent, a contract of {state.instrument_id} expired")
            return
        instrument = strategy.cache.instrument(state.instrument_id)
        quote = strategy.cache.quote_tick(state.instrument_id)
        if instrument is None or quote is None:
            return  # wait for the instrument and the first (aggregated) quote
        quantity = instrument.make_qty(trade.quantity)
        tags = [*state.tags.to_tags(), f"{PER_UNIT_KEY}={state.per_unit}"]  # what a restart needs (restored.py)
        if state.parent_group_id:
            tags.append(f"{PARENT_KEY}={state.parent_group_id}")
        if state.shares_ratio:  # the group view and leg balancing then know the underlying leg
            tags.append(leg_ratio_tag(state.underlying_id, state.shares_ratio))
        if trade.execution.mode == ExecutionMode.MARKET and trade.limit is None:
            order = strategy.order_factory.market(state.instrument_id, trade.side, quantity, tags=tags)
        else:
            if trade.limit is not None:  # net premium per structure unit, debit positive
                price = trade.limit / abs(state.per_unit) * (1 if trade.side == OrderSide.BUY else -1)
            else:  # an algorithm gets the far touch: the bound of its own ladder from mid
                price = limit_price(
                    trade.side,
                    quote.bid_price.as_double(),
                    quote.ask_price.as_double(),
                    trade.execution.concession_half_spreads,
                    trade.attempts,
                    cross=trade.cross or trade.execution.mode == ExecutionMode.TWO_PART,
                )
            algorithm = trade.execution.mode == ExecutionMode.TWO_PART
            order = strategy.order_factory.limit(
                state.instrument_id,
                trade.side,
                quantity,
                instrument.make_price(price),
                tags=tags,
                exec_algorithm_id=ExecAlgorithmId(trade.execution.exec_algorithm_id) if algorithm else None,
                exec_algorithm_params=trade.execution.exec_algorithm_params if algorithm else None,
            )
        trade.working = order.client_order_id
        trade.since_ns = decided_ns  # repriced ``reprice_after_seconds`` after the decision, on the instants' grid
        strategy.submit_order(order)

    def _hold(self, state: GroupState, trade: _Trade) -> None:
        """Not sent while HALTED (the engine would deny it): one WARNING per trade, sent when trading resumes."""
        if not trade.held:
            trade.held = True
            self.strategy.log.warning(
                f"group {state.tags.group_id}: {trade.reason} {trade.purpose} held, trading state HALTED "
                "(sent when trading resumes)"
            )

    def _cancel(self, trade: _Trade) -> None:
        order = self.strategy.cache.order(trade.working)
        if order is not None and order.is_open:
            trade.canceling = True
            self.strategy.cancel_order(order)

    def _close_expiring(self, now_ns: int) -> None:
        """Close the groups whose exit time has come; past their cross deadline, close at the far touch, and
        re-cross every minute (on every tick, so a structure that quotes no more still gets it)."""
        for state in tuple(self.groups.values()):
            if not state.exit_ns <= now_ns < state.expiry_ns or state.held == 0:
                continue
            if state.closing_reason is None:
                self.close_group(CloseGroup(state.tags.group_id, reason="expiry"))
            trade = state.trade
            if not self._late(state, now_ns) or trade is None or trade.purpose != "close":
                continue
            if not trade.cross:
                self._cross_before_expiry(state, trade)
            elif trade.working is None:  # no waiting for the structure's next quote: its last one is crossed
                self._work(state)
            elif (
                trade.execution.mode == ExecutionMode.LIMIT and not trade.canceling and now_ns - trade.since_ns >= _LATE
            ):
                self._cancel(trade)  # re-crossed at the far touch

    @staticmethod
    def _late(state: GroupState, now_ns: int) -> bool:
        """Past the group's cross deadline (and before its expiry)."""
        return state.cross_ns is not None and state.cross_ns <= now_ns < state.expiry_ns

    def _cross_before_expiry(self, state: GroupState, trade: _Trade) -> None:
        """The close has not filled by its deadline: it goes at the far touch (a working one is re-sent)."""
        self.strategy.log.warning(
            f"group {state.tags.group_id}: close not filled by the last session before expiry, crossing the market"
        )
        trade.cross = True
        if trade.execution.mode == ExecutionMode.TWO_PART:  # its end re-sends what is left at the far touch
            trade.execution = msgspec.structs.replace(trade.execution, mode=ExecutionMode.LIMIT)
        if trade.working is not None:
            self._cancel(trade)

    def _on_checked(self, group_id: str, group: PositionGroup | None, repairs: list[Repair]) -> None:
        """After a balance check: a flat group with nothing working or wanted is closed in the books."""
        self._check_quiet()
        state = self.groups.get(group_id)
        if state is None or group is None or repairs or state.trade is not None or group.working_orders:
            return
        if state.held != 0 or any(leg.quantity != 0 for leg in group.legs):
            return
        del self.groups[group_id]
        self._unwatch(state)
        if group.fills == 0:
            return  # never filled: nothing to report
        self.strategy.log.info(
            f"group {group_id} closed ({state.closing_reason or 'unfilled remainder'}), P&L {group.pnl}"
        )
        if self.on_closed is not None:
            self.on_closed(group)

    def _group_of(self, client_order_id: ClientOrderId) -> GroupState | None:
        cache = self.strategy.cache
        order = cache.order(client_order_id)
        if order is None:
            parent, marker, _ = client_order_id.value.rpartition(LEG_FILL_MARKER)
            order = cache.order(ClientOrderId(parent)) if marker and parent else None
        if order is None:
            return None
        tags = _tags_of(order)
        return self.groups.get(tags.group_id) if tags is not None else None

    def _new_state(
        self,
        tags: GroupTags,
        bound: BoundStrategy,
        underlying_id: InstrumentId,
        legs: tuple[Leg, ...],
        now_ns: int,
        parent: str | None,
    ) -> GroupState:
        instrument = bound.option_instrument
        assert instrument is not None  # open() refuses a group without an option leg
        shares_ratio = 0
        if bound.underlying_quantity:
            if bound.underlying_quantity % bound.option_quantity:
                raise ChainError(
                    f"underlying leg of {bound.underlying_quantity} shares is not a whole multiple of "
                    f"{bound.option_quantity} option units",
                )
            shares_ratio = bound.underlying_quantity // bound.option_quantity
        expiry = ns_new_york_date(instrument.expiration_ns)
        exit_ns = self._exit_ns(expiry)
        return GroupState(
            tags=tags,
            instrument_id=instrument.id,
            per_unit=bound.option_quantity,
            underlying_id=underlying_id,
            shares_ratio=shares_ratio,
            expiry_ns=instrument.expiration_ns,
            exit_ns=exit_ns,
            cross_ns=self._cross_ns(expiry, exit_ns, instrument.expiration_ns),
            opened_ns=now_ns,
            parent_group_id=parent,
            legs=legs,
            leg_ids=frozenset(i for i, _ in bound.option_ratios) | ({underlying_id} if shares_ratio else set()),
        )

    def _exit_ns(self, expiry: dt.date) -> int:
        """``exit_time`` New York on the session ``close_days_before_expiry`` sessions before ``expiry``."""
        day = expiry
        if self.close_days_before_expiry:
            day = calendar.previous_sessions(expiry, self.close_days_before_expiry)[0]
        return int(dt.datetime.combine(day, self.exit_time, tzinfo=NEW_YORK).timestamp() * 1e9)

    def _cross_ns(self, expiry: dt.date, exit_ns: int, expiry_ns: int) -> int | None:
        """``cross_minutes_before_close`` before the close of the last session before ``expiry`` (of expiry
        day when groups close on it); None when the exit falls at or after the expiry (held on purpose)."""
        if exit_ns >= expiry_ns:
            return None
        day = calendar.previous_sessions(expiry, 1)[0] if self.close_days_before_expiry else expiry
        return calendar.session_open_close(day)[1].value - self.cross_before_close_ns

    def _watch(self, state: GroupState) -> None:
        """Quotes of the group's structure instrument (the spread built and aggregated from its legs)."""
        instrument_id = state.instrument_id
        watchers = self._watchers.setdefault(instrument_id, {})
        if not watchers:
            if is_generic_spread_id(instrument_id):
                if self.strategy.cache.instrument(instrument_id) is None:
                    self.strategy.request_instrument(instrument_id)
                self.strategy.subscribe_quote_ticks(
                    instrument_id, aggregate_spread_quotes=True, params=self._spread_params()
                )
            else:
                self.strategy.subscribe_quote_ticks(instrument_id)
        watchers[state.tags.group_id] = None

    def _unwatch(self, state: GroupState) -> None:
        instrument_id = state.instrument_id
        watchers = self._watchers.get(instrument_id, {})
        watchers.pop(state.tags.group_id, None)
        if watchers:
            return
        self._watchers.pop(instrument_id, None)
        if is_generic_spread_id(instrument_id):
            self.strategy.unsubscribe_quote_ticks(
                instrument_id, aggregate_spread_quotes=True, params=self._spread_params()
            )
        else:
            self.strategy.unsubscribe_quote_ticks(instrument_id)

    def _spread_params(self) -> dict:
        # Leg crossing prices (the vega-weighted width can come out as zero width).
        return {"disable_vega_pricing": True, "update_interval_seconds": self.execution.quote_update_interval_seconds}

    def _execution(self, execution: ExecutionConfig | None) -> ExecutionConfig | str:
        try:
            return self.execution if execution is None else check_execution(execution)
        except ValueError as e:
            return str(e)

    def _refuser(self, command_id: str, group_id: str | None) -> Callable[[str], GroupCommandResult]:
        def refuse(reason: str) -> GroupCommandResult:
            self.strategy.log.warning(f"refused: {reason}")
            return GroupCommandResult(command_id, False, group_id, reason)

        return refuse

    def _new_group_id(self) -> str:
        # Client order ids are unique per trader and deterministic in a backtest.
        return "G" + self.strategy.order_factory.generate_client_order_id().value.removeprefix("O")


def _working(state: GroupState) -> bool:
    """The group has a trade it is still working (not already withdrawn) or a close waiting on a cancel."""
    return (state.trade is not None and not state.trade.withdrawn) or state.close_after_cancel is not None


def _tags_of(order: Order) -> GroupTags | None:
    try:
        return GroupTags.parse(order.tags)
    except ValueError:
        return None


def parse_time(text: str, name: str) -> dt.time:
    """A New York wall time like ``15:00`` from a config field, or a one-line error naming ``name``."""
    try:
        return dt.time.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{name} must be a New York time like 15:00, got {text!r}") from None
