from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.models import Agent
from app.audit import service as audit
from app.audit.api import Auditor
from app.contacts import service
from app.contacts.models import Contact
from app.contacts.schemas import (
    ContactConversation,
    ContactDetail,
    ContactMerge,
    ContactOut,
    ContactPage,
    ContactUpdate,
)
from app.db import utcnow
from app.deps import ContextDep, CurrentAgent, ReadSession, visible_inbox_ids
from app.errors import NotFound
from app.fields import Count, DbId, SafeStr
from app.tickets.models import Conversation, Direction, Message
from app.tickets.sanitize import preview
from app.tickets.shapes import conversation_views

router = APIRouter(prefix="/api/v1/contacts", tags=["contacts"])


async def _detail(session: AsyncSession, agent: Agent, contact: Contact) -> ContactDetail:
    visible = await visible_inbox_ids(session, agent)
    stmt = (
        select(Conversation)
        .where(Conversation.contact_id == contact.id)
        .order_by(Conversation.last_activity_at.desc(), Conversation.id.desc())
    )
    if visible is not None:
        stmt = stmt.where(Conversation.inbox_id.in_(visible))
    rows = (await session.scalars(stmt)).all()
    first = await _first_words(session, [c.id for c in rows if not c.subject])
    conversations = [
        ContactConversation(**view.model_dump(), title=view.subject or first.get(view.id))
        for view in await conversation_views(session, rows)
    ]
    return ContactDetail(
        **ContactOut.model_validate(contact).model_dump(), conversations=conversations
    )


async def _first_words(session: AsyncSession, conversation_ids: list[int]) -> dict[int, str]:
    """Each conversation's first customer message, shortened."""
    if not conversation_ids:
        return {}
    firsts = (
        select(func.min(Message.id))
        .where(
            Message.conversation_id.in_(conversation_ids),
            Message.direction == Direction.inbound,
        )
        .group_by(Message.conversation_id)
    )
    rows = await session.execute(
        select(Message.conversation_id, Message.body_text).where(Message.id.in_(firsts))
    )
    return {id_: preview(text, 120) for id_, text in rows if text.strip()}


async def _require_visible(session: AsyncSession, agent: Agent, contact_id: int) -> Contact:
    """Agents see contacts who wrote to one of their inboxes; admins see everyone."""
    contact = await service.get_contact(session, contact_id)
    visible = await visible_inbox_ids(session, agent)
    if visible is not None:
        seen = await session.scalar(
            select(Conversation.id)
            .where(Conversation.contact_id == contact_id, Conversation.inbox_id.in_(visible))
            .limit(1)
        )
        if seen is None:
            raise NotFound("contact not found")
    return contact


@router.get("")
async def search_contacts(
    agent: CurrentAgent,
    session: ReadSession,
    q: Annotated[SafeStr | None, Query(max_length=200)] = None,
    cursor: DbId | None = None,
    limit: Annotated[Count, Query(ge=1, le=100)] = 25,
) -> ContactPage:
    visible = await visible_inbox_ids(session, agent)
    contacts = await service.search(session, q=q, after_id=cursor, limit=limit + 1, visible=visible)
    page = contacts[:limit]
    next_cursor = str(page[-1].id) if len(contacts) > limit else None
    return ContactPage(items=[ContactOut.model_validate(c) for c in page], next_cursor=next_cursor)


@router.get("/{contact_id}")
async def get_contact(contact_id: DbId, agent: CurrentAgent, session: ReadSession) -> ContactDetail:
    contact = await _require_visible(session, agent, contact_id)
    return await _detail(session, agent, contact)


@router.patch("/{contact_id}")
async def update_contact(
    contact_id: DbId, body: ContactUpdate, agent: CurrentAgent, who: Auditor, ctx: ContextDep
) -> ContactDetail:
    async with ctx.db.write() as session:
        contact = await _require_visible(session, agent, contact_id)
        if body.name is not None and body.name != contact.name:
            contact.name = body.name
            contact.updated_at = utcnow()
            await session.flush()
            service.record_contact_updated(session, contact, [])
            audit.record(
                session,
                who,
                "contact.updated",
                target=("contact", contact_id),
                changes=audit.requested(body),
            )
        return await _detail(session, agent, contact)


@router.post("/{contact_id}/merge")
async def merge_contacts(
    contact_id: DbId, body: ContactMerge, agent: CurrentAgent, who: Auditor, ctx: ContextDep
) -> ContactDetail:
    """Moves every identity, conversation and callback of `other_id` here; `other_id` is gone."""
    async with ctx.db.write() as session:
        await _require_visible(session, agent, contact_id)
        await _require_visible(session, agent, body.other_id)
        contact = await service.merge(session, keep_id=contact_id, other_id=body.other_id)
        service.record_contact_updated(session, contact, [body.other_id])
        # The merged contact is deleted: this entry is what remains of it.
        audit.record(
            session,
            who,
            "contact.merged",
            target=("contact", contact_id),
            changes={"merged": body.other_id},
        )
        return await _detail(session, agent, contact)
