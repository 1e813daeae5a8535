"""From model values to displayed quotes: bid/ask around the model price on the tick grid, and sizes.

Prices are handled in integer cents so the tick rules are exact: a penny class quotes in $0.01 at every
price; a non-penny class in $0.05 below $3.00 and $0.10 from $3.00 up. The bid is rounded down and the
ask up (never a bid below zero, always at least one tick between them).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from data.synthetic.config import QuoteModel

NON_PENNY_BREAK_CENTS = 300  # below $3.00 non-penny classes tick in nickels, from $3.00 in dimes
_EPS = 1e-7  # absorbs float noise in price * 100 before floor / ceil


class Quotes(NamedTuple):
    """Parallel arrays of one instrument's quotes; prices in dollars (2 decimals), sizes whole."""

    bid: np.ndarray
    ask: np.ndarray
    bid_size: np.ndarray
    ask_size: np.ndarray


def bid_ticks(price: np.ndarray, penny: bool) -> np.ndarray:
    """``price`` (dollars) rounded down to the tick grid, in cents, floored at zero."""
    cents = np.maximum(np.asarray(price, dtype=float) * 100.0, 0.0)
    if penny:
        return np.floor(cents + _EPS).astype(np.int64)
    dimes = np.floor(cents / 10.0 + _EPS) * 10
    nickels = np.floor(cents / 5.0 + _EPS) * 5
    return np.where(cents >= NON_PENNY_BREAK_CENTS, dimes, nickels).astype(np.int64)


def ask_ticks(price: np.ndarray, bid_cents: np.ndarray, penny: bool) -> np.ndarray:
    """``price`` rounded up to the tick grid, in cents, and at least one tick above ``bid_cents``."""
    cents = np.maximum(np.asarray(price, dtype=float) * 100.0, 0.0)
    if penny:
        ask = np.ceil(cents - _EPS)
        next_tick = bid_cents + 1
    else:
        dimes = np.ceil(cents / 10.0 - _EPS) * 10
        nickels = np.ceil(cents / 5.0 - _EPS) * 5
        ask = np.where(cents > NON_PENNY_BREAK_CENTS, dimes, nickels)
        next_tick = bid_cents + np.where(bid_cents >= NON_PENNY_BREAK_CENTS, 10, 5)
    return np.maximum(ask, next_tick).astype(np.int64)


def option_quotes(
    price: np.ndarray,
    vega: np.ndarray,
    moneyness: np.ndarray,
    t: np.ndarray,
    regime: np.ndarray,
    penny: bool,
    model: QuoteModel,
    rng: np.random.Generator,
) -> Quotes:
    """Quotes around model ``price`` with width from vega, moneyness and regime, sizes from the same."""
    abs_x = np.abs(moneyness)
    width_vol = model.atm_width_vol_points * (1.0 + model.otm_width * abs_x)
    width = vega * width_vol * np.asarray(model.regime_width)[regime] + model.price_width_share * price
    bid = bid_ticks(price - width / 2.0, penny)
    ask = ask_ticks(price + width / 2.0, bid, penny)
    # cheaper (out-of-the-money) series show more size; long-dated and stressed ones less
    shape = (1.0 + 1.5 * abs_x / (1.0 + abs_x)) / (1.0 + 2.0 * t)
    median = model.size_median * np.asarray(model.regime_size)[regime] * shape
    noise = np.exp(model.size_dispersion * rng.standard_normal((2, len(price))))
    sizes = np.clip(np.rint(median * noise), *model.size_range)
    return Quotes(bid / 100.0, ask / 100.0, sizes[0], sizes[1])


def underlying_quotes(spot: np.ndarray, model: QuoteModel, rng: np.random.Generator) -> Quotes:
    """A one-cent market around ``spot``, sizes in round lots of 100 shares."""
    bid = np.floor(np.asarray(spot) * 100.0 + _EPS).astype(np.int64)
    low, high = model.underlying_lots
    sizes = 100.0 * rng.integers(low, high + 1, size=(2, len(bid)))
    return Quotes(bid / 100.0, (bid + 1) / 100.0, sizes[0], sizes[1])


class Trades(NamedTuple):
    """Parallel arrays of the underlying's trade prints: time, price (dollars), shares, aggressor (1 buy, 2 sell)."""

    ts_ns: np.ndarray
    price: np.ndarray
    size: np.ndarray
    aggressor: np.ndarray


def underlying_trades(
    ts_ns: np.ndarray,
    spot: np.ndarray,
    close_ns: np.ndarray,
    close_spot: np.ndarray,
    every_steps: int,
    model: QuoteModel,
    rng: np.random.Generator,
) -> Trades:
    """Trade prints every ``every_steps`` quote steps at the bid or the ask, plus each session's closing print.

    The closing print (one second before the close, at the day's model close) is what the backtest
    venue settles expiring options against: NautilusTrader exercises them on the underlying's LAST price.
    """
    keep = np.arange(len(ts_ns)) % every_steps == 0
    bid = np.floor(np.asarray(spot)[keep] * 100.0 + _EPS) / 100.0
    buyer = rng.integers(0, 2, size=len(bid)).astype(bool)
    intraday_price = np.where(buyer, bid + 0.01, bid)
    close_price = np.round(np.asarray(close_spot) * 100.0) / 100.0
    ts = np.concatenate(
        [np.asarray(ts_ns, dtype=np.uint64)[keep], np.asarray(close_ns, dtype=np.uint64) - 1_000_000_000]
    )
    price = np.concatenate([intraday_price, close_price])
    low, high = model.underlying_lots
    size = 100.0 * rng.integers(low, high + 1, size=len(ts))
    aggressor = np.concatenate([np.where(buyer, 1, 2), np.ones(len(close_price), dtype=np.int64)]).astype(np.uint8)
    order = np.argsort(ts, kind="stable")
    return Trades(ts[order], price[order], size[order], aggressor[order])


def emission_mask(bid: np.ndarray, ask: np.ndarray, grid_step: np.ndarray, heartbeat_steps: int) -> np.ndarray:
    """Quote on change: the first point, any point whose bid or ask moved, and every heartbeat step."""
    changed = np.ones(len(bid), dtype=bool)
    changed[1:] = (bid[1:] != bid[:-1]) | (ask[1:] != ask[:-1])
    return changed | (grid_step % heartbeat_steps == 0)
