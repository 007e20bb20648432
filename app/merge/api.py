from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.api import Auditor
from app.contacts.models import ContactIdentity
from app.deps import ContextDep, CurrentAgent, ReadSession, require_conversation, visible_inbox_ids
from app.errors import NotFound
from app.fields import DbId
from app.inboxes.models import Inbox
from app.merge import service
from app.merge.models import ConversationMerge
from app.merge.schemas import (
    DuplicateOut,
    MergeCreate,
    MergeOut,
    MergeResult,
    ReplyChannel,
    SplitCreate,
    SplitResult,
)
from app.tickets.shapes import conversation_view, conversation_views

router = APIRouter(prefix="/api/v1", tags=["merge"])


def merge_out(record: ConversationMerge) -> MergeOut:
    return MergeOut(
        id=record.id,
        conversation_id=record.survivor_id,
        merged_ids=list(record.merged_ids),
        agent_id=record.agent_id,
        created_at=record.created_at,
        undo_until=record.created_at + service.UNDO_WINDOW,
        undone_at=record.undone_at,
    )


async def _result(session: AsyncSession, record: ConversationMerge) -> MergeResult:
    found = await service.conversations_of(session, record)
    return MergeResult(
        merge=merge_out(record),
        conversation=await conversation_view(session, found[0]),
        merged=await conversation_views(session, found[1:]),
    )


@router.post("/conversations/{conversation_id}/merge")
async def merge_conversations(
    conversation_id: DbId, body: MergeCreate, agent: CurrentAgent, who: Auditor, ctx: ContextDep
) -> MergeResult:
    """Merge the listed conversations (the same contact's, any channel) into this one: it
    gets their messages, notes, files, activity and callback requests; they become
    `merged`, read-only, and what threads into them later lands here. Undo within 24 h with
    POST /api/v1/conversation-merges/{merge_id}/undo."""
    async with ctx.db.write() as session:
        await require_conversation(session, agent, conversation_id)
        for other_id in body.conversation_ids:
            await require_conversation(session, agent, other_id)
        record = await service.merge(session, conversation_id, body.conversation_ids, agent, who)
        return await _result(session, record)


@router.get("/conversations/{conversation_id}/merges")
async def list_merges(
    conversation_id: DbId, agent: CurrentAgent, session: ReadSession
) -> list[MergeOut]:
    """The merges into this conversation, newest first."""
    await require_conversation(session, agent, conversation_id)
    return [merge_out(m) for m in await service.merges_into(session, conversation_id)]


@router.post("/conversation-merges/{merge_id}/undo")
async def undo_merge(
    merge_id: DbId, agent: CurrentAgent, who: Auditor, ctx: ContextDep
) -> MergeResult:
    """Give the merged conversations their messages back (409 with the reason when more
    than 24 hours passed or something new arrived since)."""
    async with ctx.db.write() as session:
        record = await session.get(ConversationMerge, merge_id)
        if record is None:
            raise NotFound("merge not found")
        await require_conversation(session, agent, record.survivor_id)
        record = await service.undo(session, merge_id, agent, who)
        return await _result(session, record)


@router.post("/conversations/{conversation_id}/split")
async def split_conversation(
    conversation_id: DbId, body: SplitCreate, agent: CurrentAgent, who: Auditor, ctx: ContextDep
) -> SplitResult:
    """Move the selected messages to a new conversation of the same contact, linked to this
    one (`split_from_id`); replies to them follow them there."""
    async with ctx.db.write() as session:
        source = await require_conversation(session, agent, conversation_id)
        created = await service.split(session, source, body.message_ids, agent, who)
        return SplitResult(
            conversation=await conversation_view(session, created),
            source=await conversation_view(session, source),
        )


@router.get("/conversations/{conversation_id}/duplicates")
async def list_duplicates(
    conversation_id: DbId, agent: CurrentAgent, session: ReadSession
) -> list[DuplicateOut]:
    """Conversations that may be the same request: the contact's other open conversations
    active in the last 24 h on any channel, or e-mails with the same subject from the same
    sender within 10 minutes. Nothing is merged automatically."""
    conversation = await require_conversation(session, agent, conversation_id)
    found = await service.duplicates(
        session, conversation, visible=await visible_inbox_ids(session, agent)
    )
    views = await conversation_views(session, [d.conversation for d in found])
    return [
        DuplicateOut(conversation=v, reason=d.reason) for v, d in zip(views, found, strict=True)
    ]


@router.get("/conversations/{conversation_id}/channels")
async def list_reply_channels(
    conversation_id: DbId, agent: CurrentAgent, session: ReadSession
) -> list[ReplyChannel]:
    """Where a reply here can go: this conversation's channel first, then those of the
    conversations merged into it (name one as the reply's `via_conversation_id`)."""
    conversation = await require_conversation(session, agent, conversation_id)
    channels = await service.reply_channels(session, conversation)
    inboxes = {
        i.id: i
        for i in await session.scalars(
            select(Inbox).where(Inbox.id.in_({c.inbox_id for c in channels}))
        )
    }
    identity_ids = {c.identity_id for c in channels if c.identity_id is not None}
    addresses = {
        row[0]: row[1]
        for row in await session.execute(
            select(ContactIdentity.id, ContactIdentity.address).where(
                ContactIdentity.id.in_(identity_ids)
            )
        )
    }
    return [
        ReplyChannel(
            conversation_id=c.id,
            inbox_id=c.inbox_id,
            channel=inboxes[c.inbox_id].kind,
            inbox_name=inboxes[c.inbox_id].name,
            address=addresses.get(c.identity_id or 0),
        )
        for c in channels
    ]
