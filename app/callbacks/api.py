from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.callbacks import service
from app.callbacks.models import CallbackStatus
from app.callbacks.schemas import CallbackOut, CallbackPage, CallbackUpdate
from app.deps import ContextDep, CurrentAgent, ReadSession, visible_inbox_ids
from app.fields import DbId, UtcDatetime
from app.tickets.service import decode_cursor, encode_cursor

router = APIRouter(prefix="/api/v1/callbacks", tags=["callbacks"])


@router.get("")
async def list_callbacks(
    agent: CurrentAgent,
    session: ReadSession,
    status: CallbackStatus | None = None,
    due_before: UtcDatetime | None = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> CallbackPage:
    """The callback queue, soonest due first."""
    rows = await service.list_callbacks(
        session,
        visible=await visible_inbox_ids(session, agent),
        status=status,
        due_before=due_before,
        after=decode_cursor(cursor) if cursor else None,
        limit=limit + 1,
    )
    page = rows[:limit]
    next_cursor = encode_cursor(page[-1].due_at, page[-1].id) if len(rows) > limit else None
    return CallbackPage(
        items=[CallbackOut.model_validate(c) for c in page], next_cursor=next_cursor
    )


@router.patch("/{callback_id}")
async def update_callback(
    callback_id: DbId, body: CallbackUpdate, agent: CurrentAgent, ctx: ContextDep
) -> CallbackOut:
    async with ctx.db.write() as session:
        visible = await visible_inbox_ids(session, agent)
        callback = await service.get_callback(session, callback_id, visible)
        await service.update_callback(
            session,
            callback,
            agent,
            fields=body.model_fields_set,
            status=body.status,
            scheduled_at=body.scheduled_at,
            assignee_id=body.assignee_id,
            outcome_note=body.outcome_note,
        )
        return CallbackOut.model_validate(callback)
