"""Leg prices of simulated spread fills (NautilusTrader 1.231), re-priced inside each leg's own market.

BUG. The simulated venue fills a spread order as one spread fill plus one synthetic fill per leg
(:mod:`hybrid.nautilus_compat.spreads`) and prices the legs in
``OrderMatchingEngine._calculate_leg_execution_prices`` (``nautilus_trader/backtest/engine.pyx``, a
``cdef`` method, so not overridable from Python): every leg at its mid except the highest-priced one,
which absorbs the rest of the spread price. Whenever the spread fills away from its mid that leg lies
outside its own bid/ask (a debit vertical bought at the natural puts its long leg half the short leg's
width over its ask), a cheap wing can come out negative, and as the mids are rounded to the tick one by
one, sum(ratio x leg price) can miss the spread price by a tick or two. Positions exist per leg only, so
the account, the positions, the group P&L and the report all book the legs and drift from the spread
fills.

The rule (:func:`allocate_leg_prices`). A spread fill at price p sits at the fraction
f = (p - B) / (A - B) of the spread's natural market computed from its legs' quotes at the fill instant,
B = sum of ratio x (bid of a long leg, ask of a short leg) (what selling the spread gets) and A the other
way round (what buying it pays), both per unit of the spread. Every leg is priced at the same fraction
of its own quote, from the side a seller of the spread gets to the side its buyer pays: a long leg
(ratio > 0) at bid + f x (ask - bid), a short leg at ask - f x (ask - bid); then sum(ratio x leg price)
= p exactly. Each leg is then rounded to its tick and the rounding remainder placed on legs that still
have room inside their quote: of all tick prices, none negative, whose ratio-weighted sum is exactly p,
the one with the fewest ticks outside the legs' quotes (none whenever such prices exist), and among
those the one nearest the fraction rule (least squares, in fractions of each leg's width; a tie goes
the same way every run).

Jumped through. The venue fills a resting spread limit that the market moved through at the limit
itself, as it would a single contract's resting order. A spread has no book of its own here: its legs
rest in theirs, and a complex order that becomes marketable against them trades at their prices. So a
resting order's spread fill worse than its legs' natural for its side (a buy above A, a sell below B) is booked at the
natural (A, B) before the engine sees it, and its legs then lie at their touches; the order is never
filled worse than its limit, since the natural is better. :attr:`LegFillPricer.jumped_through` counts them.

No tick prices inside every quote exist when p is better than the natural (the spread matched an
aggregated spread quote older than a leg's latest quote) or, rarely, when a ratio leg's step cannot be
made up (a 1x2 whose unit leg is locked): the sum still holds, f is clamped to 0 or 1, the fewest ticks
are placed outside and :class:`LegFillPricer` logs a warning. Only when no non-negative tick prices sum
to p at all (ratios sharing a factor that p is no multiple of) are the venue's prices kept, with an
error logged.

The seam. :func:`price_leg_fills` puts a :class:`LegFillPricer` on the endpoint the venue sends its
order events to (:data:`~hybrid.nautilus_compat.exec_engine.EXEC_ENDPOINT`), in front of
``ExecutionEngine.process``, so the engine, the portfolio, the positions, the account, the group book
and the report see only the corrected leg fills. The venue builds the legs of a match from its first
fill (``fills[0]``; the leg-quantity bug of :mod:`hybrid.nautilus_compat.spreads`), so the target p is
the first spread fill of the order at that instant since the order's last leg fills (its price as the
venue booked it, slippage included, or the natural when that was worse). Commission is kept as the venue computed it: the per-contract fee
does not depend on the price.

Upstream: no issue found as of 1.231.0. ``tests/nautilus_compat/test_leg_prices.py`` fails once the
venue's own leg prices meet the rule, so that this module can go.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from nautilus_trader.cache.base import CacheFacade
from nautilus_trader.common.component import Logger, MessageBus
from nautilus_trader.execution.engine import ExecutionEngine
from nautilus_trader.model.enums import LiquiditySide, OrderSide
from nautilus_trader.model.events import OrderEvent, OrderFilled
from nautilus_trader.model.identifiers import InstrumentId, is_generic_spread_id
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.model.objects import Price

from hybrid.nautilus_compat.exec_engine import EXEC_ENDPOINT
from hybrid.nautilus_compat.spreads import LEG_FILL_MARKER


@dataclass(frozen=True)
class LegMarket:
    """One leg of a spread in integer price units (cents for a 0.01 tick): signed ratio, quote, tick."""

    ratio: int
    bid: int
    ask: int
    tick: int = 1


def natural_market(legs: Sequence[LegMarket]) -> tuple[int, int]:
    """The spread's (bid, ask) per unit from its legs: long legs at bid and short at ask, then the reverse
    (in price units; :func:`hybrid.valuation.marks.net_premium` is the same sum in dollars for the layers
    above, which this package cannot import)."""
    bid = sum(leg.ratio * (leg.bid if leg.ratio > 0 else leg.ask) for leg in legs)
    ask = sum(leg.ratio * (leg.ask if leg.ratio > 0 else leg.bid) for leg in legs)
    return bid, ask


def allocate_leg_prices(legs: Sequence[LegMarket], spread_price: int) -> tuple[int, ...]:
    """Leg prices (same units, multiples of each leg's tick, >= 0) whose ratio-weighted sum is
    ``spread_price``, by the rule of the module docstring; ValueError when no such prices exist."""
    bid, ask = natural_market(legs)
    f = Fraction(spread_price - bid, ask - bid) if ask > bid else Fraction(1, 2)
    f = min(max(f, Fraction(0)), Fraction(1))
    ideal = [  # in ticks of each leg
        (leg.bid + f * (leg.ask - leg.bid) if leg.ratio > 0 else leg.ask - f * (leg.ask - leg.bid)) / leg.tick
        for leg in legs
    ]
    rounded = [round(x) for x in ideal]
    steps = [leg.ratio * leg.tick for leg in legs]  # what one tick of each leg moves the spread price by
    remainder = spread_price - sum(s * x for s, x in zip(steps, rounded, strict=True))
    # How far a leg may move from its rounded price, in its ticks: enough for one leg to take the whole
    # remainder, plus what combinations of legs with different steps need (whatever sum the steps can
    # make, moves of at most sum(|step|) / gcd(steps) ticks make it).
    combinations = sum(abs(s) for s in steps) // math.gcd(*steps)
    reach = math.ceil(Fraction(abs(remainder), min(abs(s) for s in steps))) + combinations
    costs = [
        {x: _cost(leg, x, target) for x in range(max(0, r - reach), r + reach + 1)}
        for leg, target, r in zip(legs, ideal, rounded, strict=True)
    ]
    # Dynamic programme over the legs: best (cost, ticks) per partial ratio-weighted sum.
    best: dict[int, tuple[tuple[int, Fraction], tuple[int, ...]]] = {0: ((0, Fraction(0)), ())}
    for step, options in zip(steps[:-1], costs[:-1], strict=True):
        following: dict[int, tuple[tuple[int, Fraction], tuple[int, ...]]] = {}
        for total, (cost, ticks) in best.items():
            for x, (outside, deviation) in options.items():
                candidate = ((cost[0] + outside, cost[1] + deviation), (*ticks, x))
                key = total + step * x
                if key not in following or candidate[0] < following[key][0]:
                    following[key] = candidate
        best = following
    last_leg, last_step = legs[-1], steps[-1]
    solutions = []
    for total, (cost, ticks) in best.items():
        x, left = divmod(spread_price - total, last_step)
        if left == 0 and x >= 0:
            outside, deviation = _cost(last_leg, x, ideal[-1])
            solutions.append(((cost[0] + outside, cost[1] + deviation), (*ticks, x)))
    if not solutions:
        raise ValueError(f"no non-negative tick prices of {list(legs)} sum to {spread_price}")
    _, ticks = min(solutions, key=lambda s: s[0])
    return tuple(x * leg.tick for x, leg in zip(ticks, legs, strict=True))


def _cost(leg: LegMarket, ticks: int, ideal: Fraction) -> tuple[int, Fraction]:
    """(ticks outside the leg's quote, squared distance from the rule in fractions of the leg's width)."""
    low, high = math.ceil(Fraction(leg.bid, leg.tick)), leg.ask // leg.tick
    width = max(high - low, 1)
    return max(low - ticks, ticks - high, 0), ((ticks - ideal) / width) ** 2


@dataclass
class _Match:
    """A spread order's fills of one match: the first spread fill and, once its legs come, their prices."""

    spread_fill: OrderFilled
    prices: dict[InstrumentId, Price | None] | None = None  # a leg's None: the venue's price stays


class LegFillPricer:
    """Sits on the exec engine's event endpoint: leg fills pass re-priced by :func:`allocate_leg_prices`."""

    def __init__(self, cache: CacheFacade, process: Callable[[OrderEvent], None]) -> None:
        self._cache = cache
        self._process = process
        self._matches: dict[str, _Match] = {}  # spread client order id -> its current match
        self._log = Logger(type(self).__name__)
        self.jumped_through = 0  # spread fills booked at their legs' natural instead of a worse limit

    def __call__(self, event: OrderEvent) -> None:
        if isinstance(event, OrderFilled):
            parent, marker, _ = event.client_order_id.value.rpartition(LEG_FILL_MARKER)
            if marker and parent in self._matches:  # expiry settlement fills carry the marker too
                event = self._priced(parent, event)
            elif is_generic_spread_id(event.instrument_id):
                event = self._on_spread_fill(event)
        self._process(event)

    def _on_spread_fill(self, fill: OrderFilled) -> OrderFilled:
        fill = self._not_worse_than_natural(fill)
        key = fill.client_order_id.value
        match = self._matches.get(key)
        if match is None or match.prices is not None or match.spread_fill.ts_event != fill.ts_event:
            self._matches[key] = _Match(fill)  # a later fill of the same match changes nothing
        return fill

    def _not_worse_than_natural(self, fill: OrderFilled) -> OrderFilled:
        """``fill``, or at its legs' natural when a resting limit (a maker fill) got worse for its side (module
        docstring, Jumped through); a taker's slippage is the fill model's and stays."""
        if fill.liquidity_side != LiquiditySide.MAKER:
            return fill
        spread = self._cache.instrument(fill.instrument_id)
        places, markets = self._markets(spread)
        bid, ask = natural_market(markets)
        price = _units(fill.last_px, places)
        natural = ask if fill.order_side == OrderSide.BUY else bid
        if (price - natural) * (1 if fill.order_side == OrderSide.BUY else -1) <= 0:
            return fill
        self.jumped_through += 1
        return _with_price(fill, spread.make_price(Decimal(natural).scaleb(-places)))

    def _priced(self, parent: str, leg_fill: OrderFilled) -> OrderFilled:
        match = self._matches[parent]
        if match.prices is None:
            match.prices = self._allocate(match.spread_fill)
        price = match.prices.pop(leg_fill.instrument_id)
        if not match.prices:
            del self._matches[parent]
        return leg_fill if price is None else _with_price(leg_fill, price)

    def _markets(self, spread: Instrument) -> tuple[int, list[LegMarket]]:
        """The price places shared by the spread and its legs, and each leg's market in those units."""
        legs = spread.legs()
        instruments = [self._cache.instrument(leg_id) for leg_id, _ in legs]
        quotes = [self._cache.quote_tick(leg_id) for leg_id, _ in legs]  # the venue priced its legs from these
        places = max(spread.price_precision, *(i.price_precision for i in instruments))
        return places, [
            LegMarket(
                ratio, _units(q.bid_price, places), _units(q.ask_price, places), _units(i.price_increment, places)
            )
            for (_, ratio), q, i in zip(legs, quotes, instruments, strict=True)
        ]

    def _allocate(self, spread_fill: OrderFilled) -> dict[InstrumentId, Price | None]:
        spread = self._cache.instrument(spread_fill.instrument_id)
        legs = spread.legs()
        instruments = [self._cache.instrument(leg_id) for leg_id, _ in legs]
        places, markets = self._markets(spread)
        try:
            prices = allocate_leg_prices(markets, _units(spread_fill.last_px, places))
        except ValueError as e:
            self._log.error(f"{spread_fill.client_order_id}: the venue's leg prices kept, {e}")
            return {leg_id: None for leg_id, _ in legs}
        if any(not m.bid <= p <= m.ask for m, p in zip(markets, prices, strict=True)):
            low, high = (Decimal(p).scaleb(-places) for p in natural_market(markets))
            self._log.warning(
                f"{spread_fill.client_order_id} filled at {spread_fill.last_px} against its legs' natural "
                f"{low}..{high}: legs priced outside their quotes",
            )
        return {
            leg_id: instrument.make_price(Decimal(units).scaleb(-places))
            for (leg_id, _), instrument, units in zip(legs, instruments, prices, strict=True)
        }


def _units(price: Price, places: int) -> int:
    return int(price.as_decimal().scaleb(places))


def _with_price(fill: OrderFilled, price: Price) -> OrderFilled:
    """``fill`` at ``price`` (OrderFilled is immutable); the venue's event is never processed."""
    return OrderFilled.from_dict(OrderFilled.to_dict(fill) | {"last_px": str(price)})


def price_leg_fills(msgbus: MessageBus, cache: CacheFacade, exec_engine: ExecutionEngine) -> LegFillPricer:
    """Put a :class:`LegFillPricer` in front of ``exec_engine`` on :data:`EXEC_ENDPOINT` (module docstring)."""
    msgbus.deregister(EXEC_ENDPOINT, exec_engine.process)
    pricer = LegFillPricer(cache, exec_engine.process)
    msgbus.register(EXEC_ENDPOINT, pricer)
    return pricer
