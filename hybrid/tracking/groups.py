"""The group view: multi-leg positions rebuilt from the cache's tagged orders and their fills.

A spread order fills in NautilusTrader 1.231 as one spread-level ``OrderFilled`` plus one synthetic
fill per leg (client order id ``<spread order id>-LEG-<leg symbol>``); only the leg fills move
positions. Leg fills can be missing (the venue mirrors only the first fill of a match into legs),
so everything a group says about its legs comes from the leg fills actually applied to positions,
never from the spread-level fills.

Definitions (also in docs/backtest.md):

- ``units``: net signed structure units filled at the structure level (BUY +, SELL -). An order an
  execution algorithm worked leg by leg has no structure-level fill: the units its algorithm
  recorded (:mod:`hybrid.tracking.legged`) count as one, at the time they were counted (while it
  works, the units so far; its primary order is working then, so no checkpoint is judged).
- legs: those the structure instrument lists (a spread's legs with their ratios, or the single
  contract with ratio 1) plus those named by ``leg_ratio=`` tags on the group's orders
  (:func:`hybrid.tracking.tags.parse_leg_ratios`): the underlying leg, with its signed shares per
  unit of the structure instrument. Fills on any other instrument land on a leg with ratio 0.
- a leg's ``quantity``: net signed quantity of the leg's actual fills; ``expected``: ratio x units.
- ``entry_premium`` / ``exit_premium``: the net premium per share of the trades that opened / closed
  units, per unit of the structure instrument: the volume-weighted price of those structure-level
  fills, signed by the trade as every premium is (README, "Sign conventions"): positive a debit paid,
  negative a credit received, whichever side. Buying a spread at 1.20 is +1.20, selling it at 1.20 is
  -1.20, and buying a spread quoted as a credit (-1.20) is -1.20; the same sign a limit of that trade
  takes. For a structure with an underlying leg this is the option part
  only: the shares are separate orders at their own prices and instants, so they are not folded
  into a per-unit price. ``pnl`` counts every leg, the shares included: cash of all leg fills (at
  each instrument's multiplier, 1 for shares) less commissions, plus held legs at their last mark
  (:func:`hybrid.valuation.pnl.group_pnl`; None when one has none).
- checkpoint: the end of a simulated instant at which the group had fills (its own or its part of a
  settlement) or one of its orders closed. The group is judged at every checkpoint, also while orders
  work: an order that cannot fill is no reason to look away. The one exception is an execution algorithm
  still working one of its orders on contracts that have not expired (the two-part algorithm legs into a
  structure leg by leg and balances it itself, within its deadline).
- out of ratio: at a judged checkpoint some leg's quantity differs from its expected quantity. Shares a
  settlement delivered are expected while they are being flattened: a leg matches when its quantity lies
  between ``expected`` and ``expected + delivered``. Each run of out-of-ratio checkpoints is one
  :class:`RatioGap` (since, until the next judged checkpoint in ratio, and the worst gap per leg);
  ``balanced`` means there was none.

Expiry: the venue settles expiring contracts with orders of its own, belonging to no group, and nets
the groups of one strategy in one position; :mod:`hybrid.tracking.settlement` says what each group
holding the contract receives (its holding closed, delivered shares), also when the holdings cancel
and the venue sends nothing. At the first expiry among the structure's contracts the units still held
are settled too, as a structure-level fill at sum(ratio x the settled contracts' values), so an expired
group is closed in the books; its legs on later expiries (a calendar's back month) are then excess.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from nautilus_trader.cache.base import CacheFacade
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.events import OrderFilled
from nautilus_trader.model.identifiers import InstrumentId, generic_spread_id_to_list, is_generic_spread_id
from nautilus_trader.model.orders import Order

from hybrid.nautilus_compat.spreads import LEG_FILL_MARKER, join_split_fills
from hybrid.options.instruments import first_expiration_ns
from hybrid.tracking.legged import legged_units
from hybrid.tracking.settlement import Settlements, settlement_fills, share_settlement
from hybrid.tracking.tags import GroupTags, parse_leg_ratios
from hybrid.valuation.pnl import group_pnl

_ZERO = Decimal(0)


@dataclass
class LegState:
    """One leg of a group: its ratio per structure unit and what actually filled."""

    instrument_id: InstrumentId
    ratio: int
    quantity: Decimal = _ZERO
    expected: Decimal = _ZERO
    delivered: Decimal = _ZERO  # shares settlements delivered to the group on this instrument

    def matches(self) -> bool:
        """In ratio: the quantity is the expected one, or lies between it and the shares delivered on top."""
        if self.quantity == self.expected:
            return True
        low, high = sorted((self.expected, self.expected + self.delivered))
        return self.delivered != 0 and low <= self.quantity <= high

    def to_dict(self) -> dict:
        return {
            "instrument_id": self.instrument_id.value,
            "ratio": self.ratio,
            "filled_quantity": _number(self.quantity),
            "expected_quantity": _number(self.expected),
            "delivered_quantity": _number(self.delivered),
        }


@dataclass
class RatioGap:
    """A run of judged checkpoints at which the group was out of ratio (module docstring)."""

    since_ns: int
    until_ns: int | None = None  # the first judged checkpoint back in ratio; None: still out at the last one
    gaps: dict[str, Decimal] = field(default_factory=dict)  # leg -> the largest filled - expected of the run

    def note(self, gaps: Mapping[str, Decimal]) -> None:
        for leg, gap in gaps.items():
            if abs(gap) > abs(self.gaps.get(leg, _ZERO)):
                self.gaps[leg] = gap

    def to_dict(self) -> dict:
        return {
            "since_ns": self.since_ns,
            "until_ns": self.until_ns,
            "gaps": {leg: _number(gap) for leg, gap in sorted(self.gaps.items())},
        }


@dataclass
class PositionGroup:
    """A multi-leg position: what the group's orders and leg fills add up to."""

    group_id: str
    strategy_id: str
    structure: str
    source: str
    instrument_id: InstrumentId
    legs: list[LegState]
    order_ids: list[str]
    units: Decimal = _ZERO
    opened_units: Decimal = _ZERO
    entry_premium: float | None = None
    exit_premium: float | None = None
    commissions: float = 0.0
    cash: float = 0.0  # what the leg fills moved, less commissions (the P&L before the held legs)
    pnl: float | None = 0.0
    balanced: bool = True
    unbalanced_at_ns: int | None = None
    out_of_ratio: list[RatioGap] = field(default_factory=list)
    working_orders: int = 0
    fills: int = 0

    @property
    def status(self) -> str:
        """``unfilled`` before any fill, ``open`` while any leg or unit is held, else ``closed``."""
        if self.fills == 0:
            return "unfilled"
        if self.units != 0 or any(leg.quantity != 0 for leg in self.legs):
            return "open"
        return "closed"

    def holdings(self) -> list[tuple[InstrumentId, float]]:
        """The legs held now, with their signed quantities."""
        return [(leg.instrument_id, float(leg.quantity)) for leg in self.legs if leg.quantity != 0]

    def reported_pnl(self) -> float | None:
        """``pnl`` to the cent, as reports and the API give it."""
        return None if self.pnl is None else round(self.pnl, 2)

    def to_dict(self) -> dict:
        return {
            "group_id": self.group_id,
            "strategy_id": self.strategy_id,
            "structure": self.structure,
            "source": self.source,
            "instrument_id": self.instrument_id.value,
            "status": self.status,
            "units": _number(self.units),
            "opened_units": _number(self.opened_units),
            "legs": [leg.to_dict() for leg in self.legs],
            "entry_premium": self.entry_premium,
            "exit_premium": self.exit_premium,
            "commissions": round(self.commissions, 2),
            "pnl": self.reported_pnl(),
            "balanced": self.balanced,
            "unbalanced_at_ns": self.unbalanced_at_ns,
            "out_of_ratio": [gap.to_dict() for gap in self.out_of_ratio],
            "orders": list(self.order_ids),
            "working_orders": self.working_orders,
        }


