"""Local days and hours of the account's timezone, computed by the database.

PostgreSQL converts with its own zone data (`timezone(zone, t)`). SQLite knows no zones:
there the UTC offset in force is a CASE over the zone's transitions inside the report's
range (from Python's zone data), added to each timestamp as a `strftime` modifier."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, case, cast, extract, func
from sqlalchemy.sql.elements import ColumnElement

QUARTER = timedelta(minutes=15)


def day_start(zone: ZoneInfo, day: date) -> datetime:
    """The UTC instant the local day begins."""
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def floor_quarter(at: datetime) -> datetime:
    """The UTC quarter hour `at` falls in."""
    at = at.astimezone(UTC)
    return at.replace(minute=at.minute - at.minute % 15, second=0, microsecond=0)


def _offset(zone: ZoneInfo, at: datetime) -> int:
    delta = at.astimezone(zone).utcoffset()
    return int(delta.total_seconds()) if delta is not None else 0


def transitions(zone: ZoneInfo, start: datetime, end: datetime) -> list[tuple[datetime, int]]:
    """(from when, UTC offset in seconds) for each offset in force between start and end:
    the first from `start`, each next one from the instant it took over (to the minute)."""
    found = [(start, _offset(zone, start))]
    at = start
    while at < end:
        step = min(at + timedelta(days=1), end)
        if _offset(zone, step) != found[-1][1]:
            low, high = at, step  # the offset changed in between: find the minute
            while high - low > timedelta(minutes=1):
                middle = low + (high - low) / 2
                middle = middle.replace(second=0, microsecond=0)
                if middle <= low:
                    break
                if _offset(zone, middle) == found[-1][1]:
                    low = middle
                else:
                    high = middle
            found.append((high, _offset(zone, high)))
        at = step
    return found


@dataclass(frozen=True)
class Clock:
    """Local-time expressions for one report: `zone` over [start, end) on `dialect`."""

    zone: ZoneInfo
    dialect: str
    start: datetime
    end: datetime

    def _sqlite(self, fmt: str, column: Any) -> ColumnElement[Any]:
        # A day either side: a bucket or timestamp at the range's edge is still converted
        # with the offset in force at its own instant.
        offsets = transitions(
            self.zone, self.start - timedelta(days=1), self.end + timedelta(days=1)
        )
        offset: Any
        if len(offsets) == 1:
            offset = offsets[0][1]
        else:
            offset = case(
                *((column < later, seconds) for (_, seconds), (later, _) in pairwise(offsets)),
                else_=offsets[-1][1],
            )
        return func.strftime(fmt, column, func.printf("%+d seconds", offset))

    def _local(self, column: Any) -> ColumnElement[Any]:
        return func.timezone(self.zone.key, column)

    def day(self, column: Any) -> ColumnElement[str]:
        """'YYYY-MM-DD', the local day."""
        if self.dialect == "sqlite":
            return self._sqlite("%Y-%m-%d", column)
        return func.to_char(self._local(column), "YYYY-MM-DD")

    def weekday(self, column: Any) -> ColumnElement[int]:
        """0 Sunday … 6 Saturday, the local weekday."""
        if self.dialect == "sqlite":
            return cast(self._sqlite("%w", column), Integer)
        return cast(extract("dow", self._local(column)), Integer)

    def hour(self, column: Any) -> ColumnElement[int]:
        """0…23, the local hour."""
        if self.dialect == "sqlite":
            return cast(self._sqlite("%H", column), Integer)
        return cast(extract("hour", self._local(column)), Integer)
