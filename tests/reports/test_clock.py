"""Local days as UTC segments of one offset each: what SQLite counts rows by (and reads
their local hour from)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from app.reports.clock import Clock


def test_a_day_of_daylight_saving_change_is_two_segments() -> None:
    clock = Clock(ZoneInfo("Europe/Berlin"), "sqlite", date(2026, 3, 28), date(2026, 3, 30))
    at = lambda d, h: datetime(2026, 3, d, h, tzinfo=UTC)  # noqa: E731
    # 29 March: 02:00 CET becomes 03:00 CEST (01:00 UTC); the day has 23 hours.
    assert clock.day_segments() == [
        (0, at(27, 23), at(28, 23), 60),
        (1, at(28, 23), at(29, 1), 60),
        (1, at(29, 1), at(29, 22), 120),
        (2, at(29, 22), at(30, 22), 120),
    ]


def test_tehran_days_begin_at_half_past_eight_utc() -> None:
    clock = Clock(ZoneInfo("Asia/Tehran"), "sqlite", date(2026, 12, 1), date(2026, 12, 1))
    assert clock.day_segments() == [
        (
            0,
            datetime(2026, 11, 30, 20, 30, tzinfo=UTC),
            datetime(2026, 12, 1, 20, 30, tzinfo=UTC),
            210,
        )
    ]
