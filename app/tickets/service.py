"""Conversations and messages: every change an agent makes, with its activity line and events."""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVarTuple

from sqlalchemy import Select, and_, delete, exists, func, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app import search
from app.agents.models import Agent, Team
from app.db import utcnow
from app.errors import Invalid
from app.events import log as event_log
from app.events.types import (
    ConversationCreated,
    ConversationUpdated,
    MessageCreated,
    MessageUpdated,
)
from app.fields import MAX_ID, to_utc
from app.inboxes.models import Inbox, inbox_agents
from app.tickets.models import (
    Attachment,
    Conversation,
    ConversationLabel,
    DeliveryStatus,
    Direction,
    Message,
    Priority,
    Status,
)
from app.tickets.sanitize import preview, sanitize_html
from app.tickets.shapes import conversation_view, message_out, message_views
from app.tickets.storage import FileStore

Ts = TypeVarTuple("Ts")


@dataclass(frozen=True, slots=True)
class ConversationFilter:
    status: Status | None = None
    inbox_id: int | None = None
    channel: str | None = None
    assignee: str | None = None  # "me", "unassigned" or an agent id
    label: str | None = None
    q: str | None = None
    updated_since: datetime | None = None


def encode_cursor(at: datetime, id_: int) -> str:
    return base64.urlsafe_b64encode(json.dumps([at.isoformat(), id_]).encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        at, id_ = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        position = to_utc(datetime.fromisoformat(at)), int(id_)
        if not 0 < position[1] <= MAX_ID:
            raise ValueError("id out of range")
    except (ValueError, TypeError, OverflowError, binascii.Error) as exc:
        raise Invalid("cursor is not one this server gave out", code="invalid_cursor") from exc
    return position


async def _filtered(
    session: AsyncSession,
    stmt: Select[*Ts],
    agent: Agent,
    f: ConversationFilter,
    visible: set[int] | None,
) -> Select[*Ts]:
    if visible is not None:
        stmt = stmt.where(Conversation.inbox_id.in_(visible))
    if f.status is not None:
        stmt = stmt.where(Conversation.status == f.status)
    if f.inbox_id is not None:
        stmt = stmt.where(Conversation.inbox_id == f.inbox_id)
    if f.channel is not None:
        stmt = stmt.where(
            Conversation.inbox_id.in_(select(Inbox.id).where(Inbox.kind == f.channel))
        )
    if f.assignee == "me":
        stmt = stmt.where(Conversation.assignee_id == agent.id)
    elif f.assignee == "unassigned":
        stmt = stmt.where(Conversation.assignee_id.is_(None))
    elif f.assignee is not None:
        try:
            assignee_id = int(f.assignee)
        except ValueError as exc:
            raise Invalid(
                "assignee: 'me', 'unassigned' or an agent id", code="invalid_filter"
            ) from exc
        if not 0 < assignee_id <= MAX_ID:  # no agent has it; the database could not compare
            raise Invalid("assignee: no agent has that id", code="invalid_filter")
        stmt = stmt.where(Conversation.assignee_id == assignee_id)
    if f.label is not None:
        stmt = stmt.where(
            exists().where(
                ConversationLabel.conversation_id == Conversation.id,
                ConversationLabel.label == f.label,
            )
        )
    if f.updated_since is not None:
        stmt = stmt.where(Conversation.updated_at > f.updated_since)
    if f.q and f.q.strip():
        stmt = stmt.where(await search.conversation_match(session, f.q))
    return stmt


async def list_conversations(
    session: AsyncSession,
    agent: Agent,
    f: ConversationFilter,
    *,
    visible: set[int] | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[Conversation], str | None]:
    """Newest activity first, keyset-paginated on (last_activity_at, id)."""
    stmt = await _filtered(session, select(Conversation), agent, f, visible)
    if cursor:
        at, id_ = decode_cursor(cursor)
        stmt = stmt.where(
            or_(
                Conversation.last_activity_at < at,
                and_(Conversation.last_activity_at == at, Conversation.id < id_),
            )
        )
    stmt = stmt.order_by(Conversation.last_activity_at.desc(), Conversation.id.desc()).limit(
        limit + 1
    )
    rows = list((await session.scalars(stmt)).all())
    page, more = rows[:limit], len(rows) > limit
    next_cursor = encode_cursor(page[-1].last_activity_at, page[-1].id) if more and page else None
    return page, next_cursor


async def count_open(
    session: AsyncSession, agent: Agent, *, visible: set[int] | None
) -> tuple[int, int, int]:
    """Open conversations in the agent's inboxes: (all, the agent's, nobody's), read in one
    pass over the open ones."""
    stmt = await _filtered(
        session,
        select(
            func.count(),
            func.count().filter(Conversation.assignee_id == agent.id),
            func.count().filter(Conversation.assignee_id.is_(None)),
        ).select_from(Conversation),
        agent,
        ConversationFilter(status=Status.open),
        visible,
    )
    total, mine, unassigned = (await session.execute(stmt)).one()
    return int(total), int(mine), int(unassigned)


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


async def _record_message(session: AsyncSession, message: Message) -> None:
    (view,) = await message_views(session, [message])
    public = message.direction in (Direction.inbound, Direction.outbound)
    event_log.record(
        session,
        MessageCreated(message=view),
        event_log.Scope(
            inbox_id=message.inbox_id, conversation_id=message.conversation_id, public=public
        ),
    )


async def record_conversation_change(
    session: AsyncSession, conversation: Conversation, changes: list[str]
) -> None:
    view = await conversation_view(session, conversation)
    event_log.record(
        session,
        ConversationUpdated(conversation=view, changes=changes),
        event_log.Scope(inbox_id=conversation.inbox_id, conversation_id=conversation.id),
    )


async def record_activity(
    session: AsyncSession,
    conversation: Conversation,
    agent: Agent,
    text: str,
    activity: dict[str, Any],
) -> None:
    """An activity line: `text` in English for any client, and `activity` (in the message's
    metadata, `{"action": ..., ...}`) for a client that says it in the agent's language."""
    now = utcnow()
    message = Message(
        conversation_id=conversation.id,
        inbox_id=conversation.inbox_id,
        direction=Direction.activity,
        sender_agent_id=agent.id,
        body_text=text,
        created_at=now,
        updated_at=now,
        attempts=0,
        meta={"activity": activity},
    )
    session.add(message)
    await session.flush()
    await _record_message(session, message)


async def _assignable(session: AsyncSession, agent_id: int, inbox_id: int) -> Agent:
    assignee = await session.get(Agent, agent_id)
    if assignee is None or not assignee.is_active:
        raise Invalid("assignee_id: no active agent with that id", code="invalid_assignee")
    if not assignee.is_admin:
        member = await session.scalar(
            select(inbox_agents.c.agent_id).where(
                inbox_agents.c.inbox_id == inbox_id, inbox_agents.c.agent_id == agent_id
            )
        )
        if member is None:
            raise Invalid(
                "assignee_id: that agent does not work in this inbox", code="invalid_assignee"
            )
    return assignee


async def update_conversation(
    session: AsyncSession,
    conversation: Conversation,
    agent: Agent,
    *,
    fields: set[str],
    status: Status | None = None,
    assignee_id: int | None = None,
    team_id: int | None = None,
    priority: Priority | None = None,
    labels: list[str] | None = None,
    snoozed_until: datetime | None = None,
) -> Conversation:
    """Apply the fields the client sent (`fields`); each change leaves an activity line."""
    now = utcnow()
    changes: list[str] = []
    if "snoozed_until" in fields and snoozed_until is not None and status is None:
        status = Status.snoozed
    if status is not None and status != conversation.status:
        if status == Status.snoozed:
            if snoozed_until is None or snoozed_until <= now:
                raise Invalid(
                    "snoozed_until: a future time is needed to snooze", code="invalid_snooze"
                )
            conversation.snoozed_until = snoozed_until
            await record_activity(
                session,
                conversation,
                agent,
                f"{agent.name} snoozed the conversation until {snoozed_until.isoformat()}",
                {"action": "status", "status": status.value, "until": snoozed_until.isoformat()},
            )
        else:
            conversation.snoozed_until = None
            verb = {
                Status.open: "reopened",
                Status.pending: "set the conversation to pending",
                Status.resolved: "resolved the conversation",
            }[status]
            await record_activity(
                session,
                conversation,
                agent,
                f"{agent.name} {verb}",
                {"action": "status", "status": status.value},
            )
        if status == Status.resolved:
            conversation.resolved_at = now
            conversation.waiting_since = None
        else:
            conversation.resolved_at = None
        conversation.status = status
        changes.append("status")
    elif (
        status == Status.snoozed
        and snoozed_until is not None
        and snoozed_until != conversation.snoozed_until
    ):
        if snoozed_until <= now:
            raise Invalid("snoozed_until: a future time is needed to snooze", code="invalid_snooze")
        conversation.snoozed_until = snoozed_until
        changes.append("snoozed_until")
    if "assignee_id" in fields and assignee_id != conversation.assignee_id:
        if assignee_id is None:
            await record_activity(
                session,
                conversation,
                agent,
                f"{agent.name} unassigned the conversation",
                {"action": "assignee", "assignee": None},
            )
        else:
            assignee = await _assignable(session, assignee_id, conversation.inbox_id)
            who = "themselves" if assignee.id == agent.id else assignee.name
            await record_activity(
                session,
                conversation,
                agent,
                f"{agent.name} assigned the conversation to {who}",
                {"action": "assignee", "assignee": {"id": assignee.id, "name": assignee.name}},
            )
        conversation.assignee_id = assignee_id
        changes.append("assignee")
    if "team_id" in fields and team_id != conversation.team_id:
        if team_id is None:
            await record_activity(
                session,
                conversation,
                agent,
                f"{agent.name} removed the conversation from its team",
                {"action": "team", "team": None},
            )
        else:
            team = await session.get(Team, team_id)
            if team is None:
                raise Invalid("team_id: no team with that id", code="invalid_team")
            await record_activity(
                session,
                conversation,
                agent,
                f"{agent.name} assigned the conversation to team {team.name}",
                {"action": "team", "team": {"id": team.id, "name": team.name}},
            )
        conversation.team_id = team_id
        changes.append("team")
    if priority is not None and priority != conversation.priority:
        conversation.priority = priority
        await record_activity(
            session,
            conversation,
            agent,
            f"{agent.name} set priority to {priority}",
            {"action": "priority", "priority": priority.value},
        )
        changes.append("priority")
    if labels is not None:
        wanted = {label.strip() for label in labels}
        current = set(
            (
                await session.scalars(
                    select(ConversationLabel.label).where(
                        ConversationLabel.conversation_id == conversation.id
                    )
                )
            ).all()
        )
        if wanted != current:
            await session.execute(
                delete(ConversationLabel).where(
                    ConversationLabel.conversation_id == conversation.id,
                    ConversationLabel.label.in_(current - wanted),
                )
            )
            if added := wanted - current:
                await session.execute(
                    insert(ConversationLabel),
                    [
                        {"conversation_id": conversation.id, "label": label}
                        for label in sorted(added)
                    ],
                )
            removed = current - wanted
            said = [f"added labels: {', '.join(sorted(added))}"] if added else []
            said += [f"removed labels: {', '.join(sorted(removed))}"] if removed else []
            await record_activity(
                session,
                conversation,
                agent,
                f"{agent.name} {'; '.join(said)}",
                {"action": "labels", "added": sorted(added), "removed": sorted(removed)},
            )
            changes.append("labels")
    if changes:
        conversation.updated_at = now
        conversation.last_activity_at = now
        await session.flush()
        await record_conversation_change(session, conversation, changes)
    return conversation


async def mark_read(session: AsyncSession, conversation: Conversation) -> None:
    if conversation.unread_count:
        conversation.unread_count = 0
        conversation.updated_at = utcnow()
        await session.flush()
        await record_conversation_change(session, conversation, ["unread_count"])


async def add_message(
    session: AsyncSession,
    conversation: Conversation,
    agent: Agent | None,
    *,
    body: str,
    private: bool,
    attachment_ids: Sequence[int] = (),
) -> Message:
    """An agent's reply (queued for the delivery worker) or private note (never sent),
    with files uploaded to this conversation beforehand. Without an agent it is an
    automatic reply the channel's settings asked for: sent the same way, but it neither
    answers the customer's wait nor counts as a first response."""
    now = utcnow()
    message = Message(
        conversation_id=conversation.id,
        inbox_id=conversation.inbox_id,
        direction=Direction.note if private else Direction.outbound,
        sender_agent_id=agent.id if agent else None,
        body_text=body,
        subject=_reply_subject(conversation.subject) if not private else None,
        delivery_status=None if private else DeliveryStatus.queued,
        next_attempt_at=None if private else now,
        created_at=now,
        updated_at=now,
        attempts=0,
        meta={} if agent else {"automatic": True},
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


async def outreach_conversation(
    session: AsyncSession, *, inbox_id: int, contact_id: int, identity_id: int
) -> Conversation:
    """Where a message we start (a confirmation, not an answer) goes: the contact's latest
    conversation in that inbox, else a new one, resolved from the start so that it does
    not wait in anyone's queue (an answer from the customer reopens it)."""
    conversation = await session.scalar(
        select(Conversation)
        .where(Conversation.inbox_id == inbox_id, Conversation.contact_id == contact_id)
        .order_by(Conversation.last_activity_at.desc(), Conversation.id.desc())
        .limit(1)
    )
    if conversation is not None:
        return conversation
    now = utcnow()
    conversation = Conversation(
        inbox_id=inbox_id,
        contact_id=contact_id,
        identity_id=identity_id,
        status=Status.resolved,
        priority=Priority.none,
        unread_count=0,
        resolved_at=now,
        created_at=now,
        last_activity_at=now,
        updated_at=now,
    )
    session.add(conversation)
    await session.flush()
    event_log.record(
        session,
        ConversationCreated(conversation=await conversation_view(session, conversation)),
        event_log.Scope(inbox_id=inbox_id, conversation_id=conversation.id),
    )
    return conversation


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


async def retry_message(session: AsyncSession, message: Message) -> Message:
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
) -> Message | None:
    """The customer edited a message: show the new text, keep every earlier one in
    `metadata.edits`. A repeated edit changes nothing; an unknown message is None."""
    message = await session.scalar(
        select(Message).where(
            Message.inbox_id == inbox_id,
            Message.external_id == external_id,
            Message.direction == Direction.inbound,
        )
    )
    if message is None or (message.body_text == text and message.body_html == html):
        return message
    edits = list(message.meta.get("edits", []))
    edits.append({"text": message.body_text, "replaced_at": edited_at.isoformat()})
    message.meta = {**message.meta, "edits": edits}
    message.body_text = text
    message.body_html = sanitize_html(html) if html else None
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
    if message is None:
        return None
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
