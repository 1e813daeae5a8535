"""Marking a group to market: mid prices, the guard against untrustworthy quotes, and P&L %.

P&L % = unrealised P&L / |entry net premium| x 100 on mid marks, for credits and debits alike. Values are
net premiums per share of one unit (the order intents' and the tracker's convention), so the ratio is the
same for one unit and for the whole group.
"""

from __future__ import annotations

from dataclasses import dataclass

from hybrid.options.legs import Leg


@dataclass(frozen=True, slots=True)
class LegQuote:
    """The current market of one leg (per share); a side is None when the market does not show it."""

    bid: float | None
    ask: float | None

    @property
    def mid(self) -> float:
        if self.bid is None or self.ask is None:
            raise ValueError("a mid needs both a bid and an ask")
        return (self.bid + self.ask) / 2


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

    A leg is untrusted when a side is missing, the market is crossed or has no offer, or it is wider
    than both ``max_spread_ratio`` x mid and ``max_spread_abs`` (cheap options quoted a nickel wide stay
    usable although their relative width is large).
    """
    if quote.bid is None or quote.ask is None:
        return "missing " + ("bid" if quote.bid is None else "ask")
    if quote.ask <= 0 or quote.bid < 0:
        return f"no market (bid {quote.bid}, ask {quote.ask})"
    if quote.bid > quote.ask:
        return f"crossed market (bid {quote.bid} > ask {quote.ask})"
    width = quote.ask - quote.bid
    if width > max_spread_ratio * quote.mid and width > max_spread_abs:
        return f"too wide ({quote.bid}/{quote.ask}: width {width / quote.mid:.0%} of mid)"
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
    return sum(
        leg.quantity * quote.mid / (1 if leg.is_option else snapshot.multiplier)
        for leg, quote in zip(snapshot.legs, snapshot.quotes)
    )


def pnl_pct(snapshot: MarkedGroup) -> float:
    """Unrealised P&L as a percent of |entry net premium| (same for one unit or the whole group)."""
    if snapshot.entry_net_premium == 0:
        raise ValueError("entry_net_premium is 0: a P&L % is undefined for this group")
    return 100.0 * (unit_value(snapshot) - snapshot.entry_net_premium) / abs(snapshot.entry_net_premium)
