"""Which contracts the synthetic market lists: expiries, strike grid, coverage, counts."""

import datetime as dt

import numpy as np
import pytest

from data.synthetic import MarketConfig
from data.synthetic.chain import list_chain, listed_expiries, strikes_for
from data.synthetic.intraday import intraday_path
from data.synthetic.regime_path import daily_path
from data.synthetic.surface import smile_vol
from hybrid.calendar import nyse as calendar
from hybrid.options.pricing import bs_greeks


def chain_of(config: MarketConfig):
    daily = daily_path(config)
    path = intraday_path(config, daily)
    opens = np.flatnonzero(path.step_in_day == 0)
    days = daily.window_dates
    return days, list_chain(config, days, list(path.spot[opens]), list(path.iv30[opens])), path.spot[opens]


@pytest.fixture(scope="module")
def demo_chain():
    return chain_of(MarketConfig.profile("demo"))


def alive(days, chain, i):
    return [c for c in chain if c.listed_day <= i and c.expiry >= days[i]]


def test_demo_lists_at_least_100_contracts_every_day(demo_chain):
    days, chain, _ = demo_chain
    counts = [len(alive(days, chain, i)) for i in range(len(days))]
    assert min(counts) >= 100
    assert len(chain) == len(set(chain))


def test_expiries_weekly_fridays_monthlies_further_out(demo_chain):
    days, chain, _ = demo_chain
    weeklies = set(calendar.weekly_expiries(days[0], days[-1] + dt.timedelta(days=120)))
    expiries = {c.expiry for c in chain}
    assert expiries <= weeklies
    assert dt.date(2024, 3, 28) in expiries  # Good Friday 2024: the weekly moves to Thursday
    for i, day in enumerate(days):
        dte = sorted({(c.expiry - day).days for c in alive(days, chain, i)})
        assert dte[0] <= 7 and dte[-1] >= 60  # a near expiry and one at least 60 days out
        assert any(30 <= d <= 45 for d in dte)  # a 30-45 DTE expiry throughout
        assert len(dte) >= 7


def test_strikes_one_dollar_near_the_money_five_further_out(demo_chain):
    _, chain, open_spot = demo_chain
    first_day = [c for c in chain if c.listed_day == 0]
    for expiry in {c.expiry for c in first_day}:
        strikes = sorted({c.strike for c in first_day if c.expiry == expiry})
        near = [k for k in strikes if abs(k - open_spot[0]) <= 0.01 * open_spot[0]]
        far = [k for k in strikes if abs(k - open_spot[0]) > 0.01 * open_spot[0] + 1]
        assert np.diff(near).max() == 1.0 and len(near) >= 8
        assert all(k % 5 == 0 for k in far) and len(far) >= 6
        assert {(c.strike, c.right) for c in first_day if c.expiry == expiry} == {(k, r) for k in strikes for r in "CP"}


def test_new_strikes_are_listed_as_spot_moves(demo_chain):
    days, chain, open_spot = demo_chain
    later = [c for c in chain if c.listed_day > 0 and (c.expiry - days[c.listed_day]).days < 40]
    assert later, "spot moved but no strike was added"
    for c in later[:50]:
        assert abs(c.strike - open_spot[c.listed_day]) < 0.5 * open_spot[c.listed_day]


@pytest.mark.parametrize("dte", [30, 45])
def test_stressed_16_delta_shorts_and_wings_are_listed(dte):
    config, spot, iv30 = MarketConfig.profile("demo"), 450.0, 0.35
    listed = np.array(sorted(strikes_for(config, spot, iv30, dte))) / 100
    t = dte / 365
    iv = smile_vol(spot, listed, t, iv30, config.rate - config.dividend_yield, config.vol).iv
    put_delta = bs_greeks(spot, listed, t, iv, False, config.rate, config.dividend_yield).delta
    call_delta = bs_greeks(spot, listed, t, iv, True, config.rate, config.dividend_yield).delta
    short_put = listed[np.argmin(np.abs(put_delta + 0.16))]
    short_call = listed[np.argmin(np.abs(call_delta - 0.16))]
    assert abs(put_delta[listed == short_put][0] + 0.16) < 0.03
    assert abs(call_delta[listed == short_call][0] - 0.16) < 0.03
    assert listed.min() <= short_put - 20 and listed.max() >= short_call + 20  # $20-wide wings fit


def test_small_profile_is_narrow_but_tradeable():
    days, chain, _ = chain_of(MarketConfig.profile("small"))
    demo_days = MarketConfig.profile("demo")
    assert len(days) == 4
    for i, day in enumerate(days):
        live = alive(days, chain, i)
        assert len(live) >= 40
        assert any(30 <= (c.expiry - day).days <= 45 for c in live)
    config = MarketConfig.profile("small")
    assert config.option_interval_s > demo_days.option_interval_s
    assert listed_expiries(config, days[0], calendar.weekly_expiries(days[0], days[0] + dt.timedelta(days=60)))
