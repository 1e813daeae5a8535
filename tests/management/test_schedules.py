"""Fire times on the NYSE calendar: weekends, holidays, half days, month ends, nth weekdays, DST."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hybrid.calendar import nyse
from hybrid.management.schedules import fire_times_between, next_fire_times
from hybrid.management.templates import (
    ConditionalSchedule,
    DailySchedule,
    MonthlyDaySchedule,
    MonthlyWeekdaySchedule,
    WeeklySchedule,
)

NY = ZoneInfo("America/New_York")


def ny(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=NY)


def ny_days(times) -> list[str]:
    return [t.astimezone(NY).date().isoformat() for t in times]


def ny_clock(times) -> list[str]:
    return [t.astimezone(NY).strftime("%Y-%m-%d %H:%M") for t in times]


def test_daily_skips_weekends_and_holidays():
    after = ny(2024, 7, 2, 12, 0)
    assert ny_days(next_fire_times(DailySchedule(at="09:45"), after, 4)) == [
        "2024-07-03",
        "2024-07-05",
        "2024-07-08",
        "2024-07-09",  # 07-04 holiday, 07-06/07 weekend
    ]
    assert "2024-03-29" not in ny_days(next_fire_times(DailySchedule(at="09:45"), ny(2024, 3, 27), 5))  # Good Friday
    assert ny_days(next_fire_times(DailySchedule(at="10:00"), ny(2024, 11, 27, 11, 0), 2)) == [
        "2024-11-29",
        "2024-12-02",  # Thanksgiving 11-28
    ]


def test_times_are_utc_instants_of_new_york_wall_time_across_dst():
    spring = next_fire_times(DailySchedule(at="09:45"), ny(2024, 3, 7, 12, 0), 3)
    assert [t.strftime("%m-%d %H:%M") for t in spring] == ["03-08 14:45", "03-11 13:45", "03-12 13:45"]
    autumn = next_fire_times(DailySchedule(at="09:45"), ny(2024, 10, 31, 12, 0), 2)
    assert [t.strftime("%m-%d %H:%M") for t in autumn] == ["11-01 13:45", "11-04 14:45"]
    assert all(t.tzinfo == dt.UTC for t in spring + autumn)


def test_a_half_day_runs_before_its_13_00_close_and_not_after():
    morning = ny_days(next_fire_times(DailySchedule(at="09:45"), ny(2024, 11, 27, 12, 0), 2))
    assert morning == ["2024-11-29", "2024-12-02"]
    afternoon = ny_days(next_fire_times(DailySchedule(at="14:00"), ny(2024, 11, 27, 15, 0), 2))
    assert afternoon == ["2024-12-02", "2024-12-03"]  # 11-29 closes at 13:00: no run that day
    christmas_eve = ny_days(next_fire_times(DailySchedule(at="12:59"), ny(2024, 12, 23, 13, 0), 2))
    assert christmas_eve == ["2024-12-24", "2024-12-26"]
    assert ny_days(next_fire_times(DailySchedule(at="13:00"), ny(2024, 12, 23, 14, 0), 1)) == ["2024-12-26"]


def test_weekly_on_chosen_weekdays_without_moving_holidays():
    mondays = WeeklySchedule(weekdays=("mon",), at="09:45")
    # Labor Day (Monday 2024-09-02) has no run and is not moved
    assert ny_days(next_fire_times(mondays, ny(2024, 8, 27), 3)) == ["2024-09-09", "2024-09-16", "2024-09-23"]
    mon_thu = WeeklySchedule(weekdays=("thu", "mon"), at="15:30")
    assert ny_days(next_fire_times(mon_thu, ny(2024, 11, 25, 16, 0), 3)) == ["2024-12-02", "2024-12-05", "2024-12-09"]


def test_monthly_day_past_the_month_end_is_its_last_day_then_the_trading_day_rule():
    def days(rule: str, n: int = 4) -> list[str]:
        schedule = MonthlyDaySchedule(day=31, at="10:00", if_not_trading_day=rule)
        return ny_days(next_fire_times(schedule, ny(2024, 1, 31, 11, 0), n))

    # 02-29 (leap), 03-31 Sunday, 04-30, 05-31
    assert days("next_trading_day") == ["2024-02-29", "2024-04-01", "2024-04-30", "2024-05-31"]
    assert days("previous_trading_day") == ["2024-02-29", "2024-03-28", "2024-04-30", "2024-05-31"]  # 03-29 Good Friday
    assert days("skip") == ["2024-02-29", "2024-04-30", "2024-05-31", "2024-07-31"]  # 06-30 Sunday skipped


def test_monthly_day_on_a_long_weekend_moves_past_the_holiday():
    schedule = MonthlyDaySchedule(day=31, at="10:00")
    # 08-31 is a Saturday and 09-02 Labor Day
    assert ny_days(next_fire_times(schedule, ny(2024, 8, 1), 2)) == ["2024-09-03", "2024-09-30"]


@pytest.mark.parametrize(
    ("nth", "weekday", "after", "expected"),
    [
        (3, "fri", ny(2024, 1, 1), ["2024-01-19", "2024-02-16", "2024-03-15"]),
        (5, "mon", ny(2024, 1, 1), ["2024-01-29", "2024-04-29", "2024-07-29", "2024-09-30", "2024-12-30"]),
        (-1, "mon", ny(2024, 4, 30), ["2024-05-28", "2024-06-24"]),  # last Monday of May is Memorial Day
        (3, "mon", ny(2024, 1, 1), ["2024-01-16", "2024-02-20"]),  # MLK day, Presidents' Day
        (-1, "fri", ny(2024, 3, 1), ["2024-04-01", "2024-04-26"]),  # Good Friday 03-29
    ],
)
def test_nth_weekday(nth, weekday, after, expected):
    schedule = MonthlyWeekdaySchedule(nth=nth, weekday=weekday, at="10:00")
    assert ny_days(next_fire_times(schedule, after, len(expected))) == expected


def test_nth_weekday_on_a_holiday_can_be_skipped_or_moved_back():
    skip = MonthlyWeekdaySchedule(nth=-1, weekday="fri", at="10:00", if_not_trading_day="skip")
    assert ny_days(next_fire_times(skip, ny(2024, 3, 1), 1)) == ["2024-04-26"]
    back = MonthlyWeekdaySchedule(nth=-1, weekday="fri", at="10:00", if_not_trading_day="previous_trading_day")
    assert ny_days(next_fire_times(back, ny(2024, 3, 1), 1)) == ["2024-03-28"]


def test_conditional_checks_every_interval_inside_each_session():
    every_90 = ConditionalSchedule(every_minutes=90)
    times = fire_times_between(every_90, ny(2024, 11, 28), ny(2024, 12, 3))
    assert ny_clock(times)[:7] == [
        "2024-11-29 09:30",
        "2024-11-29 11:00",
        "2024-11-29 12:30",  # half day: last check before 13:00
        "2024-12-02 09:30",
        "2024-12-02 11:00",
        "2024-12-02 12:30",
        "2024-12-02 14:00",
    ]
    assert ny_clock(times)[7] == "2024-12-02 15:30"


def test_after_is_exclusive_and_results_are_deterministic():
    schedule = DailySchedule(at="09:45")
    first = next_fire_times(schedule, ny(2024, 7, 1, 9, 0), 3)
    assert next_fire_times(schedule, first[0], 2) == first[1:]
    assert next_fire_times(schedule, ny(2024, 7, 1, 9, 0), 3) == first


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="n must be >= 1"):
        next_fire_times(DailySchedule(at="09:45"), ny(2024, 7, 1), 0)
    with pytest.raises(ValueError, match="after must be timezone-aware"):
        next_fire_times(DailySchedule(at="09:45"), dt.datetime(2024, 7, 1), 1)
    with pytest.raises(ValueError, match="until must be timezone-aware"):
        fire_times_between(DailySchedule(at="09:45"), ny(2024, 7, 1), dt.datetime(2024, 7, 2))


schedules = st.one_of(
    st.builds(DailySchedule, at=st.times(dt.time(9, 30), dt.time(15, 59))),
    st.builds(
        WeeklySchedule,
        weekdays=st.lists(st.sampled_from(["mon", "tue", "wed", "thu", "fri"]), min_size=1, max_size=5, unique=True),
        at=st.times(dt.time(9, 30), dt.time(15, 59)),
    ),
    st.builds(ConditionalSchedule, every_minutes=st.integers(15, 390)),
    st.builds(
        MonthlyDaySchedule,
        day=st.integers(1, 31),
        at=st.times(dt.time(9, 30), dt.time(15, 59)),
        if_not_trading_day=st.sampled_from(["next_trading_day", "previous_trading_day", "skip"]),
    ),
    st.builds(
        MonthlyWeekdaySchedule,
        nth=st.sampled_from([1, 2, 3, 4, 5, -1]),
        weekday=st.sampled_from(["mon", "tue", "wed", "thu", "fri"]),
        at=st.times(dt.time(9, 30), dt.time(15, 59)),
    ),
)


@settings(max_examples=60, deadline=None)
@given(
    schedule=schedules,
    after=st.datetimes(dt.datetime(2001, 1, 1), dt.datetime(2033, 12, 31), timezones=st.just(dt.UTC)),
)
def test_fire_times_are_increasing_after_the_start_on_trading_days_inside_the_session(schedule, after):
    times = next_fire_times(schedule, after, 5)
    assert len(times) == 5 and times == sorted(set(times)) and times[0] > after
    for t in times:
        day = t.astimezone(NY).date()
        open_, close = nyse.session_open_close(day)
        assert open_ <= t < close
    # the same times are found scanning the whole span at once
    assert fire_times_between(schedule, after, times[-1]) == times
