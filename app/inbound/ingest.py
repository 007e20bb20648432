"""The heart: one normalized inbound message becomes stored state, in the caller's transaction.

identity → contact, thread → conversation, the message (unique per inbox + external id),
counters, events. Nothing here knows which channel the message came from.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.models import Agent
from app.contacts.models import Contact
from app.contacts.service import resolve_contact
from app.db import utcnow
from app.events import log as event_log
from app.events.types import ConversationCreated, ConversationUpdated, MessageCreated
from app.tickets.models import (
    ACTIVE_STATUSES,
    Attachment,
    Conversation,
    ConversationLabel,
    Direction,
    Message,
    Status,
)
from app.tickets.sanitize import preview, sanitize_html
from app.tickets.storage import FileStore
from app.tickets.views import conversation_out, message_out
from connectors.base import Address, InboundMessage, Party

# Files above this size are written to disk off the event loop.
_INLINE_WRITE_LIMIT = 256 * 1024


@dataclass(frozen=True, slots=True)
class InboxRef:
    id: int
    kind: str


@dataclass(frozen=True, slots=True)
class IngestPolicy:
    reopen_window: timedelta
    max_attachment_bytes: int
    files: FileStore


@dataclass(frozen=True, slots=True)
class IngestResult:
    message_id: int
    conversation_id: int
    duplicate: bool
    new_conversation: bool = False


def _without_nul(value: Any) -> Any:
    """The value with NUL characters removed from every string in it: providers do send
    them (broken MIME, binary junk), and PostgreSQL stores none in text or JSON."""
    if isinstance(value, str):
        return value.replace("\x00", "") if "\x00" in value else value
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_without_nul(v) for v in value)
    return value


def _storable_address(address: Address) -> Address:
    return Address(address.kind, _without_nul(address.value))


def storable(msg: InboundMessage) -> InboundMessage:
    """The message as it can be stored: every text field free of NUL characters."""
    sender = msg.sender
    return replace(
        msg,
        external_id=_without_nul(msg.external_id),
        sender=Party(
            address=_storable_address(sender.address),
            name=_without_nul(sender.name),
            also_known_as=tuple(_storable_address(a) for a in sender.also_known_as),
            language=_without_nul(sender.language),
        ),
        text=_without_nul(msg.text),
        thread_key=_without_nul(msg.thread_key),
        in_reply_to=_without_nul(msg.in_reply_to),
        references=_without_nul(msg.references),
        html=_without_nul(msg.html),
        subject=_without_nul(msg.subject),
        attachments=tuple(
            replace(a, filename=_without_nul(a.filename), content_id=_without_nul(a.content_id))
            for a in msg.attachments
        ),
        metadata=_without_nul(dict(msg.metadata)),
    )


async def _existing(session: AsyncSession, inbox_id: int, external_id: str) -> IngestResult | None:
    row = (
        await session.execute(
            select(Message.id, Message.conversation_id).where(
                Message.inbox_id == inbox_id, Message.external_id == external_id
            )
        )
    ).first()
    return None if row is None else IngestResult(row[0], row[1], duplicate=True)


async def _thread_conversation(
    session: AsyncSession,
    inbox_id: int,
    msg: InboundMessage,
    contact_id: int,
    now: datetime,
    reopen_window: timedelta,
) -> Conversation | None:
    """The conversation this message continues, or None for a new one."""
    refs = [r for r in (msg.in_reply_to, *msg.references) if r]
    if refs:
        # An explicit reply joins its thread whatever its state (a resolved one reopens).
        conversation = await session.scalar(
            select(Conversation)
            .join(Message, Message.conversation_id == Conversation.id)
            .where(Message.inbox_id == inbox_id, Message.external_id.in_(refs))
            .order_by(Message.id.desc())
            .limit(1)
        )
        if conversation is not None:
            return conversation
    if msg.thread_key is not None:
        where = [Conversation.inbox_id == inbox_id, Conversation.thread_key == msg.thread_key]
    else:
        where = [Conversation.contact_id == contact_id, Conversation.inbox_id == inbox_id]
    latest = await session.scalar(
        select(Conversation).where(*where).order_by(Conversation.last_activity_at.desc()).limit(1)
    )
    if latest is None:
        return None
    if latest.status in ACTIVE_STATUSES:
        return latest
    resolved_at = latest.resolved_at or latest.updated_at
    return latest if now - resolved_at <= reopen_window else None


async def _store_attachments(
    session: AsyncSession, message_id: int, msg: InboundMessage, policy: IngestPolicy
) -> list[Attachment]:
    stored = []
    for item in msg.attachments:
        sha256 = None
        note = item.note
        size = item.size if item.data is None else len(item.data)
        if item.data is not None:
            if len(item.data) > policy.max_attachment_bytes:
                note = (
                    f"not stored: {len(item.data)} bytes is over the "
                    f"{policy.max_attachment_bytes}-byte limit"
                )
            elif len(item.data) > _INLINE_WRITE_LIMIT:
                sha256 = await asyncio.to_thread(policy.files.put, item.data)
            else:
                sha256 = policy.files.put(item.data)
        attachment = Attachment(
            message_id=message_id,
            filename=item.filename[:500] or "attachment",
            content_type=item.content_type[:200] or "application/octet-stream",
            size=size,
            sha256=sha256,
            content_id=item.content_id,
            note=note,
        )
        session.add(attachment)
        stored.append(attachment)
    if stored:
        await session.flush()
    return stored


async def ingest(
    session: AsyncSession, inbox: InboxRef, msg: InboundMessage, policy: IngestPolicy
) -> IngestResult:
    """Store one inbound message. A repeat of an external id is a no-op reporting `duplicate`."""
    raw = (
        msg.raw if isinstance(msg.raw, bytes) else json.dumps(msg.raw, ensure_ascii=False).encode()
    )
    msg = storable(msg)
    existing = await _existing(session, inbox.id, msg.external_id)
    if existing is not None:
        return existing

    resolved = await resolve_contact(session, msg.sender)
    # Serialise everything that decides "which conversation" per contact, so concurrent
    # first messages from one sender open one conversation (a no-op on SQLite, whose
    # writers are serialised already).
    await session.execute(
        select(Contact.id).where(Contact.id == resolved.contact_id).with_for_update()
    )
    if not resolved.created:
        existing = await _existing(session, inbox.id, msg.external_id)
        if existing is not None:
            return existing

    now = utcnow()
    conversation = await _thread_conversation(
        session, inbox.id, msg, resolved.contact_id, now, policy.reopen_window
    )
    new_conversation = conversation is None
    changes: list[str] = []
    if conversation is None:
        conversation = Conversation(
            inbox_id=inbox.id,
            contact_id=resolved.contact_id,
            identity_id=resolved.identity_id,
            thread_key=msg.thread_key,
            subject=msg.subject,
            status=Status.open,
            unread_count=0,
            created_at=now,
            last_activity_at=now,
            updated_at=now,
        )
        session.add(conversation)
        await session.flush()
    elif conversation.status != Status.open:
        changes.append("status")
        conversation.status = Status.open
        conversation.snoozed_until = None
        conversation.resolved_at = None

    message = Message(
        conversation_id=conversation.id,
        inbox_id=inbox.id,
        direction=Direction.inbound,
        sender_contact_id=resolved.contact_id,
        body_text=msg.text,
        body_html=sanitize_html(msg.html) if msg.html else None,
        subject=msg.subject,
        external_id=msg.external_id,
        in_reply_to=msg.in_reply_to,
        is_auto=msg.is_auto,
        raw=raw,
        meta=dict(msg.metadata),
        sent_at=msg.sent_at,
        created_at=now,
        updated_at=now,
        attempts=0,
    )
    session.add(message)
    await session.flush()
    attachments = await _store_attachments(session, message.id, msg, policy)

    conversation.last_message_at = now
    conversation.last_activity_at = now
    conversation.last_message_preview = preview(msg.text or msg.subject or "") or None
    conversation.unread_count = (conversation.unread_count or 0) + 1
    if not msg.is_auto and conversation.waiting_since is None:
        conversation.waiting_since = now
    conversation.updated_at = now
    await session.flush()

    assignee_name = None
    if conversation.assignee_id is not None:
        assignee_name = await session.scalar(
            select(Agent.name).where(Agent.id == conversation.assignee_id)
        )
    labels = (
        []
        if new_conversation
        else list(
            (
                await session.scalars(
                    select(ConversationLabel.label).where(
                        ConversationLabel.conversation_id == conversation.id
                    )
                )
            ).all()
        )
    )
    view = conversation_out(
        conversation,
        channel=inbox.kind,
        contact_name=resolved.contact_name,
        assignee_name=assignee_name,
        labels=labels,
    )
    scope = event_log.Scope(inbox_id=inbox.id, conversation_id=conversation.id)
    if new_conversation:
        event_log.record(session, ConversationCreated(conversation=view), scope)
    else:
        changes += ["last_message", "unread_count"]
        event_log.record(session, ConversationUpdated(conversation=view, changes=changes), scope)
    event_log.record(
        session,
        MessageCreated(
            message=message_out(message, attachments=attachments, sender_name=resolved.contact_name)
        ),
        event_log.Scope(inbox_id=inbox.id, conversation_id=conversation.id, public=True),
    )
    return IngestResult(
        message.id, conversation.id, duplicate=False, new_conversation=new_conversation
    )
