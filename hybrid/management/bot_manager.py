"""The bot manager: an Actor that manages every open position group, whatever opened it.

Every ``check_interval_minutes`` of the engine clock, inside ``active_from``-``active_until`` New York time
on NYSE sessions, it reads the group book (:func:`hybrid.tracking.book.group_book`) and,
for each open group of a managed ``source`` whose orders are not working, marks it to the legs' mids
(:mod:`.group_marking`, with the wide-market guard of :mod:`.marks`) and applies the rules
(:func:`.exit_rules.evaluate`): graduated profit taking, a debounced stop loss, a roll below
``roll.below_dte`` days to expiry. A group's rules are its own (a manual override) or ``rules``.

Actors cannot trade: the bot asks the group's owning strategy (the ``strategy_id`` of its orders) through
that strategy's :func:`hybrid.trading.command_endpoint` with :class:`~hybrid.trading.CloseGroup` (tranches,
stops) or :class:`~hybrid.trading.RollGroup`, and follows the :class:`~hybrid.trading.GroupCommandResult`
replies on :func:`hybrid.trading.result_topic`:

- accepted roll: the new group is recorded as the next generation of the lineage (cumulative P&L across
  rolls in the store and in the ``closed`` log lines);
- refused close or roll: the group's state from before the decision is put back (``released``), so the
  group is managed again at the next check instead of waiting for a close that will not come; a roll whose
  close went ahead but whose new group was refused is logged ``roll_failed`` (the old group still closes);
- a roll that cannot be built (no expiry in the window, a strike not listed, no entry deltas) closes the
  group instead (``roll_failed`` then ``close_all``): nothing may be left to expire.

The RiskEngine's trading state (:class:`hybrid.risk.TradingStateFollower`) is read before anything is sent,
so nothing is asked that the engine would deny: under REDUCING a roll is not asked for, the group is closed
instead (``close_all``, "no roll under REDUCING"); under HALTED nothing is sent, and each decision the bot
would have acted on is logged once per halt (``held``) and taken again at the first check after trading
resumes (docs/management.md, "Circuit breaker and trading states").

Groups of an owner without a command endpoint (a strategy not built on ``GroupTrader``) are left alone
and logged once (``not_managed``). New groups are registered (``manage``) with each leg's delta at that
moment as the lineage's entry deltas (the targets of ``same_deltas`` rolls); ``overrides`` pause a group or
give it its own rules when it is registered. People override running groups through the
:class:`~.management_store.ManagementStore` (the API): the state is read from the database at each check.

Every action is persisted in the action log and published on :data:`.action_feed.ACTIONS_TOPIC`; at stop
the run's actions go to the cache for the backtest report. ``database`` is the SQLite file shared with the
API in a live node; leave it out in backtests (a fresh in-memory database per run).
"""

from __future__ import annotations

import datetime as dt
import fnmatch
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import msgspec
from nautilus_trader.common.actor import Actor
from nautilus_trader.common.config import ActorConfig
from nautilus_trader.common.events import TimeEvent
from nautilus_trader.model.enums import TradingState, trading_state_to_str
from pydantic import BaseModel, ConfigDict

from hybrid.calendar import nyse as calendar
from hybrid.calendar.exchange_time import new_york_date, new_york_instant
from hybrid.management.action_feed import ActionFeed, open_action_log
from hybrid.management.action_log import ActionLog, ActionRecord
from hybrid.management.config_models import parse_model
from hybrid.management.exit_rules import Decision, evaluate
from hybrid.management.group_marking import GroupView, GroupViews
from hybrid.management.management_rules import ManagementRules
from hybrid.management.management_store import ManagementStore
from hybrid.management.rolls import RollError, roll_legs
from hybrid.management.state import ManagementState
from hybrid.options.chain import ChainError
from hybrid.options.legs import Leg
from hybrid.risk.trading_state import TradingStateFollower
from hybrid.store.db import Database
from hybrid.tracking import SOURCES, PositionGroup
from hybrid.tracking.book import group_book
from hybrid.trading import (
    CloseGroup,
    ExecutionConfig,
    GroupCommandResult,
    RollGroup,
    check_execution,
    command_endpoint,
    market_snapshot,
    result_topic,
)

