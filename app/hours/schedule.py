"""Business hours: when a team works, in its own timezone, and the arithmetic on it.

A `Schedule` is a timezone, a weekly plan (several intervals a day, each within the day:
"08:00-16:00", "00:00-24:00"), and holidays (dates or inclusive date ranges, in the
schedule's timezone) on which it is closed. It is pure: no database, no clock.

    schedule.is_open(at)                       # is the team working at this instant?
    schedule.next_open(at)                     # `at` if open, else when it opens next
    schedule.business_seconds_between(a, b)    # working seconds in [a, b)
    schedule.add_business_seconds(start, s)    # the instant `s` working seconds after start

Every instant is timezone-aware. Each day's intervals are placed on the wall clock of that
day and only then turned into UTC, so a day on which the clocks change has its real
length (08:00-16:00 across a spring-forward is 7 hours), and arithmetic is done in UTC.
`ALWAYS_OPEN` is the schedule of an inbox without business hours.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.refusals import RuleBroken

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # datetime.weekday() order
DAY_SECONDS = 24 * 3600
# How far ahead a search for the next working second looks: a validated schedule opens
# within a week of any holiday range, and a holiday range is at most MAX_HOLIDAY_DAYS.
MAX_HOLIDAY_DAYS = 400
_SEARCH_DAYS = 3 * MAX_HOLIDAY_DAYS
# "08:00-16:00"; \d takes Persian and Arabic-Indic digits too, and int() reads them.
_INTERVAL = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*[-–]\s*(\d{1,2}):(\d{2})\s*$")


# The rules business hours can break (`ScheduleError.reason`).
ScheduleRule = Literal[
    "not_a_range",
    "end_not_after_start",
    "overlap",
    "never_open",
    "not_a_week",
    "unknown_weekday",
    "unknown_timezone",
    "holiday_ends_before_start",
    "holiday_too_long",
]


class ScheduleError(RuleBroken):
    """Business hours a person must correct; `where` is in the API form: ("weekly", "sat"),
    ("holidays", 0), ("timezone",)."""

    def __init__(self, message: str, reason: ScheduleRule, where: tuple[str | int, ...] = ()):
        super().__init__(message, reason, where)


def zone_of(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        message = f"timezone: {name!r} is not an IANA timezone"
        raise ScheduleError(message, "unknown_timezone", ("timezone",)) from exc


def parse_interval(text: str, where: tuple[str | int, ...] = ()) -> tuple[int, int]:
    """'08:00-16:00' → minutes since midnight (480, 960); the end may be 24:00."""
    match = _INTERVAL.match(text)
    if match is None:
        raise ScheduleError(f"{text!r} is not a range like 08:00-16:00", "not_a_range", where)
    h1, m1, h2, m2 = (int(part) for part in match.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if h1 > 23 or m1 > 59 or m2 > 59 or end > 24 * 60 or end <= start:
        message = f"{text!r} is not a range like 08:00-16:00 (end after start)"
        raise ScheduleError(message, "end_not_after_start", where)
    return start, end


def format_interval(interval: tuple[int, int]) -> str:
    (h1, m1), (h2, m2) = divmod(interval[0], 60), divmod(interval[1], 60)
    return f"{h1:02d}:{m1:02d}-{h2:02d}:{m2:02d}"


@dataclass(frozen=True, slots=True)
class Holiday:
    first: date
    last: date  # inclusive; equal to `first` for a single day
    name: str = ""

    def __post_init__(self) -> None:
        if self.last < self.first:
            message = f"holiday {self.first}: ends before it starts"
            raise ScheduleError(message, "holiday_ends_before_start", ("holidays",))
        if (self.last - self.first).days >= MAX_HOLIDAY_DAYS:
            message = f"holiday {self.first}: at most {MAX_HOLIDAY_DAYS} days"
            raise ScheduleError(message, "holiday_too_long", ("holidays",))


@dataclass(frozen=True, slots=True)
class Schedule:
    timezone: str
    # Per weekday (0 = Monday), sorted, non-overlapping (start, end) minutes of the day.
    weekly: tuple[tuple[tuple[int, int], ...], ...]
    holidays: tuple[Holiday, ...] = ()
    zone: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "zone", zone_of(self.timezone))
        if len(self.weekly) != 7:
            raise ScheduleError("weekly: one entry per weekday", "not_a_week", ("weekly",))
        for day, intervals in zip(WEEKDAYS, self.weekly, strict=True):
            for before, after in itertools.pairwise(intervals):
                if after[0] < before[1]:
                    message = f"{day}: intervals overlap or are out of order"
                    raise ScheduleError(message, "overlap", ("weekly", day))
        if not any(self.weekly):
            message = "weekly: open at least once a week"
            raise ScheduleError(message, "never_open", ("weekly",))

    @classmethod
    def build(
        cls,
        timezone: str,
        weekly: Mapping[str, Sequence[str]],
        holidays: Sequence[Holiday] = (),
    ) -> Schedule:
        """From the stored and API form: {"sat": ["08:00-16:00"], ...}; a day left out or
        with no intervals is closed."""
        for day in weekly:
            if day not in WEEKDAYS:
                message = f"{day!r} is not one of {', '.join(WEEKDAYS)}"
                raise ScheduleError(message, "unknown_weekday", ("weekly", day))
        days = tuple(
            tuple(sorted(parse_interval(text, ("weekly", day)) for text in weekly.get(day, ())))
            for day in WEEKDAYS
        )
        return cls(timezone, days, tuple(sorted(holidays, key=lambda h: h.first)))

    def weekly_texts(self) -> dict[str, list[str]]:
        return {
            day: [format_interval(i) for i in intervals]
            for day, intervals in zip(WEEKDAYS, self.weekly, strict=True)
            if intervals
        }

    def describe(self) -> str:
        """'sat 08:00-16:00, thu 08:00-12:00, Asia/Tehran' (for messages to people)."""
        days = ", ".join(f"{d} {' '.join(i)}" for d, i in self.weekly_texts().items())
        return f"{days}, {self.timezone}"

    # ------------------------------------------------------------------ the arithmetic

    def is_holiday(self, day: date) -> bool:
        return any(h.first <= day <= h.last for h in self.holidays)

    def _day_periods(self, day: date) -> Iterator[tuple[datetime, datetime]]:
        if self.is_holiday(day):
            return
        for start, end in self.weekly[day.weekday()]:
            yield self._instant(day, start), self._instant(day, end)

    def _instant(self, day: date, minutes: int) -> datetime:
        if minutes == 24 * 60:
            day, minutes = day + timedelta(days=1), 0
        wall = datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=self.zone)
        return wall.astimezone(UTC)

    def periods(self, since: datetime) -> Iterator[tuple[datetime, datetime]]:
        """The working periods (UTC, start inclusive, end exclusive) that end after
        `since`, in order (a 24:00 end and the next day's 00:00 start touch). Ends when
        nothing opens for _SEARCH_DAYS."""
        # From the day before: a clock change at midnight can shift what "the day" is.
        day = since.astimezone(self.zone).date() - timedelta(days=1)
        idle = 0
        while idle < _SEARCH_DAYS:
            idle += 1
            for start, end in self._day_periods(day):
                if end > since and end > start:
                    idle = 0
                    yield start, end
            day += timedelta(days=1)

    def is_open(self, at: datetime) -> bool:
        local = at.astimezone(self.zone).date()
        return any(
            start <= at < end
            for day in (local - timedelta(days=1), local)
            for start, end in self._day_periods(day)
        )

    def next_open(self, at: datetime) -> datetime:
        """`at` when open, else the next moment the team starts working."""
        for start, _end in self.periods(at):
            return max(at, start)
        raise ScheduleError("the schedule never opens again", "never_open")  # see __post_init__

    def business_seconds_between(self, a: datetime, b: datetime) -> float:
        """Working seconds in [a, b); 0 when b is not after a."""
        if b <= a:
            return 0.0
        total = 0.0
        for start, end in self.periods(a):
            if start >= b:
                break
            total += (min(end, b) - max(start, a)).total_seconds()
        return total

    def add_business_seconds(self, start: datetime, seconds: float) -> datetime:
        """The first instant by which `seconds` working seconds have passed since `start`
        (`start` itself for 0)."""
        if seconds <= 0:
            return start
        left = seconds
        for opens, closes in self.periods(start):
            begin = max(opens, start)
            length = (closes - begin).total_seconds()
            if left <= length:
                return begin + timedelta(seconds=left)
            left -= length
        raise ScheduleError("the schedule never opens again", "never_open")  # see __post_init__


ALWAYS_OPEN = Schedule("UTC", tuple(((0, 24 * 60),) for _ in WEEKDAYS))
