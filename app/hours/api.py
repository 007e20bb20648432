"""Business hours of an inbox: GET (its agents), PUT and DELETE (administrators)."""

from __future__ import annotations

from fastapi import APIRouter, status

from app.audit import service as audit
from app.audit.api import Auditor
from app.db import utcnow
from app.deps import AdminAgent, ContextDep, CurrentAgent, ReadSession, visible_inbox_ids
from app.errors import NotFound, refused
from app.fields import DbId
from app.hours import service
from app.hours.schedule import ALWAYS_OPEN, Holiday, Schedule, ScheduleError
from app.hours.schemas import BusinessHoursIn, BusinessHoursOut, HolidayOut
from app.inboxes.service import get_inbox

router = APIRouter(prefix="/api/v1/inboxes", tags=["business hours"])


def _out(inbox_id: int, schedule: Schedule | None) -> BusinessHoursOut:
    shown = schedule or ALWAYS_OPEN
    now = utcnow()
    return BusinessHoursOut(
        inbox_id=inbox_id,
        configured=schedule is not None,
        timezone=shown.timezone,
        weekly=shown.weekly_texts(),
        holidays=[HolidayOut(first=h.first, last=h.last, name=h.name) for h in shown.holidays],
        open_now=shown.is_open(now),
        next_open_at=shown.next_open(now),
    )


def parse_schedule(body: BusinessHoursIn) -> Schedule:
    try:
        return Schedule.build(body.timezone, body.weekly, _holidays(body))
    except ScheduleError as exc:
        raise refused(exc, "invalid_business_hours") from exc


def _holidays(body: BusinessHoursIn) -> list[Holiday]:
    holidays = []
    for index, holiday in enumerate(body.holidays):
        try:
            holidays.append(
                Holiday(holiday.first, holiday.last or holiday.first, holiday.name.strip())
            )
        except ScheduleError as exc:
            exc.where = ("holidays", index)  # which of the list: a Holiday cannot know
            raise
    return holidays


@router.get("/{inbox_id}/business-hours")
async def get_business_hours(
    inbox_id: DbId, agent: CurrentAgent, session: ReadSession
) -> BusinessHoursOut:
    """When the inbox's team works; `configured: false` means always (no hours set)."""
    visible = await visible_inbox_ids(session, agent)
    if visible is not None and inbox_id not in visible:
        raise NotFound("inbox not found")
    await get_inbox(session, inbox_id)
    return _out(inbox_id, await service.configured_schedule(session, inbox_id))


@router.put("/{inbox_id}/business-hours")
async def put_business_hours(
    inbox_id: DbId, body: BusinessHoursIn, _admin: AdminAgent, who: Auditor, ctx: ContextDep
) -> BusinessHoursOut:
    """Set the inbox's business hours: an IANA timezone, intervals per weekday, holidays
    (dates in that timezone; Persian digits are read too). 422 `invalid_business_hours`
    says what to correct; its `errors[0]` names the rule (`type`: `not_a_range`,
    `end_not_after_start`, `overlap`, `never_open`, `unknown_weekday`, `unknown_timezone`,
    `holiday_ends_before_start`, `holiday_too_long`) and where (`loc`, e.g. `["body",
    "weekly", "sat"]`)."""
    schedule = parse_schedule(body)
    async with ctx.db.write() as session:
        await get_inbox(session, inbox_id)
        await service.save_schedule(session, inbox_id, schedule)
        audit.record(session, who, "business_hours.updated", ("inbox", inbox_id), body)
    return _out(inbox_id, schedule)


@router.delete("/{inbox_id}/business-hours", status_code=status.HTTP_204_NO_CONTENT)
async def delete_business_hours(
    inbox_id: DbId, _admin: AdminAgent, who: Auditor, ctx: ContextDep
) -> None:
    """Remove the inbox's business hours: it is always open."""
    async with ctx.db.write() as session:
        await get_inbox(session, inbox_id)
        await service.delete_schedule(session, inbox_id)
        audit.record(session, who, "business_hours.deleted", ("inbox", inbox_id))
