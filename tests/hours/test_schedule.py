"""Business-hours arithmetic: the Iranian week in Asia/Tehran, holidays, clock changes,
and the four functions agreeing with each other."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.hours.schedule import ALWAYS_OPEN, Holiday, Schedule, ScheduleError

TEHRAN = ZoneInfo("Asia/Tehran")
# Saturday–Wednesday 08:00–16:00, Thursday 08:00–12:00, Friday closed.
IRANIAN_WEEK = {
    **{key: ["08:00-16:00"] for key in ("sat", "sun", "mon", "tue", "wed")},
    "thu": ["08:00-12:00"],
}
NOWRUZ = Holiday(date(2027, 3, 21), date(2027, 3, 24), "Nowruz")


def tehran(*args: int) -> datetime:
    return datetime(*args, tzinfo=TEHRAN)  # type: ignore[misc]


@pytest.fixture
def iran() -> Schedule:
    return Schedule.build("Asia/Tehran", IRANIAN_WEEK, [NOWRUZ])


def test_the_iranian_week(iran: Schedule) -> None:
    # 2027-03-03 is a Wednesday.
    assert iran.is_open(tehran(2027, 3, 3, 8, 0))
    assert not iran.is_open(tehran(2027, 3, 3, 16, 0))  # the end is exclusive
    assert iran.is_open(tehran(2027, 3, 4, 11, 59))  # Thursday morning
    assert not iran.is_open(tehran(2027, 3, 4, 12, 0))  # Thursday afternoon
    assert not iran.is_open(tehran(2027, 3, 5, 10, 0))  # Friday
    assert iran.is_open(tehran(2027, 3, 6, 10, 0))  # Saturday
    # Thursday noon → Saturday 08:00 Tehran, which is 04:30 UTC (UTC+3:30, no DST).
    opens = iran.next_open(tehran(2027, 3, 4, 12, 0))
    assert opens == tehran(2027, 3, 6, 8, 0)
    assert opens.astimezone(UTC) == datetime(2027, 3, 6, 4, 30, tzinfo=UTC)
    week = iran.business_seconds_between(tehran(2027, 3, 6, 0, 0), tehran(2027, 3, 13, 0, 0))
    assert week == (5 * 8 + 4) * 3600


def test_holidays_close_whole_days(iran: Schedule) -> None:
    # Nowruz 1406: 1 Farvardin = 2027-03-21 (Sunday) to 2027-03-24 (Wednesday).
    assert not iran.is_open(tehran(2027, 3, 21, 10, 0))
    assert not iran.is_open(tehran(2027, 3, 24, 10, 0))
    # After Saturday 20 March closes, the next working time is Thursday 25 March.
    assert iran.next_open(tehran(2027, 3, 20, 16, 0)) == tehran(2027, 3, 25, 8, 0)
    # Two working hours from Saturday 15:00: one that day, one on Thursday after Nowruz.
    assert iran.add_business_seconds(tehran(2027, 3, 20, 15, 0), 2 * 3600) == tehran(
        2027, 3, 25, 9, 0
    )
    one_day = Schedule.build(
        "Asia/Tehran", IRANIAN_WEEK, [Holiday(date(2027, 3, 3), date(2027, 3, 3))]
    )
    assert not one_day.is_open(tehran(2027, 3, 3, 9, 0))
    assert one_day.is_open(tehran(2027, 3, 2, 9, 0))


def test_several_intervals_a_day_and_day_boundaries() -> None:
    split = Schedule.build(
        "Asia/Tehran",
        {"sat": ["08:00-12:00", "13:00-17:00"], "sun": ["00:00-02:00"], "fri": ["22:00-24:00"]},
    )
    assert not split.is_open(tehran(2027, 3, 6, 12, 30))  # lunch
    assert split.next_open(tehran(2027, 3, 6, 12, 30)) == tehran(2027, 3, 6, 13, 0)
    # Two working hours from Friday 23:00: one until midnight, one from Saturday 08:00.
    assert split.add_business_seconds(tehran(2027, 3, 5, 23, 0), 2 * 3600) == tehran(
        2027, 3, 6, 9, 0
    )
    # Saturday 17:00 → Sunday 00:00-02:00 is the next opening.
    assert split.next_open(tehran(2027, 3, 6, 17, 0)) == tehran(2027, 3, 7, 0, 0)


def test_clock_changes_count_real_time() -> None:
    # New York springs forward on 2027-03-14 at 02:00: that day is 23 hours long.
    ny = ZoneInfo("America/New_York")
    always = Schedule.build("America/New_York", {key: ["00:00-24:00"] for key in ("sat", "sun")})
    day = always.business_seconds_between(
        datetime(2027, 3, 14, tzinfo=ny), datetime(2027, 3, 15, tzinfo=ny)
    )
    assert day == 23 * 3600
    # Falls back on 2027-11-07: 25 hours.
    day = always.business_seconds_between(
        datetime(2027, 11, 7, tzinfo=ny), datetime(2027, 11, 8, tzinfo=ny)
    )
    assert day == 25 * 3600
    # 09:00–17:00 the day after the change still opens at 09:00 local (13:00 UTC, not 14:00).
    office = Schedule.build("America/New_York", {"mon": ["09:00-17:00"]})
    friday = datetime(2027, 3, 12, 18, 0, tzinfo=ny)
    assert office.next_open(friday).astimezone(UTC) == datetime(2027, 3, 15, 13, 0, tzinfo=UTC)


def test_any_iana_timezone_and_persian_digits() -> None:
    kathmandu = Schedule.build("Asia/Kathmandu", {"mon": ["۰۹:۰۰-۱۷:۰۰"]})  # UTC+5:45
    assert kathmandu.weekly_texts() == {"mon": ["09:00-17:00"]}
    monday = datetime(2027, 3, 1, 3, 15, tzinfo=UTC)  # 09:00 in Kathmandu
    assert kathmandu.is_open(monday)
    assert not kathmandu.is_open(monday - timedelta(seconds=1))


@pytest.mark.parametrize(
    ("timezone", "weekly", "says"),
    [
        ("Mars/Olympus", {"mon": ["09:00-17:00"]}, "IANA"),
        ("UTC", {"mon": ["17:00-09:00"]}, "end after start"),
        ("UTC", {"mon": ["09:00-13:00", "12:00-14:00"]}, "overlap"),
        ("UTC", {"funday": ["09:00-17:00"]}, "not one of"),
        ("UTC", {}, "at least once"),
        ("UTC", {"mon": ["9 to 5"]}, "range like"),
    ],
)
def test_what_is_refused(timezone: str, weekly: dict[str, list[str]], says: str) -> None:
    with pytest.raises(ScheduleError, match=says):
        Schedule.build(timezone, weekly)


def test_the_functions_agree(iran: Schedule) -> None:
    rng = random.Random(15)
    start = tehran(2027, 3, 1, 0, 0)
    for _ in range(300):
        a = start + timedelta(minutes=rng.randrange(60 * 24 * 60))
        seconds = rng.randrange(1, 60 * 3600)
        b = iran.add_business_seconds(a, seconds)
        assert iran.business_seconds_between(a, b) == seconds
        assert iran.is_open(b - timedelta(seconds=1))
        opens = iran.next_open(a)
        assert opens >= a
        assert iran.business_seconds_between(a, opens) == 0
    assert ALWAYS_OPEN.add_business_seconds(start, 3600) == start + timedelta(hours=1)
