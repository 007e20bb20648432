"""Messages in a conversation: pages of them, an agent's reply or note with its uploads,
a retry, and what the customer and the provider change later (an edit, a delivery report).
The conversation's own fields and activity lines are in service.py."""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.models import Agent
from app.assignment.service import assign_replier
from app.contacts.models import ContactIdentity
from app.db import utcnow
from app.errors import Invalid
from app.events import log as event_log
from app.events.types import MessageCreated, MessageUpdated
from app.fields import MAX_ID
from app.inboxes.models import Inbox, InboxKind
from app.tickets.models import Attachment, Conversation, DeliveryStatus, Direction, Message
from app.tickets.sanitize import preview, sanitize_html
from app.tickets.service import (
    Automated,
    follow_merges,
    record_conversation_change,
    require_writable,
)
from app.tickets.shapes import message_out, message_views
from app.tickets.storage import FileStore


async def newest_messages(
    session: AsyncSession, stmt: Select[Message], *, before: int | None, limit: int
) -> tuple[list[Message], bool]:
    """The newest `limit` of the messages `stmt` selects, before message `before` if given,
    oldest first; and whether older ones are left (to page back with `before`)."""
    if before is not None:
        stmt = stmt.where(Message.id < before)
    rows = list((await session.scalars(stmt.order_by(Message.id.desc()).limit(limit + 1))).all())
    return list(reversed(rows[:limit])), len(rows) > limit


async def list_messages(
    session: AsyncSession, conversation_id: int, *, before: int | None, limit: int
) -> tuple[list[Message], bool]:
    """A page ending just before message `before`, oldest first."""
    stmt = select(Message).where(Message.conversation_id == conversation_id)
    return await newest_messages(session, stmt, before=before, limit=limit)


async def add_message(
    session: AsyncSession,
    conversation: Conversation,
    agent: Agent | None,
    *,
    body: str,
    private: bool,
    attachment_ids: Sequence[int] = (),
    automated: Automated | None = None,
    meta: dict[str, Any] | None = None,
    via: Conversation | None = None,
) -> Message:
    """An agent's reply (queued for the delivery worker) or private note (never sent),
    with files uploaded to this conversation beforehand; a reply that could never be sent
    is refused (`require_reply_possible`). Without an agent it is an automatic reply the
    channel's settings asked for: sent the same way, but it neither answers the customer's
    wait nor counts as a first response (`automated` names what sent it). `via`, a
    conversation merged into this one, is the channel a reply goes out on (`reply_channel`)."""
    require_writable(conversation)
    channel = via or conversation
    if agent is not None and not private:
        await require_reply_possible(session, channel)
        # Before the reply, so that the reply stays the conversation's last message.
        await assign_replier(session, conversation, agent)
    now = utcnow()
    stored_meta: dict[str, Any] = (
        {} if agent else {"automatic": True, **({"by": automated.name} if automated else {})}
    )
    if via is not None and via.id != conversation.id and not private:
        stored_meta["via"] = via.id
    stored_meta |= meta or {}
    message = Message(
        conversation_id=conversation.id,
        inbox_id=conversation.inbox_id if private else channel.inbox_id,
        direction=Direction.note if private else Direction.outbound,
        sender_agent_id=agent.id if agent else None,
        body_text=body,
        subject=_reply_subject(conversation.subject) if not private else None,
        delivery_status=None if private else DeliveryStatus.queued,
        next_attempt_at=None if private else now,
        created_at=now,
        updated_at=now,
        attempts=0,
        meta=stored_meta,
    )
    session.add(message)
    await session.flush()
    attachments = await _attach_uploads(session, conversation.id, message.id, attachment_ids)
    changes = ["last_message"]
    conversation.last_activity_at = now
    conversation.updated_at = now
    if not private:
        conversation.last_message_at = now
        conversation.last_message_preview = preview(body)
        if agent is not None:
            conversation.waiting_since = None
            conversation.unread_count = 0
            if conversation.first_response_at is None:
                conversation.first_response_at = now
            changes += ["waiting_since", "unread_count"]
    await session.flush()
    event_log.record(
        session,
        MessageCreated(
            message=message_out(
                message, attachments=attachments, sender_name=agent.name if agent else None
            )
        ),
        event_log.Scope(
            inbox_id=message.inbox_id, conversation_id=conversation.id, public=not private
        ),
    )
    await record_conversation_change(session, conversation, changes)
    return message


