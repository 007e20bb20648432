"""Merging conversations of one contact into one (and undoing it), splitting messages off
into a new conversation, and the conversations that look like duplicates of one.

A merge moves every row that refers to a merged conversation (every foreign key to
conversations.id found in the metadata, but the links below) to the survivor, and remembers
which rows it moved, so that an undo puts back exactly those. A table added later that
refers to conversations is moved without a change here (tests/merge checks it)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Column, and_, func, insert, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from app import models
from app.agents.models import Agent
from app.audit import service as audit
from app.db import utcnow
from app.errors import Conflict, Invalid, NotFound
from app.events import log as event_log
from app.events.types import (
    ConversationCreated,
    ConversationMerged,
    ConversationSplit,
    ConversationUnmerged,
)
from app.inboxes.models import Inbox, InboxKind
from app.merge.models import ConversationMerge
from app.tickets.models import (
    ACTIVE_STATUSES,
    Attachment,
    Conversation,
    Direction,
    Message,
    Priority,
    Status,
)
from app.tickets.sanitize import preview
from app.tickets.service import (
    record_activity,
    record_conversation_change,
    require_writable,
)
from app.tickets.shapes import conversation_view, conversation_views

UNDO_WINDOW = timedelta(hours=24)
DUPLICATE_WINDOW = timedelta(hours=24)  # another open conversation active this recently
SAME_SUBJECT_WINDOW = timedelta(minutes=10)  # an e-mail with the same subject this close

# Foreign keys to conversations that record how conversations relate, not what they hold:
# a merge never moves these.
LINKS = frozenset(
    {
        Conversation.__table__.c.merged_into_id,
        Conversation.__table__.c.split_from_id,
        ConversationMerge.__table__.c.survivor_id,
    }
)

# The fields of a conversation that a merge changes and an undo restores.
_STATE = (
    "status",
    "resolved_at",
    "snoozed_until",
    "waiting_since",
    "unread_count",
    "last_message_at",
    "last_message_preview",
)


def conversation_references() -> list[Column[Any]]:
    """Every column that refers to a conversation's content (all foreign keys to
    conversations.id but the `LINKS`)."""
    target = Conversation.__table__.c.id
    return [
        fk.parent
        for table in models.metadata.sorted_tables
        for fk in table.foreign_keys
        if fk.column is target and fk.parent not in LINKS
    ]


def _column(name: str) -> Column[Any]:
    table, column = name.split(".")
    return models.metadata.tables[table].c[column]


async def _move(
    session: AsyncSession, others: list[Conversation], survivor: Conversation
) -> dict[str, Any]:
    """Re-point every reference to `others` at `survivor`; what moved, by column and by
    merged conversation. A row keyed by the conversation (a label) is copied instead, when
    the survivor lacks it, and its copy is what is remembered."""
    moved: dict[str, Any] = {}
    for column in conversation_references():
        table = column.table
        keys = list(table.primary_key.columns)
        name = f"{table.name}.{column.name}"
        if column in keys:
            have = {
                tuple(r) for r in await session.execute(select(*keys).where(column == survivor.id))
            }
            copies: list[list[Any]] = []
            for other in others:
                for row in await session.execute(select(*keys).where(column == other.id)):
                    copy = tuple(
                        survivor.id if k is column else v for k, v in zip(keys, row, strict=True)
                    )
                    if copy not in have:
                        have.add(copy)
                        copies.append(list(copy))
            if copies:
                await session.execute(
                    insert(table),
                    [{k.name: v for k, v in zip(keys, c, strict=True)} for c in copies],
                )
            moved[name] = {"copied": copies}
            continue
        (key,) = keys
        by_other: dict[str, list[Any]] = {}
        for other in others:
            ids = list((await session.scalars(select(key).where(column == other.id))).all())
            if ids:
                await session.execute(
                    update(table).where(key.in_(ids)).values({column.name: survivor.id})
                )
            by_other[str(other.id)] = ids
        moved[name] = by_other
    return moved


async def _move_back(session: AsyncSession, moved: dict[str, Any], survivor_id: int) -> None:
    for name, rows in moved.items():
        column = _column(name)
        table = column.table
        keys = list(table.primary_key.columns)
        if "copied" in rows:
            if rows["copied"]:
                await session.execute(
                    table.delete().where(tuple_(*keys).in_([tuple(c) for c in rows["copied"]]))
                )
            continue
        (key,) = keys
        for other_id, ids in rows.items():
            if ids:
                await session.execute(
                    update(table)
                    .where(key.in_(ids), column == survivor_id)
                    .values({column.name: int(other_id)})
                )


def _state(conversation: Conversation) -> dict[str, Any]:
    return {
        name: value.isoformat() if isinstance(value, datetime) else value
        for name in _STATE
        for value in [getattr(conversation, name)]
    }


def _restore(conversation: Conversation, state: dict[str, Any]) -> None:
    for name in _STATE:
        value = state.get(name)
        if name.endswith("_at") or name in ("snoozed_until", "waiting_since"):
            value = datetime.fromisoformat(value) if value else None
        setattr(conversation, name, value)


async def _locked(session: AsyncSession, ids: list[int]) -> dict[int, Conversation]:
    rows = await session.scalars(
        select(Conversation)
        .where(Conversation.id.in_(ids))
        .order_by(Conversation.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {c.id: c for c in rows}


def _refs(ids: list[int]) -> str:
    return ", ".join(f"#{i}" for i in ids)


async def merge(
    session: AsyncSession, survivor_id: int, other_ids: list[int], agent: Agent, who: audit.Who
) -> ConversationMerge:
    """Merge `other_ids` into `survivor_id`, all of one contact: the survivor gets all
    their messages, notes, files, activity lines, callback requests…; the others become
    `merged` (read-only), each with a line saying where its content went."""
    others_wanted = list(dict.fromkeys(other_ids))
    if not others_wanted or survivor_id in others_wanted:
        raise Invalid(
            "conversation_ids: one or more conversations other than this one",
            code="invalid_merge",
        )
    found = await _locked(session, [survivor_id, *others_wanted])
    if len(found) != len(others_wanted) + 1:
        raise NotFound("conversation not found")
    survivor, others = found[survivor_id], [found[i] for i in others_wanted]
    require_writable(survivor)
    for other in others:
        if other.status == Status.merged:
            raise Conflict(
                f"conversation {other.id} was merged into conversation {other.merged_into_id} "
                "already",
                code="already_merged",
            )
        if other.contact_id != survivor.contact_id:
            raise Invalid(
                f"conversation {other.id} is another contact's: merge the two contacts first",
                code="different_contacts",
            )
    now = utcnow()
    previous = {str(c.id): _state(c) for c in (survivor, *others)}
    moved = await _move(session, others, survivor)
    for other in others:
        other.status = Status.merged
        other.merged_into_id = survivor.id
        other.snoozed_until = None
        other.waiting_since = None
        other.unread_count = 0
        other.updated_at = now
    _absorb(survivor, [previous[str(o.id)] for o in others], now)
    record = ConversationMerge(
        survivor_id=survivor.id,
        merged_ids=[o.id for o in others],
        agent_id=agent.id,
        moved=moved,
        previous=previous,
        created_at=now,
    )
    session.add(record)
    await session.flush()
    await record_activity(
        session,
        survivor,
        agent,
        f"{agent.name} merged conversation {_refs(record.merged_ids)} into this one",
        {"action": "merged_in", "conversations": record.merged_ids, "merge_id": record.id},
    )
    for other in others:
        await record_activity(
            session,
            other,
            agent,
            f"{agent.name} merged this conversation into #{survivor.id}",
            {"action": "merged_into", "conversation": survivor.id, "merge_id": record.id},
        )
    await _announce_merge(session, survivor, others, record)
    audit.record(
        session,
        who,
        "conversation.merged",
        target=("conversation", survivor.id),
        changes={"merged": record.merged_ids, "merge_id": record.id},
    )
    return record


def _absorb(survivor: Conversation, others: list[dict[str, Any]], now: datetime) -> None:
    """The survivor's state once it holds the others' messages: their unread count, the
    earliest wait, the latest message; open if any of them was active."""
    survivor.unread_count = (survivor.unread_count or 0) + sum(
        o["unread_count"] or 0 for o in others
    )
    waits = [survivor.waiting_since] + [
        datetime.fromisoformat(o["waiting_since"]) for o in others if o["waiting_since"]
    ]
    known = [w for w in waits if w is not None]
    survivor.waiting_since = min(known) if known else None
    for other in others:
        at = datetime.fromisoformat(other["last_message_at"]) if other["last_message_at"] else None
        if at is not None and (survivor.last_message_at is None or at > survivor.last_message_at):
            survivor.last_message_at = at
            survivor.last_message_preview = other["last_message_preview"]
    if survivor.status not in ACTIVE_STATUSES and any(
        o["status"] in ACTIVE_STATUSES for o in others
    ):
        survivor.status = Status.open
        survivor.resolved_at = None
        survivor.snoozed_until = None
    survivor.last_activity_at = now
    survivor.updated_at = now


async def _announce_merge(
    session: AsyncSession,
    survivor: Conversation,
    others: list[Conversation],
    record: ConversationMerge,
) -> None:
    await session.flush()
    for other in others:
        await record_conversation_change(session, other, ["status", "merged_into_id"])
    await record_conversation_change(
        session, survivor, ["status", "last_message", "unread_count", "merged"]
    )
    event_log.record(
        session,
        ConversationMerged(
            merge_id=record.id,
            conversation=await conversation_view(session, survivor),
            merged=await conversation_views(session, others),
        ),
        event_log.Scope(inbox_id=survivor.inbox_id, conversation_id=survivor.id),
    )


async def undo(
    session: AsyncSession, merge_id: int, agent: Agent, who: audit.Who
) -> ConversationMerge:
    """Put a merge's moved rows back and the merged conversations as they were: within
    `UNDO_WINDOW`, when nothing new arrived in the survivor since and no later merge into it
    is still in place; a 409 saying why otherwise (the history then keeps what happened)."""
    record = await session.scalar(
        select(ConversationMerge).where(ConversationMerge.id == merge_id).with_for_update()
    )
    if record is None:
        raise NotFound("merge not found")
    if record.undone_at is not None:
        raise Conflict("this merge was undone already", code="merge_undone")
    now = utcnow()
    if now - record.created_at > UNDO_WINDOW:
        raise Conflict(
            f"a merge can be undone for {UNDO_WINDOW.total_seconds() / 3600:g} hours; this one "
            f"was made at {record.created_at.isoformat()}",
            code="undo_expired",
        )
    later = await session.scalar(
        select(ConversationMerge.id).where(
            ConversationMerge.survivor_id == record.survivor_id,
            ConversationMerge.id > record.id,
            ConversationMerge.undone_at.is_(None),
        )
    )
    if later is not None:
        raise Conflict(
            f"conversations were merged into this one again later (merge {later}); undo that first",
            code="undo_not_possible",
        )
    arrived = await session.scalar(
        select(func.count()).where(
            Message.conversation_id == record.survivor_id,
            Message.created_at > record.created_at,
            Message.direction != Direction.activity,
        )
    )
    if arrived:
        raise Conflict(
            f"{arrived} message(s) arrived or were written in conversation "
            f"#{record.survivor_id} since the merge; the merge stays so that nothing is "
            "separated from what it answers",
            code="undo_not_possible",
        )
    found = await _locked(session, [record.survivor_id, *record.merged_ids])
    survivor, others = found[record.survivor_id], [found[i] for i in record.merged_ids]
    await _move_back(session, record.moved, survivor.id)
    for conversation in (survivor, *others):
        _restore(conversation, record.previous[str(conversation.id)])
        conversation.updated_at = now
    for other in others:
        other.merged_into_id = None
        other.last_activity_at = now
    survivor.last_activity_at = now
    record.undone_at = now
    await session.flush()
    await record_activity(
        session,
        survivor,
        agent,
        f"{agent.name} undid the merge of {_refs(record.merged_ids)} into this one",
        {"action": "unmerged", "conversations": record.merged_ids, "merge_id": record.id},
    )
    for other in others:
        await record_activity(
            session,
            other,
            agent,
            f"{agent.name} undid the merge of this conversation into #{survivor.id}",
            {"action": "unmerged_from", "conversation": survivor.id, "merge_id": record.id},
        )
    for other in others:
        await record_conversation_change(session, other, ["status", "merged_into_id"])
    await record_conversation_change(
        session, survivor, ["status", "last_message", "unread_count", "merged"]
    )
    event_log.record(
        session,
        ConversationUnmerged(
            merge_id=record.id,
            conversation=await conversation_view(session, survivor),
            restored=await conversation_views(session, others),
        ),
        event_log.Scope(inbox_id=survivor.inbox_id, conversation_id=survivor.id),
    )
    audit.record(
        session,
        who,
        "conversation.unmerged",
        target=("conversation", survivor.id),
        changes={"restored": record.merged_ids, "merge_id": record.id},
    )
    return record


async def merges_into(session: AsyncSession, conversation_id: int) -> list[ConversationMerge]:
    """The merges into this conversation, newest first."""
    return list(
        (
            await session.scalars(
                select(ConversationMerge)
                .where(ConversationMerge.survivor_id == conversation_id)
                .order_by(ConversationMerge.id.desc())
                .limit(50)
            )
        ).all()
    )


async def split(
    session: AsyncSession,
    source: Conversation,
    message_ids: list[int],
    agent: Agent,
    who: audit.Who,
) -> Conversation:
    """Move these messages (with their files) to a new conversation of the same contact,
    linked to `source`; replies to them (e-mail In-Reply-To) follow them there."""
    require_writable(source)
    wanted = set(message_ids)
    found = list(
        (
            await session.scalars(
                select(Message)
                .where(Message.id.in_(wanted), Message.conversation_id == source.id)
                .order_by(Message.id)
            )
        ).all()
    )
    if missing := wanted - {m.id for m in found}:
        raise Invalid(
            f"message_ids: {sorted(missing)} are not messages of this conversation",
            code="invalid_split",
        )
    # Activity lines record what happened to this conversation: they stay with it.
    if lines := sorted(m.id for m in found if m.direction == Direction.activity):
        raise Invalid(
            f"message_ids: {lines} are activity lines (assignments, status changes), which "
            "stay with their conversation; choose messages and notes",
            code="invalid_split",
        )
    chosen = found
    left = await session.scalar(
        select(func.count()).where(
            Message.conversation_id == source.id,
            Message.direction != Direction.activity,
            Message.id.not_in(wanted),
        )
    )
    if not left:
        raise Invalid(
            "message_ids: leave at least one message in this conversation", code="invalid_split"
        )
    channel = await _channel_for(session, source, chosen[0].inbox_id)
    now = utcnow()
    said = [m for m in chosen if m.direction in (Direction.inbound, Direction.outbound)]
    latest = said[-1] if said else None
    conversation = Conversation(
        inbox_id=channel.inbox_id,
        contact_id=source.contact_id,
        identity_id=channel.identity_id,
        thread_key=channel.thread_key,
        subject=next((m.subject for m in chosen if m.subject), None) or source.subject,
        status=Status.open,
        priority=Priority.none,
        assignee_id=source.assignee_id,
        team_id=source.team_id,
        unread_count=0,
        last_message_at=latest.created_at if latest else None,
        last_message_preview=preview(latest.body_text or "") or None if latest else None,
        split_from_id=source.id,
        created_at=now,
        last_activity_at=now,
        updated_at=now,
    )
    session.add(conversation)
    await session.flush()
    ids = [m.id for m in chosen]
    await session.execute(
        update(Message).where(Message.id.in_(ids)).values(conversation_id=conversation.id)
    )
    await session.execute(
        update(Attachment)
        .where(Attachment.message_id.in_(ids), Attachment.conversation_id.is_not(None))
        .values(conversation_id=conversation.id)
    )
    for message in chosen:
        message.conversation_id = conversation.id
    await _refresh_last_message(session, source)
    source.updated_at = now
    source.last_activity_at = now
    await session.flush()
    event_log.record(
        session,
        ConversationCreated(conversation=await conversation_view(session, conversation)),
        event_log.Scope(inbox_id=conversation.inbox_id, conversation_id=conversation.id),
    )
    await record_activity(
        session,
        source,
        agent,
        f"{agent.name} split {len(ids)} message(s) off into #{conversation.id}",
        {"action": "split_to", "conversation": conversation.id, "messages": ids},
    )
    await record_activity(
        session,
        conversation,
        agent,
        f"{agent.name} split this conversation off #{source.id}",
        {"action": "split_from", "conversation": source.id, "messages": ids},
    )
    await record_conversation_change(session, source, ["last_message", "split"])
    event_log.record(
        session,
        ConversationSplit(
            conversation=await conversation_view(session, conversation),
            source=await conversation_view(session, source),
            message_ids=ids,
        ),
        event_log.Scope(inbox_id=source.inbox_id, conversation_id=source.id),
    )
    audit.record(
        session,
        who,
        "conversation.split",
        target=("conversation", source.id),
        changes={"new_conversation": conversation.id, "messages": ids},
    )
    return conversation


async def _channel_for(session: AsyncSession, source: Conversation, inbox_id: int) -> Conversation:
    """The conversation whose address and thread a split-off conversation in `inbox_id`
    takes: the source's own, or that of one merged into it on that channel."""
    if source.inbox_id == inbox_id:
        return source
    merged = await session.scalar(
        select(Conversation)
        .where(Conversation.merged_into_id == source.id, Conversation.inbox_id == inbox_id)
        .order_by(Conversation.id.desc())
        .limit(1)
    )
    return merged or source


