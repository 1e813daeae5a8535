"""The engine view keeps each group's API model between requests: given again while nothing changed, re-marked
when a leg's quote or the clock moves, rebuilt when the book rebuilds the group, and always what a view that
builds every model afresh answers."""

from __future__ import annotations

import pytest
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.portfolio.portfolio import Portfolio
from pydantic import TypeAdapter

from bench.group_book import Market, make_market, quote, trade
from hybrid.api.engine_view import CacheEngineView
from hybrid.api.schemas import Group
from hybrid.tracking.book import group_book

GROUPS = TypeAdapter(list[Group])
DAY_NS = 86_400 * 10**9


@pytest.fixture
def market() -> Market:
    """One open spread group and one closed one, in the kernel's book from the start (as in a node)."""
    market = make_market()
    group_book(market.cache, market.msgbus)
    trade(market, "held", OrderSide.BUY)
    trade(market, "done", OrderSide.BUY)
    trade(market, "done", OrderSide.SELL)
    return market


@pytest.fixture
def portfolio(market: Market) -> Portfolio:
    return Portfolio(market.msgbus, market.cache, market.clock)


def view_of(market: Market, portfolio: Portfolio) -> CacheEngineView:
    return CacheEngineView(market.cache, market.clock, portfolio, market.msgbus, rate=0.045, dividend=0.013)


def afresh(market: Market, portfolio: Portfolio) -> bytes:
    """The answer of a view with no models yet (it shares the kernel's book), as sent."""
    return GROUPS.dump_json(view_of(market, portfolio).groups())


def test_unchanged_groups_are_given_again(market: Market, portfolio: Portfolio) -> None:
    view = view_of(market, portfolio)
    first = view.groups()
    assert [(g.group_id, g.status) for g in first] == [("held", "open"), ("done", "closed")]
    assert first[0].greeks is not None and first[0].greeks.delta != 0 and first[0].pnl is not None

    again = view.groups()

    assert all(a is b for a, b in zip(again, first, strict=True))
    assert view.group("held") is first[0]


def test_a_leg_quote_re_marks_the_open_group(market: Market, portfolio: Portfolio) -> None:
    view = view_of(market, portfolio)
    held, done = view.groups()
    short_leg, ratio = market.legs[1]
    assert ratio == -1

    quote(market.cache, short_leg, "1.50", "1.60", ts_ns=market.clock.timestamp_ns())  # 0.30 higher
    after = view.groups()

    assert after[1] is done  # a closed group holds nothing a quote could move
    assert after[0].pnl == pytest.approx(held.pnl - 30.0)  # one short contract of 100 shares
    assert after[0].greeks != held.greeks and after[0].legs == held.legs
    assert GROUPS.dump_json(after) == afresh(market, portfolio)


def test_the_clock_re_prices_the_open_groups_greeks(market: Market, portfolio: Portfolio) -> None:
    view = view_of(market, portfolio)
    held, _ = view.groups()

    market.clock.set_time(market.clock.timestamp_ns() + DAY_NS)  # a day nearer expiry, the same quotes
    after = view.groups()

    assert after[0].pnl == held.pnl and after[0].greeks != held.greeks
    assert GROUPS.dump_json(after) == afresh(market, portfolio)


def test_a_rebuilt_group_gets_a_new_model(market: Market, portfolio: Portfolio) -> None:
    view = view_of(market, portfolio)
    held, done = view.groups()

    market.clock.set_time(market.clock.timestamp_ns() + 60 * 10**9)
    trade(market, "held", OrderSide.BUY)  # a second unit: the book rebuilds the group
    after = view.groups()

    assert after[1] is done
    assert (after[0].units, len(after[0].orders)) == (2, 2) and (held.units, len(held.orders)) == (1, 1)
    assert after[0].greeks is not None and held.greeks is not None
    assert after[0].greeks.delta == pytest.approx(2 * held.greeks.delta, rel=1e-3)
    assert GROUPS.dump_json(after) == afresh(market, portfolio)