async def reply_channel(
    session: AsyncSession, conversation: Conversation, via_id: int | None
) -> Conversation | None:
    """The conversation whose channel a reply named (`via_conversation_id`) goes out on: this
    one, or one merged into it (directly or through others); 422 otherwise."""
    if via_id is None or via_id == conversation.id:
        return None
    via = await session.get(Conversation, via_id)
    if via is not None and (await follow_merges(session, [via]))[via.id].id == conversation.id:
        return via
    raise Invalid(
        "via_conversation_id: not a conversation merged into this one", code="invalid_channel"
    )


async def require_reply_possible(session: AsyncSession, conversation: Conversation) -> None:
    """Refuse (422 `reply_not_possible`) a reply in this conversation that could never be
    sent, saying why in words for the agent. (An address that stops working later fails in
    the delivery worker.)"""
    if why := await _why_no_reply(session, conversation):
        raise Invalid(why, code="reply_not_possible")


async def _why_no_reply(session: AsyncSession, conversation: Conversation) -> str | None:
    kind = await session.scalar(select(Inbox.kind).where(Inbox.id == conversation.inbox_id))
    if kind == InboxKind.callback:
        # A callback request is answered by phone: there is no channel to send text on.
        return (
            "a callback request is answered by phone; write a private note instead "
            "(private: true) and set the callback's status"
        )
    if kind == InboxKind.voice:
        return (
            "a call is answered by phone; call the customer back, write a private note "
            "(private: true), or text them from an SMS inbox"
        )
    identity = (
        await session.get(ContactIdentity, conversation.identity_id)
        if conversation.identity_id is not None
        else None
    )
    if identity is not None and not identity.reachable:
        reason = identity.unreachable_reason or "it is marked unreachable"
        return (
            f"{identity.address} cannot receive replies ({reason}); write a private note "
            "instead (private: true), or answer on another of the customer's channels"
        )
    return None


async def upload(
    session: AsyncSession,
    files: FileStore,
    conversation: Conversation,
    *,
    data: bytes,
    filename: str,
    content_type: str,
) -> Attachment:
    """A file an agent means to send (or keep in a note) in this conversation; it joins the
    message that names it. One never named is removed after a day."""
    require_writable(conversation)
    sha256 = await asyncio.to_thread(files.put, data)
    attachment = Attachment(
        message_id=None,
        conversation_id=conversation.id,
        filename=filename[:500] or "attachment",
        content_type=content_type[:200] or "application/octet-stream",
        size=len(data),
        sha256=sha256,
    )
    session.add(attachment)
    await session.flush()
    return attachment


async def _attach_uploads(
    session: AsyncSession, conversation_id: int, message_id: int, ids: Sequence[int]
) -> list[Attachment]:
    if not ids:
        return []
    uploads = list(
        (
            await session.scalars(
                select(Attachment)
                .where(
                    Attachment.id.in_(ids),
                    Attachment.conversation_id == conversation_id,
                    Attachment.message_id.is_(None),
                )
                .order_by(Attachment.id)
            )
        ).all()
    )
    if missing := set(ids) - {a.id for a in uploads}:
        raise Invalid(
            f"attachment_ids: {sorted(missing)} are not unsent uploads of this conversation",
            code="invalid_attachment",
        )
    for attachment in uploads:
        attachment.message_id = message_id
    await session.flush()
    return uploads