class GroupBook:
    """Every group by id, in the order the groups were opened."""

    def __init__(self, groups: Iterable[PositionGroup] = ()) -> None:
        self._groups = {group.group_id: group for group in groups}

    def __len__(self) -> int:
        return len(self._groups)

    def __iter__(self) -> Iterator[PositionGroup]:
        return iter(self._groups.values())

    def get(self, group_id: str) -> PositionGroup | None:
        return self._groups.get(group_id)

    def open_groups(self) -> list[PositionGroup]:
        return [group for group in self if group.status == "open"]

    def to_list(self) -> list[dict]:
        return [group.to_dict() for group in self]


@dataclass
class Fill:
    """One fill as a group counts it: on a leg, or at the structure level (units)."""

    ts: int
    instrument_id: InstrumentId
    signed_qty: Decimal
    price: float
    commission: float
    structure_level: bool
    delivered: bool = False  # shares a physical settlement delivered


@dataclass
class GroupOrders:
    """A group's tags and its orders in :func:`order_key` order."""

    tags: GroupTags
    orders: list[Order] = field(default_factory=list)


@dataclass
class GroupFills:
    """A group's own fills (its orders' and their leg fills, no settlement) and the strategy that owns it."""

    strategy_id: str
    fills: list[Fill]


def rebuild_groups(cache: CacheFacade) -> GroupBook:
    """Rebuild every group from the cache: tagged orders, their fills, the positions' leg fills and the
    expiry settlements.

    O(every order and fill of the run): the recovery path and the test oracle of the incremental
    :class:`hybrid.tracking.book.LiveGroupBook`, which every component reads instead.
    """
    by_group: dict[str, GroupOrders] = {}
    for order in sorted(cache.orders(), key=order_key):
        tags = GroupTags.parse(order.tags)
        if tags is not None:
            by_group.setdefault(tags.group_id, GroupOrders(tags)).orders.append(order)
    leg_fills = synthetic_leg_fills(cache)
    settlements = Settlements(cache, settlement_fills(cache))
    own = {group_id: group_fills(cache, entry, leg_fills) for group_id, entry in by_group.items()}
    settled = settle(settlements, own)
    return GroupBook(
        build_group(cache, entry, own[group_id].fills + settled.get(group_id, []), settlements)
        for group_id, entry in by_group.items()
    )


