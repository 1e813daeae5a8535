"""The group book: every position group kept up to date from the order events, one per kernel.

:func:`hybrid.tracking.rebuild_groups` walks every order and fill in the cache, so each call costs
O(orders of the whole run); the strategies' risk checks and exits, the bot, the API and the WebSocket
feed ask many times a minute. :class:`LiveGroupBook` subscribes once to every order event on the
message bus (before any strategy sees the event: higher priority) and only notes which groups an event
touched; a query rebuilds just those groups, and those that still had working orders (a working order
closes, or an algorithm records leg-worked units, without a new fill), with the same function the full
rebuild uses, so both give the same answers. Between rebuilds an open group's P&L is re-marked from
its own legs' latest quotes, and nothing else of it changes: a rebuild makes a new :class:`PositionGroup`,
so a reader may keep what it derived from a group object until the book gives it another (the API does).
The book keeps the ids of the *active* groups (open, or with working orders: the only ones a mark or an
event can change) in opening order, so :meth:`LiveGroupBook.get`,
:meth:`~LiveGroupBook.open_groups` and :meth:`~LiveGroupBook.active_groups` cost O(orders of the
groups that changed + legs of the active groups), whatever the number of orders or closed groups in
the run; :meth:`~LiveGroupBook.groups` adds one pass over every group (the report and the API list
them all).

Expiry settlement is shared between the groups of one strategy that held a contract
(:mod:`hybrid.tracking.settlement`), so a group holding an expired contract is rebuilt with the own fills of
every group that traded that contract, and a settlement fill or expiry record marks all of them stale.

One book per message bus: :func:`group_book` finds it through an endpoint the book registers (the
first caller creates it), so a strategy, an actor, the API and the report share one. A book created
after orders exist indexes the cache once (the recovery path, e.g. at a live node's start).
"""

from __future__ import annotations

import bisect
from collections import defaultdict

from nautilus_trader.cache.base import CacheFacade
from nautilus_trader.common.component import MessageBus
from nautilus_trader.model.events import OrderEvent, OrderFilled, OrderInitialized
from nautilus_trader.model.identifiers import ClientOrderId, InstrumentId
from nautilus_trader.model.instruments import OptionContract
from nautilus_trader.model.orders import Order

from hybrid.nautilus_compat.spreads import LEG_FILL_MARKER
from hybrid.nautilus_compat.topics import ALL_ORDER_EVENTS
from hybrid.tracking.groups import (
    GroupBook,
    GroupOrders,
    PositionGroup,
    build_group,
    group_fills,
    mark_group,
    order_key,
    settle,
    settled_contracts,
    synthetic_leg_fills,
)
from hybrid.tracking.settlement import (
    EXPIRY_TOPIC,
    ExpiryRecord,
    Settlements,
    delivers_shares,
    is_settlement,
    settlement_base,
    settlement_fills,
    settlement_key,
)
from hybrid.tracking.tags import GroupTags

BOOK_ENDPOINT = "hybrid.tracking.group_book"  # this project's endpoint: send a list, the book appends itself
_PRIORITY = 100  # above every strategy's and actor's handlers, so a handler's query sees its own event


