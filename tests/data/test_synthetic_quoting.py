"""Displayed quotes: tick grids, bid/ask ordering, widths and sizes."""

import numpy as np

from data.synthetic.config import QuoteModel, VolatilityModel
from data.synthetic.quoting import ask_ticks, bid_ticks, emission_mask, option_quotes, underlying_quotes
from data.synthetic.surface import smile_vol
from hybrid.options.pricing import bs_greeks

R, Q = 0.045, 0.013
PRICES = np.concatenate([np.linspace(0.0, 0.2, 41), np.linspace(0.2, 12.0, 997), [2.97, 2.99, 3.0, 3.01, 3.04]])


def test_penny_class_quotes_in_cents_at_every_price():
    bid = bid_ticks(PRICES - 0.013, penny=True)
    ask = ask_ticks(PRICES + 0.013, bid, penny=True)
    assert (bid >= 0).all() and (ask > bid).all()
    assert (bid <= np.maximum(PRICES - 0.013, 0) * 100 + 1e-6).all()
    assert (ask >= (PRICES + 0.013) * 100 - 1e-6).all()
    assert bid_ticks(np.array([0.07, 2.3]), True).tolist() == [7, 230]  # no float noise: 0.07 * 100 = 7.000000000000001
    assert ask_ticks(np.array([0.07]), np.array([5]), True).tolist() == [7]


def test_non_penny_class_nickels_below_3_dimes_from_3():
    bid = bid_ticks(PRICES - 0.02, penny=False)
    ask = ask_ticks(PRICES + 0.02, bid, penny=False)
    for side in (bid, ask):
        assert (side[side < 300] % 5 == 0).all()
        assert (side[side >= 300] % 10 == 0).all()
    assert (bid >= 0).all() and (ask > bid).all()
    assert ask_ticks(np.array([2.99]), np.array([295]), False).tolist() == [300]
    assert ask_ticks(np.array([3.01]), np.array([300]), False).tolist() == [310]
    assert bid_ticks(np.array([3.09, 2.99]), False).tolist() == [300, 295]


def _quotes(strike: float, days: float, iv30: float, regime: int, n: int = 200):
    spot = np.full(n, 450.0)
    t = np.full(n, days / 365)
    smile = smile_vol(spot, strike, t, iv30, R - Q, VolatilityModel())
    value = bs_greeks(spot, strike, t, smile.iv, strike >= 450, R, Q)
    quotes = option_quotes(
        value.price, value.vega, smile.moneyness, t, np.full(n, regime), True, QuoteModel(), np.random.default_rng(1)
    )
    return quotes, value.price


def test_near_term_atm_is_a_few_cents_wide():
    quotes, price = _quotes(450, 5, 0.13, regime=0)
    width = quotes.ask - quotes.bid
    assert width.min() >= 0.01 and width.max() <= 0.05
    assert (quotes.bid <= price).all() and (price <= quotes.ask).all()


def test_wider_out_of_the_money_long_dated_and_stressed():
    atm, atm_price = _quotes(450, 30, 0.15, regime=0)
    otm, otm_price = _quotes(405, 30, 0.15, regime=0)
    far, _ = _quotes(450, 90, 0.15, regime=0)
    stressed, _ = _quotes(450, 30, 0.15, regime=1)
    width = {
        k: float(np.median(q.ask - q.bid))
        for k, q in {"atm": atm, "otm": otm, "far": far, "stressed": stressed}.items()
    }
    assert width["otm"] / otm_price[0] > width["atm"] / atm_price[0]  # relative to premium
    assert width["far"] > width["atm"]
    assert width["stressed"] > width["atm"]


def test_sizes_are_tens_to_hundreds():
    quotes, _ = _quotes(450, 30, 0.15, regime=0, n=2000)
    sizes = np.concatenate([quotes.bid_size, quotes.ask_size])
    assert (sizes == np.rint(sizes)).all()
    assert sizes.min() >= 5 and sizes.max() <= 999
    assert 30 <= np.median(sizes) <= 300
    stressed, _ = _quotes(450, 30, 0.15, regime=2, n=2000)
    assert np.median(stressed.bid_size) < np.median(quotes.bid_size)


def test_underlying_is_one_cent_wide_in_round_lots():
    quotes = underlying_quotes(np.array([450.004, 450.0, 449.999, 12.3]), QuoteModel(), np.random.default_rng(0))
    np.testing.assert_allclose(quotes.ask - quotes.bid, 0.01)
    assert quotes.bid.tolist() == [450.0, 450.0, 449.99, 12.3]
    assert (quotes.bid_size % 100 == 0).all() and (quotes.ask_size >= 100).all()


def test_quotes_are_kept_on_change_and_on_heartbeat():
    bid = np.array([100, 100, 100, 101, 101, 101, 101])
    ask = np.array([102, 102, 102, 102, 102, 102, 103])
    step = np.arange(7)
    assert emission_mask(bid, ask, step, heartbeat_steps=5).tolist() == [True, False, False, True, False, True, True]
