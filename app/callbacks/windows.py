"""Preferred call windows: reading them in the visitor's timezone, checking them against
the business's hours, and finding the next time the business calls."""

from __future__ import annotations

import functools
import zoneinfo
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from connectors.callback.config import WEEKDAYS

# Clocks drift and forms take a while to fill: a window that started this long ago is
# still "now", not "in the past".
START_GRACE = timedelta(minutes=5)
DEFAULT_LENGTH = timedelta(hours=1)
# A window starting on the horizon's last day may end on the next.
MAX_LENGTH = timedelta(days=1)


class WindowError(ValueError):
    """A window a person must correct; the message says how."""


@functools.cache
def _countries_by_zone() -> dict[str, str]:
    """IANA zone → ISO 3166 country, from the tz database's zone.tab (one country per zone;
    empty if this system has none)."""
    for root in zoneinfo.TZPATH:
        try:
            lines = (Path(root) / "zone.tab").read_text(encoding="utf-8").splitlines()
        except OSError:
            continue
        rows = (line.split("\t") for line in lines if line and not line.startswith("#"))
        return {row[2]: row[0] for row in rows if len(row) >= 3}
    return {}


def country_of(timezone: str) -> str | None:
    """The country a timezone belongs to (`Asia/Tehran` → `IR`), or None (`UTC`)."""
    return _countries_by_zone().get(timezone)


def as_utc(value: datetime, zone: ZoneInfo) -> datetime:
    """A time from a form: with an offset it is exact; without one it is wall-clock time in
    the visitor's timezone."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:  # year 1 or 9999 shifted out of the calendar
        raise WindowError("preferred_from/preferred_to: the date is out of range") from exc


def _opening_hours(
    day: datetime, hours: dict[str, str], zone: ZoneInfo
) -> tuple[datetime, datetime] | None:
    spec = hours.get(WEEKDAYS[day.weekday()])
    if spec is None:
        return None
    start, end = spec.split("-")
    opens = datetime.combine(day.date(), time.fromisoformat(start), tzinfo=zone)
    closes = (
        datetime.combine(day.date() + timedelta(days=1), time(0), tzinfo=zone)
        if end == "24:00"
        else datetime.combine(day.date(), time.fromisoformat(end), tzinfo=zone)
    )
    return opens.astimezone(UTC), closes.astimezone(UTC)


def _days(start: datetime, end: datetime, zone: ZoneInfo) -> list[datetime]:
    first = start.astimezone(zone)
    last = end.astimezone(zone)
    count = (last.date() - first.date()).days + 1
    return [first + timedelta(days=i) for i in range(min(count, 370))]


def overlaps_hours(start: datetime, end: datetime, hours: dict[str, str], zone: ZoneInfo) -> bool:
    if not hours:
        return True
    for day in _days(start, end, zone):
        opening = _opening_hours(day, hours, zone)
        if opening is not None and opening[0] < end and start < opening[1]:
            return True
    return False


def next_open(at: datetime, hours: dict[str, str], zone: ZoneInfo) -> datetime:
    """`at`, or the next moment after it when the business is open."""
    if not hours:
        return at
    for day in _days(at, at + timedelta(days=8), zone):
        opening = _opening_hours(day, hours, zone)
        if opening is not None and at < opening[1]:
            return max(at, opening[0])
    return at  # open on no day at all: the settings validator forbids it in practice


def checked_window(
    preferred_from: datetime | None,
    preferred_to: datetime | None,
    *,
    now: datetime,
    horizon: timedelta,
    hours: dict[str, str],
    business_zone: ZoneInfo,
) -> tuple[datetime | None, datetime | None]:
    """The window as stored (UTC; an open end filled in), or WindowError."""
    if preferred_from is None and preferred_to is None:
        return None, None
    start = preferred_from or now
    # Checked before any arithmetic on the times: far-off dates cannot overflow below.
    if start > now + horizon:
        raise WindowError(f"preferred_from: must be within the next {horizon.days} days")
    if preferred_to is not None and preferred_to > now + horizon + MAX_LENGTH:
        raise WindowError(f"preferred_to: must be within the next {horizon.days} days")
    end = preferred_to or start + DEFAULT_LENGTH
    if end <= start:
        raise WindowError("preferred_to: must be after preferred_from")
    if end <= now or start < now - START_GRACE:
        raise WindowError("preferred_from: the window must be in the future")
    if not overlaps_hours(start, end, hours, business_zone):
        opening = ", ".join(f"{day} {hours[day]}" for day in WEEKDAYS if day in hours)
        raise WindowError(
            f"preferred_from: the window is outside business hours ({opening}, {business_zone.key})"
        )
    return start, end
