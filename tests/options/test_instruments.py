"""OCC symbology and instrument builders."""

import datetime as dt

import pandas as pd
import pytest

from hybrid.options.instruments import expiry_close_ns, make_equity, make_option, occ_symbol, parse_occ_symbol


def test_occ_symbol_round_trip():
    symbol = occ_symbol("SPY", dt.date(2024, 6, 21), "C", 530)
    assert symbol == "SPY   240621C00530000"
    assert parse_occ_symbol(symbol) == ("SPY", dt.date(2024, 6, 21), "C", 530)
    assert occ_symbol("spy", dt.date(2024, 6, 21), "put", 12.5) == "SPY   240621P00012500"


@pytest.mark.parametrize("bad", [("X", dt.date(2024, 1, 5), "Q", 10), ("X", dt.date(2024, 1, 5), "C", 0)])
def test_occ_symbol_rejects_bad_input(bad):
    with pytest.raises(ValueError):
        occ_symbol(*bad)


def test_expiry_at_the_close_including_half_days():
    assert (
        pd.Timestamp(expiry_close_ns(dt.date(2024, 6, 21))).tz_localize("UTC").tz_convert("America/New_York").hour == 16
    )
    half_day = pd.Timestamp(expiry_close_ns(dt.date(2024, 11, 29))).tz_localize("UTC").tz_convert("America/New_York")
    assert (half_day.hour, half_day.minute) == (13, 0)


def test_option_and_underlying_share_the_venue():
    option = make_option("SPY", dt.date(2024, 6, 21), "P", 500)
    assert option.id.value == "SPY   240621P00500000.OPRA"
    assert make_equity("SPY").id.venue == option.id.venue
    assert option.multiplier.as_double() == 100
