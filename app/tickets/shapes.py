"""Turning rows into the API's output shapes (the `*Out` schemas), in batches: a page
costs a fixed number of queries. A "view" here is such a shape, not a route: the routes
are in api.py."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.models import Agent
from app.contacts.models import Contact
from app.inboxes.models import Inbox
from app.tickets.models import Attachment, Conversation, ConversationLabel, Message
from app.tickets.schemas import AttachmentOut, ConversationOut, LastMessage, MessageOut, Ref

V = TypeVar("V")


async def _pairs(session: AsyncSession, stmt: Select[int, V]) -> dict[int, V]:
    """`{id: value}` from a two-column select."""
    return {row[0]: row[1] for row in await session.execute(stmt)}


def conversation_out(
    conv: Conversation,
    *,
    channel: str,
    contact_name: str | None,
    assignee_name: str | None,
    labels: Sequence[str],
) -> ConversationOut:
    return ConversationOut(
        id=conv.id,
        inbox_id=conv.inbox_id,
        channel=channel,
        status=conv.status,
        priority=conv.priority,
        subject=conv.subject,
        contact=Ref(id=conv.contact_id, name=contact_name),
        assignee=Ref(id=conv.assignee_id, name=assignee_name) if conv.assignee_id else None,
        team_id=conv.team_id,
        labels=sorted(labels),
        last_message=LastMessage(preview=conv.last_message_preview, at=conv.last_message_at),
        unread_count=conv.unread_count,
        last_message_at=conv.last_message_at,
        last_activity_at=conv.last_activity_at,
        waiting_since=conv.waiting_since,
        first_response_at=conv.first_response_at,
        resolved_at=conv.resolved_at,
        snoozed_until=conv.snoozed_until,
        created_at=conv.created_at,
        updated_at=conv.updated_at,
        merged_into_id=conv.merged_into_id,
        split_from_id=conv.split_from_id,
        first_response_due_at=conv.first_response_due_at,
        next_response_due_at=conv.next_response_due_at,
        resolution_due_at=conv.resolution_due_at,
        sla_state=conv.sla_state,
        sla_paused=conv.sla_paused_at is not None,
    )


async def conversation_views(
    session: AsyncSession, conversations: Sequence[Conversation]
) -> list[ConversationOut]:
    if not conversations:
        return []
    ids = [c.id for c in conversations]
    contact_ids = {c.contact_id for c in conversations}
    agent_ids = {c.assignee_id for c in conversations if c.assignee_id}
    inbox_ids = {c.inbox_id for c in conversations}

    contact_names = await _pairs(
        session, select(Contact.id, Contact.name).where(Contact.id.in_(contact_ids))
    )
    agent_names = await _pairs(session, select(Agent.id, Agent.name).where(Agent.id.in_(agent_ids)))
    kinds = await _pairs(session, select(Inbox.id, Inbox.kind).where(Inbox.id.in_(inbox_ids)))
    labels: dict[int, list[str]] = defaultdict(list)
    rows = await session.execute(
        select(ConversationLabel.conversation_id, ConversationLabel.label).where(
            ConversationLabel.conversation_id.in_(ids)
        )
    )
    for conversation_id, label in rows:
        labels[conversation_id].append(label)

    return [
        conversation_out(
            c,
            channel=str(kinds[c.inbox_id]),
            contact_name=contact_names.get(c.contact_id),
            assignee_name=agent_names.get(c.assignee_id) if c.assignee_id else None,
            labels=labels[c.id],
        )
        for c in conversations
    ]


async def conversation_view(session: AsyncSession, conversation: Conversation) -> ConversationOut:
    return (await conversation_views(session, [conversation]))[0]


def attachment_out(att: Attachment) -> AttachmentOut:
    return AttachmentOut(
        id=att.id,
        filename=att.filename,
        content_type=att.content_type,
        size=att.size,
        stored=att.sha256 is not None,
        note=att.note,
        url=f"/api/v1/attachments/{att.id}" if att.sha256 else None,
        content_id=att.content_id,
    )


# What a message view is made of: the same names on a Message and on a row dict.
_MESSAGE_FIELDS = (
    "id",
    "conversation_id",
    "inbox_id",
    "direction",
    "body_text",
    "body_html",
    "subject",
    "sender_agent_id",
    "sender_contact_id",
    "external_id",
    "is_auto",
    "delivery_status",
    "error",
    "attempts",
    "created_at",
    "sent_at",
)


def message_out(
    msg: Message,
    *,
    attachments: Sequence[Attachment] = (),
    sender_name: str | None = None,
) -> MessageOut:
    return message_row_out(
        {name: getattr(msg, name) for name in _MESSAGE_FIELDS} | {"metadata": msg.meta},
        attachments=attachments,
        sender_name=sender_name,
    )


def message_row_out(
    row: Mapping[str, Any],
    *,
    attachments: Sequence[Attachment] = (),
    sender_name: str | None = None,
) -> MessageOut:
    """The view of a message given as its column values, by the table's column names
    (ingest inserts rows, not objects); absent columns take their defaults."""
    agent_id, contact_id = row.get("sender_agent_id"), row.get("sender_contact_id")
    if agent_id is not None:
        sender: Ref | None = Ref(id=agent_id, name=sender_name)
        sender_type = "agent"
    elif contact_id is not None:
        sender = Ref(id=contact_id, name=sender_name)
        sender_type = "contact"
    else:
        sender, sender_type = None, "system"
    return MessageOut(
        id=row["id"],
        conversation_id=row["conversation_id"],
        inbox_id=row["inbox_id"],
        direction=row["direction"],
        body_text=row["body_text"],
        body_html=row.get("body_html"),
        subject=row.get("subject"),
        sender=sender,
        sender_type=sender_type,
        attachments=[attachment_out(a) for a in attachments],
        external_id=row.get("external_id"),
        is_auto=row.get("is_auto") or False,
        delivery_status=row.get("delivery_status"),
        error=row.get("error"),
        attempts=row.get("attempts") or 0,
        created_at=row["created_at"],
        sent_at=row.get("sent_at"),
        metadata=dict(row.get("metadata") or {}),
    )


async def message_views(session: AsyncSession, messages: Sequence[Message]) -> list[MessageOut]:
    if not messages:
        return []
    ids = [m.id for m in messages]
    by_message: dict[int, list[Attachment]] = defaultdict(list)
    for att in (
        await session.scalars(
            select(Attachment).where(Attachment.message_id.in_(ids)).order_by(Attachment.id)
        )
    ).all():
        if att.message_id is not None:
            by_message[att.message_id].append(att)
    agent_ids = {m.sender_agent_id for m in messages if m.sender_agent_id}
    contact_ids = {m.sender_contact_id for m in messages if m.sender_contact_id}
    agent_names = await _pairs(session, select(Agent.id, Agent.name).where(Agent.id.in_(agent_ids)))
    contact_names = await _pairs(
        session, select(Contact.id, Contact.name).where(Contact.id.in_(contact_ids))
    )

    def name_of(m: Message) -> str | None:
        if m.sender_agent_id:
            return agent_names.get(m.sender_agent_id)
        if m.sender_contact_id:
            return contact_names.get(m.sender_contact_id)
        return None

    return [message_out(m, attachments=by_message[m.id], sender_name=name_of(m)) for m in messages]