async def _refresh_last_message(session: AsyncSession, conversation: Conversation) -> None:
    latest = await session.scalar(
        select(Message)
        .where(
            Message.conversation_id == conversation.id,
            Message.direction.in_((Direction.inbound, Direction.outbound)),
        )
        .order_by(Message.id.desc())
        .limit(1)
    )
    conversation.last_message_at = latest.created_at if latest else None
    conversation.last_message_preview = (
        preview(latest.body_text or latest.subject or "") or None if latest else None
    )


async def reply_channels(session: AsyncSession, conversation: Conversation) -> list[Conversation]:
    """The conversations whose channels a reply in this one can go out on: itself first,
    then those merged into it (directly or through others)."""
    channels, frontier = [conversation], [conversation.id]
    while frontier and len(channels) < 50:
        merged = list(
            (
                await session.scalars(
                    select(Conversation)
                    .where(Conversation.merged_into_id.in_(frontier))
                    .order_by(Conversation.id)
                )
            ).all()
        )
        channels += merged
        frontier = [c.id for c in merged]
    return channels


# ---------------------------------------------------------------- duplicates

_SUBJECT_PREFIX = re.compile(
    r"^\s*((re|fw|fwd|aw|wg|sv|vs|tr|rv|antw|پاسخ|ارسال|باز ?ارسال)\s*(\[\d+\])?\s*[:：]\s*"
    r"|\[#?\d+\]\s*)+",
    re.IGNORECASE,
)