def order_key(order: Order) -> tuple[int, str]:
    """The order groups and their orders are listed in: creation time, then client order id."""
    return order.ts_init, order.client_order_id.value


def synthetic_leg_fills(cache: CacheFacade) -> dict[str, list[OrderFilled]]:
    """Leg fills generated for spread orders, keyed by the spread order's client order id, each once.

    They belong to no order, only to positions (current ones and NETTING snapshots of closed ones), where
    NautilusTrader splits a fill that flips a position in two (:func:`hybrid.nautilus_compat.spreads.join_split_fills`
    joins them again). The venue's settlement fills carry the marker too but are fills of orders: not here.
    """
    pieces: dict[str, list[OrderFilled]] = defaultdict(list)
    for position in [*cache.positions(), *cache.position_snapshots()]:
        for fill in position.events:
            parent, marker, _ = fill.client_order_id.value.rpartition(LEG_FILL_MARKER)
            if marker and cache.order(fill.client_order_id) is None:
                pieces[parent].append(fill)
    return {parent: join_split_fills(fills) for parent, fills in pieces.items()}


def group_fills(cache: CacheFacade, entry: GroupOrders, leg_fills: Mapping[str, list[OrderFilled]]) -> GroupFills:
    """The group's own fills: its orders' fills, the leg fills of its spread orders, its legged units."""
    return GroupFills(entry.orders[0].strategy_id.value, list(_group_fills(cache, entry.orders, leg_fills)))


def settle(
    settlements: Settlements,
    own: Mapping[str, GroupFills],
    contracts: Iterable[InstrumentId] | None = None,
) -> dict[str, list[Fill]]:
    """Each group's part of the settlement of the expired ``contracts`` (default: all the groups traded).

    ``own`` holds the own fills of every group that traded those contracts, in the order the groups were
    opened (:mod:`hybrid.tracking.settlement` shares a position's settlement in that order).
    """
    traded: dict[InstrumentId, list[str]] = defaultdict(list)
    for group_id, mine in own.items():
        for instrument_id in dict.fromkeys(f.instrument_id for f in mine.fills if not f.structure_level):
            traded[instrument_id].append(group_id)
    out: dict[str, list[Fill]] = defaultdict(list)
    for contract in sorted(traded if contracts is None else contracts, key=lambda i: i.value):
        expiry = settlements.expiry(contract)
        if expiry is None:
            continue
        ts, price = expiry
        holders: dict[str, list[tuple[str, Decimal]]] = defaultdict(list)
        for group_id in traded.get(contract, ()):
            held = _held(own[group_id].fills, contract, ts)
            if held:
                holders[own[group_id].strategy_id].append((group_id, held))
        for strategy_id, holdings in holders.items():
            venue = settlements.venue(contract, strategy_id)
            for group_id, parts in share_settlement(contract, holdings, ts, price, venue).items():
                out[group_id] += [
                    Fill(p.ts_ns, p.instrument_id, p.signed_qty, p.price, 0.0, False, p.delivered) for p in parts
                ]
    return out


def settled_contracts(settlements: Settlements, fills: Iterable[Fill]) -> set[InstrumentId]:
    """The expired contracts among those ``fills`` traded."""
    return {i for i in {f.instrument_id for f in fills if not f.structure_level} if settlements.expiry(i) is not None}


