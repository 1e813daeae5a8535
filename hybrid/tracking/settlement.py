"""Expiry settlement: what each group holding an expiring contract receives, and the record that says it expired.

The backtest venue (NautilusTrader 1.231's ``OrderMatchingEngine``, option expiry) settles expiring
options at their expiry instant from the underlying's LAST price, with market orders of its own tagged
``EXPIRATION_<venue>_OTM`` / ``_CASH`` / ``_PHYSICAL_CLOSE`` / ``_PHYSICAL_OPEN`` (client order ids
``<venue>-LEG-OTM-...``, ``-LEG-CASH-...``, ``-LEG-EX-...-CLOSE`` / ``-OPEN``) that belong to no group: an
out-of-the-money position closes at 0; an in-the-money one is exercised physically (it closes at 0 and
quantity x multiplier shares open at the strike) or, for an index underlying, closes at intrinsic value.
The venue settles positions, and positions net per instrument and strategy (NETTING): groups of one
strategy holding a contract long and short share one position, and when their holdings cancel the venue
has nothing to settle and sends nothing at all.

So the venue's fills alone cannot settle groups. An :class:`ExpiryRecord` (one per underlying and expiry
instant, written by the backtest's ``hybrid.backtest.expiry.ExpiryRecorder`` with the LAST price the venue
settles on) says that every contract of that underlying expiring then has expired. Per contract and
strategy (one venue position), each group's holding ``h`` (signed, its own fills up to the expiry) is closed:

- the part the venue settled (its position ``N``, the sum of the ``h``) goes to the groups on ``N``'s side in
  the order the groups were opened: their contracts close at the venue's price and they receive the
  venue's delivered shares, multiplier per contract, at the venue's price (the strike);
- the rest, the holdings that cancel between groups, closes at the contract's intrinsic value at the
  recorded underlying price (what it is worth at expiry, 0 out of the money). These amounts cancel
  between the groups, so the groups' cash adds up to the account's to the cent.

Without a record (a cache no recorder saw) the venue's fills are shared the same way and netted
holdings close at the venue's price. No record and no venue fill (no LAST price: the venue settles
nothing either): the contract stays held.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from nautilus_trader.cache.base import CacheFacade
from nautilus_trader.common.component import MessageBus
from nautilus_trader.model.enums import OptionKind, OrderSide
from nautilus_trader.model.events import OrderFilled
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.instruments import OptionContract
from nautilus_trader.model.orders import Order

SETTLEMENT_TAG = "EXPIRATION_"
EXPIRY_KEY = "hybrid.tracking.expiries"  # cache key: the records so far, a JSON list
EXPIRY_TOPIC = "hybrid.tracking.expiry"  # this project's topic: each record as it is made
_OPEN = "-OPEN"
_CLOSE = "-CLOSE"
_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class ExpiryRecord:
    """The options of ``underlying_id`` expiring at ``ts_ns`` have expired; the underlying's LAST was ``price``."""

    underlying_id: InstrumentId
    ts_ns: int
    price: float


def record_expiry(cache: CacheFacade, msgbus: MessageBus, record: ExpiryRecord) -> None:
    """Add the record to the cache (read back by :func:`expiry_records`) and publish it on :data:`EXPIRY_TOPIC`."""
    raw = cache.get(EXPIRY_KEY)
    records = json.loads(raw) if raw else []
    records.append([record.underlying_id.value, record.ts_ns, record.price])
    cache.add(EXPIRY_KEY, json.dumps(records).encode())
    msgbus.publish(EXPIRY_TOPIC, record)


def expiry_records(cache: CacheFacade) -> dict[tuple[InstrumentId, int], ExpiryRecord]:
    """Every record in the cache by (underlying, expiry instant)."""
    raw = cache.get(EXPIRY_KEY)
    records = (ExpiryRecord(InstrumentId.from_str(u), int(ts), float(px)) for u, ts, px in json.loads(raw or b"[]"))
    return {(r.underlying_id, r.ts_ns): r for r in records}


def is_settlement(order: Order) -> bool:
    """True for an order the venue created to settle an expiring position (module docstring)."""
    return any(tag.startswith(SETTLEMENT_TAG) for tag in order.tags or ())


def settlement_fills(cache: CacheFacade) -> list[OrderFilled]:
    """The venue's settlement fills, in time order (:func:`settlement_key`)."""
    fills = [
        event
        for order in cache.orders()
        if is_settlement(order)
        for event in order.events
        if isinstance(event, OrderFilled)
    ]
    return sorted(fills, key=settlement_key)


def settlement_key(fill: OrderFilled) -> tuple[int, str]:
    return fill.ts_event, fill.client_order_id.value


def settlement_base(fill: OrderFilled) -> str:
    """What a physical settlement's two fills share: the client order id without ``-CLOSE`` / ``-OPEN``."""
    return fill.client_order_id.value.removesuffix(_OPEN).removesuffix(_CLOSE)


