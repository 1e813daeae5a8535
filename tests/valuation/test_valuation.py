"""Portfolio valuation on a hand-made cache: the one mark rule, Greeks of a book, marked equity and group P&L."""

from __future__ import annotations

import datetime as dt

import pytest
from nautilus_trader.cache.cache import Cache
from nautilus_trader.core.nautilus_pyo3 import black_scholes_greeks
from nautilus_trader.core.uuid import UUID4
from nautilus_trader.model.currencies import USD
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.enums import LiquiditySide, OmsType, OrderSide, OrderType
from nautilus_trader.model.events import OrderFilled
from nautilus_trader.model.identifiers import (
    AccountId,
    ClientOrderId,
    PositionId,
    StrategyId,
    TradeId,
    TraderId,
    Venue,
    VenueOrderId,
)
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.model.objects import Money, Quantity
from nautilus_trader.model.position import Position

from hybrid.calendar.exchange_time import ns_new_york
from hybrid.options.instruments import make_equity, make_option
from hybrid.options.pricing import implied_vol, years_to_expiry
from hybrid.valuation.greeks import portfolio_greeks
from hybrid.valuation.marks import (
    LegQuote,
    cache_mark,
    closing_price,
    mark,
    midpoint,
    no_mark_reason,
    quote_sides,
)
from hybrid.valuation.pnl import group_pnl, open_value

NOW = 1_704_205_800_000_000_000  # 2024-01-02 14:30 UTC
EXPIRY = dt.date(2024, 2, 16)
SPY = make_equity("SPY")
CALL = make_option("SPY", EXPIRY, "C", 470)
PUT = make_option("SPY", EXPIRY, "P", 460)
QQQ_CALL = make_option("QQQ", EXPIRY, "C", 400)
RATE, DIVIDEND = 0.045, 0.013


@pytest.mark.parametrize(
    ("bid", "ask", "expected", "reason"),
    [
        (1.00, 1.20, 1.10, None),
        (0.00, 0.01, 0.005, None),  # a far out-of-the-money option quoted 0.00 / 0.01 is worth half a cent
        (None, 1.00, None, "missing bid"),
        (1.00, None, None, "missing ask"),
        (1.20, 1.00, None, "crossed"),
        (0.00, 0.00, None, "no market"),
        (-0.05, 0.10, None, "no market"),
    ],
)
def test_a_market_is_marked_at_its_mid_only_when_it_shows_both_sides_uncrossed_with_an_offer(
    bid: float | None, ask: float | None, expected: float | None, reason: str | None
) -> None:
    assert mark(bid, ask) == (None if expected is None else pytest.approx(expected))
    assert LegQuote(bid, ask).mid == mark(bid, ask)
    found = no_mark_reason(bid, ask)
    assert (found is None) if reason is None else (found is not None and reason in found)


def test_the_midpoint_of_a_credit_spreads_market_is_negative() -> None:
    assert midpoint(-1.20, -1.00) == pytest.approx(-1.10)


def tick(instrument: Instrument, bid: float, ask: float, bid_size: int = 10, ask_size: int = 10) -> QuoteTick:
    return QuoteTick(
        instrument.id,
        instrument.make_price(bid),
        instrument.make_price(ask),
        Quantity.from_int(bid_size),
        Quantity.from_int(ask_size),
        NOW,
        NOW,
    )


def test_a_side_shown_with_zero_size_is_missing() -> None:
    assert quote_sides(tick(CALL, 0.00, 0.05, bid_size=0)) == LegQuote(None, 0.05)
    assert quote_sides(None) == LegQuote(None, None)
    cache = Cache()
    cache.add_instrument(CALL)
    assert cache_mark(cache, CALL.id) is None
    cache.add_quote_tick(tick(CALL, 2.00, 2.10, ask_size=0))
    assert cache_mark(cache, CALL.id) is None
    cache.add_quote_tick(tick(CALL, 2.00, 2.10))
    assert cache_mark(cache, CALL.id) == pytest.approx(2.05)


def book(*held: tuple[Instrument, int, float], quotes: dict[Instrument, tuple[float, float]]) -> Cache:
    """A cache holding ``(instrument, signed quantity, fill price)`` positions and one quote per instrument."""
    cache = Cache()
    for instrument in {SPY, CALL, PUT, QQQ_CALL, *(i for i, _, _ in held)}:
        cache.add_instrument(instrument)
    for instrument, (bid, ask) in quotes.items():
        cache.add_quote_tick(tick(instrument, bid, ask))
    for n, (instrument, quantity, price) in enumerate(held):
        fill = OrderFilled(
            trader_id=TraderId("TESTER-001"),
            strategy_id=StrategyId("S-001"),
            instrument_id=instrument.id,
            client_order_id=ClientOrderId(f"O-{n}"),
            venue_order_id=VenueOrderId(f"V-{n}"),
            account_id=AccountId("OPRA-001"),
            trade_id=TradeId(f"T-{n}"),
            position_id=PositionId(f"P-{n}"),
            order_side=OrderSide.BUY if quantity > 0 else OrderSide.SELL,
            order_type=OrderType.LIMIT,
            last_qty=Quantity.from_int(abs(quantity)),
            last_px=instrument.make_price(price),
            currency=USD,
            commission=Money(0, USD),
            liquidity_side=LiquiditySide.MAKER,
            event_id=UUID4(),
            ts_event=NOW,
            ts_init=NOW,
        )
        cache.add_position(Position(instrument, fill), OmsType.NETTING)
    return cache


