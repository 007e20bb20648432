"""Local days and hours of the account's timezone, as ranges of UTC instants.

On SQLite, which knows no zones, Python's zone data turns each local day of a report into
segments of UTC time with one UTC offset each (a day of daylight-saving change is two),
and the database counts rows per segment by joining a small table of them (a JSON array
bound as one parameter) on an indexed timestamp: no date function runs per row, and
daylight saving time is exact (a local day is whatever its two midnights say). The local
hour of a row is its UTC hour and minute, read from the stored text, plus its segment's
offset. PostgreSQL converts each row with its own zone data."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Date,
    Integer,
    Select,
    String,
    and_,
    cast,
    extract,
    func,
    select,
    type_coerce,
)
from sqlalchemy.sql.selectable import CTE

MINUTE = timedelta(minutes=1)


def day_start(zone: ZoneInfo, day: date) -> datetime:
    """The UTC instant the local day begins."""
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def floor_quarter(at: datetime) -> datetime:
    """The UTC quarter hour `at` falls in."""
    at = at.astimezone(UTC)
    return at.replace(minute=at.minute - at.minute % 15, second=0, microsecond=0)


@dataclass(frozen=True)
class Clock:
    """The local days since…until (inclusive) of `zone`, for a database of `dialect`."""

    zone: ZoneInfo
    dialect: str
    since: date
    until: date

    @cached_property
    def days(self) -> list[date]:
        return [self.since + timedelta(days=n) for n in range((self.until - self.since).days + 1)]

    @property
    def start(self) -> datetime:
        return day_start(self.zone, self.since)

    @property
    def end(self) -> datetime:
        return day_start(self.zone, self.until + timedelta(days=1))

    def day_ranges(self) -> list[tuple[datetime, datetime]]:
        starts = [day_start(self.zone, d) for d in self.days] + [self.end]
        return list(pairwise(starts))

    def day_segments(self) -> list[tuple[int, datetime, datetime, int]]:
        """(n, start, stop, UTC offset in minutes) of each local day n, split where the
        offset changes within the day (zones change it at a whole minute, once a day at
        most)."""
        segments = []
        for n, (start, stop) in enumerate(self.day_ranges()):
            offset = self.offset(start)
            if self.offset(stop - MINUTE) != offset:
                # Bisect for the first minute of the new offset.
                same, other = 0, int((stop - start) / MINUTE) - 1
                while other - same > 1:
                    middle = (same + other) // 2
                    if self.offset(start + middle * MINUTE) == offset:
                        same = middle
                    else:
                        other = middle
                change = start + other * MINUTE
                segments.append((n, start, change, offset))
                start, offset = change, self.offset(change)
            segments.append((n, start, stop, offset))
        return segments

    def offset(self, at: datetime) -> int:
        """The zone's UTC offset at `at`, in minutes."""
        utcoffset = at.astimezone(self.zone).utcoffset()
        return int(utcoffset.total_seconds() // 60) if utcoffset is not None else 0

    def bound(self, at: datetime) -> Any:
        """An instant as the database compares it with a stored timestamp (SQLite keeps
        text: '2026-12-01 20:30:00.000000')."""
        if self.dialect == "sqlite":
            return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        return at

    def numbering(
        self, column: Any, *, hours: bool = False
    ) -> tuple[list[Any], Callable[[Select[Any]], Select[Any]]]:
        """For each row, the n of the local day of the period that `column` falls in (and
        with `hours` its local hour, 0–23): the expressions, and what a statement needs for
        them (which also keeps it to the rows of the period: the statement should not bound
        `column` itself, or SQLite searches the index by that bound, the whole period, for
        every segment).

        SQLite: the table of day segments, joined on the (indexed) column. PostgreSQL
        computes them with its own zone data, which a range join would only slow down (its
        planner loops over every range for every row)."""
        if self.dialect == "sqlite":
            segments = self.segments_table()

            def joined(stmt: Select[Any]) -> Select[Any]:
                on = and_(column >= segments.c.start, column < segments.c.stop)
                return stmt.select_from(segments).join(column.table, on)

            if not hours:
                return [segments.c.n], joined
            text = type_coerce(column, String)  # '2026-12-01 20:30:00.000000'
            utc_minute = cast(func.substr(text, 12, 2), Integer) * 60 + cast(
                func.substr(text, 15, 2), Integer
            )
            local_hour = (utc_minute + segments.c.offset + 1440) % 1440 // 60
            return [segments.c.n, local_hour], joined

        def in_period(stmt: Select[Any]) -> Select[Any]:
            return stmt.where(column >= self.start, column < self.end)

        local = func.timezone(self.zone.key, column)
        n = type_coerce(cast(local, Date) - self.since, Integer)
        if not hours:
            return [n], in_period
        return [n, cast(extract("hour", local), Integer)], in_period

    def segments_table(self) -> CTE:
        """SQLite: the day segments as a table: n, start, stop, offset (materialized, so
        that each segment's JSON is read once, not once per row joined to it)."""
        encoded = json.dumps(
            [[self.bound(a), self.bound(b), n, offset] for n, a, b, offset in self.day_segments()]
        )
        rows = func.json_each(encoded).table_valued("value")
        return (
            select(
                func.json_extract(rows.c.value, "$[2]").label("n"),
                func.json_extract(rows.c.value, "$[0]").label("start"),
                func.json_extract(rows.c.value, "$[1]").label("stop"),
                func.json_extract(rows.c.value, "$[3]").label("offset"),
            )
            .cte("day_segments")
            .prefix_with("MATERIALIZED")
        )
