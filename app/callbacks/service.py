from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.models import Agent
from app.callbacks.models import (
    DONE_CALLBACK_STATUSES,
    OPEN_CALLBACK_STATUSES,
    CallbackRequest,
    CallbackStatus,
    CallbackView,
)
from app.callbacks.schemas import CallbackOut
from app.contacts.models import ContactIdentity
from app.db import utcnow
from app.errors import Invalid, NotFound
from app.events import log as event_log
from app.events.types import CallbackCreated, CallbackDue, CallbackUpdated
from app.hours.schedule import Schedule
from app.inbound.ingest import InboxRef, IngestPolicy, ingest
from app.inboxes.models import Inbox, InboxKind
from app.tickets.messages import add_message
from app.tickets.models import Conversation
from app.tickets.service import outreach_conversation, record_activity
from connectors.base import Address, AddressKind, InboundMessage, Party

log = logging.getLogger(__name__)

MISSED_WITHOUT_WINDOW = timedelta(hours=1)
# After "no answer", try again this much later (moved into business hours).
RETRY_AFTER_NO_ANSWER = timedelta(hours=2)
# How far ahead an agent may schedule a call (and, past the calendar's end, no overflow).
SCHEDULE_HORIZON = timedelta(days=366)


async def list_callbacks(
    session: AsyncSession,
    *,
    visible: set[int] | None,
    view: CallbackView | None,
    status: CallbackStatus | None,
    due_before: datetime | None,
    after: tuple[datetime, int] | None,
    limit: int,
) -> list[CallbackRequest]:
    """Soonest due first, keyset-paginated on (due_at, id)."""
    stmt = select(CallbackRequest)
    if visible is not None:
        stmt = stmt.where(CallbackRequest.inbox_id.in_(visible))
    if view is not None:
        stmt = stmt.where(*_in_view(view, utcnow()))
    if status is not None:
        stmt = stmt.where(CallbackRequest.status == status)
    if due_before is not None:
        stmt = stmt.where(CallbackRequest.due_at <= due_before)
    if after is not None:
        at, id_ = after
        stmt = stmt.where(
            or_(
                CallbackRequest.due_at > at,
                and_(CallbackRequest.due_at == at, CallbackRequest.id > id_),
            )
        )
    stmt = stmt.order_by(CallbackRequest.due_at, CallbackRequest.id).limit(limit)
    return list((await session.scalars(stmt)).all())


def _in_view(view: CallbackView, now: datetime) -> list[ColumnElement[bool]]:
    if view == CallbackView.done:
        return [CallbackRequest.status.in_(DONE_CALLBACK_STATUSES)]
    is_open = CallbackRequest.status.in_(OPEN_CALLBACK_STATUSES)
    if view == CallbackView.due_now:
        return [is_open, CallbackRequest.due_at <= now, CallbackRequest.missed_after >= now]
    if view == CallbackView.overdue:
        return [is_open, CallbackRequest.missed_after < now]
    return [is_open, CallbackRequest.due_at > now]


async def get_callback(
    session: AsyncSession, callback_id: int, visible: set[int] | None
) -> CallbackRequest:
    callback = await session.get(CallbackRequest, callback_id)
    if callback is None or (visible is not None and callback.inbox_id not in visible):
        raise NotFound("callback request not found")
    return callback


