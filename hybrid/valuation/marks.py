"""Marks: the one rule for the mid of a quote, structures priced from their legs' quotes, and a group's P&L %.

The rule (:func:`mark`): a market is marked at its mid only when it shows both sides, has an offer
(ask > 0), no negative bid and is not crossed; a bid of 0 with an offer is a market (a far
out-of-the-money option quoted 0.00 / 0.01 is worth half a cent). Otherwise there is no mark (None),
and every user (equity, margin, group P&L, the API, the bot, the strategies) leaves the instrument
unvalued rather than inventing a price. A side the market does not show is one with zero size
(:func:`quote_sides`). :func:`midpoint` is the bare arithmetic, for a market known to be two-sided
whose prices may be negative (a credit spread's combined market, the price to work an order at).
The closing side (:func:`closing_price`) values a held quantity at what closing it fetches or costs
now: a long at the bid, a short at the ask, for the markets that have a mark (the same markets, so a
mid and a closing-side valuation leave out the same instruments).

P&L % = unrealised P&L / |entry net premium| x 100 on mid marks, for credits and debits alike. Values are
net premiums per share of one unit (the order intents' and the tracker's convention), so the ratio is the
same for one unit and for the whole group.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from nautilus_trader.cache.base import CacheFacade
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.identifiers import InstrumentId

from hybrid.options.legs import Leg


def midpoint(bid: float, ask: float) -> float:
    """Halfway between the two sides of a two-sided market (any sign: spreads quote credits)."""
    return (bid + ask) / 2


def mark(bid: float | None, ask: float | None) -> float | None:
    """The mid of an instrument's market, or None when it has no mark (module docstring)."""
    if bid is None or ask is None or no_mark_reason(bid, ask) is not None:
        return None
    return midpoint(bid, ask)


def no_mark_reason(bid: float | None, ask: float | None) -> str | None:
    """Why this market has no mark (a side missing, no offer, a negative bid, crossed), or None when it has one."""
    if bid is None or ask is None:
        return "missing " + ("bid" if bid is None else "ask")
    if ask <= 0 or bid < 0:
        return f"no market (bid {bid}, ask {ask})"
    if bid > ask:
        return f"crossed market (bid {bid} > ask {ask})"
    return None


@dataclass(frozen=True, slots=True)
class LegQuote:
    """The current market of one instrument (per share); a side is None when the market does not show it."""

    bid: float | None
    ask: float | None

    @property
    def mid(self) -> float | None:
        """The mark by :func:`mark`; None without one."""
        return mark(self.bid, self.ask)


def quote_sides(tick: QuoteTick | None) -> LegQuote:
    """A quote tick's market; a side the market does not show (no tick, zero size) is None."""
    if tick is None:
        return LegQuote(None, None)
    bid = tick.bid_price.as_double() if tick.bid_size.as_double() > 0 else None
    ask = tick.ask_price.as_double() if tick.ask_size.as_double() > 0 else None
    return LegQuote(bid, ask)


def tick_mark(tick: QuoteTick | None) -> float | None:
    """The mark of a quote tick (None without a tick or a mark)."""
    return quote_sides(tick).mid


def cache_mark(cache: CacheFacade, instrument_id: InstrumentId) -> float | None:
    """The mark of an instrument's last quote in the cache (None without a quote or a mark)."""
    return tick_mark(cache.quote_tick(instrument_id))


def closing_price(quote: LegQuote, quantity: float) -> float | None:
    """The price closing a held ``quantity`` trades at: a long sells at the bid, a short buys at the ask;
    None when the market has no mark (module docstring)."""
    if quote.mid is None:
        return None
    return quote.bid if quantity > 0 else quote.ask


def cache_price(cache: CacheFacade, instrument_id: InstrumentId, quantity: float, closing: bool) -> float | None:
    """An instrument's last quote in the cache valued for a held ``quantity``: its mark, or with ``closing``
    its :func:`closing_price` (None without a quote or a mark)."""
    quote = quote_sides(cache.quote_tick(instrument_id))
    return closing_price(quote, quantity) if closing else quote.mid


@dataclass(frozen=True, slots=True)
class NetPremium:
    """Net premium of one unit in dollars (> 0 debit, < 0 credit), at each side of its market.

    ``ask`` opens one unit by crossing every leg's spread (buy at the ask, sell at the bid): the
    structure's ask; ``bid`` is the other side, what selling one unit fetches; ``mid`` in between.
    """

    bid: float
    mid: float
    ask: float


