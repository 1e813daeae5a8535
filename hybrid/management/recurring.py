"""Recurring templates: an Actor that fires each template's runs on the engine clock and asks the owner to open them.

Templates come from the :class:`~.template_store.TemplateStore` in ``database`` (created and edited
through the API in a live node) and from ``templates``, definitions written into the config (a backtest's
TOML): at start each one is created in the store, or updated when a template of the same name differs.

Timing uses only the engine clock: one time alert at the next fire time of any enabled template
(:func:`.schedules.next_fire_times`, NYSE sessions, holidays and half days), and, with ``poll_minutes``,
a timer that looks again for templates changed elsewhere. At each alert the store's
:meth:`~.template_store.TemplateStore.due_runs` gives the runs due now (catching up, once, a run missed
within its grace after a restart; older ones are recorded as missed) and each run is claimed exactly once
(:meth:`~.template_store.TemplateStore.claim_run`: another actor or process on the same database gets
False and leaves it), then evaluated:

1. the market: the chain with the quotes' implied vols and deltas (:func:`hybrid.trading.snapshot`); before
   the underlying's first quote a run waits, unclaimed, and is looked at again a minute later;
2. the entry conditions (:meth:`~.entry_conditions.EntryConditions.blockers`) on IV rank (daily
   ``AtmImpliedVol`` history and the live ATM IV, :mod:`.market_context`), the underlying's price, the
   portfolio's share-equivalent Greeks on the underlying, and the open groups of this template (the
   groups its runs opened, ``template-<id>-...``, and the groups rolled from them);
3. the structure: strike rules resolved against the chain (delta target, ATM offset, width, DTE window);
4. an :class:`~hybrid.trading.OpenGroup` with ``source=recurring``, the template's units and execution,
   and the run key as group id, sent to the ``owner`` strategy's command endpoint.

Every evaluation is recorded with its outcome in the action log: ``template_fired`` (with the group id)
once the owner accepts, or ``template_skipped`` with the reason (a condition, the chain, the owner's
refusal); the details carry what the conditions saw. Actions are published on
:data:`.action_feed.ACTIONS_TOPIC` and stored for the backtest report like the bot manager's.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from datetime import timedelta

import msgspec
import pandas as pd
from nautilus_trader.common.actor import Actor
from nautilus_trader.common.config import ActorConfig
from nautilus_trader.common.events import TimeEvent
from nautilus_trader.core.data import Data
from nautilus_trader.model.data import DataType
from nautilus_trader.model.identifiers import ClientId, InstrumentId, Symbol, Venue

from hybrid.calendar.exchange_time import new_york_date
from hybrid.management.action_feed import ACTIONS_TOPIC, ActionFeed, open_action_log
from hybrid.management.action_log import ActionRecord
from hybrid.management.config_models import parse_model
from hybrid.management.entry_conditions import EntryContext
from hybrid.management.intent_commands import intent_legs, open_command
from hybrid.management.market_context import DailyIVHistory, underlying_greeks
from hybrid.management.schedules import next_fire_times
from hybrid.management.template_store import DueRun, TemplateStore
from hybrid.management.templates import RecurringTemplate, run_key_prefix
from hybrid.options.catalogue import StrategyError
from hybrid.options.chain import ChainError
from hybrid.options.iv_data import IV_DATA_CLIENT, IV_HISTORY_CLIENT, AtmImpliedVol
from hybrid.options.ivrank import TRADING_DAYS
from hybrid.store.db import Database
from hybrid.tracking.book import group_book
from hybrid.trading import GroupCommandResult, MarketSnapshot, command_endpoint, market_snapshot, result_topic

NEXT_RUN_ALERT = "recurring-next-run"
MARKET_RETRY = timedelta(minutes=1)
POLL_TIMER = "recurring-poll"


class RecurringTemplatesConfig(ActorConfig, frozen=True):
    """The recurring templates Actor (module docstring).

    ``owner`` is the strategy id that opens the groups (an :class:`strategies.order_desk.OrderDesk`);
    ``templates`` are :class:`~hybrid.management.templates.RecurringTemplate` tables; ``iv_window`` the IV
    rank's window in sessions; ``poll_minutes`` (live) how often to look for templates changed elsewhere.
    """

    owner: str = "OrderDesk-000"
    venue: str = "OPRA"
    database: str | None = None
    templates: list[dict] = msgspec.field(default_factory=list)
    iv_window: int = TRADING_DAYS
    rate: float = 0.045
    dividend: float = 0.013
    poll_minutes: int | None = None

    def __post_init__(self) -> None:
        definitions(self)  # a bad value fails when the config is parsed, in one line naming the key


def definitions(config: RecurringTemplatesConfig) -> list[RecurringTemplate]:
    """The config's templates, validated; a ValueError naming the key and what is valid otherwise."""
    templates = [parse_model(RecurringTemplate, t, f"templates[{i}]") for i, t in enumerate(config.templates)]
    names = [t.name for t in templates]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"templates: the name {repeated[0]!r} is used twice; names identify templates")
    if config.iv_window < 2:
        raise ValueError(f"iv_window must be >= 2 sessions, got {config.iv_window}")
    if config.poll_minutes is not None and config.poll_minutes < 1:
        raise ValueError(f"poll_minutes must be >= 1 or left out, got {config.poll_minutes}")
    return templates


