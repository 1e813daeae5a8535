"""The queue drainer: an Actor that hands queued API orders to the owning strategy and journals what becomes of them.

Actors cannot submit orders, so API orders reach the engine as group commands (:mod:`hybrid.trading.commands`)
sent to the ``owner`` strategy (an ``OrderDesk``). On a timer, and at once when an order is queued, the
drainer claims up to ``batch`` orders with :meth:`OrderQueue.claim_future` (priority, then first come first
served), which journals them ``handed_to_engine``; once that is on disk, and only then, it builds each
command (:mod:`hybrid.live.queue_commands`; ``command_id`` = queue order id) and sends it. The drainer never
waits for the disk on the event loop: the claim and every status change below are group-committed by the
database's writer thread (:meth:`hybrid.store.db.Database.write`), the claim's orders come back to the
loop when it is committed, and status changes are journaled in the order they happen. The owner answers at
once with a :class:`GroupCommandResult`: accepted -> ``working`` (``engine_ref`` = the group id), refused
-> ``rejected`` with its reason; an order that cannot become a command is ``rejected`` with why, one whose
command fails to build for an unexpected reason (a bug) ``failed`` with the error, and the drain goes on.

Then the drainer follows the group's orders (their tags name the group): the first order on the group's
structure instrument after the hand-off gives the quantity and direction to fill; structure-level fills
journal ``partially_filled`` and ``filled``; a denied order (the owner gives up an entry the risk engine
denies) ends the order ``failed`` with the reason. A cancel of an order the engine holds is sent as a
``CancelGroup`` (an opening order, a close or a roll alike: the owner withdraws the group's working trade,
what filled stays held): the order is ``cancelled`` once the owner withdrew it (and the venue confirmed the
cancel of its order, when one was out), and goes back to ``working`` (or ``partially_filled``) with the
owner's reason when there was nothing left to withdraw. An accepted close or roll of a group replaces what
the group was working on: earlier orders the drainer follows on that group are ``cancelled`` as superseded.

Recovery, once at start, before anything is drained; until it is done the queue says it is recovering
(:meth:`OrderQueue.expect_recovery`, set by the live node; the API answers order status with 503). ``handed_to_engine`` was journaled before the command
was sent, so such an order may have reached the engine: it counts as known (``working``), never sent twice.
With ``venue_restarts_empty`` (paper: the simulated venue's matching engine starts empty every run; the paper
venue restores the book it journalled, with the orders still working then cancelled, :mod:`hybrid.live.paper`)
each order the previous run's engine held (working, partially filled, cancel requested, and those just
recovered) is settled by what the restored book shows of its group since its hand-off, followed as the events
happened: ``filled`` when its fills are there, ``cancelled`` with :data:`RESTORED` and what filled when its
working order was cancelled, and ``failed`` with :data:`RESTARTED` when the book shows nothing of it (the venue
never had it, or a ``kill -9`` came before its events were journalled). None is sent again: that would
execute it a second time. A broker keeps its orders: they stay ``working`` and the drainer follows their group
again by ``engine_ref``. Orders still ``queued`` are drained as usual, exactly once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter, deque
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import wait as wait_all
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from nautilus_trader.cache.base import CacheFacade
from nautilus_trader.common.actor import Actor
from nautilus_trader.common.config import ActorConfig
from nautilus_trader.common.events import TimeEvent
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.events import OrderCanceled, OrderDenied, OrderEvent, OrderFilled
from nautilus_trader.model.identifiers import InstrumentId, Venue
from nautilus_trader.model.instruments import Equity
from nautilus_trader.model.orders import Order

from hybrid.live.queue_commands import CommandBuilder, CommandError, group_id_for
from hybrid.live.stores import shared_queue
from hybrid.nautilus_compat.topics import ALL_ORDER_EVENTS
from hybrid.options.catalogue import StrategyError
from hybrid.orders.intents import CloseGroupIntent, OpenIntent, RollGroupIntent
from hybrid.orders.queue import OrderQueue, QueuedOrder, StatusChange
from hybrid.orders.status import OrderStatus
from hybrid.tracking import GroupTags
from hybrid.tracking.book import group_book
from hybrid.trading import (
    CancelGroup,
    GroupCommandResult,
    TradeEnded,
    command_endpoint,
    result_topic,
    trade_ended_topic,
)

DRAIN_TIMER = "queue-drain"
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
ENGINE_HELD = (OrderStatus.WORKING, OrderStatus.PARTIALLY_FILLED, OrderStatus.CANCEL_REQUESTED)
RESTARTED = "the paper venue restarted without this order: the previous run's venue never showed it in the book"
RESTORED = "the paper venue restarted: its working order was cancelled (orders do not rest across a restart)"


class QueueDrainerConfig(ActorConfig, frozen=True):
    """``owner``: the strategy that executes the commands; ``database``: the queue's SQLite file (None: the
    API's, ``$HYBRID_DB`` or ``state/hybrid.sqlite``); ``venue``, ``rate``, ``dividend``: the market rules
    resolve against; ``poll_ms`` and ``batch``: how often and how many orders at most per drain;
    ``venue_restarts_empty``: True for the paper venue (see the module docstring); ``market_wait_seconds``:
    at start, how long orders wait for the venue's first underlying quote before they are handed over
    anyway (an order handed over before any quote is refused for want of a market)."""

    owner: str = "OrderDesk-000"
    database: str | None = None
    venue: str = "OPRA"
    rate: float = 0.045
    dividend: float = 0.013
    poll_ms: int = 250
    batch: int = 50
    venue_restarts_empty: bool = True
    market_wait_seconds: float = 30.0


@dataclass
class _Tracked:
    """A queue order the engine holds, as the drainer follows it."""

    order_id: str
    group_id: str
    since_ns: int  # the group's orders created before this (an earlier command's) are not this order's
    instrument_id: InstrumentId | None = None
    side: OrderSide | None = None
    target: Decimal | None = None
    filled: Decimal = Decimal(0)
    status: OrderStatus = OrderStatus.WORKING


class QueueDrainer(Actor):
    """Drains the API order queue into the owner strategy (see the module docstring)."""

    def __init__(self, config: QueueDrainerConfig) -> None:
        super().__init__(config)
        if config.poll_ms < 1 or config.batch < 1:
            raise ValueError(f"poll_ms and batch must be >= 1, got {config.poll_ms} and {config.batch}")
        self.queue: OrderQueue | None = None
        self._builder: CommandBuilder | None = None
        self._endpoint = command_endpoint(config.owner)
        self._awaiting: dict[str, tuple[QueuedOrder, int]] = {}  # by order id: the order, when it was sent
        self._tracked: dict[str, _Tracked] = {}  # by queue order id
        self._cancelling: dict[str, str] = {}  # CancelGroup command id -> queue order id
        self._unsubscribe: Callable[[], None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake_pending = False
        self._claiming = False  # a claim is being committed or handed over: the next drain waits for it
        self._handing: deque[QueuedOrder] = deque()  # claimed (on disk), not yet handed over
        self._drain_again = False  # a drain was asked for while a claim was being committed
        self._writing: Counter[str] = Counter()  # order id -> status changes handed to the writer, not yet on disk
        self._owner_missing_logged = False
        self._waiting_since_ns: int | None = None  # until the venue's first underlying quote (or the wait ends)
        self._recovery_writes: list[Future] | None = None  # the status changes of the recovery, while it runs

    # -- lifecycle -------------------------------------------------------------------------------

    def on_start(self) -> None:
        config = self.config
        self.queue = shared_queue(config.database)
        self._builder = CommandBuilder(
            self.cache, group_book(self.cache, self.msgbus).get, config.venue, config.rate, config.dividend
        )
        self.msgbus.subscribe(result_topic(config.owner), self._on_result)
        self.msgbus.subscribe(trade_ended_topic(config.owner), self._on_trade_ended)
        self.msgbus.subscribe(ALL_ORDER_EVENTS, self._on_order_event)
        self._recover()
        try:
            self._loop = asyncio.get_running_loop()
        except RuntimeError:
            self._loop = None  # no running loop (a backtest): the timer alone drains
        self._waiting_since_ns = self.clock.timestamp_ns()
        self._unsubscribe = self._queue.subscribe(self._on_queue_change)
        self.clock.set_timer(DRAIN_TIMER, timedelta(milliseconds=config.poll_ms), callback=self._on_timer)

    def on_stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if DRAIN_TIMER in self.clock.timer_names:
            self.clock.cancel_timer(DRAIN_TIMER)
        self.msgbus.unsubscribe(result_topic(self.config.owner), self._on_result)
        self.msgbus.unsubscribe(trade_ended_topic(self.config.owner), self._on_trade_ended)
        self.msgbus.unsubscribe(ALL_ORDER_EVENTS, self._on_order_event)

    @property
    def _queue(self) -> OrderQueue:
        """The queue, opened by ``on_start``."""
        if self.queue is None:
            raise RuntimeError("the queue drainer has not started")
        return self.queue

    # -- recovery --------------------------------------------------------------------------------

    def _recover(self) -> None:
        """Settle the previous run's orders (module docstring), on disk before the queue says it recovered."""
        queue = self._queue
        report = queue.recover(lambda order_id: True)  # handed over = may have reached the engine
        if report.working:
            self.log.warning(f"recovered {len(report.working)} order(s) handed to the engine before a restart")
        held = [order for status in ENGINE_HELD for order in queue.orders(status, limit=1000)]
        self._recovery_writes = []
        for order in sorted(held, key=lambda o: o.seq):
            if self.config.venue_restarts_empty:
                self._settle_restored(order)
            elif order.engine_ref:  # followed again from now on; fills before the restart are not counted
                tracked = _Tracked(order.order_id, order.engine_ref, self.clock.timestamp_ns(), status=order.status)
                self._tracked[order.order_id] = tracked
        for future in wait_all(self._recovery_writes).done:
            future.result()  # one group commit for them all; a failure is the start's
        self._recovery_writes = None
        queue.recovery_done()

    def _settle_restored(self, order: QueuedOrder) -> None:
        """The order as the restored paper book tells it: its group's engine orders since its hand-off followed
        as they happened; what is still working was cancelled by the venue's restore, and an order the book
        shows nothing of is gone with the venue (never sent again)."""
        group_id = order.engine_ref or _group_of(order)
        handed = [c.at for c in self._queue.history(order.order_id) if c.status is OrderStatus.HANDED_TO_ENGINE]
        if group_id is None or not handed:
            self._journal(order.order_id, OrderStatus.FAILED, RESTARTED)
            return
        tracked = _Tracked(order.order_id, group_id, _ns(handed[-1]), status=order.status)
        self._tracked[order.order_id] = tracked
        events = [
            (event.ts_init, n, engine_order, event)
            for engine_order in self.cache.orders()
            if (tags := _group_tags(self.cache, engine_order)) is not None and tags.group_id == group_id
            for n, event in enumerate(engine_order.events)
        ]
        for _, _, engine_order, event in sorted(events, key=lambda e: e[:2]):
            if order.order_id in self._tracked:
                self._follow(tracked, engine_order, event)
        if order.order_id not in self._tracked:
            return  # filled (or ended) in the book
        if tracked.target is None:
            self._finish(tracked, OrderStatus.FAILED, RESTARTED)
        else:
            self._finish(tracked, OrderStatus.CANCELLED, f"{RESTORED}; {_filled(tracked)} filled")

    # -- draining --------------------------------------------------------------------------------

    def _on_timer(self, event: TimeEvent) -> None:
        self.drain()  # on the loop thread in a node built by hybrid.live.node (see hybrid.nautilus_compat.live_engine)

    def _on_queue_change(self, change: StatusChange) -> None:
        """Called in the thread that changed the queue: wake the drainer on the loop for new orders and cancels."""
        if change.status not in (OrderStatus.QUEUED, OrderStatus.CANCEL_REQUESTED) or self._loop is None:
            return
        if not self._wake_pending:
            self._wake_pending = True
            self._loop.call_soon_threadsafe(self._wake)

    def _wake(self) -> None:
        self._wake_pending = False
        self.drain()

    def drain(self) -> None:
        """Claim up to ``batch`` queued orders for the owner (handed over once the claim is on disk, see
        :meth:`_claimed`), and pass on cancels of orders it holds."""
        if self.queue is None:
            return
        if self._claiming:
            self._drain_again = True
            return
        if self._endpoint not in self.msgbus.endpoints():
            if not self._owner_missing_logged:
                self.log.warning(f"owner {self.config.owner} is not running: queued API orders wait for it")
                self._owner_missing_logged = True
            return
        self._owner_missing_logged = False
        self._pass_cancels()
        if not self._market_ready():
            return
        self._claiming, self._drain_again = True, False
        claim = self._queue.claim_future(self.config.batch)
        loop = self._loop
        if loop is None:  # a backtest: no loop to come back to, the claim is waited for
            self._claimed(claim)
        else:
            claim.add_done_callback(lambda done: loop.call_soon_threadsafe(self._claimed, done))

    def _claimed(self, claim: Future[list[QueuedOrder]]) -> None:
        """On the loop: the claimed orders are journaled ``handed_to_engine`` on disk; hand them over, one per
        turn of the loop when it runs, so the API's requests and the engine's events are served in between."""
        try:
            orders = claim.result()
        except Exception as exc:
            self._claiming = False
            self.log.exception("claiming queued orders failed", exc)
            return
        self._handing.extend(orders)
        self._drain_again = self._drain_again or len(orders) == self.config.batch
        self._hand_over_next()

    def _hand_over_next(self) -> None:
        if self._handing:
            order = self._handing.popleft()
            try:
                self._hand_over(order)
            except Exception as exc:  # the claim must end: the orders after it wait for it
                self.log.exception(f"handing over order {order.order_id} failed", exc)
        if self._handing and self._loop is not None:
            self._loop.call_soon(self._hand_over_next)
            return
        while self._handing:  # a backtest: no loop to come back to
            self._hand_over(self._handing.popleft())
        self._claiming = False
        if self._drain_again:
            self.drain()

    def _market_ready(self) -> bool:
        """True once an underlying of the venue is quoted, or ``market_wait_seconds`` after start."""
        if self._waiting_since_ns is None:
            return True
        venue = Venue(self.config.venue)
        quoted = any(
            self.cache.quote_tick(i.id) is not None
            for i in self.cache.instruments(venue=venue)
            if isinstance(i, Equity)
        )
        waited = self.clock.timestamp_ns() - self._waiting_since_ns >= self.config.market_wait_seconds * 1e9
        if quoted or waited:
            self._waiting_since_ns = None
        return self._waiting_since_ns is None

    def _hand_over(self, order: QueuedOrder) -> None:
        try:
            assert self._builder is not None  # set by on_start
            command = self._builder.command(order, self.clock.timestamp_ns())
        except (CommandError, StrategyError, ValueError) as exc:
            self._journal(order.order_id, OrderStatus.REJECTED, str(exc))
            return
        except Exception as exc:  # a bug, not a refusal: the order must not stay handed over silently
            self.log.exception(f"building the command of order {order.order_id} failed", exc)
            self._journal(order.order_id, OrderStatus.FAILED, f"could not become a command: {exc!r}")
            return
        self._awaiting[order.order_id] = (order, self.clock.timestamp_ns())
        try:
            self.msgbus.send(self._endpoint, command)
        except Exception as exc:  # the owner raised: the order must not stay handed over silently
            self.log.exception(f"owner failed on order {order.order_id}", exc)
        if self._awaiting.pop(order.order_id, None) is not None:  # no answer came back
            self._journal(order.order_id, OrderStatus.FAILED, f"{self.config.owner} did not answer the command")

    def _on_result(self, result: GroupCommandResult) -> None:
        cancelled = self._cancelling.pop(result.command_id, None)
        if cancelled is not None:
            self._on_cancel_result(cancelled, result)
            return
        awaited = self._awaiting.pop(result.command_id, None)
        if awaited is None:
            return  # another component's command
        order, sent_ns = awaited
        if not result.accepted:
            self._journal(order.order_id, OrderStatus.REJECTED, result.reason or "refused by the owner")
            return
        assert result.group_id is not None  # an accepted command names its group
        self._journal(order.order_id, OrderStatus.WORKING, engine_ref=result.group_id)
        intent = order.intent
        if isinstance(intent, CloseGroupIntent | RollGroupIntent):
            self._supersede(intent.group_id, order.order_id)
        self._tracked[order.order_id] = _Tracked(order.order_id, result.group_id, sent_ns)

    def _on_trade_ended(self, ended: TradeEnded) -> None:
        """The owner stopped working a group's opening unfilled: its order ends ``cancelled``, what filled held."""
        for tracked in [t for t in self._tracked.values() if t.group_id == ended.group_id]:
            self._finish(
                tracked, OrderStatus.CANCELLED, f"ended by the engine with {_filled(tracked)} filled: {ended.reason}"
            )

    def _supersede(self, group_id: str, by: str) -> None:
        """A close or roll of ``group_id`` was accepted: the owner dropped what the group was working on."""
        for tracked in [t for t in self._tracked.values() if t.group_id == group_id]:
            self._finish(tracked, OrderStatus.CANCELLED, f"superseded by order {by} with {_filled(tracked)} filled")

    # -- cancels ---------------------------------------------------------------------------------

    def _pass_cancels(self) -> None:
        for order in self._queue.orders(OrderStatus.CANCEL_REQUESTED, limit=1000):
            tracked = self._tracked.get(order.order_id)
            if tracked is None or tracked.status is OrderStatus.CANCEL_REQUESTED or self._writing[order.order_id]:
                continue  # not held, passed on already, or its status on disk is about to change
                continue
            tracked.status = OrderStatus.CANCEL_REQUESTED
            command = CancelGroup(tracked.group_id, reason=f"cancel of order {order.order_id}")
            self._cancelling[command.command_id] = order.order_id
            self.msgbus.send(self._endpoint, command)

    def _on_cancel_result(self, order_id: str, result: GroupCommandResult) -> None:
        """Done when nothing was at the venue; refused: the order works on, and says why it was not cancelled."""
        tracked = self._tracked.get(order_id)
        if tracked is None:
            return
        if not result.accepted:
            tracked.status = OrderStatus.PARTIALLY_FILLED if tracked.filled else OrderStatus.WORKING
            self._journal(order_id, tracked.status, f"not cancelled: {result.reason}")
        elif not result.awaiting_venue:
            self._finish(tracked, OrderStatus.CANCELLED, f"cancelled with {_filled(tracked)} filled")

    # -- following the engine's orders -------------------------------------------------------------

    def _on_order_event(self, event: OrderEvent) -> None:
        order = self.cache.order(event.client_order_id)
        tags = _group_tags(self.cache, order) if order is not None else None
        if tags is None:
            return
        for tracked in list(self._tracked.values()):
            if tracked.group_id == tags.group_id:
                self._follow(tracked, order, event)

    def _follow(self, tracked: _Tracked, order: Order, event: OrderEvent) -> None:
        primary = _primary(self.cache, order)
        if primary.ts_init < tracked.since_ns:
            return  # an order of an earlier command on the same group
        if tracked.target is None:  # the command's first order: what it trades, which way, how much
            tracked.instrument_id, tracked.side, tracked.target = (
                primary.instrument_id,
                primary.side,
                primary.quantity.as_decimal(),
            )
        if order.instrument_id != tracked.instrument_id or order.side != tracked.side:
            return  # a leg repair, or the closing half of a roll
        if isinstance(event, OrderFilled):
            tracked.filled += event.last_qty.as_decimal()
            done = tracked.filled >= tracked.target
            status = OrderStatus.FILLED if done else OrderStatus.PARTIALLY_FILLED
            reason = f"{tracked.filled:f} of {tracked.target:f} filled, last at {event.last_px}"
            self._finish(tracked, status, reason) if done else self._mark(tracked, status, reason)
        elif isinstance(event, OrderDenied):
            self._finish(tracked, OrderStatus.FAILED, f"denied: {event.reason}")
        elif isinstance(event, OrderCanceled) and tracked.status is OrderStatus.CANCEL_REQUESTED:
            self._finish(tracked, OrderStatus.CANCELLED, f"cancelled with {_filled(tracked)} filled")

    def _mark(self, tracked: _Tracked, status: OrderStatus, reason: str) -> None:
        if tracked.status is OrderStatus.CANCEL_REQUESTED and status is OrderStatus.PARTIALLY_FILLED:
            return  # keep the cancel visible; the fill shows in the reason of the final status
        tracked.status = status
        self._journal(tracked.order_id, status, reason)

    def _finish(self, tracked: _Tracked, status: OrderStatus, reason: str) -> None:
        self._tracked.pop(tracked.order_id, None)
        self._journal(tracked.order_id, status, reason, unless_final=True)

    def _journal(
        self,
        order_id: str,
        status: OrderStatus,
        reason: str | None = None,
        engine_ref: str | None = None,
        unless_final: bool = False,
    ) -> None:
        """Journal a status change without waiting for the disk: the writer commits it with others, in the
        order they were asked for; a failure is logged."""
        self._writing[order_id] += 1
        change = self._queue.mark_future(order_id, status, reason, engine_ref, unless_final)
        if self._recovery_writes is not None:
            self._recovery_writes.append(change)
        loop = self._loop
        if loop is None:
            self._journaled(order_id, change)
        else:
            change.add_done_callback(lambda done: loop.call_soon_threadsafe(self._journaled, order_id, done))

    def _journaled(self, order_id: str, change: Future) -> None:
        self._writing[order_id] -= 1
        if not self._writing[order_id]:
            del self._writing[order_id]
        error = change.exception()
        if error is not None:
            self.log.error(f"journaling a status change of order {order_id} failed: {error}")


def _group_of(order: QueuedOrder) -> str | None:
    """The group a queued order's command names: an open's new group, a close's group (a roll's new group is
    known from the owner's answer only)."""
    intent = order.intent
    if isinstance(intent, OpenIntent):
        return group_id_for(order.order_id)
    return intent.group_id if isinstance(intent, CloseGroupIntent) else None


def _ns(at: dt.datetime) -> int:
    return (at - EPOCH) // dt.timedelta(microseconds=1) * 1000


def _filled(tracked: _Tracked) -> str:
    """How much of the tracked order filled, for the reason of its final status."""
    return "nothing" if tracked.target is None else f"{tracked.filled:f} of {tracked.target:f}"


def _primary(cache: CacheFacade, order: Order) -> Order:
    """The order itself, or for an ExecAlgorithm's child order the primary order it was spawned from."""
    if order.exec_spawn_id is not None and order.exec_spawn_id != order.client_order_id:
        return cache.order(order.exec_spawn_id) or order
    return order


def _group_tags(cache: CacheFacade, order: Order) -> GroupTags | None:
    """The group of an order: its own tags, or its primary's."""
    try:
        return GroupTags.parse(_primary(cache, order).tags)
    except ValueError:
        return None
