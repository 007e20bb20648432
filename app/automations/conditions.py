"""Condition fields that read other features: `business_hours` (app/hours)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.hours.schedule import Schedule
from app.hours.service import schedule_for

# The inboxes' hours, read once per transaction (a consumer round tests many events).
_SCHEDULES = "automations.schedules"


async def business_hours(session: AsyncSession, inbox_id: int | None, at: datetime) -> str | None:
    """`open` or `closed`: the inbox's business hours at `at` (an inbox without hours is
    always open); None for an event of no inbox (a customer event)."""
    if inbox_id is None:
        return None
    schedules: dict[int, Schedule] = session.info.setdefault(_SCHEDULES, {})
    if inbox_id not in schedules:
        schedules[inbox_id] = await schedule_for(session, inbox_id)
    return "open" if schedules[inbox_id].is_open(at) else "closed"