def delivers_shares(fill: OrderFilled) -> bool:
    """True for the shares a physical settlement delivers (the ``-OPEN`` fill, on the underlying)."""
    return fill.client_order_id.value.endswith(_OPEN)


@dataclass
class VenueSettlement:
    """The venue's settlement of one strategy's position in one contract."""

    ts_ns: int
    closed: Decimal  # the signed contracts the position held (long > 0)
    price: float  # what each closed at
    shares_id: InstrumentId | None = None
    shares: Decimal = _ZERO  # signed shares delivered
    shares_price: float = 0.0


@dataclass(frozen=True, slots=True)
class SettledFill:
    """One group's part of a settlement: a contract closed, or shares a physical settlement delivered."""

    ts_ns: int
    instrument_id: InstrumentId
    signed_qty: Decimal
    price: float
    delivered: bool = False


class Settlements:
    """The expired contracts of one cache: when each expired, what its netted holdings close at, and the
    venue's settlement of each strategy's position (module docstring)."""

    def __init__(self, cache: CacheFacade, fills: Iterable[OrderFilled]) -> None:
        self._cache = cache
        self._records = expiry_records(cache)
        self._venue: dict[tuple[InstrumentId, str], VenueSettlement] = {}
        self._venue_price: dict[InstrumentId, tuple[int, float]] = {}
        contract_of: dict[str, tuple[InstrumentId, str]] = {}  # physical settlement base -> its position
        for fill in fills:
            signed = fill.last_qty.as_decimal() * (1 if fill.order_side == OrderSide.BUY else -1)
            if delivers_shares(fill):
                key = contract_of.get(settlement_base(fill))
                if key is not None:
                    venue = self._venue[key]
                    venue.shares_id, venue.shares, venue.shares_price = (
                        fill.instrument_id,
                        signed,
                        fill.last_px.as_double(),
                    )
                continue
            key = (fill.instrument_id, fill.strategy_id.value)
            contract_of[settlement_base(fill)] = key
            price = fill.last_px.as_double()
            venue = self._venue.setdefault(key, VenueSettlement(fill.ts_event, _ZERO, price))
            venue.closed -= signed  # the closing side's opposite is what was held
            self._venue_price.setdefault(fill.instrument_id, (fill.ts_event, price))

    def expiry(self, instrument_id: InstrumentId) -> tuple[int, float] | None:
        """(instant, price) at which ``instrument_id`` was settled and its netted holdings close; None while
        it has not been (or is no option)."""
        instrument = self._cache.instrument(instrument_id)
        if not isinstance(instrument, OptionContract):
            return None
        underlying_id = InstrumentId.from_str(f"{instrument.underlying}.{instrument_id.venue}")
        record = self._records.get((underlying_id, instrument.expiration_ns))
        if record is not None:
            return record.ts_ns, intrinsic_value(instrument, record.price)
        return self._venue_price.get(instrument_id)

    def venue(self, instrument_id: InstrumentId, strategy_id: str) -> VenueSettlement | None:
        return self._venue.get((instrument_id, strategy_id))


def intrinsic_value(option: OptionContract, underlying_price: float) -> float:
    """What the contract is worth at expiry with the underlying at ``underlying_price``, in its own ticks."""
    strike = option.strike_price.as_double()
    value = underlying_price - strike if option.option_kind == OptionKind.CALL else strike - underlying_price
    return option.make_price(max(value, 0.0)).as_double()


def share_settlement(
    contract_id: InstrumentId,
    holders: Sequence[tuple[str, Decimal]],
    ts_ns: int,
    price: float,
    venue: VenueSettlement | None,
) -> dict[str, list[SettledFill]]:
    """What each holder of one strategy's position in ``contract_id`` gets at its expiry (module docstring):
    ``holders`` are (group id, signed holding) in the order the groups were opened, ``price`` what netted
    holdings close at, ``venue`` the venue's settlement of the position (None when it had none)."""
    out: dict[str, list[SettledFill]] = {}
    left = abs(venue.closed) if venue is not None else _ZERO
    for group_id, held in holders:
        by_venue = _ZERO
        if venue is not None and left and (held > 0) == (venue.closed > 0):
            by_venue = min(abs(held), left) * (1 if held > 0 else -1)
            left -= abs(by_venue)
        fills = out.setdefault(group_id, [])
        if by_venue:
            assert venue is not None
            fills.append(SettledFill(ts_ns, contract_id, -by_venue, venue.price))
            if venue.shares and venue.shares_id is not None:
                shares = venue.shares * by_venue / venue.closed
                fills.append(SettledFill(ts_ns, venue.shares_id, shares, venue.shares_price, delivered=True))
        if held != by_venue:
            fills.append(SettledFill(ts_ns, contract_id, by_venue - held, price))
    return out
