from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Query, UploadFile, status
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.models import Agent
from app.context import Context
from app.deps import ContextDep, CurrentAgent, ReadSession, require_conversation, visible_inbox_ids
from app.errors import NotFound, PayloadTooLarge
from app.fields import Count, DbId, SafeStr, UtcDatetime
from app.inboxes.models import InboxKind
from app.openapi import FILE_RESPONSE
from app.tickets import messages, service
from app.tickets.models import Attachment, Conversation, Message, Status
from app.tickets.schemas import (
    AttachmentOut,
    ConversationOut,
    ConversationPage,
    ConversationUpdate,
    MessageCreate,
    MessageOut,
    MessagePage,
)
from app.tickets.shapes import (
    attachment_out,
    conversation_view,
    conversation_views,
    message_views,
)

router = APIRouter(prefix="/api/v1", tags=["conversations"])


@router.get("/conversations")
async def list_conversations(
    agent: CurrentAgent,
    session: ReadSession,
    status_: Annotated[Status | None, Query(alias="status")] = None,
    inbox_id: DbId | None = None,
    channel: InboxKind | None = None,
    assignee: Annotated[str | None, Query(pattern=r"^(me|unassigned|\d+)$")] = None,
    label: Annotated[SafeStr | None, Query(max_length=100)] = None,
    q: Annotated[SafeStr | None, Query(min_length=1, max_length=200)] = None,
    updated_since: UtcDatetime | None = None,
    sla: service.SlaFilter | None = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[Count, Query(ge=1, le=100)] = 25,
) -> ConversationPage:
    """Newest activity first. Pass `next_cursor` back as `cursor` for the next page."""
    filters = service.ConversationFilter(
        status=status_,
        inbox_id=inbox_id,
        channel=channel,
        assignee=assignee,
        label=label,
        q=q,
        updated_since=updated_since,
        sla=sla,
    )
    page, next_cursor = await service.list_conversations(
        session,
        agent,
        filters,
        visible=await visible_inbox_ids(session, agent),
        cursor=cursor,
        limit=limit,
    )
    return ConversationPage(items=await conversation_views(session, page), next_cursor=next_cursor)


@router.get("/conversations/{conversation_id}")
async def get_conversation(
    conversation_id: DbId, agent: CurrentAgent, session: ReadSession
) -> ConversationOut:
    conversation = await require_conversation(session, agent, conversation_id)
    return await conversation_view(session, conversation)


@router.patch("/conversations/{conversation_id}")
async def update_conversation(
    conversation_id: DbId, body: ConversationUpdate, agent: CurrentAgent, ctx: ContextDep
) -> ConversationOut:
    async with ctx.db.write() as session:
        conversation = await require_conversation(session, agent, conversation_id)
        await service.update_conversation(
            session,
            conversation,
            agent,
            fields=body.model_fields_set,
            status=body.status,
            assignee_id=body.assignee_id,
            team_id=body.team_id,
            priority=body.priority,
            labels=body.labels,
            snoozed_until=body.snoozed_until,
        )
        return await conversation_view(session, conversation)


@router.post("/conversations/{conversation_id}/read", status_code=status.HTTP_204_NO_CONTENT)
async def mark_read(conversation_id: DbId, agent: CurrentAgent, ctx: ContextDep) -> None:
    async with ctx.db.write() as session:
        conversation = await require_conversation(session, agent, conversation_id)
        await service.mark_read(session, conversation)


@router.get("/conversations/{conversation_id}/messages")
async def list_messages(
    conversation_id: DbId,
    agent: CurrentAgent,
    session: ReadSession,
    before: DbId | None = None,
    limit: Annotated[Count, Query(ge=1, le=200)] = 50,
) -> MessagePage:
    """Oldest to newest; `before` (a message id) pages back in time."""
    await require_conversation(session, agent, conversation_id)
    page, more = await messages.list_messages(session, conversation_id, before=before, limit=limit)
    return MessagePage(items=await message_views(session, page), has_more=more)


