"""Business hours per inbox: stored as written ({"sat": ["08:00-16:00"]}, holidays as
dates), read back as a `Schedule` (app/hours/schedule.py) for whoever does arithmetic on
them: acknowledgements, SLA clocks, callback scheduling, rules."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import utcnow
from app.hours.models import BusinessHours
from app.hours.schedule import ALWAYS_OPEN, Holiday, Schedule


def holidays_from(rows: Iterable[dict[str, Any]]) -> list[Holiday]:
    return [
        Holiday(
            date.fromisoformat(row["from"]),
            date.fromisoformat(row.get("to") or row["from"]),
            row.get("name") or "",
        )
        for row in rows
    ]


def holidays_to(holidays: Sequence[Holiday]) -> list[dict[str, str]]:
    return [
        {"from": h.first.isoformat(), "to": h.last.isoformat(), "name": h.name} for h in holidays
    ]


def _schedule(row: BusinessHours) -> Schedule:
    return Schedule.build(row.timezone, row.weekly, holidays_from(row.holidays))


async def configured_schedule(session: AsyncSession, inbox_id: int) -> Schedule | None:
    """The inbox's business hours; None when it has none."""
    row = await session.get(BusinessHours, inbox_id)
    return _schedule(row) if row is not None else None


async def schedule_for(session: AsyncSession, inbox_id: int) -> Schedule:
    """The inbox's business hours; ALWAYS_OPEN when it has none."""
    return await configured_schedule(session, inbox_id) or ALWAYS_OPEN


async def schedules_for(session: AsyncSession, inbox_ids: Iterable[int]) -> dict[int, Schedule]:
    """Several inboxes' business hours in one query (ALWAYS_OPEN for those without)."""
    wanted = set(inbox_ids)
    found: dict[int, Schedule] = {}
    if wanted:
        rows = await session.scalars(
            select(BusinessHours).where(BusinessHours.inbox_id.in_(wanted))
        )
        found = {row.inbox_id: _schedule(row) for row in rows}
    return {inbox_id: found.get(inbox_id, ALWAYS_OPEN) for inbox_id in wanted}


async def save_schedule(session: AsyncSession, inbox_id: int, schedule: Schedule) -> None:
    row = await session.get(BusinessHours, inbox_id)
    if row is None:
        row = BusinessHours(inbox_id=inbox_id)
        session.add(row)
    row.timezone = schedule.timezone
    row.weekly = schedule.weekly_texts()
    row.holidays = holidays_to(schedule.holidays)
    row.updated_at = utcnow()
    await session.flush()


async def delete_schedule(session: AsyncSession, inbox_id: int) -> bool:
    row = await session.get(BusinessHours, inbox_id)
    if row is None:
        return False
    await session.delete(row)
    await session.flush()
    return True
