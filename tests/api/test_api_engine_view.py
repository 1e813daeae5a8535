"""The engine view over a real NautilusTrader cache: chain pricing against NautilusTrader's Greeks, groups
against the tracker, portfolio P&L against NautilusTrader's portfolio, and engine events as feed messages."""

from __future__ import annotations

from pathlib import Path

import pytest
from nautilus_trader.core.nautilus_pyo3 import black_scholes_greeks
from nautilus_trader.core.uuid import UUID4
from nautilus_trader.model.events import OrderFilled, PositionOpened

from hybrid.api.engine_view import CacheEngineView, fill_event, position_event
from hybrid.options import catalogue
from hybrid.options.legs import Leg
from hybrid.options.pricing import as_of_datetime, years_to_expiry
from hybrid.tracking import rebuild_groups
from tests.support.api import Market, engine_kernel, engine_view, market

pytestmark = pytest.mark.slow  # a backtest, a server or a subprocess per test


@pytest.fixture(scope="module")
def view(small_catalog: Path) -> CacheEngineView:
    return engine_view(small_catalog)


@pytest.fixture(scope="module")
def facts(view: CacheEngineView) -> Market:
    return market(view)


def test_chain_quotes_carry_iv_and_greeks_that_nautilus_reproduces(view: CacheEngineView, facts: Market) -> None:
    quotes = view.option_quotes("SPY", facts.expiry, "put")
    assert quotes and {q.right for q in quotes} == {"put"}
    assert [q.strike for q in quotes] == sorted(q.strike for q in quotes)
    spot = view.underlying_quote("SPY").mid
    years = years_to_expiry(facts.expiry, as_of_datetime(view.now()))
    priced = [q for q in quotes if q.iv is not None]
    assert len(priced) >= len(quotes) // 2
    for quote in priced[:: max(1, len(priced) // 5)]:
        carry = view.rate - view.dividend
        reference = black_scholes_greeks(spot, view.rate, carry, quote.iv, False, quote.strike, years)
        assert reference.price == pytest.approx(quote.mid, rel=1e-3, abs=2e-3)  # the IV reprices the mid
        assert quote.greeks.delta == pytest.approx(reference.delta, abs=1e-4)
        assert quote.greeks.vega == pytest.approx(reference.vega, rel=1e-3)
    unpriced = [q for q in quotes if q.iv is None]
    assert all(q.iv_note for q in unpriced)


def test_leg_quotes_follow_the_legs(view: CacheEngineView, facts: Market) -> None:
    strike = facts.spread["strikes"][1]
    legs = catalogue.build("covered_call", [strike], [facts.expiry])  # call first, then the underlying
    call, stock = view.leg_quotes("SPY", legs)
    assert (call.right, call.strike, call.expiry) == ("call", strike, facts.expiry)
    assert stock.instrument_id == "SPY.OPRA" and stock == view.underlying_quote("SPY")
    unlisted, _ = facts.unlisted_strike(strike)
    with pytest.raises(ValueError, match="not listed"):
        view.leg_quotes("SPY", [Leg("call", unlisted, facts.expiry, 1)])


def test_groups_are_the_trackers_with_greeks_of_what_they_hold(
    view: CacheEngineView, facts: Market, small_catalog: Path
) -> None:
    tracked = list(rebuild_groups(engine_kernel(small_catalog).cache))
    groups = view.groups()
    expected = [(t.group_id, t.status, float(t.units)) for t in tracked]
    assert [(g.group_id, g.status, g.units) for g in groups] == expected
    (held,) = [g for g in groups if g.status == "open"]
    marks = {q.instrument_id: q for q in view.option_quotes("SPY", facts.expiry, "call")}
    delta = sum(leg.filled_quantity * 100 * marks[leg.instrument_id].greeks.delta for leg in held.legs)
    assert held.greeks.delta == pytest.approx(delta)
    assert all(g.greeks.delta == 0 for g in groups if g.status == "closed")
    assert [view.group(g.group_id) for g in groups] == groups  # one group as the list gives it
    assert view.group("no-such-group") is None


def test_portfolio_pnl_is_nautilus_portfolio_pnl(view: CacheEngineView, small_catalog: Path) -> None:
    kernel = engine_kernel(small_catalog)
    instruments = {p.instrument_id for p in kernel.cache.positions()}
    realized = sum(kernel.portfolio.realized_pnl(i).as_double() for i in instruments)
    portfolio = view.portfolio()
    assert portfolio.realized_pnl == pytest.approx(realized)
    positions = view.positions()
    assert portfolio.unrealized_pnl == pytest.approx(sum(p.unrealized_pnl for p in positions))
    assert portfolio.greeks.delta == pytest.approx(sum(p.greeks.delta for p in positions))
    assert {p.instrument_id for p in positions} == {p.instrument_id.value for p in kernel.cache.positions_open()}
    assert view.health().trading_state == "ACTIVE" and view.health().open_positions == 2


def test_engine_events_become_feed_messages(small_catalog: Path) -> None:
    cache = engine_kernel(small_catalog).cache
    fill = next(e for o in cache.orders() for e in o.events if isinstance(e, OrderFilled))
    event = fill_event(fill)
    assert event.type == "fill" and event.data["quantity"] == fill.last_qty.as_double()
    position = next(p for p in cache.positions() if p.is_open)
    opened = PositionOpened.create(position, position.events[0], UUID4(), position.ts_opened)
    message = position_event(opened)
    assert message.type == "position" and message.data["position_id"] == position.id.value
    assert message.data["event"] == "PositionOpened"


def test_an_underlying_without_options_has_no_chain(view: CacheEngineView) -> None:
    assert view.underlyings() == ["SPY"]
    assert view.chain("QQQ") is None and view.underlying_quote("QQQ") is None and view.option_quotes("QQQ") == []