@router.post("/conversations/{conversation_id}/messages", status_code=status.HTTP_201_CREATED)
async def add_message(
    conversation_id: DbId, body: MessageCreate, agent: CurrentAgent, ctx: ContextDep
) -> MessageOut:
    """A reply, sent by the delivery worker on the conversation's own channel (or, in a
    merged conversation, on that of `via_conversation_id`), or a private note
    (`private: true`), which is never sent."""
    async with ctx.db.write() as session:
        conversation = await require_conversation(session, agent, conversation_id)
        message = await messages.add_message(
            session,
            conversation,
            agent,
            body=body.body,
            private=body.private,
            attachment_ids=body.attachment_ids,
            via=await messages.reply_channel(session, conversation, body.via_conversation_id),
        )
        (view,) = await message_views(session, [message])
    if not body.private:
        ctx.outbox_ready.set()
    return view


@router.post(
    "/conversations/{conversation_id}/attachments",
    status_code=status.HTTP_201_CREATED,
    responses={413: {"description": "the file is over PANJEREH_MAX_ATTACHMENT_BYTES"}},
)
async def upload_attachment(
    conversation_id: DbId, file: UploadFile, agent: CurrentAgent, ctx: ContextDep
) -> AttachmentOut:
    """A file for a reply or note of this conversation: upload it, then name its id in
    `attachment_ids` when posting the message (one left unused is removed after a day)."""
    limit = ctx.settings.max_attachment_bytes
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLarge(f"the file is over the {limit}-byte limit")
    async with ctx.db.write() as session:
        conversation = await require_conversation(session, agent, conversation_id)
        attachment = await messages.upload(
            session,
            ctx.files,
            conversation,
            data=data,
            filename=file.filename or "attachment",
            content_type=file.content_type or "application/octet-stream",
        )
    return attachment_out(attachment)


async def _visible_message(
    session: AsyncSession, agent: Agent, message_id: int
) -> tuple[Message, Conversation]:
    """The message, and its conversation, if the agent may see them."""
    message = await session.get(Message, message_id)
    if message is None:
        raise NotFound("message not found")
    return message, await require_conversation(session, agent, message.conversation_id)


@router.post("/messages/{message_id}/retry")
async def retry_message(message_id: DbId, agent: CurrentAgent, ctx: ContextDep) -> MessageOut:
    async with ctx.db.write() as session:
        message, conversation = await _visible_message(session, agent, message_id)
        # A retryable reply that the channel can carry, or a 422.
        await messages.retry_message(session, conversation, message)
        (view,) = await message_views(session, [message])
    ctx.outbox_ready.set()
    return view


@router.get(
    "/attachments/{attachment_id}",
    response_class=Response,
    responses=FILE_RESPONSE,
)
async def download_attachment(
    attachment_id: DbId, agent: CurrentAgent, session: ReadSession, ctx: ContextDep
) -> Response:
    attachment = await session.get(Attachment, attachment_id)
    if attachment is None:
        raise NotFound("attachment not found")
    if attachment.message_id is not None:
        await _visible_message(session, agent, attachment.message_id)  # or a 404
    elif attachment.conversation_id is not None:
        await require_conversation(session, agent, attachment.conversation_id)
    else:  # pragma: no cover - every attachment has one or the other
        raise NotFound("attachment not found")
    return await attachment_response(ctx, attachment)


async def attachment_response(ctx: Context, attachment: Attachment) -> Response:
    """The attachment's file for someone allowed to see it (an agent, or the visitor whose
    conversation it is)."""
    if attachment.sha256 is None:
        raise NotFound(attachment.note or "the file of this attachment was not stored")
    data = await asyncio.to_thread(ctx.files.read, attachment.sha256)
    # Served as a download with a sniff-proof type, so a hostile file can't run as a page.
    return Response(
        data,
        media_type=attachment.content_type,
        headers={
            "Content-Disposition": _content_disposition(attachment.filename),
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox",
        },
    )


def _content_disposition(filename: str) -> str:
    from urllib.parse import quote

    ascii_name = filename.encode("ascii", "replace").decode().replace('"', "'").replace("\\", "_")
    ascii_name = "".join(c if c.isprintable() else "_" for c in ascii_name)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
