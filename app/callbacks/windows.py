"""Preferred call windows: reading them in the visitor's timezone and checking them against
the business's hours (the inbox's business hours, app/hours)."""

from __future__ import annotations

import functools
import zoneinfo
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from app.hours.schedule import ALWAYS_OPEN, Schedule
from app.hours.service import configured_schedule
from connectors.callback.config import CallbackConfig

# Clocks drift and forms take a while to fill: a window that started this long ago is
# still "now", not "in the past".
START_GRACE = timedelta(minutes=5)
DEFAULT_LENGTH = timedelta(hours=1)
# A window starting on the horizon's last day may end on the next.
MAX_LENGTH = timedelta(days=1)


class WindowError(ValueError):
    """A window a person must correct; the message says how, in a sentence a website's
    visitor reads next to the form's time fields (no field names)."""


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
        raise WindowError("This date is out of range; please pick another.") from exc


def weekly_schedule(timezone: str, business_hours: dict[str, str]) -> Schedule:
    """Hours in a channel's own settings, one range per weekday (`"mon": "09:00-17:00"`), as
    callback inboxes had them before inboxes had business hours of their own (and voice
    inboxes have them); none: any time."""
    if not business_hours:
        return ALWAYS_OPEN
    weekly = {day: [hours] for day, hours in business_hours.items()}
    return Schedule.build(timezone, weekly)


def legacy_schedule(config: CallbackConfig) -> Schedule:
    return weekly_schedule(config.timezone, config.business_hours)


async def business_schedule(
    session: AsyncSession, inbox_id: int, config: CallbackConfig
) -> Schedule:
    """When the business calls: the inbox's business hours (app/hours), else those in its
    callback settings."""
    return await configured_schedule(session, inbox_id) or legacy_schedule(config)


def checked_window(
    preferred_from: datetime | None,
    preferred_to: datetime | None,
    *,
    now: datetime,
    horizon: timedelta,
    schedule: Schedule,
) -> tuple[datetime | None, datetime | None]:
    """The window as stored (UTC; an open end filled in), or WindowError."""
    if preferred_from is None and preferred_to is None:
        return None, None
    start = preferred_from or now
    # Checked before any arithmetic on the times: far-off dates cannot overflow below.
    if start > now + horizon:
        raise WindowError(f"Please pick a time within the next {horizon.days} days.")
    if preferred_to is not None and preferred_to > now + horizon + MAX_LENGTH:
        raise WindowError(f"Please pick a time within the next {horizon.days} days.")
    end = preferred_to or start + DEFAULT_LENGTH
    if end <= start:
        raise WindowError("The end of the time must be after its start.")
    if end <= now or start < now - START_GRACE:
        raise WindowError("Please pick a time in the future.")
    if schedule.business_seconds_between(start, end) <= 0:
        raise WindowError(f"This time is outside business hours ({schedule.describe()}).")
    return start, end
