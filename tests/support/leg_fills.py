"""Leg fills checked against the market of their instant: an actor records every spread and leg fill with
the leg's quote in the cache as the fill is published, and :func:`breaches` lists what breaks the rule of
:mod:`hybrid.nautilus_compat.leg_prices` (a leg outside its quote, a negative leg, legs not summing)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from nautilus_trader.cache.base import CacheFacade
from nautilus_trader.common.actor import Actor
from nautilus_trader.common.config import ActorConfig
from nautilus_trader.model.events import OrderFilled
from nautilus_trader.model.identifiers import InstrumentId, is_generic_spread_id

from hybrid.nautilus_compat.spreads import LEG_FILL_MARKER
from hybrid.nautilus_compat.topics import ALL_ORDER_EVENTS


@dataclass(frozen=True)
class LegFill:
    """A leg fill with its leg's bid and ask when it was booked."""

    fill: OrderFilled
    bid: Decimal
    ask: Decimal

    @property
    def price(self) -> Decimal:
        return self.fill.last_px.as_decimal()

    @property
    def outside(self) -> Decimal:
        """How far the price lies outside the quote (0 inside)."""
        return max(self.bid - self.price, self.price - self.ask, Decimal(0))


@dataclass
class Match:
    """The first spread fill of an order at one instant and the leg fills booked for it."""

    spread_fill: OrderFilled
    ratios: dict[InstrumentId, int]  # the spread's legs
    natural: tuple[Decimal, Decimal]  # the spread's bid and ask from its legs' quotes at that instant
    legs: list[LegFill]

    @property
    def excess(self) -> Decimal:
        """How far the spread fill lies outside its legs' natural market (0 inside)."""
        px = self.spread_fill.last_px.as_decimal()
        return max(self.natural[0] - px, px - self.natural[1], Decimal(0))


class LegFillAuditConfig(ActorConfig, frozen=True):
    pass


class LegFillAudit(Actor):
    """Records every match of the run (a spread fill and its leg fills) as the engine publishes them."""

    def __init__(self, config: LegFillAuditConfig | None = None) -> None:
        super().__init__(config or LegFillAuditConfig())
        self.matches: list[Match] = []
        self._current: dict[tuple[str, int], Match] = {}

    def on_start(self) -> None:
        self.msgbus.subscribe(ALL_ORDER_EVENTS, self.record)

    def record(self, event: object) -> None:
        if not isinstance(event, OrderFilled):
            return
        parent, marker, _ = event.client_order_id.value.rpartition(LEG_FILL_MARKER)
        if marker and (parent, event.ts_event) in self._current:  # expiry settlement fills carry the marker too
            quote = self.cache.quote_tick(event.instrument_id)
            leg = LegFill(event, quote.bid_price.as_decimal(), quote.ask_price.as_decimal())
            self._current[(parent, event.ts_event)].legs.append(leg)
        elif is_generic_spread_id(event.instrument_id):
            key = (event.client_order_id.value, event.ts_event)
            if key not in self._current:  # the first fill of the instant: the one its legs are built from
                ratios = dict(self.cache.instrument(event.instrument_id).legs())
                self._current[key] = Match(event, ratios, natural(self.cache, ratios), [])
                self.matches.append(self._current[key])


def natural(cache: CacheFacade, ratios: dict[InstrumentId, int]) -> tuple[Decimal, Decimal]:
    """The spread's natural (bid, ask) per unit from its legs' quotes in the cache now."""
    bid = ask = Decimal(0)
    for leg_id, ratio in ratios.items():
        quote = cache.quote_tick(leg_id)
        low, high = quote.bid_price.as_decimal(), quote.ask_price.as_decimal()
        bid += ratio * (low if ratio > 0 else high)
        ask += ratio * (high if ratio > 0 else low)
    return bid, ask


def breaches(matches: list[Match]) -> list[str]:
    """What breaks the leg price rule: legs not summing to their spread fill, negative legs, and legs
    outside their quotes when the spread fill lies inside its legs' natural market (else further out
    than the spread fill itself)."""
    found = []
    for match in matches:
        total = sum((match.ratios[leg.fill.instrument_id] * leg.price for leg in match.legs), Decimal(0))
        name = match.spread_fill.client_order_id.value
        if total != match.spread_fill.last_px.as_decimal():
            found.append(f"{name}: legs sum to {total}, the spread filled at {match.spread_fill.last_px}")
        for leg in match.legs:
            if leg.price < 0:
                found.append(f"{leg.fill.client_order_id}: negative price {leg.price}")
            if leg.outside > match.excess:
                found.append(f"{leg.fill.client_order_id}: {leg.price} against {leg.bid} / {leg.ask}")
    return found


LEG_AUDIT = ("actors", 0, "tests.support.leg_fills:LegFillAudit", "tests.support.leg_fills:LegFillAuditConfig", {})
