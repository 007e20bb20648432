"""Local days and hours of the account's timezone, as ranges of UTC instants.

Python's zone data turns each local day (or hour) of a report into its [start, stop) in
UTC; the database then counts rows per range by joining a small table of these ranges
(a JSON array bound as one parameter) on an indexed timestamp. No per-row date function
runs, on either database, and daylight saving time is exact: a local day is whatever its
two midnights say."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import TIMESTAMP, cast, func, literal, select
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
