"""Upstream facts behind :mod:`hybrid.nautilus_compat.greeks`; each test fails once upstream changes it."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import TestClock
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.greeks import GreeksCalculator
from nautilus_trader.model.instruments import Instrument, OptionContract, OptionSpread

from bench.exec_simulation import SimMarketConfig, make_market
from hybrid.options.instruments import make_equity

HOURS_TO_EXPIRY = 6


@dataclass
class Book:
    calculator: GreeksCalculator
    option: OptionContract
    spread: OptionSpread
    cache: Cache
    clock: TestClock

    def quote(self, instrument: Instrument, bid: float, ask: float) -> None:
        now = self.clock.timestamp_ns()
        size = instrument.make_qty(10)
        self.cache.add_quote_tick(
            QuoteTick(instrument.id, instrument.make_price(bid), instrument.make_price(ask), size, size, now, now)
        )


@pytest.fixture
def book() -> Book:
    """SPY at 105 and the 100/105 call vertical, ``HOURS_TO_EXPIRY`` hours before expiry."""
    market = make_market(SimMarketConfig(seconds=1.0))
    cache, clock = Cache(), TestClock()
    equity = make_equity(market.config.underlying, market.config.venue)
    spread = market.vertical(0, 1)
    for instrument in (equity, *market.options, spread):
        cache.add_instrument(instrument)
    clock.set_time(market.options[0].expiration_ns - HOURS_TO_EXPIRY * 3_600_000_000_000)
    result = Book(GreeksCalculator(cache, clock), market.options[0], spread, cache, clock)
    result.quote(equity, 105.00, 105.02)
    result.quote(market.options[0], 5.50, 5.60)
    result.quote(market.options[1], 2.50, 2.60)
    return result


def test_greeks_calculator_still_floors_time_to_expiry_to_one_whole_day(book: Book) -> None:
    greeks = book.calculator.instrument_greeks(book.option.id)
    assert greeks is not None
    assert greeks.expiry_in_days == 1  # the option expires in hours


def test_option_spread_greeks_are_still_none_without_a_spread_quote(book: Book) -> None:
    assert book.calculator.instrument_greeks(book.spread.id) is None


def test_option_spread_greeks_are_still_those_of_a_linear_instrument_with_a_spread_quote(book: Book) -> None:
    book.quote(book.spread, 2.90, 3.10)
    greeks = book.calculator.instrument_greeks(book.spread.id)
    assert greeks is not None
    assert (greeks.delta, greeks.gamma, greeks.vega) == (1.0, 0.0, 0.0)