class LiveGroupBook:
    """Every group of one kernel's cache, rebuilt group by group as order events touch them."""

    def __init__(self, cache: CacheFacade, msgbus: MessageBus) -> None:
        self._cache = cache
        self._tags: dict[str, GroupTags] = {}  # group id -> its tags
        self._orders: dict[str, list[str]] = defaultdict(list)  # group id -> client order ids
        self._group_of: dict[str, str] = {}  # client order id -> group id
        self._outside: set[str] = set()  # client order ids of orders that belong to no group
        self._leg_fills: dict[str, list[OrderFilled]] = defaultdict(list)  # spread order id -> its leg fills
        self._settlement: list[OrderFilled] = []
        self._settlements: Settlements | None = None  # of self._settlement and the records; None: to be made
        self._contract_of: dict[str, InstrumentId] = {}  # physical settlement base -> its contract
        self._traded: dict[InstrumentId, set[str]] = defaultdict(set)  # instrument -> groups with own fills on it
        self._groups: dict[str, PositionGroup] = {}
        self._first: dict[str, tuple[int, str]] = {}  # group id -> order_key of its first order
        self._opened: list[tuple[tuple[int, str], str]] = []  # (first key, group id), sorted: opening order
        self._active: set[str] = set()  # groups open or with working orders, as last rebuilt
        self._stale: set[str] = set()
        self._index_cache()
        msgbus.subscribe(ALL_ORDER_EVENTS, self._on_order_event, priority=_PRIORITY)
        msgbus.subscribe(EXPIRY_TOPIC, self._on_expiry, priority=_PRIORITY)
        msgbus.register(BOOK_ENDPOINT, self._answer)

    def groups(self) -> GroupBook:
        """Every group, in the order they were opened, as :func:`rebuild_groups` would give it now."""
        self._refresh()
        return GroupBook(self._groups[g] for _, g in self._opened if g in self._groups)

    def active_groups(self, marked: bool = True) -> list[PositionGroup]:
        """The groups open or with working orders (opening, closing), in the order they were opened; with
        ``marked=False`` their P&L is not re-marked (for a reader that values the legs itself)."""
        self._refresh(marked)
        return [self._groups[g] for g in sorted(self._active, key=self._first.__getitem__)]

    def open_groups(self, marked: bool = True) -> list[PositionGroup]:
        """The groups holding legs or units, in the order they were opened (``marked``: as :meth:`active_groups`)."""
        return [group for group in self.active_groups(marked) if group.status == "open"]

    def active_sources(self) -> list[str]:
        """The source of each active group, without re-marking their P&L (what a risk gate counts)."""
        for group_id in set(self._stale):
            self._rebuild(group_id)
        return [self._groups[g].source for g in self._active]

    def get(self, group_id: str) -> PositionGroup | None:
        """One group as :meth:`groups` would give it (None for an unknown id)."""
        if group_id not in self._tags:
            return None
        if group_id in self._stale:
            self._rebuild(group_id)
        elif group_id in self._active:
            self._mark(group_id)
        return self._groups.get(group_id)

    def _refresh(self, marked: bool = True) -> None:
        rebuilt = set(self._stale)  # a rebuild marks the group itself
        for group_id in rebuilt:
            self._rebuild(group_id)
        if marked:
            for group_id in self._active - rebuilt:
                self._mark(group_id)

    def _mark(self, group_id: str) -> None:
        group = self._groups[group_id]
        if group.status == "open":
            mark_group(self._cache, group)

    def _rebuild(self, group_id: str) -> None:
        entry = self._entry(group_id)
        if entry is None:  # its first order is being submitted: not in the cache yet, so in no rebuild either
            return
        settlements = self._settled()
        mine = group_fills(self._cache, entry, self._leg_fills)
        contracts = settled_contracts(settlements, mine.fills)
        own = {}
        for g in sorted({g for c in contracts for g in self._traded[c]} | {group_id}, key=self._first.__getitem__):
            other = entry if g == group_id else self._entry(g)  # in the order the groups were opened
            if other is not None:
                own[g] = mine if g == group_id else group_fills(self._cache, other, self._leg_fills)
        fills = mine.fills + settle(settlements, own, contracts).get(group_id, [])
        group = self._groups[group_id] = build_group(self._cache, entry, fills, settlements)
        if group.working_orders == 0:  # else it stays stale: its orders can change without an event of their own
            self._stale.discard(group_id)
        if group.status == "open" or group.working_orders > 0:
            self._active.add(group_id)
        else:
            self._active.discard(group_id)

    def _entry(self, group_id: str) -> GroupOrders | None:
        orders = sorted(
            (o for c in self._orders[group_id] if (o := self._cache.order(ClientOrderId(c)))), key=order_key
        )
        return GroupOrders(self._tags[group_id], orders) if orders else None

    def _settled(self) -> Settlements:
        if self._settlements is None:
            self._settlements = Settlements(self._cache, self._settlement)
        return self._settlements

    def _on_order_event(self, event: OrderEvent) -> None:
        client_order_id = event.client_order_id.value
        group_id = self._group_of.get(client_order_id)
        if group_id is not None:
            self._stale.add(group_id)
            if isinstance(event, OrderFilled):
                self._note_traded(group_id, event.instrument_id)
            return
        if isinstance(event, OrderInitialized):  # published before the order is cached (Strategy.submit_order)
            self._add(client_order_id, event.tags, (event.ts_init, client_order_id))
            return
        order = self._cache.order(event.client_order_id)
        if order is None:  # a synthetic leg fill belongs to no order, only to its spread order's legs
            parent, marker, _ = client_order_id.rpartition(LEG_FILL_MARKER)
            if marker and isinstance(event, OrderFilled):
                self._add_leg_fill(parent, event)
            return
        if client_order_id not in self._outside:
            self._add_order(order)
        if isinstance(event, OrderFilled) and is_settlement(order):
            self._add_settlement(event)

    def _add_order(self, order: Order) -> None:
        self._add(order.client_order_id.value, order.tags, order_key(order))

    def _add(self, client_order_id: str, order_tags: list[str] | None, key: tuple[int, str]) -> None:
        tags = GroupTags.parse(order_tags)
        if tags is None:
            self._outside.add(client_order_id)
            return
        group_id = tags.group_id
        self._tags.setdefault(group_id, tags)
        self._orders[group_id].append(client_order_id)
        self._group_of[client_order_id] = group_id
        first = self._first.get(group_id)
        if first is None or key < first:
            if first is not None:
                self._opened.remove((first, group_id))
            bisect.insort(self._opened, (key, group_id))
            self._first[group_id] = key
        self._stale.add(group_id)

    def _add_leg_fill(self, parent: str, fill: OrderFilled) -> None:
        self._leg_fills[parent].append(fill)
        group_id = self._group_of.get(parent)
        if group_id is not None:
            self._stale.add(group_id)
            self._note_traded(group_id, fill.instrument_id)

    def _note_traded(self, group_id: str, instrument_id: InstrumentId) -> None:
        """A group traded ``instrument_id``; once that contract is settled, its other holders share the change."""
        self._traded[instrument_id].add(group_id)
        if self._settled().expiry(instrument_id) is not None:
            self._stale.update(self._traded[instrument_id])

    def _add_settlement(self, fill: OrderFilled) -> None:
        """A venue settlement fill: the groups that traded its contract (for delivered shares, the contract of
        the same physical settlement) are rebuilt."""
        bisect.insort(self._settlement, fill, key=settlement_key)
        self._settlements = None
        contract = fill.instrument_id
        if delivers_shares(fill):
            contract = self._contract_of.get(settlement_base(fill), contract)
        else:
            self._contract_of[settlement_base(fill)] = contract
        self._stale.update(self._traded[contract])

    def _on_expiry(self, record: ExpiryRecord) -> None:
        """The contracts of an underlying expired: the groups that traded one of them are rebuilt."""
        self._settlements = None
        for instrument_id, groups in self._traded.items():
            instrument = self._cache.instrument(instrument_id)
            if (
                isinstance(instrument, OptionContract)
                and instrument.expiration_ns == record.ts_ns
                and instrument.underlying == record.underlying_id.symbol.value
            ):
                self._stale.update(groups)

    def _index_cache(self) -> None:
        for order in sorted(self._cache.orders(), key=order_key):
            self._add_order(order)
        for parent, fills in synthetic_leg_fills(self._cache).items():
            self._leg_fills[parent].extend(fills)
        self._settlement = settlement_fills(self._cache)
        for fill in self._settlement:
            if not delivers_shares(fill):
                self._contract_of[settlement_base(fill)] = fill.instrument_id
        for group_id in self._tags:
            entry = self._entry(group_id)
            for fill in group_fills(self._cache, entry, self._leg_fills).fills if entry is not None else ():
                if not fill.structure_level:
                    self._traded[fill.instrument_id].add(group_id)

    def _answer(self, request: list[LiveGroupBook]) -> None:
        request.append(self)


def group_book(cache: CacheFacade, msgbus: MessageBus) -> LiveGroupBook:
    """The book of this message bus's kernel, created (and indexed from ``cache``) by the first caller."""
    if BOOK_ENDPOINT not in msgbus.endpoints():
        return LiveGroupBook(cache, msgbus)
    found: list[LiveGroupBook] = []
    msgbus.send(BOOK_ENDPOINT, found)
    return found[0]
