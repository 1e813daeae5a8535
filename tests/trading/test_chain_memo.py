"""A market snapshot built with a chain memo is the one built without it, while quotes and listings change."""

from __future__ import annotations

import datetime as dt

from nautilus_trader.cache.cache import Cache
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.objects import Price, Quantity

from hybrid.calendar.exchange_time import new_york_instant
from hybrid.options.chain import ChainError, OptionChain, Right
from hybrid.options.instruments import expiry_close_ns, make_equity, make_option
from hybrid.trading.market import ChainMemo, MarketSnapshot, market_snapshot

NEAR, FAR = dt.date(2024, 6, 21), dt.date(2024, 7, 19)
NOW = int(new_york_instant(dt.date(2024, 6, 3), dt.time(10)).timestamp() * 1e9)
SPY = make_equity("SPY")
OPTIONS = [
    make_option("SPY", expiry, right, strike) for expiry in (NEAR, FAR) for right in "CP" for strike in (100, 105)
]
RIGHTS: tuple[Right, ...] = ("call", "put")
LATER = make_option("SPY", FAR, "C", 110, activation_ns=NOW + 5_000_000_000)  # listed 5 s from NOW


def _quote(instrument_id: InstrumentId, bid: float, ask: float, ts: int, bid_size: int = 10) -> QuoteTick:
    return QuoteTick(
        instrument_id, Price(bid, 2), Price(ask, 2), Quantity.from_int(bid_size), Quantity.from_int(10), ts, ts
    )


def _cache() -> Cache:
    cache = Cache()
    for instrument in (SPY, *OPTIONS, LATER):
        cache.add_instrument(instrument)
    cache.add_quote_tick(_quote(SPY.id, 104.99, 105.01, NOW))
    for n, option in enumerate([*OPTIONS, LATER]):
        cache.add_quote_tick(_quote(option.id, 1.0 + n / 10, 1.2 + n / 10, NOW))
    return cache


def _facts(market: MarketSnapshot | None) -> tuple:
    """What a snapshot says: its spot, time, contracts by expiry, right and strike, and every mark."""
    assert market is not None
    chain = market.chain
    listed = {(e, r): chain.strikes(e, r) for e in chain.expiries for r in RIGHTS if _has(chain, e, r)}
    marks = {str(c.id): chain.mark(c.id) for e, r in listed for k in listed[e, r] for c in [chain.contract(e, r, k)]}
    return market.spot, market.as_of, listed, marks


def _has(chain: OptionChain, expiry: dt.date, right: Right) -> bool:
    try:
        chain.strikes(expiry, right)
    except ChainError:
        return False
    return True


def _both(cache: Cache, memo: ChainMemo, now_ns: int, expiries: set[dt.date] | None = None) -> tuple:
    with_memo = _facts(market_snapshot(cache, SPY.id, now_ns, 0.045, 0.013, expiries, memo))
    without = _facts(market_snapshot(cache, SPY.id, now_ns, 0.045, 0.013, expiries))
    assert with_memo == without
    return with_memo


def test_the_memo_gives_the_snapshot_built_without_it_as_quotes_and_listings_change() -> None:
    cache, memo = _cache(), ChainMemo()
    first = _both(cache, memo, NOW)
    assert len(first[3]) == len(OPTIONS)  # LATER is not listed yet
    again = _both(cache, memo, NOW + 1_000_000, {NEAR})  # the same quotes, a moment later: marks at that moment
    assert again[1] > first[1] and again[2] == first[2]

    one_sided = OPTIONS[0]  # its bid goes away: no mark, out of the chain
    cache.add_quote_tick(_quote(one_sided.id, 1.0, 1.2, NOW + 2_000_000, bid_size=0))
    assert str(one_sided.id) not in _both(cache, memo, NOW + 2_000_000)[3]
    cache.add_quote_tick(_quote(one_sided.id, 1.05, 1.25, NOW + 3_000_000))  # back, at another price
    back = _both(cache, memo, NOW + 3_000_000)[3][str(one_sided.id)]
    assert back is not None and back.price == 1.15

    assert str(LATER.id) in _both(cache, memo, NOW + 5_000_000_000)[3]  # listed now
    after_near = expiry_close_ns(NEAR) + 1
    assert {e for e, _ in _both(cache, memo, after_near)[2]} == {FAR}  # the near contracts expired