def per_share(contract: Instrument, price: float, spot: float) -> tuple[float, float]:
    """Delta and vega per share of ``contract`` at ``price``, by NautilusTrader's Black-Scholes (b = r - q)."""
    years = years_to_expiry(EXPIRY, ns_new_york(NOW))
    strike, is_call = float(contract.strike_price), contract.option_kind.name == "CALL"
    iv, _ = implied_vol(spot, strike, years, is_call, price, RATE, DIVIDEND)
    greeks = black_scholes_greeks(spot, RATE, RATE - DIVIDEND, float(iv), is_call, strike, years)
    return greeks.delta, greeks.vega


QUOTES = {SPY: (465.00, 465.02), CALL: (8.10, 8.30), PUT: (7.40, 7.60), QQQ_CALL: (9.00, 9.20)}


def test_portfolio_greeks_are_share_equivalent_at_the_marks() -> None:
    cache = book((CALL, 2, 8.0), (PUT, -1, 7.0), (SPY, -100, 465.0), (QQQ_CALL, 5, 9.0), quotes=QUOTES)
    spot = 465.01
    call_delta, call_vega = per_share(CALL, 8.20, spot)
    put_delta, put_vega = per_share(PUT, 7.50, spot)
    result = portfolio_greeks(cache, NOW, RATE, DIVIDEND, underlying="SPY", venue=Venue("OPRA"))
    assert result.unknown == 0
    assert result.greeks.delta == pytest.approx(
        200 * call_delta - 100 * put_delta - 100, abs=1e-3
    )  # within 5e-6 per share
    assert result.greeks.vega == pytest.approx(200 * call_vega - 100 * put_vega, rel=1e-4)
    everything = portfolio_greeks(cache, NOW, RATE, DIVIDEND)
    assert (everything.greeks, everything.unknown) == (result.greeks, 1)  # the QQQ calls, without a QQQ spot


def test_an_option_without_a_mark_has_unknown_greeks() -> None:
    cache = book((CALL, 2, 8.0), (SPY, 100, 465.0), quotes={SPY: QUOTES[SPY], CALL: (8.10, 8.30)})
    cache.add_quote_tick(tick(CALL, 8.10, 8.30, bid_size=0))
    result = portfolio_greeks(cache, NOW, RATE, DIVIDEND, underlying="SPY")
    assert (result.unknown, result.greeks.delta) == (1, 100.0)


def test_open_value_counts_options_at_their_mark_and_shares_at_their_unrealised_pnl() -> None:
    cache = book((CALL, 2, 8.0), (SPY, 100, 464.0), quotes={SPY: QUOTES[SPY], CALL: (8.10, 8.30)})
    assert open_value(cache, Venue("OPRA")) == pytest.approx(2 * 8.20 * 100 + 100 * (465.01 - 464.0))
    cache.add_quote_tick(tick(CALL, 0.0, 0.0))  # no offer: no mark, left out
    assert open_value(cache, Venue("OPRA")) == pytest.approx(100 * (465.01 - 464.0))


@pytest.mark.parametrize(
    ("quote", "quantity", "expected"),
    [
        (LegQuote(1.00, 1.20), 3.0, 1.00),  # a long sells at the bid
        (LegQuote(1.00, 1.20), -3.0, 1.20),  # a short buys back at the ask
        (LegQuote(0.00, 0.05), 1.0, 0.00),  # a zero bid is a market: a long fetches nothing
        (LegQuote(None, 1.20), -1.0, None),  # no mark, no closing price either
        (LegQuote(1.30, 1.20), 1.0, None),
    ],
)
def test_the_closing_side_is_the_bid_for_a_long_and_the_ask_for_a_short(
    quote: LegQuote, quantity: float, expected: float | None
) -> None:
    assert closing_price(quote, quantity) == expected


def test_at_the_closing_side_longs_count_at_the_bid_and_shorts_at_the_ask() -> None:
    cache = book((CALL, 2, 8.0), (PUT, -1, 7.0), (SPY, 100, 464.0), quotes=QUOTES)
    closing = 2 * 8.10 * 100 - 1 * 7.60 * 100 + 100 * (465.00 - 464.0)
    assert open_value(cache, Venue("OPRA"), closing=True) == pytest.approx(closing)
    mid = 2 * 8.20 * 100 - 1 * 7.50 * 100 + 100 * (465.01 - 464.0)
    assert open_value(cache, Venue("OPRA")) == pytest.approx(mid)
    short_shares = book((SPY, -100, 466.0), quotes=QUOTES)
    assert open_value(short_shares, Venue("OPRA"), closing=True) == pytest.approx(-100 * (465.02 - 466.0))


def test_group_pnl_is_cash_plus_held_legs_at_their_marks() -> None:
    cache = book(quotes={CALL: (8.10, 8.30), PUT: (0.00, 0.01)})
    assert group_pnl(cache, -1_000.0, [(CALL.id, 1.0), (PUT.id, -2.0)]) == pytest.approx(-1_000 + 820 - 1.0)
    closing = group_pnl(cache, -1_000.0, [(CALL.id, 1.0), (PUT.id, -2.0)], closing=True)
    assert closing == pytest.approx(-1_000 + 810 - 2.0)  # the call sold at its bid, the puts bought at their ask
    cache.add_quote_tick(tick(PUT, 0.02, 0.01))  # crossed
    assert group_pnl(cache, -1_000.0, [(CALL.id, 1.0), (PUT.id, -2.0)]) is None