async def update_callback(
    session: AsyncSession,
    callback: CallbackRequest,
    agent: Agent,
    schedule: Schedule,
    *,
    fields: set[str],
    status: CallbackStatus | None,
    scheduled_at: datetime | None,
    assignee_id: int | None,
    outcome_note: str | None,
) -> CallbackRequest:
    lines: list[str] = []  # the activity line, in English
    changes: list[dict[str, Any]] = []  # the same, for a console in another language
    now = utcnow()
    if scheduled_at is not None:
        if scheduled_at <= now:
            raise Invalid("scheduled_at: must be in the future", code="invalid_schedule")
        if scheduled_at > now + SCHEDULE_HORIZON:
            raise Invalid("scheduled_at: must be within the next year", code="invalid_schedule")
        callback.scheduled_at = scheduled_at
        _set_due(callback, scheduled_at, None)
        callback.retry_suggested_at = None
        if status is None or status == CallbackStatus.no_answer:
            status = CallbackStatus.scheduled
        lines.append(f"scheduled the callback for {scheduled_at.isoformat()}")
        changes.append({"change": "scheduled", "at": scheduled_at.isoformat()})
    if status is not None and status != callback.status:
        if status == CallbackStatus.scheduled and callback.scheduled_at is None:
            raise Invalid("scheduled_at: needed to schedule a callback", code="invalid_schedule")
        callback.status = status
        lines.append(f"marked the callback {status.value.replace('_', ' ')}")
        changes.append({"change": "status", "status": status.value})
        if status == CallbackStatus.no_answer:
            callback.retry_suggested_at = schedule.next_open(now + RETRY_AFTER_NO_ANSWER)
            lines.append(f"suggested trying again at {callback.retry_suggested_at.isoformat()}")
            changes.append(
                {"change": "retry_suggested", "at": callback.retry_suggested_at.isoformat()}
            )
    if "assignee_id" in fields and assignee_id != callback.assignee_id:
        if assignee_id is not None:
            assignee = await session.get(Agent, assignee_id)
            if assignee is None or not assignee.is_active:
                raise Invalid("assignee_id: no active agent with that id", code="invalid_assignee")
            lines.append(f"assigned the callback to {assignee.name}")
            changes.append(
                {"change": "assignee", "assignee": {"id": assignee.id, "name": assignee.name}}
            )
        else:
            lines.append("unassigned the callback")
            changes.append({"change": "assignee", "assignee": None})
        callback.assignee_id = assignee_id
    if outcome_note is not None and outcome_note != callback.outcome_note:
        callback.outcome_note = outcome_note
        lines.append(f"noted: {outcome_note}")
        changes.append({"change": "note", "note": outcome_note})
    if not lines:
        return callback
    callback.updated_at = now
    await session.flush()
    if callback.conversation_id is not None:
        conversation = await session.get(Conversation, callback.conversation_id)
        if conversation is not None:
            await record_activity(
                session,
                conversation,
                agent,
                f"{agent.name} " + "; ".join(lines),
                {"action": "callback", "changes": changes},
            )
    event_log.record(
        session,
        CallbackUpdated(callback=CallbackOut.model_validate(callback)),
        event_log.Scope(inbox_id=callback.inbox_id, conversation_id=callback.conversation_id),
    )
    return callback


@dataclass(frozen=True, slots=True)
class RequestedCallback:
    """A visitor's request, validated: the phone in E.164, the window in UTC."""

    name: str
    phone_e164: str
    preferred_from: datetime | None
    preferred_to: datetime | None
    timezone: str
    note: str | None
    page_url: str | None


def _when(callback: RequestedCallback) -> str:
    if callback.preferred_from is None or callback.preferred_to is None:
        return "as soon as possible"
    zone = ZoneInfo(callback.timezone)
    start = callback.preferred_from.astimezone(zone)
    end = callback.preferred_to.astimezone(zone)
    day = start.strftime("%a %d %b %Y")
    return f"{day} between {start:%H:%M} and {end:%H:%M} ({callback.timezone})"


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


def _summary(callback: RequestedCallback) -> str:
    lines = [f"Callback requested by {callback.name} at {callback.phone_e164}, {_when(callback)}."]
    if callback.note:
        lines.append(f"Note: {callback.note}")
    if callback.page_url:
        lines.append(f"From the page {callback.page_url}")
    return "\n".join(lines)


def _set_due(callback: CallbackRequest, due_at: datetime, window_end: datetime | None) -> None:
    """Due from `due_at`, missed after the window's end (or an hour); announced afresh."""
    callback.due_at = due_at
    callback.missed_after = window_end or due_at + MISSED_WITHOUT_WINDOW
    callback.due_announced_at = None
    callback.missed_announced_at = None