def net_premium(
    legs: Sequence[Leg], quotes: Sequence[LegQuote | None] | None = None, multiplier: int = 100
) -> NetPremium:
    """Net premium of one unit from per-leg quotes, or from each leg's ``price`` (a mid) where no quote is given.

    A quote must show both sides with ``0 <= bid <= ask``; a leg's own price stands for a market
    bid = ask = price (0 for a worthless leg).
    """
    if quotes is not None and len(quotes) != len(legs):
        raise ValueError(f"{len(quotes)} quotes for {len(legs)} legs")
    bid = mid = ask = 0.0
    for i, leg in enumerate(legs):
        quote = quotes[i] if quotes is not None else None
        if quote is None:
            if leg.price is None:
                raise ValueError(f"leg {i} ({leg.kind} {leg.strike}) has neither a quote nor a price")
            quote = LegQuote(leg.price, leg.price)
        if quote.bid is None or quote.ask is None or not 0 <= quote.bid <= quote.ask:
            raise ValueError(f"leg {i}: quote must satisfy 0 <= bid <= ask, got {quote}")
        size = leg.quantity * (multiplier if leg.is_option else 1)
        sell_side, buy_side = (quote.bid, quote.ask) if size > 0 else (quote.ask, quote.bid)
        bid += size * sell_side
        ask += size * buy_side
        mid += size * midpoint(quote.bid, quote.ask)
    return NetPremium(bid=bid, mid=mid, ask=ask)


@dataclass(frozen=True, slots=True)
class MarkedGroup:
    """What the bot sees of one open group at one instant.

    ``legs`` are per unit (signed quantities, as :class:`Leg`), ``quotes`` the legs' markets in the same
    order. ``entry_net_premium`` is the net premium per share of one unit: positive for a debit paid,
    negative for a credit received (a condor sold for 1.50 is -1.50). An underlying leg's shares count
    as ``quantity / multiplier`` per share of the structure.
    """

    group_id: str
    legs: tuple[Leg, ...]
    quotes: tuple[LegQuote, ...]
    entry_net_premium: float
    entry_units: int
    open_units: int
    multiplier: int = 100

    def __post_init__(self) -> None:
        if not self.legs:
            raise ValueError("legs: a group needs at least one leg")
        if len(self.quotes) != len(self.legs):
            raise ValueError(f"quotes: expected one per leg ({len(self.legs)}), got {len(self.quotes)}")
        if self.entry_units < 1:
            raise ValueError(f"entry_units must be >= 1, got {self.entry_units}")
        if not 0 <= self.open_units <= self.entry_units:
            raise ValueError(f"open_units must be within 0..entry_units ({self.entry_units}), got {self.open_units}")
        if self.multiplier < 1:
            raise ValueError(f"multiplier must be >= 1, got {self.multiplier}")


def untrusted_reason(quote: LegQuote, max_spread_ratio: float, max_spread_abs: float) -> str | None:
    """Why this leg's market cannot be used for a mark, or None when it can.

    A leg is untrusted when it has no mark (:func:`no_mark_reason`), or it is wider than both
    ``max_spread_ratio`` x mid and ``max_spread_abs`` (cheap options quoted a nickel wide stay usable
    although their relative width is large).
    """
    reason = no_mark_reason(quote.bid, quote.ask)
    if reason is not None or quote.bid is None or quote.ask is None:
        return reason
    mid, width = midpoint(quote.bid, quote.ask), quote.ask - quote.bid
    if width > max_spread_ratio * mid and width > max_spread_abs:
        return f"too wide ({quote.bid}/{quote.ask}: width {width / mid:.0%} of mid)"
    return None


def marks_untrusted(snapshot: MarkedGroup, max_spread_ratio: float, max_spread_abs: float) -> str | None:
    """The first leg whose market cannot be trusted, as a reason naming the leg, or None."""
    for leg, quote in zip(snapshot.legs, snapshot.quotes):
        reason = untrusted_reason(quote, max_spread_ratio, max_spread_abs)
        if reason is not None:
            name = leg.kind if not leg.is_option else f"{leg.strike:g} {leg.kind} {leg.expiry}"
            return f"{name}: {reason}"
    return None


def unit_value(snapshot: MarkedGroup) -> float:
    """One unit's net premium per share at mid (what it would cost to buy; negative for a credit)."""
    mids = []
    for leg, quote in zip(snapshot.legs, snapshot.quotes):
        mid = quote.mid
        if mid is None:
            raise ValueError(f"{leg.kind} leg: {no_mark_reason(quote.bid, quote.ask)}, no mark")
        mids.append(leg.quantity * mid / (1 if leg.is_option else snapshot.multiplier))
    return sum(mids)  # sum(), not +=: Python 3.12's sum() of floats is compensated


def pnl_pct(snapshot: MarkedGroup) -> float:
    """Unrealised P&L as a percent of |entry net premium| (same for one unit or the whole group)."""
    if snapshot.entry_net_premium == 0:
        raise ValueError("entry_net_premium is 0: a P&L % is undefined for this group")
    return 100.0 * (unit_value(snapshot) - snapshot.entry_net_premium) / abs(snapshot.entry_net_premium)
