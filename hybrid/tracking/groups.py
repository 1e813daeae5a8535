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
- ``entry_premium`` / ``exit_premium``: volume-weighted price of the structure-level fills that
  opened / closed units, per unit of the structure instrument in its own price (a spread's net
  premium, a contract's price). For a structure with an underlying leg this is the option part
  only: the shares are separate orders at their own prices and instants, so they are not folded
  into a per-unit price. ``pnl`` counts every leg, the shares included: cash of all leg fills (at
  each instrument's multiplier, 1 for shares) less commissions, plus held legs at their last mark
  (:func:`hybrid.valuation.pnl.group_pnl`; None when one has none).
- checkpoint: the end of a simulated instant at which the group had fills or one of its orders
  closed, and none of its orders was still working (neither filled, canceled, expired nor rejected).
- ``balanced``: every leg's quantity equalled its expected quantity at every checkpoint.

Expiry: the backtest venue settles an expiring option position with orders of its own, tagged
``EXPIRATION_<venue>_OTM`` / ``_CASH`` / ``_PHYSICAL_CLOSE`` / ``_PHYSICAL_OPEN`` and belonging to no
group. A settlement fill closes the whole net position of its contract, so each group holding that
contract at that instant gets a leg fill for exactly what it held; the shares a physical settlement
delivers are shared the same way. When every option leg of a group is settled, its units are settled
too (a structure-level fill at sum(ratio x settlement price)), so an expired group is closed in the books.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import groupby

from nautilus_trader.cache.base import CacheFacade
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.events import OrderFilled
from nautilus_trader.model.identifiers import InstrumentId, generic_spread_id_to_list, is_generic_spread_id
from nautilus_trader.model.orders import Order

from hybrid.nautilus_compat.spreads import LEG_FILL_MARKER
from hybrid.tracking.legged import legged_units
from hybrid.tracking.tags import GroupTags, parse_leg_ratios
from hybrid.valuation.pnl import group_pnl

SETTLEMENT_TAG = "EXPIRATION_"
_ZERO = Decimal(0)


@dataclass
class LegState:
    """One leg of a group: its ratio per structure unit and what actually filled."""

    instrument_id: InstrumentId
    ratio: int
    quantity: Decimal = _ZERO
    expected: Decimal = _ZERO

    def to_dict(self) -> dict:
        return {
            "instrument_id": self.instrument_id.value,
            "ratio": self.ratio,
            "filled_quantity": _number(self.quantity),
            "expected_quantity": _number(self.expected),
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
class _Fill:
    ts: int
    instrument_id: InstrumentId
    signed_qty: Decimal
    price: float
    commission: float
    structure_level: bool


@dataclass
class GroupOrders:
    """A group's tags and its orders in :func:`order_key` order."""

    tags: GroupTags
    orders: list[Order] = field(default_factory=list)


def rebuild_groups(cache: CacheFacade) -> GroupBook:
    """Rebuild every group from the cache: tagged orders, their fills and the positions' leg fills.

    O(every order and fill of the run): the recovery path and the test oracle of the incremental
    :class:`hybrid.tracking.book.LiveGroupBook`, which every component reads instead.
    """
    by_group: dict[str, GroupOrders] = {}
    for order in sorted(cache.orders(), key=order_key):
        tags = GroupTags.parse(order.tags)
        if tags is not None:
            by_group.setdefault(tags.group_id, GroupOrders(tags)).orders.append(order)
    leg_fills = synthetic_leg_fills(cache)
    settlement = settlement_fills(cache)
    return GroupBook(build_group(cache, entry, leg_fills, settlement) for entry in by_group.values())


def order_key(order: Order) -> tuple[int, str]:
    """The order groups and their orders are listed in: creation time, then client order id."""
    return order.ts_init, order.client_order_id.value


def synthetic_leg_fills(cache: CacheFacade) -> dict[str, list[OrderFilled]]:
    """Leg fills generated for spread orders, keyed by the spread order's client order id.

    They belong to no order, only to positions (current ones and NETTING snapshots of closed ones).
    """
    out: dict[str, list[OrderFilled]] = defaultdict(list)
    for position in [*cache.positions(), *cache.position_snapshots()]:
        for fill in position.events:
            parent, marker, _ = fill.client_order_id.value.rpartition(LEG_FILL_MARKER)
            if marker:
                out[parent].append(fill)
    return out


def settlement_fills(cache: CacheFacade) -> list[OrderFilled]:
    """The venue's expiry settlement fills (orders tagged ``EXPIRATION_...``), in time order."""
    fills = [
        event
        for order in cache.orders()
        if is_settlement(order)
        for event in order.events
        if isinstance(event, OrderFilled)
    ]
    return sorted(fills, key=settlement_key)


def is_settlement(order: Order) -> bool:
    """True for an order the venue created to settle an expiring position (module docstring)."""
    return any(tag.startswith(SETTLEMENT_TAG) for tag in order.tags or ())


def settlement_key(fill: OrderFilled) -> tuple[int, str]:
    return fill.ts_event, fill.client_order_id.value


def build_group(
    cache: CacheFacade,
    entry: GroupOrders,
    leg_fills: Mapping[str, list[OrderFilled]],
    settlement: list[OrderFilled],
) -> PositionGroup:
    """One group from its orders, the synthetic leg fills by parent order id and the venue's settlement
    fills, marked by :func:`mark_group`."""
    first = entry.orders[0]
    structure_id = first.instrument_id
    option_ids = [leg_id for leg_id, _ in _legs_of(structure_id)]
    ratios = dict(_legs_of(structure_id))
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
    fills = list(_group_fills(cache, entry.orders, structure_id, leg_fills))
    fills += _settled(fills, structure_id, [legs[leg_id] for leg_id in option_ids], settlement)
    fills.sort(key=lambda f: (f.ts, not f.structure_level))
    group.fills = len(fills)
    _apply_fills(group, legs, fills, entry.orders)
    group.cash = _cash(cache, group, fills)
    mark_group(cache, group)
    return group


def _settled(
    fills: list[_Fill],
    structure_id: InstrumentId,
    options: list[LegState],
    settlement: list[OrderFilled],
) -> list[_Fill]:
    """This group's part of the venue's settlement fills (module docstring); ``options`` are its option legs."""
    option_ids = {leg.instrument_id for leg in options}
    out: list[_Fill] = []
    shares_part: dict[str, Decimal] = {}  # physical settlement id -> the group's part of its contracts
    for instant, group in groupby(settlement, key=lambda f: f.ts_event):
        settled_prices: dict[InstrumentId, float] = {}
        for fill in group:
            base, _, leg = fill.client_order_id.value.rpartition("-")
            if fill.instrument_id in option_ids:
                held = _held(fills + out, fill.instrument_id, instant)
                if held == 0:
                    continue
                out.append(
                    _Fill(instant, fill.instrument_id, -held, fill.last_px.as_double(), 0.0, structure_level=False)
                )
                settled_prices[fill.instrument_id] = fill.last_px.as_double()
                shares_part[base] = abs(held) / fill.last_qty.as_decimal()
            elif leg == "OPEN" and base in shares_part:
                signed = fill.last_qty.as_decimal() * (1 if fill.order_side == OrderSide.BUY else -1)
                out.append(
                    _Fill(instant, fill.instrument_id, signed * shares_part[base], fill.last_px.as_double(), 0.0, False)
                )
        units = sum((f.signed_qty for f in fills if f.structure_level and f.ts <= instant), _ZERO)
        if (
            units != 0
            and settled_prices
            and all(_held(fills + out, leg.instrument_id, instant) == 0 for leg in options)
        ):
            price = sum(leg.ratio * settled_prices.get(leg.instrument_id, 0.0) for leg in options)
            out.append(_Fill(instant, structure_id, -units, price, 0.0, structure_level=True))
    return out


def _held(fills: list[_Fill], instrument_id: InstrumentId, ts: int) -> Decimal:
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
    structure_id: InstrumentId,
    leg_fills: Mapping[str, list[OrderFilled]],
) -> Iterator[_Fill]:
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
            yield _Fill(
                legged.ts_ns, structure_id, Decimal(sign * legged.units), legged.premium, 0.0, structure_level=True
            )
        if spread_order:
            for fill in leg_fills.get(order.client_order_id.value, ()):
                yield _as_fill(fill, structure_level=False)


def _as_fill(event: OrderFilled, structure_level: bool) -> _Fill:
    sign = 1 if event.order_side == OrderSide.BUY else -1
    return _Fill(
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
    fills: list[_Fill],
    orders: list[Order],
) -> None:
    """Apply the fills instant by instant, checking the legs at every checkpoint (see module doc).

    The instants are those of the fills and those at which an order of the group closed, so that an
    order canceled after a partial fill is judged when it stops working.
    """
    opened = _Vwap()
    closed = _Vwap()
    instants = sorted({fill.ts for fill in fills} | {order.ts_last for order in orders if order.is_closed})
    pending = iter(fills)
    fill = next(pending, None)
    for ts in instants:
        while fill is not None and fill.ts == ts:
            if fill.structure_level:
                _apply_unit_fill(group, fill, opened, closed)
            else:
                _apply_leg_fill(group, legs, fill)
            fill = next(pending, None)
        for leg in group.legs:
            leg.expected = leg.ratio * group.units
        if group.balanced and not _any_working(orders, ts) and not _legs_match(group):
            group.balanced = False
            group.unbalanced_at_ns = ts
    group.entry_premium = opened.average()
    group.exit_premium = closed.average()


def _apply_leg_fill(group: PositionGroup, legs: dict[InstrumentId, LegState], fill: _Fill) -> None:
    leg = legs.get(fill.instrument_id)
    if leg is None:  # a fill on an instrument the structure does not define: expected 0
        leg = legs[fill.instrument_id] = LegState(fill.instrument_id, 0)
        group.legs.append(leg)
    leg.quantity += fill.signed_qty
    group.commissions += fill.commission


def _apply_unit_fill(group: PositionGroup, fill: _Fill, opened: _Vwap, closed: _Vwap) -> None:
    """Split a structure-level fill into the part that reduces the held units and the part that adds."""
    qty = fill.signed_qty
    reducing = _ZERO
    if group.units != 0 and (group.units > 0) != (qty > 0):
        reducing = min(abs(qty), abs(group.units))
    adding = abs(qty) - reducing
    closed.add(fill.price, reducing)
    opened.add(fill.price, adding)
    group.opened_units += adding
    group.units += qty


def _any_working(orders: list[Order], ts: int) -> bool:
    return any(order.ts_init <= ts and not (order.is_closed and order.ts_last <= ts) for order in orders)


def _legs_match(group: PositionGroup) -> bool:
    return all(leg.quantity == leg.expected for leg in group.legs)


def _cash(cache: CacheFacade, group: PositionGroup, fills: list[_Fill]) -> float:
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