async def delete_stale_uploads(session: AsyncSession, older_than: timedelta) -> int:
    result = await session.execute(
        delete(Attachment).where(
            Attachment.message_id.is_(None), Attachment.created_at < utcnow() - older_than
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _reply_subject(subject: str | None) -> str | None:
    if not subject:
        return None
    return subject if subject.lower().startswith("re:") else f"Re: {subject}"


async def retry_message(
    session: AsyncSession, conversation: Conversation, message: Message
) -> Message:
    """Queue a failed reply of this conversation again, if it could be sent at all (on the
    channel it was written for)."""
    require_writable(conversation)
    via = message.meta.get("via") if message.meta else None
    channel = await session.get(Conversation, via) if isinstance(via, int) else None
    await require_reply_possible(session, channel or conversation)
    if message.direction != Direction.outbound or message.delivery_status != DeliveryStatus.failed:
        raise Invalid("only a failed outbound message can be retried", code="not_retryable")
    message.delivery_status = DeliveryStatus.queued
    message.error = None
    message.next_attempt_at = utcnow()
    message.claimed_until = None
    message.updated_at = utcnow()
    await session.flush()
    await record_message_updated(session, message)
    return message


async def record_message_updated(session: AsyncSession, message: Message) -> None:
    (view,) = await message_views(session, [message])
    event_log.record(
        session,
        MessageUpdated(message=view),
        event_log.Scope(
            inbox_id=message.inbox_id,
            conversation_id=message.conversation_id,
            public=message.direction in (Direction.inbound, Direction.outbound),
        ),
    )


async def edit_inbound(
    session: AsyncSession,
    *,
    inbox_id: int,
    external_id: str,
    text: str,
    html: str | None,
    edited_at: datetime,
    facts: Mapping[str, Any],
    replaces: Collection[str],
) -> Message | None:
    """The customer edited a message: show the newest text, keep every earlier one in
    `metadata.edits` (each with when it was replaced). Edits are placed by their time, not
    by when they arrive: a repeated edit changes nothing, and one that arrives after a
    later one (a retried delivery) goes into the history where it belongs. The newest
    version's `facts` replace the metadata keys in `replaces`. An unknown message is None."""
    message = await session.scalar(
        select(Message).where(
            Message.inbox_id == inbox_id,
            Message.external_id == external_id,
            Message.direction == Direction.inbound,
        )
    )
    if message is None:
        return None
    current = {k: message.meta[k] for k in replaces if k in message.meta}
    if message.body_text == text and message.body_html == html and current == dict(facts):
        return message
    edits = list(message.meta.get("edits", []))
    # Version i's text, and when it began to be shown (None: the message as sent).
    texts = [edit["text"] for edit in edits] + [message.body_text]
    began = [None] + [datetime.fromisoformat(edit["replaced_at"]) for edit in edits]
    if (edited_at, text) in zip(began, texts, strict=True):
        return message  # this very edit, delivered again
    stamp = edited_at.isoformat()
    later = next((i for i, at in enumerate(began) if at is not None and at > edited_at), None)
    meta = dict(message.meta)
    if later is None:  # the newest: shown from now on
        edits.append({"text": message.body_text, "replaced_at": stamp})
        message.body_text = text
        message.body_html = sanitize_html(html) if html else None
        meta = {k: v for k, v in meta.items() if k not in replaces} | dict(facts)
    else:  # it replaced version later-1, and version `later` replaced it
        next_began = edits[later - 1]["replaced_at"]
        edits[later - 1] = {**edits[later - 1], "replaced_at": stamp}
        edits.insert(later, {"text": text, "replaced_at": next_began})
    message.meta = {**meta, "edits": edits}
    message.updated_at = utcnow()
    await session.flush()
    await record_message_updated(session, message)
    return message


# How far along a reply is; a report never moves a message to a lower rank, so callbacks
# that arrive out of order cannot undo a later state. `failed` outranks `sent` (a carrier
# gives up after accepting) but never a confirmed delivery.
_DELIVERY_RANK = {
    DeliveryStatus.queued: 0,
    DeliveryStatus.sent: 1,
    DeliveryStatus.failed: 2,
    DeliveryStatus.delivered: 3,
    DeliveryStatus.read: 4,
}


async def report_delivery(
    session: AsyncSession,
    *,
    inbox_id: int,
    message_id: int | None,
    external_id: str | None,
    status: DeliveryStatus,
    reason: str | None,
    details: dict[str, Any],
) -> Message | None:
    """Apply a provider's report on one of our replies, found by our id or the provider's
    (always within this inbox). None when no such reply exists."""
    stmt = select(Message).where(
        Message.inbox_id == inbox_id, Message.direction == Direction.outbound
    )
    if message_id is not None and 0 < message_id <= MAX_ID:
        stmt = stmt.where(Message.id == message_id)
    elif external_id is not None:  # also for an id that cannot be ours (nor compared)
        stmt = stmt.where(Message.external_id == external_id)
    else:
        return None
    message = await session.scalar(stmt)
    if message is None or (external_id and message.external_id not in (None, external_id)):
        return None  # not ours, or our id and the provider's name two different messages
    current = message.delivery_status or DeliveryStatus.queued
    if details:
        message.meta = {**message.meta, **details}
    if _DELIVERY_RANK[status] > _DELIVERY_RANK[current]:
        message.delivery_status = status
        message.error = reason if status == DeliveryStatus.failed else None
        if external_id and not message.external_id:
            message.external_id = external_id
        if current == DeliveryStatus.queued:
            # Reported before the worker recorded its own result: nothing left to send.
            message.next_attempt_at = None
    elif not details:
        return message
    message.updated_at = utcnow()
    await session.flush()
    await record_message_updated(session, message)
    return message
