"""Local days and hours of the account's timezone, as ranges of UTC instants.

On SQLite, which knows no zones, Python's zone data turns each local day (or hour) of a
report into its [start, stop) in UTC, and the database counts rows per range by joining a
small table of these ranges (a JSON array bound as one parameter) on an indexed
timestamp: no date function runs per row, and daylight saving time is exact (a local day
is whatever its two midnights say). PostgreSQL converts each row with its own zone data."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import (
    TIMESTAMP,
    Date,
    Integer,
    Select,
    and_,
    cast,
    extract,
    func,
    literal,
    select,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql.selectable import Subquery

HOUR = timedelta(hours=1)


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

    @property
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

    def hour_ranges(self) -> list[tuple[datetime, datetime]]:
        """Each local hour of the period (an hour of UTC each: zones move by whole hours)."""
        count = int((self.end - self.start) / HOUR)
        return [(self.start + n * HOUR, self.start + (n + 1) * HOUR) for n in range(count)]

    def local(self, at: datetime) -> datetime:
        return at.astimezone(self.zone)

    def bound(self, at: datetime) -> Any:
        """An instant as the database compares it with a stored timestamp (SQLite keeps
        text: '2026-12-01 20:30:00.000000')."""
        if self.dialect == "sqlite":
            return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        return at

    def numbering(
        self, unit: Literal["day", "hour"], column: Any
    ) -> tuple[Any, Callable[[Select[Any]], Select[Any]]]:
        """For each row, the n of the local day (or hour) of the period that `column` falls
        in: the expression, and what a statement needs for it (which also keeps it to the
        rows of the period: the statement should not bound `column` itself, or SQLite
        searches the index by that bound, the whole period, for every range).

        SQLite: the table of ranges, joined on the (indexed) column. PostgreSQL computes it
        with its own zone data, which a range join would only slow down (its planner loops
        over every range for every row)."""
        if self.dialect == "sqlite":
            ranges = self.ranges(self.day_ranges() if unit == "day" else self.hour_ranges())

            def joined(stmt: Select[Any]) -> Select[Any]:
                on = and_(column >= ranges.c.start, column < ranges.c.stop)
                return stmt.select_from(ranges).join(column.table, on)

            return ranges.c.n, joined

        def in_period(stmt: Select[Any]) -> Select[Any]:
            return stmt.where(column >= self.start, column < self.end)

        if unit == "day":
            local_day = cast(func.timezone(self.zone.key, column), Date)
            return type_coerce(local_day - self.since, Integer), in_period
        hours = func.floor(extract("epoch", column - self.start) / 3600)
        return cast(hours, Integer), in_period

    def ranges(self, ranges: list[tuple[datetime, datetime]]) -> Subquery:
        """A table of the ranges: n (0, 1, …), start, stop."""
        if self.dialect == "sqlite":
            encoded = json.dumps([[self.bound(a), self.bound(b)] for a, b in ranges])
            rows = func.json_each(encoded).table_valued("key", "value")
            return select(
                rows.c.key.label("n"),
                func.json_extract(rows.c.value, "$[0]").label("start"),
                func.json_extract(rows.c.value, "$[1]").label("stop"),
            ).subquery()
        pairs = [[a.isoformat(), b.isoformat()] for a, b in ranges]
        rows = func.jsonb_array_elements(literal(pairs, JSONB)).table_valued(
            "value", with_ordinality="ordinality"
        )
        return select(
            (rows.c.ordinality - 1).label("n"),
            cast(rows.c.value.op("->>")(0), TIMESTAMP(timezone=True)).label("start"),
            cast(rows.c.value.op("->>")(1), TIMESTAMP(timezone=True)).label("stop"),
        ).subquery()