CHECK_TIMER = "bot-manager-check"


class GroupOverride(BaseModel):
    """Management of the groups whose id matches ``group`` (a shell pattern, e.g. ``template-2-*``) from the
    moment they are registered: ``paused`` leaves them alone; ``rules`` are changes to the bot's rules
    (top-level keys of :class:`ManagementRules`, e.g. ``{"stop_loss_pct": -100}``) that become their own."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    group: str
    paused: bool = False
    rules: dict | None = None

    def own_rules(self, base: ManagementRules, name: str) -> ManagementRules | None:
        """``base`` with ``rules`` applied (None when the override changes no rule)."""
        if self.rules is None:
            return None
        return parse_model(ManagementRules, {**base.model_dump(), **self.rules}, f"{name}.rules")


class BotManagerConfig(ActorConfig, frozen=True):
    """The bot manager (module docstring); times New York, rates continuous.

    ``rules`` and each of ``overrides`` are tables of :class:`~hybrid.management.management_rules.ManagementRules` and
    :class:`GroupOverride`; ``execution`` works the closes and rolls (None: the owning strategy's own).
    """

    database: str | None = None
    check_interval_minutes: int = 5
    active_from: str = "09:45"
    active_until: str = "15:55"
    sources: tuple[str, ...] = SOURCES
    rules: dict | None = None
    overrides: list[dict] = msgspec.field(default_factory=list)
    execution: ExecutionConfig | None = None
    rate: float = 0.045
    dividend: float = 0.013

    def __post_init__(self) -> None:
        BotSettings.of(self)  # a bad value fails when the config is parsed, in one line naming the key


@dataclass(frozen=True)
class BotSettings:
    """A :class:`BotManagerConfig`'s values checked and parsed."""

    active_from: dt.time
    active_until: dt.time
    rules: ManagementRules
    overrides: tuple[tuple[GroupOverride, ManagementRules | None], ...]
    execution: ExecutionConfig | None

    @classmethod
    def of(cls, config: BotManagerConfig) -> BotSettings:
        """The settings; a ValueError naming the key and what is valid otherwise."""
        if config.check_interval_minutes < 1:
            raise ValueError(f"check_interval_minutes must be >= 1, got {config.check_interval_minutes}")
        unknown = sorted(set(config.sources) - set(SOURCES))
        if unknown:
            raise ValueError(f"sources: {unknown[0]!r} is not one of {', '.join(SOURCES)}")
        rules = parse_model(ManagementRules, config.rules or {}, "rules")
        overrides = []
        for i, raw in enumerate(config.overrides):
            override = parse_model(GroupOverride, raw, f"overrides[{i}]")
            overrides.append((override, override.own_rules(rules, f"overrides[{i}]")))
        return cls(
            active_from=_time(config.active_from, "active_from"),
            active_until=_time(config.active_until, "active_until"),
            rules=rules,
            overrides=tuple(overrides),
            execution=check_execution(config.execution) if config.execution is not None else None,
        )


@dataclass(frozen=True)
class _Pending:
    """A command sent and not yet answered: the group, the decision and the state to restore if refused."""

    group_id: str
    kind: str
    before: ManagementState
    open_after: int  # open units once the command is done


class BotManager(Actor):
    """Manages open groups by asking their owning strategies to close or roll them (module docstring)."""

    def __init__(self, config: BotManagerConfig) -> None:
        super().__init__(config)
        settings = BotSettings.of(config)
        self.active_from, self.active_until = settings.active_from, settings.active_until
        self.rules, self.overrides, self.execution = settings.rules, settings.overrides, settings.execution
        self._store: ManagementStore | None = None
        self._action_log: ActionLog | None = None
        self.feed: ActionFeed | None = None
        self._db: Database | None = None
        self._pending: dict[str, _Pending] = {}  # command id -> pending
        self._settling: dict[str, int] = {}  # group id -> open units once an accepted partial close is done
        self._open: set[str] = set()  # managed groups not yet seen closed
        self._ignored: set[str] = set()  # groups logged as not manageable
        self._listening: set[str] = set()  # owning strategies whose results we follow
        self.trading = TradingStateFollower(lambda _old, _new: self._held.clear())
        self._held: set[tuple[str, str]] = set()  # (group, decision kind) logged as held in this halt
        self._views = GroupViews()
        self._window: tuple[dt.date | None, tuple[dt.datetime, dt.datetime] | None] = (None, None)  # today's checks

    @property
    def store(self) -> ManagementStore:
        """The groups' management state, opened at start."""
        if self._store is None:
            raise RuntimeError(f"{self.id} has no management store before it is started")
        return self._store

    @property
    def action_log(self) -> ActionLog:
        """The action log, opened at start."""
        if self._action_log is None:
            raise RuntimeError(f"{self.id} has no action log before it is started")
        return self._action_log

    # -- lifecycle ---------------------------------------------------------------------------

    def on_start(self) -> None:
        now = self.clock.utc_now()
        self._db, self._action_log = open_action_log(self.config.database, now)
        self._store = ManagementStore(self._db, self._action_log)
        self.feed = ActionFeed(self._action_log, self.msgbus, str(self.id))
        self._open = set(self.store.open_groups())
        self._release_interrupted(now)
        self.trading.start(self.msgbus)
        interval = dt.timedelta(minutes=self.config.check_interval_minutes)
        first = now + (-(now - dt.datetime(2000, 1, 1, tzinfo=dt.UTC)) % interval)  # on the interval grid
        self.clock.set_timer(CHECK_TIMER, interval, start_time=first, callback=self.on_check, fire_immediately=True)

    def _release_interrupted(self, now: dt.datetime) -> None:
        """A full close or roll asked for before a restart that nothing works on any more (the paper venue
        cancels its working orders at a restart) is forgotten, so the group is managed again at the next check
        (its state else says the close is already asked for, and the bot would leave it alone for good)."""
        book = group_book(self.cache, self.msgbus)
        for group_id, state in interrupted_exits(self.store.open_groups(), book.get).items():
            reason = f"{state.exit_requested} close no longer working after a restart: re-evaluated at the next check"
            self.store.release(group_id, state.model_copy(update={"exit_requested": None}), now, reason)

    def on_stop(self) -> None:
        if CHECK_TIMER in self.clock.timer_names:
            self.clock.cancel_timer(CHECK_TIMER)
        self.trading.stop()
        for strategy_id in self._listening:
            self.msgbus.unsubscribe(result_topic(strategy_id), self.on_result)
        self._listening.clear()
        if self.feed is not None:
            self.feed.store_in(self.cache)

    def on_dispose(self) -> None:
        if self._db is not None:
            self._db.close()

    # -- checks ------------------------------------------------------------------------------

    def on_check(self, event: TimeEvent) -> None:
        """One pass over the open groups (module docstring)."""
        now = dt.datetime.fromtimestamp(event.ts_event / 1e9, tz=dt.UTC)
        if not self.is_active(now):
            return
        book = group_book(self.cache, self.msgbus)
        open_groups = book.open_groups(marked=False)  # the exit rules value each group's legs themselves
        still_open = {group.group_id for group in open_groups}
        with self.store.one_pass():
            for group_id in sorted(self._open - still_open):
                group = book.get(group_id)
                if group is not None and group.status == "closed":
                    self.store.mark_closed(group_id, group.pnl or 0.0, now)
                    self._open.discard(group_id)
                    self._views.discard(group_id)
            for group in open_groups:
                if group.source in self.config.sources:
                    self.manage(group, now)

    def is_active(self, now: dt.datetime) -> bool:
        """Inside the active window of a session (never past an early close)."""
        day = new_york_date(now)
        if self._window[0] != day:
            window = None
            if calendar.is_trading_day(day):
                close = calendar.session_open_close(day)[1]
                until = min(new_york_instant(day, self.active_until), close - dt.timedelta(microseconds=1))
                window = (new_york_instant(day, self.active_from), until)
            self._window = (day, window)
        window = self._window[1]
        return window is not None and window[0] <= now <= window[1]

    def manage(self, group: PositionGroup, now: dt.datetime) -> None:
        """Evaluate one open group and act on the decision."""
        group_id = group.group_id
        if group.working_orders or self._still_settling(group):
            return
        if command_endpoint(group.strategy_id) not in self.msgbus.endpoints():
            self._ignore(group_id, now, f"owner {group.strategy_id} takes no group commands")
            return
        view = self._views.view(self.cache, group)
        if isinstance(view, str):
            self.log.debug(f"group {group_id} not marked: {view}")
            return
        state = self._state(view, now)
        decision = evaluate(self._views.marked(self.cache, view), state, self.rules, now)
        if decision.is_action and self.trading.halted:
            self._hold(group_id, decision, now)
            return
        if decision.kind == "roll" and not self.trading.active:
            decision = Decision(
                "close_all",
                f"no roll under {trading_state_to_str(self.trading.state)}, closing instead ({decision.reason})",
                decision.state,
                units=decision.units,
                pnl_pct=decision.pnl_pct,
            )
        if decision.kind == "roll":
            self.roll(view, state, decision, now)
            return
        self.store.record_decision(group_id, decision, now)
        if decision.kind in ("close_units", "close_all"):
            units = decision.units if decision.kind == "close_units" else None
            command = CloseGroup(group_id, units=units, execution=self.execution, reason=decision.reason)
            self._send(group, command, decision, state)

    def roll(self, view: GroupView, state: ManagementState, decision: Decision, now: dt.datetime) -> None:
        """Ask for the roll, or close the group when the roll cannot be built."""
        group = view.group
        try:
            legs = self._rolled_legs(view, state, now)
        except (RollError, ChainError) as e:
            self.action_log.record(ActionRecord(now, "roll_failed", f"{decision.reason}: {e}", group_id=group.group_id))
            close_all = Decision(
                "close_all",
                f"closing instead of rolling: {e}",
                decision.state,
                units=decision.units,
                pnl_pct=decision.pnl_pct,
            )
            self.store.record_decision(group.group_id, close_all, now)
            self._send(
                group, CloseGroup(group.group_id, execution=self.execution, reason=close_all.reason), close_all, state
            )
            return
        self.store.record_decision(group.group_id, decision, now)
        self._send(group, RollGroup(group.group_id, legs, execution=self.execution), decision, state)

    def _rolled_legs(self, view: GroupView, state: ManagementState, now: dt.datetime) -> tuple[Leg, ...]:
        rules = state.rules_or(self.rules).roll
        if rules is None:
            raise RollError(f"group {view.group.group_id} has no roll rules")
        market = market_snapshot(
            self.cache,
            view.underlying_id,
            self.clock.timestamp_ns(),
            self.config.rate,
            self.config.dividend,
            None if rules.recentre == "same_deltas" else (),
        )
        if market is None:
            raise RollError(f"no quoted market for {view.underlying_id}")
        entry = dict(enumerate(state.entry_deltas)) if state.entry_deltas is not None else None
        return roll_legs(view.legs, market.chain, new_york_date(now), rules, entry)

    # -- commands and replies ----------------------------------------------------------------

    def _send(
        self, group: PositionGroup, command: CloseGroup | RollGroup, decision: Decision, before: ManagementState
    ) -> None:
        owner = group.strategy_id
        if owner not in self._listening:
            self.msgbus.subscribe(result_topic(owner), self.on_result)
            self._listening.add(owner)
        open_after = abs(int(group.units)) - decision.units
        self._pending[command.command_id] = _Pending(group.group_id, decision.kind, before, open_after)
        self.msgbus.send(command_endpoint(owner), command)

    def on_result(self, result: GroupCommandResult) -> None:
        """The owning strategy's answer to one of our commands (others' results are ignored)."""
        pending = self._pending.pop(result.command_id, None)
        if pending is None:
            return
        now = self.clock.utc_now()
        group_id = pending.group_id
        if result.accepted:
            if pending.kind == "roll":
                if result.group_id is None:
                    raise RuntimeError(f"{result.command_id}: an accepted roll names no new group")
                self.store.record_roll(group_id, result.group_id, now)
                self._open.add(result.group_id)
            elif pending.kind == "close_units":
                self._settling[group_id] = pending.open_after
        elif pending.kind == "roll" and result.group_id is None:
            reason = f"closing, but the new group was refused: {result.reason}"
            self.action_log.record(ActionRecord(now, "roll_failed", reason, group_id=group_id))
        else:
            self.store.release(group_id, pending.before, now, f"{pending.kind} refused: {result.reason}")

    # -- helpers -----------------------------------------------------------------------------

    def _still_settling(self, group: PositionGroup) -> bool:
        """True while an accepted partial close has not yet reduced the units (its order may not be out yet)."""
        target = self._settling.get(group.group_id)
        if target is None:
            return False
        if abs(int(group.units)) > target:
            return True
        del self._settling[group.group_id]
        return False

    def _state(self, view: GroupView, now: dt.datetime) -> ManagementState:
        """The group's persisted state; a new group is registered first (entry deltas, config overrides)."""
        group_id = view.group.group_id
        try:
            return self.store.state(group_id)
        except KeyError:
            pass
        self.store.register(group_id, now, ManagementState(entry_deltas=self._leg_deltas(view)))
        self._open.add(group_id)
        match = next(((o, r) for o, r in self.overrides if fnmatch.fnmatchcase(group_id, o.group)), None)
        if match is not None:
            override, rules = match
            reason = f"config override {override.group}"
            if rules is not None:
                self.store.set_rules(group_id, rules, now, reason)
            if override.paused:
                self.store.pause(group_id, now, reason)
        return self.store.state(group_id)

    def _leg_deltas(self, view: GroupView) -> tuple[float, ...] | None:
        """Each leg's delta now (shares: 1), None when one is unknown."""
        market = market_snapshot(
            self.cache,
            view.underlying_id,
            self.clock.timestamp_ns(),
            self.config.rate,
            self.config.dividend,
            view.expiries,
        )
        if market is None:
            return None
        deltas = []
        for leg, instrument_id in zip(view.legs, view.instrument_ids):
            mark = market.chain.mark(instrument_id) if leg.is_option else None
            delta = 1.0 if not leg.is_option else (mark.delta if mark is not None else None)
            if delta is None:
                return None
            deltas.append(delta)
        return tuple(deltas)

    def _hold(self, group_id: str, decision: Decision, now: dt.datetime) -> None:
        """A decision not sent because trading is HALTED: logged once per halt (taken again after it)."""
        key = (group_id, decision.kind)
        if key not in self._held:
            self._held.add(key)
            reason = f"{decision.kind} not sent, trading state {trading_state_to_str(TradingState.HALTED)}: {decision.reason}"
            self.log.warning(f"group {group_id}: {reason}")
            self.action_log.record(ActionRecord(now, "held", reason, group_id=group_id))

    def _ignore(self, group_id: str, now: dt.datetime, reason: str) -> None:
        if group_id not in self._ignored:
            self._ignored.add(group_id)
            self.action_log.record(ActionRecord(now, "not_managed", reason, group_id=group_id))


def interrupted_exits(
    states: Mapping[str, ManagementState], group: Callable[[str], PositionGroup | None]
) -> dict[str, ManagementState]:
    """The managed groups whose requested full close is not being worked: open, with no working order."""
    interrupted = {}
    for group_id, state in states.items():
        found = group(group_id) if state.exit_requested is not None else None
        if found is not None and found.status == "open" and found.working_orders == 0:
            interrupted[group_id] = state
    return interrupted


def _time(text: str, name: str) -> dt.time:
    try:
        return dt.time.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{name} must be a New York time like 09:45, got {text!r}") from None