def normalized_subject(subject: str | None) -> str:
    """A subject without reply/forward prefixes and ticket tags, spaces folded, case-folded."""
    return " ".join(_SUBJECT_PREFIX.sub("", subject or "").split()).casefold()


@dataclass(frozen=True, slots=True)
class Duplicate:
    conversation: Conversation
    reason: str  # "open_same_contact" / "same_subject"


async def duplicates(
    session: AsyncSession, conversation: Conversation, *, visible: set[int] | None
) -> list[Duplicate]:
    """Conversations that may be the same request as this one: another of the contact's
    conversations, open and active in the last day on any channel, or an e-mail with the same
    subject started within minutes of this one. One indexed read (by contact)."""
    if conversation.status == Status.merged:
        return []
    now = utcnow()
    lo, hi = (
        conversation.created_at - SAME_SUBJECT_WINDOW,
        conversation.created_at + SAME_SUBJECT_WINDOW,
    )
    stmt = (
        select(Conversation, Inbox.kind)
        .join(Inbox, Inbox.id == Conversation.inbox_id)
        .where(
            Conversation.contact_id == conversation.contact_id,
            Conversation.id != conversation.id,
            Conversation.status != Status.merged,
            or_(
                and_(
                    Conversation.status.in_(ACTIVE_STATUSES),
                    Conversation.last_activity_at >= now - DUPLICATE_WINDOW,
                ),
                and_(Conversation.created_at >= lo, Conversation.created_at <= hi),
            ),
        )
        .order_by(Conversation.last_activity_at.desc())
        .limit(20)
    )
    if visible is not None:
        stmt = stmt.where(Conversation.inbox_id.in_(visible))
    own_kind = await session.scalar(select(Inbox.kind).where(Inbox.id == conversation.inbox_id))
    subject = normalized_subject(conversation.subject)
    found = []
    for other, kind in await session.execute(stmt):
        if other.status in ACTIVE_STATUSES and other.last_activity_at >= now - DUPLICATE_WINDOW:
            found.append(Duplicate(other, "open_same_contact"))
        elif (
            subject
            and kind == own_kind == InboxKind.email
            and normalized_subject(other.subject) == subject
        ):
            found.append(Duplicate(other, "same_subject"))
    return found


async def conversations_of(session: AsyncSession, record: ConversationMerge) -> list[Conversation]:
    """The survivor, then the merged conversations, in the merge's order."""
    rows = {
        c.id: c
        for c in await session.scalars(
            select(Conversation).where(
                Conversation.id.in_([record.survivor_id, *record.merged_ids])
            )
        )
    }
    return [rows[record.survivor_id], *(rows[i] for i in record.merged_ids)]
