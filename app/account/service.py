"""The account's settings: read by anything that needs them (reports' timezone), written by
an administrator."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.ext.asyncio import AsyncSession

from app.account.models import DEFAULT_TIMEZONE, AccountSettings
from app.db import utcnow
from app.errors import Invalid

ROW_ID = 1


async def current(session: AsyncSession) -> AccountSettings:
    """The settings (their defaults, unsaved, before an administrator first changes one)."""
    row = await session.get(AccountSettings, ROW_ID)
    return row if row is not None else AccountSettings(id=ROW_ID, timezone=DEFAULT_TIMEZONE)


async def timezone(session: AsyncSession) -> ZoneInfo:
    return ZoneInfo((await current(session)).timezone)


def zone(name: str) -> ZoneInfo:
    """The IANA zone of that name, or a 422 (a path-like or unknown name is refused)."""
    try:
        if "/." in name or name.startswith((".", "/")):
            raise ValueError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise Invalid(
            "timezone: not an IANA timezone name (e.g. Asia/Tehran)", code="invalid_timezone"
        ) from exc


async def update(session: AsyncSession, *, timezone_name: str | None) -> AccountSettings:
    row = await session.get(AccountSettings, ROW_ID)
    if row is None:
        row = AccountSettings(id=ROW_ID, timezone=DEFAULT_TIMEZONE)
        session.add(row)
    if timezone_name is not None:
        row.timezone = zone(timezone_name).key
    row.updated_at = utcnow()
    await session.flush()
    return row
