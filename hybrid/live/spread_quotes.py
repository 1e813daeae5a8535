"""Quotes of option spreads built from their legs' quotes, for the replay client to publish.

NautilusTrader 1.231's own spread quote aggregator (``subscribe_quote_ticks(spread_id,
aggregate_spread_quotes=True)``) cannot run in a live node as it comes (its quotes go to
``LiveDataEngine.process`` with an extra argument, see :mod:`hybrid.nautilus_compat.live_engine`), and a live
subscription to a spread whose ``OptionSpread`` is not yet in the cache reaches the data client as a plain
subscription. So the replay client quotes subscribed spreads itself, priced the way the aggregator prices
them with ``disable_vega_pricing=True`` (what :class:`hybrid.trading.GroupTrader` asks for):

- bid = sum over legs of ratio x (the leg's bid when the ratio is positive, its ask when negative):
  what selling one spread earns by selling the long legs at their bids and buying the short legs at
  their asks; ask = the same with bid and ask swapped (what buying one spread costs);
- bid size = the smallest leg size on the side that leg trades when the spread is sold, divided by
  |ratio|; ask size likewise for a spread bought.

A spread is quoted once every leg has a quote, then at every leg quote, at most once per
``update_interval_seconds`` of replayed time when the subscription asks for an interval.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.instruments import Instrument

NS_PER_SECOND = 1_000_000_000


def spread_quote(spread: Instrument, legs: dict[InstrumentId, QuoteTick], ts_ns: int) -> QuoteTick | None:
    """The spread's quote from its legs' latest quotes (module docstring); None while a leg has no quote."""
    bid = ask = 0.0
    bid_size = ask_size = float("inf")
    for leg_id, ratio in spread.legs():
        quote = legs.get(leg_id)
        if quote is None:
            return None
        leg_bid, leg_ask = quote.bid_price.as_double(), quote.ask_price.as_double()
        sell_side, buy_side = (quote.bid_size, quote.ask_size) if ratio > 0 else (quote.ask_size, quote.bid_size)
        bid += ratio * (leg_bid if ratio > 0 else leg_ask)
        ask += ratio * (leg_ask if ratio > 0 else leg_bid)
        bid_size = min(bid_size, sell_side.as_double() / abs(ratio))
        ask_size = min(ask_size, buy_side.as_double() / abs(ratio))
    return QuoteTick(
        spread.id,
        spread.make_price(bid),
        spread.make_price(ask),
        spread.make_qty(bid_size),
        spread.make_qty(ask_size),
        ts_ns,
        ts_ns,
    )


@dataclass
class _Subscription:
    spread: Instrument
    interval_ns: int
    last_ns: int | None = None


class SpreadQuoter:
    """The subscribed spreads, their legs' latest quotes, and the spread quotes each leg quote makes."""

    def __init__(self) -> None:
        self._latest: dict[InstrumentId, QuoteTick] = {}
        self._subscriptions: dict[InstrumentId, _Subscription] = {}
        self._by_leg: dict[InstrumentId, set[InstrumentId]] = defaultdict(set)

    def __contains__(self, spread_id: InstrumentId) -> bool:
        return spread_id in self._subscriptions

    def subscribe(self, spread: Instrument, update_interval_seconds: float | None = None) -> QuoteTick | None:
        """Quote ``spread`` from now on; returns its quote from the legs' current quotes, if they all have one."""
        interval_ns = int((update_interval_seconds or 0) * NS_PER_SECOND)
        self._subscriptions[spread.id] = _Subscription(spread, interval_ns)
        for leg_id, _ in spread.legs():
            self._by_leg[leg_id].add(spread.id)
        times = [self._latest[leg_id].ts_event for leg_id, _ in spread.legs() if leg_id in self._latest]
        return self._quote(self._subscriptions[spread.id], max(times, default=0))

    def unsubscribe(self, spread_id: InstrumentId) -> None:
        subscription = self._subscriptions.pop(spread_id, None)
        if subscription is None:
            return
        for leg_id, _ in subscription.spread.legs():
            self._by_leg[leg_id].discard(spread_id)

    def on_quote(self, quote: QuoteTick) -> list[QuoteTick]:
        """Remember a leg's quote; the quotes of the subscribed spreads it updates."""
        self._latest[quote.instrument_id] = quote
        out = []
        for spread_id in self._by_leg.get(quote.instrument_id, ()):
            spread_tick = self._quote(self._subscriptions[spread_id], quote.ts_event)
            if spread_tick is not None:
                out.append(spread_tick)
        return out

    def _quote(self, subscription: _Subscription, ts_ns: int) -> QuoteTick | None:
        last = subscription.last_ns
        if last is not None and ts_ns - last < subscription.interval_ns:
            return None
        tick = spread_quote(subscription.spread, self._latest, ts_ns)
        if tick is not None:
            subscription.last_ns = ts_ns
        return tick