def build_group(
    cache: CacheFacade,
    entry: GroupOrders,
    fills: list[Fill],
    settlements: Settlements,
) -> PositionGroup:
    """One group from its orders and ``fills`` (its own and its part of the settlements, :func:`settle`),
    with its cash (leg fills less commissions), marked by :func:`mark_group`."""
    first = entry.orders[0]
    structure_id = first.instrument_id
    options = _legs_of(structure_id)
    ratios = dict(options)
    for order in entry.orders:  # legs the structure instrument does not list (the underlying leg)
        ratios.update(parse_leg_ratios(order.tags))
    legs = {leg_id: LegState(leg_id, ratio) for leg_id, ratio in ratios.items()}
    group = PositionGroup(
        group_id=entry.tags.group_id,
        strategy_id=first.strategy_id.value,
        structure=entry.tags.structure,
        source=entry.tags.source,
        instrument_id=structure_id,
        legs=list(legs.values()),
        order_ids=[order.client_order_id.value for order in entry.orders],
        working_orders=sum(1 for order in entry.orders if not order.is_closed),
    )
    fills = [*fills, *_units_settled(fills, structure_id, options, settlements)]
    fills.sort(key=lambda f: (f.ts, not f.structure_level))
    group.fills = len(fills)
    algorithms = {
        order.client_order_id.value: first_expiration_ns(cache, order.instrument_id)
        for order in entry.orders
        if order.exec_algorithm_id is not None
    }
    _apply_fills(group, legs, fills, entry.orders, algorithms)
    group.cash = _cash(cache, group, fills)
    mark_group(cache, group)
    return group


def _units_settled(
    fills: list[Fill],
    structure_id: InstrumentId,
    options: list[tuple[InstrumentId, int]],
    settlements: Settlements,
) -> list[Fill]:
    """At the first expiry among the structure's contracts, the units still held are closed at
    sum(ratio x value) of the contracts settled then (module docstring)."""
    expiries = {leg: expiry for leg, _ in options if (expiry := settlements.expiry(leg)) is not None}
    if not expiries:
        return []
    ts = min(at for at, _ in expiries.values())
    units = sum((f.signed_qty for f in fills if f.structure_level and f.ts <= ts), _ZERO)
    if units == 0:
        return []
    price = sum(ratio * expiries[leg][1] for leg, ratio in options if leg in expiries and expiries[leg][0] == ts)
    return [Fill(ts, structure_id, -units, price, 0.0, structure_level=True)]


def _held(fills: list[Fill], instrument_id: InstrumentId, ts: int) -> Decimal:
    return sum(
        (f.signed_qty for f in fills if not f.structure_level and f.instrument_id == instrument_id and f.ts <= ts),
        _ZERO,
    )


def _legs_of(instrument_id: InstrumentId) -> list[tuple[InstrumentId, int]]:
    if is_generic_spread_id(instrument_id):
        return generic_spread_id_to_list(instrument_id)
    return [(instrument_id, 1)]


def _group_fills(
    cache: CacheFacade,
    orders: list[Order],
    leg_fills: Mapping[str, list[OrderFilled]],
) -> Iterator[Fill]:
    structure_id = orders[0].instrument_id
    for order in orders:
        spread_order = is_generic_spread_id(order.instrument_id)
        for event in order.events:
            if isinstance(event, OrderFilled):
                if order.instrument_id == structure_id:
                    yield _as_fill(event, structure_level=True)
                if not spread_order:  # an order on a leg instrument is itself a leg fill
                    yield _as_fill(event, structure_level=False)
        legged = legged_units(cache, order.client_order_id) if order.instrument_id == structure_id else None
        if legged is not None and legged.units:  # worked leg by leg: its legs' fills come from its leg orders
            sign = 1 if order.side == OrderSide.BUY else -1
            yield Fill(
                legged.ts_ns, structure_id, Decimal(sign * legged.units), legged.premium, 0.0, structure_level=True
            )
        if spread_order:
            for fill in leg_fills.get(order.client_order_id.value, ()):
                yield _as_fill(fill, structure_level=False)


def _as_fill(event: OrderFilled, structure_level: bool) -> Fill:
    sign = 1 if event.order_side == OrderSide.BUY else -1
    return Fill(
        ts=event.ts_event,
        instrument_id=event.instrument_id,
        signed_qty=sign * event.last_qty.as_decimal(),
        price=event.last_px.as_double(),
        commission=event.commission.as_double() if event.commission is not None else 0.0,
        structure_level=structure_level,
    )


