"""Price ladders: limit prices that walk from the mid toward the natural price, on the right ticks.

A ladder for one side of one market (a spread or a single leg) has ``steps + 1`` rungs:
rung 0 is the mid, rung ``steps`` is the bound, evenly spaced in between. The bound is
``bound_fraction`` of the way from the mid to the natural price (1.0 = the natural: the ask for
a BUY, the bid for a SELL), and never worse than ``limit`` when one is given (the primary
order's limit price). Every rung is rounded to a valid tick *toward the passive side* (down for
a BUY, up for a SELL), so no rung is ever worse than the bound.

Ticks. US option classes quote in pennies at every price (``penny``) or in nickels below $3.00
and dimes from $3.00 up (``nickel_dime``); complex (spread) orders trade in the spread
instrument's own increment. No tick is ever finer than the instrument's ``price_increment``.
Prices may be negative (a credit spread bought back, a credit opened as a BUY of negative
premium); rounding is on signed values and the nickel/dime break uses the absolute price.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.enums import OrderSide

from hybrid.valuation.marks import midpoint

_EPS = 1e-9
NON_PENNY_BREAK = 3.0


class TickRule(StrEnum):
    """How a market's minimum price increment depends on its price."""

    INSTRUMENT = "instrument"  # the instrument's price_increment at every price (spreads)
    PENNY = "penny"  # $0.01 at every price
    NICKEL_DIME = "nickel_dime"  # $0.05 below $3.00, $0.10 from $3.00 up


def parse_tick_rule(value: str) -> TickRule:
    """The rule named ``value``; a one-line error names the valid names."""
    try:
        return TickRule(value)
    except ValueError:
        raise ValueError(f"tick rule must be one of {', '.join(r.value for r in TickRule)}, got {value!r}") from None


def tick_size(price: float, rule: TickRule, increment: float) -> float:
    """The tick that applies at ``price`` under ``rule``, never finer than ``increment``."""
    if rule == TickRule.PENNY:
        tick = 0.01
    elif rule == TickRule.NICKEL_DIME:
        tick = 0.05 if abs(price) < NON_PENNY_BREAK - _EPS else 0.10
    else:
        tick = increment
    return max(tick, increment)


def round_to_tick(price: float, rule: TickRule, increment: float, up: bool) -> float:
    """``price`` on a valid tick under ``rule``, rounded up or down."""
    tick = tick_size(price, rule, increment)
    ticks = price / tick
    rounded = (math.ceil(ticks - _EPS) if up else math.floor(ticks + _EPS)) * tick
    # Crossing the nickel/dime break can leave a price that is on the tick of the other region only.
    if tick_size(rounded, rule, increment) != tick:
        return round_to_tick(rounded, rule, increment, up)
    return round(rounded, _decimals(increment))


def round_passive(price: float, side: OrderSide, rule: TickRule, increment: float) -> float:
    """``price`` on a valid tick, rounded down for a BUY and up for a SELL (never more aggressive)."""
    return round_to_tick(price, rule, increment, up=side == OrderSide.SELL)


def _decimals(increment: float) -> int:
    return max(0, -math.floor(math.log10(increment) + _EPS)) if increment < 1 else 0


@dataclass(frozen=True, slots=True)
class Market:
    """A two-sided market: for a spread, combined from its legs' quotes (see :func:`combine`)."""

    bid: float
    ask: float

    @property
    def mid(self) -> float:
        return midpoint(self.bid, self.ask)

    def natural(self, side: OrderSide) -> float:
        """The price that crosses now: the ask for a BUY, the bid for a SELL."""
        return self.ask if side == OrderSide.BUY else self.bid


def market_of(quote: QuoteTick) -> Market:
    return Market(quote.bid_price.as_double(), quote.ask_price.as_double())


def combine(legs: Iterable[tuple[Market, int]]) -> Market:
    """The market of one structure unit from its legs' markets and signed ratios.

    The bid sells every long leg at its bid and buys every short leg at its ask; the ask the
    reverse. This is what NautilusTrader's spread quote aggregator quotes with vega pricing off.
    """
    bid = ask = 0.0
    for market, ratio in legs:
        if ratio > 0:
            bid += ratio * market.bid
            ask += ratio * market.ask
        else:
            bid += ratio * market.ask
            ask += ratio * market.bid
    return Market(bid, ask)


@dataclass(frozen=True, slots=True)
class Ladder:
    """The rungs of one side of one market, rung 0 (mid) to rung ``steps`` (bound)."""

    side: OrderSide
    mid: float
    natural: float
    prices: tuple[float, ...]

    @property
    def steps(self) -> int:
        return len(self.prices) - 1

    @property
    def bound(self) -> float:
        return self.prices[-1]

    def price(self, step: int) -> float:
        """The price of rung ``step``, clamped to the ladder (beyond the last rung is the bound)."""
        return self.prices[max(0, min(step, self.steps))]


def build_ladder(
    market: Market,
    side: OrderSide,
    steps: int,
    *,
    bound_fraction: float = 1.0,
    limit: float | None = None,
    rule: TickRule = TickRule.INSTRUMENT,
    increment: float = 0.01,
) -> Ladder:
    """The ladder from ``market``'s mid toward its natural price for ``side`` (see the module docstring)."""
    if steps < 1:
        raise ValueError(f"ladder steps must be at least 1, got {steps}")
    if not bound_fraction >= 0:
        raise ValueError(f"bound_fraction must be >= 0, got {bound_fraction}")
    if market.ask < market.bid:
        raise ValueError(f"crossed market: bid {market.bid} above ask {market.ask}")
    mid, natural = market.mid, market.natural(side)
    end = mid + bound_fraction * (natural - mid)
    if limit is not None:
        end = min(end, limit) if side == OrderSide.BUY else max(end, limit)
    prices = []
    for k in range(steps + 1):
        raw = mid + (end - mid) * k / steps
        if limit is not None:
            raw = min(raw, limit) if side == OrderSide.BUY else max(raw, limit)
        prices.append(round_passive(raw, side, rule, increment))
    return Ladder(side=side, mid=mid, natural=natural, prices=tuple(prices))


def marketable_price(market: Market, side: OrderSide, ticks: int, rule: TickRule, increment: float) -> float:
    """``ticks`` beyond the natural price (rounded further, so it stays marketable); a SELL stays >= 0.

    The floor is zero, not one tick: a contract bid at 0.00 (a worthless wing) can only be sold at its
    bid, and a sell limit above the bid would never fill.
    """
    natural = market.natural(side)
    tick = tick_size(natural, rule, increment)
    if side == OrderSide.BUY:
        return round_to_tick(natural + ticks * tick, rule, increment, up=True)
    return max(round_to_tick(natural - ticks * tick, rule, increment, up=False), 0.0)
