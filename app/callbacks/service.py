from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.models import Agent
from app.callbacks.models import OPEN_CALLBACK_STATUSES, CallbackRequest, CallbackStatus
from app.callbacks.schemas import CallbackOut
from app.db import utcnow
from app.errors import Invalid, NotFound
from app.events import log as event_log
from app.events.types import CallbackUpdated
from app.tickets.models import Conversation
from app.tickets.service import record_activity


async def list_callbacks(
    session: AsyncSession,
    *,
    visible: set[int] | None,
    status: CallbackStatus | None,
    due_before: datetime | None,
    after: tuple[datetime, int] | None,
    limit: int,
) -> list[CallbackRequest]:
    """Soonest due first, keyset-paginated on (due_at, id)."""
    stmt = select(CallbackRequest)
    if visible is not None:
        stmt = stmt.where(CallbackRequest.inbox_id.in_(visible))
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
    *,
    fields: set[str],
    status: CallbackStatus | None,
    scheduled_at: datetime | None,
    assignee_id: int | None,
    outcome_note: str | None,
) -> CallbackRequest:
    lines: list[str] = []
    now = utcnow()
    if scheduled_at is not None:
        if scheduled_at <= now:
            raise Invalid("scheduled_at: must be in the future", code="invalid_schedule")
        callback.scheduled_at = scheduled_at
        callback.due_at = scheduled_at
        if status is None and callback.status in OPEN_CALLBACK_STATUSES:
            status = CallbackStatus.scheduled
        lines.append(f"scheduled the callback for {scheduled_at.isoformat()}")
    if status is not None and status != callback.status:
        if status == CallbackStatus.scheduled and callback.scheduled_at is None:
            raise Invalid("scheduled_at: needed to schedule a callback", code="invalid_schedule")
        callback.status = status
        lines.append(f"marked the callback {status.value.replace('_', ' ')}")
    if "assignee_id" in fields and assignee_id != callback.assignee_id:
        if assignee_id is not None:
            assignee = await session.get(Agent, assignee_id)
            if assignee is None or not assignee.is_active:
                raise Invalid("assignee_id: no active agent with that id", code="invalid_assignee")
            lines.append(f"assigned the callback to {assignee.name}")
        else:
            lines.append("unassigned the callback")
        callback.assignee_id = assignee_id
    if outcome_note is not None and outcome_note != callback.outcome_note:
        callback.outcome_note = outcome_note
        lines.append(f"noted: {outcome_note}")
    if not lines:
        return callback
    callback.updated_at = now
    await session.flush()
    if callback.conversation_id is not None:
        conversation = await session.get(Conversation, callback.conversation_id)
        if conversation is not None:
            await record_activity(session, conversation, agent, f"{agent.name} " + "; ".join(lines))
    event_log.record(
        session,
        CallbackUpdated(callback=CallbackOut.model_validate(callback)),
        event_log.Scope(inbox_id=callback.inbox_id, conversation_id=callback.conversation_id),
    )
    return callback