@dataclass(frozen=True)
class _Sent:
    """A run whose OpenGroup awaits the owner's answer."""

    run: DueRun
    details: dict


class RecurringTemplates(Actor):
    """Fires recurring templates on the engine clock (module docstring)."""

    def __init__(self, config: RecurringTemplatesConfig) -> None:
        super().__init__(config)
        self.definitions = definitions(config)
        self.venue = Venue(config.venue)
        self._store: TemplateStore | None = None
        self.feed: ActionFeed | None = None
        self._db: Database | None = None
        self._iv: dict[str, DailyIVHistory] = {}
        self._roots: dict[str, str] = {}  # group opened by a roll -> the lineage's first group
        self._sent: dict[str, _Sent] = {}  # command id -> run

    @property
    def store(self) -> TemplateStore:
        """The template store, opened at start."""
        if self._store is None:
            raise RuntimeError(f"{self.id} has no template store before it is started")
        return self._store

    # -- lifecycle ---------------------------------------------------------------------------

    def on_start(self) -> None:
        now = self.clock.utc_now()
        self._db, log = open_action_log(self.config.database, now)
        self._store = TemplateStore(self._db, log)
        self.feed = ActionFeed(log, self.msgbus, str(self.id))
        self._sync_definitions(now)
        for record in log.query(action="roll_opened"):
            self._on_action(record)
        self.msgbus.subscribe(ACTIONS_TOPIC, self._on_action)
        self.msgbus.subscribe(result_topic(self.config.owner), self.on_result)
        self.subscribe_data(DataType(AtmImpliedVol), client_id=ClientId(IV_DATA_CLIENT))
        for stored in self.store.templates(enabled=True):
            self._iv_history(stored.template.order.underlying)
        if self.config.poll_minutes is not None:
            self.clock.set_timer(POLL_TIMER, timedelta(minutes=self.config.poll_minutes), callback=self.on_alert)
        self.run_due(now)

    def on_stop(self) -> None:
        for name in (NEXT_RUN_ALERT, POLL_TIMER):
            if name in self.clock.timer_names:
                self.clock.cancel_timer(name)
        self.msgbus.unsubscribe(ACTIONS_TOPIC, self._on_action)
        self.msgbus.unsubscribe(result_topic(self.config.owner), self.on_result)
        if self.feed is not None:
            self.feed.store_in(self.cache)

    def on_dispose(self) -> None:
        if self._db is not None:
            self._db.close()

    def _sync_definitions(self, now: dt.datetime) -> None:
        """Create the config's templates in the store, or update the stored one of the same name."""
        stored = {s.template.name: s for s in self.store.templates()}
        for template in self.definitions:
            existing = stored.get(template.name)
            if existing is None:
                self.store.create(template, now)
            elif existing.template != template:
                self.store.update(existing.template_id, template, now)

    # -- data --------------------------------------------------------------------------------

    def _iv_history(self, underlying: str) -> DailyIVHistory:
        """The IV history of ``underlying``; the first use requests a window of it from the catalog."""
        if underlying not in self._iv:
            instrument_id = InstrumentId(Symbol(underlying), self.venue)
            self._iv[underlying] = DailyIVHistory(instrument_id, self.config.iv_window)
            now = self.clock.utc_now()
            self.request_data(
                DataType(AtmImpliedVol),
                client_id=ClientId(IV_HISTORY_CLIENT),
                instrument_id=instrument_id,
                start=now - pd.Timedelta(days=int(self.config.iv_window * 1.6)),
                end=now,
            )
        return self._iv[underlying]

    def on_historical_data(self, data: Data) -> None:
        self.on_data(data)

    def on_data(self, data: Data) -> None:
        if isinstance(data, AtmImpliedVol):
            history = self._iv.get(data.instrument_id.symbol.value)
            if history is not None:
                history.add(data)

    def _on_action(self, record: ActionRecord) -> None:
        """Follow roll lineages (the bot manager's ``roll_opened``), so a rolled group still counts as its
        template's."""
        if record.action == "roll_opened" and record.group_id is not None:
            self._roots[record.group_id] = record.details["root_id"]

    # -- runs --------------------------------------------------------------------------------

    def on_alert(self, event: TimeEvent) -> None:
        self.run_due(dt.datetime.fromtimestamp(event.ts_event / 1e9, tz=dt.UTC))

    def run_due(self, now: dt.datetime) -> None:
        """Claim and evaluate the runs due now, then set the alert for the next fire time.

        A run whose underlying has no quoted market yet (the first instants of a run) is left unclaimed and
        looked at again a minute later, until its grace runs out."""
        upcoming = [next_fire_times(s.template, now, 1)[0] for s in self.store.templates(enabled=True)]
        for run in self.store.due_runs(now):
            underlying_id = InstrumentId(Symbol(run.template.order.underlying), self.venue)
            now_ns = self.clock.timestamp_ns()
            market = market_snapshot(self.cache, underlying_id, now_ns, self.config.rate, self.config.dividend)
            if market is None:
                upcoming.append(now + MARKET_RETRY)
            elif self.store.claim_run(run.template_id, run.scheduled_at):
                self.evaluate(run, market, now)
            else:
                self.log.info(f"run {run.key} was claimed elsewhere")
        if upcoming:
            self.clock.set_time_alert(NEXT_RUN_ALERT, min(upcoming), callback=self.on_alert, override=True)

    def evaluate(self, run: DueRun, market: MarketSnapshot, now: dt.datetime) -> None:
        """Check the entry conditions and resolve the structure; send the order, or record why not."""
        intent = run.intent()
        context = self.context(run, market, now)
        details = _describe(context)
        blockers = run.template.conditions.blockers(context)
        if blockers:
            self.store.record_outcome(run.template_id, run.scheduled_at, False, "; ".join(blockers), now, details)
            return
        try:
            legs = intent_legs(intent, market, new_york_date(now))
        except (ChainError, StrategyError, ValueError) as e:
            self.store.record_outcome(run.template_id, run.scheduled_at, False, f"structure: {e}", now, details)
            return
        endpoint = command_endpoint(self.config.owner)
        if endpoint not in self.msgbus.endpoints():
            reason = f"owner {self.config.owner} takes no group commands (is it running?)"
            self.store.record_outcome(run.template_id, run.scheduled_at, False, reason, now, details)
            return
        command = open_command(intent, legs, group_id=run.key)
        self._sent[command.command_id] = _Sent(run, {**details, "legs": [leg.to_dict() for leg in legs]})
        self.msgbus.send(endpoint, command)

    def on_result(self, result: GroupCommandResult) -> None:
        """The owner's answer to a run's OpenGroup: the run's outcome."""
        sent = self._sent.pop(result.command_id, None)
        if sent is None:
            return
        run, now = sent.run, self.clock.utc_now()
        if result.accepted:
            reason = f"opened group {result.group_id}"
            self.store.record_outcome(
                run.template_id, run.scheduled_at, True, reason, now, sent.details, result.group_id
            )
        else:
            reason = f"refused by {self.config.owner}: {result.reason}"
            self.store.record_outcome(run.template_id, run.scheduled_at, False, reason, now, sent.details)

    def context(self, run: DueRun, market: MarketSnapshot, now: dt.datetime) -> EntryContext:
        """What the run's entry conditions are checked against."""
        underlying = run.template.order.underlying
        return EntryContext(
            iv_rank=self._iv_history(underlying).rank(market.atm_iv(), new_york_date(now)),
            underlying_price=market.spot,
            portfolio_greeks=underlying_greeks(
                self.cache, self.clock, underlying, self.config.rate, self.config.dividend
            ),
            open_groups=self.open_groups(run.template_id),
        )

    def open_groups(self, template_id: int) -> int:
        """Groups of the template not yet closed (opening, open, or rolled from one of its groups)."""
        prefix = run_key_prefix(template_id)
        return sum(
            1
            for group in group_book(self.cache, self.msgbus).active_groups()
            if self._roots.get(group.group_id, group.group_id).startswith(prefix)
        )


def _describe(context: EntryContext) -> dict:
    """The context as the action log's details (rounded, JSON)."""
    greeks = {name: round(value, 2) for name, value in context.portfolio_greeks.items()}
    return {
        "iv_rank": None if context.iv_rank is None else round(context.iv_rank, 1),
        "underlying_price": None if context.underlying_price is None else round(context.underlying_price, 2),
        "portfolio_greeks": greeks,
        "open_groups": context.open_groups,
    }
