import datetime as dt

import pandas as pd
import pytest

from hybrid.calendar import nyse as calendar

D = dt.date


def test_trading_days_skip_weekends_and_holidays():
    days = calendar.trading_days(D(2024, 3, 25), D(2024, 4, 2))
    assert D(2024, 3, 29) not in days  # Good Friday
    assert D(2024, 3, 30) not in days and D(2024, 3, 31) not in days
    assert days == [D(2024, 3, 25), D(2024, 3, 26), D(2024, 3, 27), D(2024, 3, 28), D(2024, 4, 1), D(2024, 4, 2)]
    assert calendar.trading_days(D(2024, 4, 2), D(2024, 4, 1)) == []
    assert calendar.is_trading_day(D(2024, 7, 3)) and not calendar.is_trading_day(D(2024, 7, 4))


def test_session_times_in_utc_with_half_days():
    open_, close = calendar.session_open_close(D(2024, 3, 1))  # winter: New York is UTC-5
    assert (open_, close) == (pd.Timestamp("2024-03-01 14:30", tz="UTC"), pd.Timestamp("2024-03-01 21:00", tz="UTC"))
    open_, close = calendar.session_open_close(D(2024, 6, 3))  # summer: UTC-4
    assert (open_, close) == (pd.Timestamp("2024-06-03 13:30", tz="UTC"), pd.Timestamp("2024-06-03 20:00", tz="UTC"))
    _, close = calendar.session_open_close(D(2024, 11, 29))  # day after Thanksgiving closes 13:00 New York
    assert close.tz_convert("America/New_York").hour == 13
    assert calendar.is_half_day(D(2024, 11, 29)) and not calendar.is_half_day(D(2024, 11, 27))
    with pytest.raises(ValueError, match="not an NYSE trading day"):
        calendar.session_open_close(D(2024, 12, 25))


def test_next_and_previous_sessions():
    assert calendar.next_sessions(D(2024, 3, 29), 2) == [D(2024, 4, 1), D(2024, 4, 2)]
    assert calendar.next_sessions(D(2024, 4, 1), 1) == [D(2024, 4, 1)]
    assert calendar.previous_sessions(D(2024, 1, 2), 2) == [D(2023, 12, 28), D(2023, 12, 29)]
    assert len(calendar.previous_sessions(D(2024, 1, 2), 252)) == 252
    with pytest.raises(ValueError, match="count must be >= 1"):
        calendar.next_sessions(D(2024, 1, 2), 0)
    with pytest.raises(ValueError, match="between 2000-01-01 and 2035-12-31"):
        calendar.next_sessions(D(1990, 1, 2), 1)


def test_weekly_expiries_every_friday_thursday_when_friday_is_a_holiday():
    weeklies = calendar.weekly_expiries(D(2024, 3, 1), D(2024, 4, 12))
    assert weeklies == [
        D(2024, 3, 1),
        D(2024, 3, 8),
        D(2024, 3, 15),
        D(2024, 3, 22),
        D(2024, 3, 28),
        D(2024, 4, 5),
        D(2024, 4, 12),
    ]
    assert calendar.weekly_expiries(D(2026, 6, 15), D(2026, 6, 19)) == [D(2026, 6, 18)]  # Juneteenth Friday
    assert all(calendar.is_trading_day(d) for d in calendar.weekly_expiries(D(2023, 1, 1), D(2025, 12, 31)))


def test_monthly_expiries_third_friday():
    monthlies = calendar.monthly_expiries(D(2024, 1, 1), D(2024, 6, 30))
    assert monthlies == [D(2024, 1, 19), D(2024, 2, 16), D(2024, 3, 15), D(2024, 4, 19), D(2024, 5, 17), D(2024, 6, 21)]
    assert calendar.monthly_expiry(2022, 4) == D(2022, 4, 14)  # third Friday was Good Friday
    assert calendar.is_monthly_expiry(D(2024, 2, 16)) and not calendar.is_monthly_expiry(D(2024, 2, 9))
    weeklies = set(calendar.weekly_expiries(D(2023, 1, 1), D(2025, 12, 31)))
    assert set(calendar.monthly_expiries(D(2023, 1, 1), D(2025, 12, 31))) <= weeklies