def _created_event(session: AsyncSession, callback: CallbackRequest) -> None:
    event_log.record(
        session,
        CallbackCreated(callback=CallbackOut.model_validate(callback)),
        event_log.Scope(inbox_id=callback.inbox_id, conversation_id=callback.conversation_id),
    )


async def request_callback(
    session: AsyncSession,
    inbox: InboxRef,
    request: RequestedCallback,
    *,
    merge_window: timedelta,
    policy: IngestPolicy,
) -> tuple[CallbackRequest, bool]:
    """Record a request and open (or continue) the contact's conversation in the callback
    inbox, so the agent sees the customer's whole history before calling. A request for a
    number that already has an open one from the last `merge_window` is merged into it.
    Returns the request and whether it was merged."""
    now = utcnow()
    existing = await session.scalar(
        select(CallbackRequest)
        .where(
            CallbackRequest.inbox_id == inbox.id,
            CallbackRequest.phone_e164 == request.phone_e164,
            CallbackRequest.status.in_(OPEN_CALLBACK_STATUSES),
            CallbackRequest.created_at >= now - merge_window,
        )
        .order_by(CallbackRequest.id.desc())
        .limit(1)
        .with_for_update()
    )
    message = InboundMessage(
        external_id=f"callback-request:{uuid.uuid4().hex}",
        sender=Party(Address(AddressKind.phone, request.phone_e164), name=request.name),
        sent_at=now,
        text=_summary(request),
        thread_key=None,
        # The request's facts, so the console says the summary in the agent's language
        # and calendar (the text is the English version, for everything else).
        metadata={
            "callback_request": {
                "name": request.name,
                "phone": request.phone_e164,
                "preferred_from": _iso(request.preferred_from),
                "preferred_to": _iso(request.preferred_to),
                "timezone": request.timezone,
                "note": request.note,
                "page_url": request.page_url,
            }
        },
    )
    stored = await ingest(session, inbox, message, policy)
    if existing is not None:
        if request.note:
            existing.note = f"{existing.note}\n{request.note}" if existing.note else request.note
        if request.preferred_from is not None and existing.status == CallbackStatus.requested:
            existing.preferred_from = request.preferred_from
            existing.preferred_to = request.preferred_to
            existing.timezone = request.timezone
            _set_due(existing, request.preferred_from, request.preferred_to)
        existing.updated_at = now
        await session.flush()
        event_log.record(
            session,
            CallbackUpdated(callback=CallbackOut.model_validate(existing)),
            event_log.Scope(inbox_id=existing.inbox_id, conversation_id=existing.conversation_id),
        )
        return existing, True
    conversation = await session.get(Conversation, stored.conversation_id)
    if conversation is None:  # pragma: no cover - ingest just stored it
        raise RuntimeError("the callback's conversation vanished")
    callback = CallbackRequest(
        inbox_id=inbox.id,
        contact_id=conversation.contact_id,
        conversation_id=conversation.id,
        name=request.name,
        phone_e164=request.phone_e164,
        preferred_from=request.preferred_from,
        preferred_to=request.preferred_to,
        timezone=request.timezone,
        note=request.note,
        page_url=request.page_url,
        status=CallbackStatus.requested,
        created_at=now,
        updated_at=now,
    )
    _set_due(callback, request.preferred_from or now, request.preferred_to)
    session.add(callback)
    await session.flush()
    _created_event(session, callback)
    return callback, False


