from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.callbacks import service
from app.callbacks.models import CallbackStatus, CallbackView
from app.callbacks.schemas import CallbackOut, CallbackPage, CallbackUpdate
from app.callbacks.windows import business_schedule
from app.deps import ContextDep, CurrentAgent, ReadSession, visible_inbox_ids
from app.fields import Count, DbId, UtcDatetime
from app.inboxes.service import channel_config, get_inbox
from app.tickets.service import decode_cursor, encode_cursor
from connectors.callback.config import CallbackConfig

router = APIRouter(prefix="/api/v1/callbacks", tags=["callbacks"])


@router.get("")
async def list_callbacks(
    agent: CurrentAgent,
    session: ReadSession,
    view: CallbackView | None = None,
    status: CallbackStatus | None = None,
    due_before: UtcDatetime | None = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[Count, Query(ge=1, le=100)] = 50,
) -> CallbackPage:
    """The callback queue, soonest due first. `view`: `due_now` (the window is open),
    `overdue` (the window passed), `scheduled` (later), `done` (completed, no answer,
    cancelled)."""
    rows = await service.list_callbacks(
        session,
        visible=await visible_inbox_ids(session, agent),
        view=view,
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


# An int path (Starlette's convertor): `/callbacks/<token>` is the visitors' form, so a PATCH
# there is a method that path does not have (405), not a bad id.
@router.patch("/{callback_id:int}")
async def update_callback(
    callback_id: DbId, body: CallbackUpdate, agent: CurrentAgent, ctx: ContextDep
) -> CallbackOut:
    async with ctx.db.write() as session:
        visible = await visible_inbox_ids(session, agent)
        callback = await service.get_callback(session, callback_id, visible)
        config = channel_config(await get_inbox(session, callback.inbox_id), ctx.secret_box)
        await service.update_callback(
            session,
            callback,
            agent,
            await business_schedule(
                session,
                callback.inbox_id,
                config if isinstance(config, CallbackConfig) else CallbackConfig(),
            ),
            fields=body.model_fields_set,
            status=body.status,
            scheduled_at=body.scheduled_at,
            assignee_id=body.assignee_id,
            outcome_note=body.outcome_note,
        )
        return CallbackOut.model_validate(callback)