def _apply_fills(
    group: PositionGroup,
    legs: dict[InstrumentId, LegState],
    fills: list[Fill],
    orders: list[Order],
    algorithms: Mapping[str, int | None],
) -> None:
    """Apply the fills instant by instant, judging the legs at every checkpoint (see module doc).

    The instants are those of the fills and those at which an order of the group closed, so that an
    order canceled after a partial fill is judged when it stops working. ``algorithms``: the group's
    orders worked by an execution algorithm, with the expiry of their first contract.
    """
    opened = _Vwap()
    closed = _Vwap()
    instants = sorted({fill.ts for fill in fills} | {order.ts_last for order in orders if order.is_closed})
    pending = iter(fills)
    fill = next(pending, None)
    gap: RatioGap | None = None
    for ts in instants:
        while fill is not None and fill.ts == ts:
            if fill.structure_level:
                _apply_unit_fill(group, fill, opened, closed)
            else:
                _apply_leg_fill(group, legs, fill)
            fill = next(pending, None)
        for leg in group.legs:
            leg.expected = leg.ratio * group.units
        if _algorithm_working(orders, ts, algorithms):
            continue
        gaps = {leg.instrument_id.value: leg.quantity - leg.expected for leg in group.legs if not leg.matches()}
        if gaps:
            gap = gap or RatioGap(ts)
            gap.note(gaps)
        elif gap is not None:
            gap.until_ns = ts
            group.out_of_ratio.append(gap)
            gap = None
    if gap is not None:
        group.out_of_ratio.append(gap)
    group.balanced = not group.out_of_ratio
    group.unbalanced_at_ns = group.out_of_ratio[0].since_ns if group.out_of_ratio else None
    group.entry_premium = opened.average()
    group.exit_premium = closed.average()


def _apply_leg_fill(group: PositionGroup, legs: dict[InstrumentId, LegState], fill: Fill) -> None:
    leg = legs.get(fill.instrument_id)
    if leg is None:  # a fill on an instrument the structure does not define: expected 0
        leg = legs[fill.instrument_id] = LegState(fill.instrument_id, 0)
        group.legs.append(leg)
    leg.quantity += fill.signed_qty
    if fill.delivered:
        leg.delivered += fill.signed_qty
    group.commissions += fill.commission


def _apply_unit_fill(group: PositionGroup, fill: Fill, opened: _Vwap, closed: _Vwap) -> None:
    """Split a structure-level fill into the part that reduces the held units and the part that adds."""
    qty = fill.signed_qty
    reducing = _ZERO
    if group.units != 0 and (group.units > 0) != (qty > 0):
        reducing = min(abs(qty), abs(group.units))
    adding = abs(qty) - reducing
    premium = fill.price if qty > 0 else -fill.price  # what the trade paid per share: debit +, credit -
    closed.add(premium, reducing)
    opened.add(premium, adding)
    group.opened_units += adding
    group.units += qty


def _algorithm_working(orders: list[Order], ts: int, algorithms: Mapping[str, int | None]) -> bool:
    """An execution algorithm still works one of the orders at ``ts``, on contracts that can still fill."""
    for order in orders:
        if order.client_order_id.value not in algorithms:
            continue
        expires = algorithms[order.client_order_id.value]
        working = order.ts_init <= ts and not (order.is_closed and order.ts_last <= ts)
        if working and (expires is None or ts < expires):
            return True
    return False


def _cash(cache: CacheFacade, group: PositionGroup, fills: list[Fill]) -> float:
    """Cash from the actual leg fills, less commissions."""
    cash = -group.commissions
    for fill in fills:
        if not fill.structure_level:
            cash -= float(fill.signed_qty) * fill.price * _multiplier(cache, fill.instrument_id)
    return cash


def mark_group(cache: CacheFacade, group: PositionGroup) -> None:
    """Set ``group.pnl``: its cash plus held legs valued at their marks (None when a held leg has none)."""
    group.pnl = group_pnl(cache, group.cash, group.holdings())


def closing_pnl(cache: CacheFacade, group: PositionGroup) -> float | None:
    """The group's P&L were its held legs closed now: longs at the bid, shorts at the ask (None when a
    held leg has no mark); a closed group's is its ``pnl``."""
    return group_pnl(cache, group.cash, group.holdings(), closing=True)


def _multiplier(cache: CacheFacade, instrument_id: InstrumentId) -> float:
    return cache.instrument(instrument_id).multiplier.as_double()


class _Vwap:
    def __init__(self) -> None:
        self.notional = 0.0
        self.quantity = _ZERO

    def add(self, price: float, quantity: Decimal) -> None:
        if quantity:
            self.notional += price * float(quantity)
            self.quantity += quantity

    def average(self) -> float | None:
        return round(self.notional / float(self.quantity), 6) if self.quantity else None


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)