async def confirm_by_sms(
    session: AsyncSession, callback: CallbackRequest, request: RequestedCallback, sms_inbox_id: int
) -> bool:
    """Queue the customer's confirmation ("We'll call you…") on an SMS inbox, through the
    normal delivery path. False when that inbox is not an enabled SMS inbox."""
    inbox = await session.get(Inbox, sms_inbox_id)
    if inbox is None or inbox.kind != InboxKind.sms or not inbox.enabled:
        log.warning(
            "callback inbox %d: confirm_by_sms_inbox_id %d is not an enabled SMS inbox",
            callback.inbox_id,
            sms_inbox_id,
        )
        return False
    identity = await session.scalar(
        select(ContactIdentity).where(
            ContactIdentity.kind == AddressKind.phone,
            ContactIdentity.address == callback.phone_e164,
        )
    )
    if identity is None:  # pragma: no cover - the request's ingest created it
        return False
    conversation = await outreach_conversation(
        session, inbox_id=inbox.id, contact_id=identity.contact_id, identity_id=identity.id
    )
    await add_message(
        session,
        conversation,
        None,
        body=f"Thank you, {request.name}. We will call you {_when(request)}.",
        private=False,
    )
    return True


async def announce_due(session: AsyncSession, now: datetime) -> int:
    """`callback.due` for each open request whose time has come, and again for each one
    missed; each fires once per schedule. Returns how many were announced."""
    opened = (
        await session.scalars(
            select(CallbackRequest)
            .where(
                CallbackRequest.status.in_(OPEN_CALLBACK_STATUSES),
                CallbackRequest.due_announced_at.is_(None),
                CallbackRequest.due_at <= now,
            )
            .limit(500)
            .with_for_update(skip_locked=True)
        )
    ).all()
    missed = (
        await session.scalars(
            select(CallbackRequest)
            .where(
                CallbackRequest.status.in_(OPEN_CALLBACK_STATUSES),
                CallbackRequest.missed_announced_at.is_(None),
                CallbackRequest.missed_after < now,
            )
            .limit(500)
            .with_for_update(skip_locked=True)
        )
    ).all()
    # A request found missed before its opening was announced gets the "missed" one only.
    announcements = [(c, False) for c in opened if c not in missed] + [(c, True) for c in missed]
    for callback, was_missed in announcements:
        callback.due_announced_at = callback.due_announced_at or now
        if was_missed:
            callback.missed_announced_at = now
    await session.flush()
    for callback, was_missed in announcements:
        event_log.record(
            session,
            CallbackDue(callback=CallbackOut.model_validate(callback), missed=was_missed),
            event_log.Scope(inbox_id=callback.inbox_id, conversation_id=callback.conversation_id),
        )
    return len(announcements)


async def request_after_missed_call(
    session: AsyncSession,
    *,
    inbox_id: int,
    contact_id: int,
    conversation_id: int,
    name: str,
    phone_e164: str,
    due_at: datetime,
    note: str,
) -> tuple[CallbackRequest, bool]:
    """A missed call becomes a callback request, due at `due_at`, in the call's inbox and
    conversation; an open request for the number (asked from the website, or an earlier
    missed call) takes it instead, with `note` added. Returns it and whether it merged."""
    now = utcnow()
    existing = await session.scalar(
        select(CallbackRequest)
        .where(
            CallbackRequest.phone_e164 == phone_e164,
            CallbackRequest.status.in_(OPEN_CALLBACK_STATUSES),
        )
        .order_by(CallbackRequest.id.desc())
        .limit(1)
        .with_for_update()
    )
    if existing is not None:
        existing.note = f"{existing.note}\n{note}" if existing.note else note
        existing.updated_at = now
        await session.flush()
        event_log.record(
            session,
            CallbackUpdated(callback=CallbackOut.model_validate(existing)),
            event_log.Scope(inbox_id=existing.inbox_id, conversation_id=existing.conversation_id),
        )
        return existing, True
    callback = CallbackRequest(
        inbox_id=inbox_id,
        contact_id=contact_id,
        conversation_id=conversation_id,
        name=name,
        phone_e164=phone_e164,
        timezone=None,
        note=note,
        status=CallbackStatus.requested,
        created_at=now,
        updated_at=now,
    )
    _set_due(callback, due_at, None)
    session.add(callback)
    await session.flush()
    _created_event(session, callback)
    return callback, False
