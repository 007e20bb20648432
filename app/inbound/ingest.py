"""The heart: normalized inbound messages become stored state, in the caller's transaction.

`ingest_many` stores a batch in named phases: resolve the senders to contacts (and lock
those contacts), dedupe, find the conversations the messages may continue, decide each message's
conversation, insert the messages, record the events. Each phase reads or writes the whole
batch at once, so a batch costs a fixed number of statements on the common path (known
senders, no attachments) however many messages it holds; a test counts them. Nothing here
knows which channel a message came from.

The statements of the common path are built once, with expanding parameters for their
lists: built per call, constructing one and computing its cache key cost more CPU than
the round trip it makes (bench/ingest.py, batches of a few messages).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from app.agents.models import Agent
from app.db import table, utcnow
from app.events import log as event_log
from app.events.types import ConversationCreated, ConversationUpdated, MessageCreated
from app.inbound.senders import Sender, resolve_senders
from app.inbound.storable import raw_bytes, storable
from app.inbound.threads import Threads, find_threads
from app.inboxes.models import Inbox
from app.tickets.models import (
    Attachment,
    Conversation,
    ConversationLabel,
    Direction,
    Message,
    Priority,
    Status,
)
from app.tickets.sanitize import preview, sanitize_html
from app.tickets.shapes import conversation_out, message_row_out
from app.tickets.storage import FileStore
from connectors.base import InboundMessage

# Files above this size are written to disk off the event loop.
_INLINE_WRITE_LIMIT = 256 * 1024

_MESSAGES = table(Message)


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


@dataclass(frozen=True, slots=True)
class _Incoming:
    """A message of the batch, made storable, with its payload as bytes."""

    inbox: InboxRef
    msg: InboundMessage
    raw: bytes

    @property
    def key(self) -> tuple[int, str]:
        """What makes a message unique: its inbox and its external id."""
        return (self.inbox.id, self.msg.external_id)


# (inbox, external id) → (message id, conversation id) of messages stored already.
_StoredIds = dict[tuple[int, str], tuple[int, int]]


@dataclass(frozen=True, slots=True)
class _Pending:
    """A message to store, and the conversation it was decided to belong to."""

    index: int  # in the batch
    inbox: InboxRef
    msg: InboundMessage
    raw: bytes
    sender: Sender
    conversation: Conversation
    opened: bool  # this message created the conversation
    reopened: bool


@dataclass(frozen=True, slots=True)
class _Stored:
    pending: _Pending
    message_id: int
    row: dict[str, Any]  # the message's column values, as inserted
    attachments: list[Attachment]


async def ingest(
    session: AsyncSession, inbox: InboxRef, msg: InboundMessage, policy: IngestPolicy
) -> IngestResult:
    """Store one inbound message. A repeat of an external id is a no-op reporting `duplicate`."""
    (result,) = await ingest_many(session, [(inbox, msg)], policy)
    return result


async def ingest_many(
    session: AsyncSession,
    items: Sequence[tuple[InboxRef, InboundMessage]],
    policy: IngestPolicy,
) -> list[IngestResult]:
    """Store a batch of inbound messages in the caller's transaction; one result per item,
    in order. Messages are decided in order, so a later one sees the conversations and
    contacts that an earlier one in the same batch created."""
    if not items:
        return []
    now = utcnow()
    batch = [_Incoming(inbox, storable(msg), raw_bytes(msg)) for inbox, msg in items]
    senders = await resolve_senders(session, [item.msg.sender for item in batch], now)
    # After the lock: a concurrent batch of the same senders has committed what it stored.
    batch, stored = await dedupe(session, batch)
    threads = await find_threads(
        session,
        [(item.inbox.id, item.msg, s.contact_id) for item, s in zip(batch, senders, strict=True)],
    )
    pending = decide(session, batch, senders, stored, threads, now, policy.reopen_window)
    written = await insert_messages(session, pending, now, policy)
    await record_events(session, written, threads.labels)
    return _results(batch, stored, written)


async def dedupe(
    session: AsyncSession, batch: list[_Incoming]
) -> tuple[list[_Incoming], _StoredIds]:
    """The batch, and which of its messages are stored already.

    A message is the same as a stored one when both have the same (inbox, external id):
    providers redeliver (a retried webhook, a re-scanned mailbox) and a repeat must store
    nothing. But ids that the sender's software writes (an e-mail's Message-ID) can be
    reused for different content: a message whose fingerprint differs from that of the
    message holding its id (stored, or earlier in the batch) gets the id qualified by its
    fingerprint, so it is stored as the other message it is.
    """
    stored = await _stored_ids(session, {item.key for item in batch})
    if any(item.msg.fingerprint for item in batch):
        batch = await _tell_apart(session, batch, stored)
        stored |= await _stored_ids(session, {item.key for item in batch})
    return batch, stored


def decide(
    session: AsyncSession,
    batch: Sequence[_Incoming],
    senders: Sequence[Sender],
    stored: _StoredIds,
    threads: Threads,
    now: datetime,
    reopen_window: timedelta,
) -> list[_Pending]:
    """The conversation of each message not stored yet, decided in batch order (the rules
    are `Threads.continued_by`), so a later message continues what an earlier one opened.
    A message that continues nothing opens a conversation (added to the session, written by
    `insert_messages`); one that continues a conversation not open reopens it. A repeat
    inside the batch is decided once, for its first occurrence. Reads nothing."""
    pending: list[_Pending] = []
    seen: set[tuple[int, str]] = set()
    for index, (item, sender) in enumerate(zip(batch, senders, strict=True)):
        if item.key in stored or item.key in seen:
            continue
        seen.add(item.key)
        inbox, msg = item.inbox, item.msg
        conversation = threads.continued_by(inbox.id, msg, sender.contact_id, now, reopen_window)
        opened = conversation is None
        reopened = False
        if conversation is None:
            conversation = Conversation(
                inbox_id=inbox.id,
                contact_id=sender.contact_id,
                identity_id=sender.identity_id,
                thread_key=msg.thread_key,
                subject=msg.subject,
                status=Status.open,
                priority=Priority.none,
                unread_count=0,
                created_at=now,
                last_activity_at=now,
                updated_at=now,
            )
            session.add(conversation)
        elif conversation.status != Status.open:
            reopened = True
            _change(conversation, status=Status.open, snoozed_until=None, resolved_at=None)
        threads.joined(inbox.id, msg, sender.contact_id, conversation)
        pending.append(
            _Pending(index, inbox, msg, item.raw, sender, conversation, opened, reopened)
        )
    return pending


_INSERT_MESSAGES = insert(_MESSAGES).returning(
    _MESSAGES.c.id, _MESSAGES.c.inbox_id, _MESSAGES.c.external_id
)


async def insert_messages(
    session: AsyncSession, pending: list[_Pending], now: datetime, policy: IngestPolicy
) -> list[_Stored]:
    """Write the decided messages and their conversations' new state (preview, unread
    count, waiting since, reopened). New conversations are flushed first, for their ids;
    then all messages go in as one multi-row INSERT and all conversations' changes as one
    UPDATE, with no ORM unit of work: this is the hot path. Only messages with attachments
    cost statements of their own."""
    if any(p.opened for p in pending):
        await session.flush()
    rows: list[dict[str, Any]] = []
    for item in pending:
        msg = item.msg
        rows.append(
            {
                "conversation_id": item.conversation.id,
                "inbox_id": item.inbox.id,
                "direction": Direction.inbound,
                "sender_contact_id": item.sender.contact_id,
                "body_text": msg.text,
                "body_html": sanitize_html(msg.html) if msg.html else None,
                "subject": msg.subject,
                "external_id": msg.external_id,
                "in_reply_to": msg.in_reply_to,
                "is_auto": msg.is_auto,
                "raw": item.raw,
                "metadata": _metadata(msg),
                "sent_at": msg.sent_at,
                "created_at": now,
                "updated_at": now,
                "attempts": 0,
            }
        )
        conversation = item.conversation
        _change(
            conversation,
            last_message_at=now,
            last_activity_at=now,
            last_message_preview=preview(msg.text or msg.subject or "") or None,
            unread_count=(conversation.unread_count or 0) + 1,
            waiting_since=conversation.waiting_since or (None if msg.is_auto else now),
            updated_at=now,
        )
    await _save_changes(session, {item.conversation.id: item.conversation for item in pending})
    ids: list[int] = []
    if rows:
        # Matched by (inbox, external id), unique in a batch: RETURNING order is not
        # guaranteed, and asking SQLAlchemy to sort makes SQLite insert row by row.
        inserted = {
            (row[1], row[2]): row[0] for row in await session.execute(_INSERT_MESSAGES, rows)
        }
        ids = [inserted[(row["inbox_id"], row["external_id"])] for row in rows]
    return [
        _Stored(
            item,
            message_id,
            row,
            await _store_attachments(session, message_id, item.msg, policy)
            if item.msg.attachments
            else [],
        )
        for item, message_id, row in zip(pending, ids, rows, strict=True)
    ]


_LABELS_TABLE = table(ConversationLabel)
_LABELS = select(_LABELS_TABLE.c.conversation_id, _LABELS_TABLE.c.label).where(
    _LABELS_TABLE.c.conversation_id.in_(bindparam("conversation_ids", expanding=True))
)


async def record_events(
    session: AsyncSession, written: list[_Stored], labels_found: Mapping[int, list[str]]
) -> None:
    """Record, in the same transaction (published after commit), what the agents' screens
    and the visitor's widget must see: per message, `conversation.created` the first time
    its conversation appears in the batch and `conversation.updated` otherwise, then
    `message.created`. The names the conversation views show are read in one query, not per
    message, and so are their labels, but for the conversations whose labels were read with
    them (`labels_found`)."""
    if not written:
        return
    pending = [s.pending for s in written]
    assignees = {p.conversation.assignee_id for p in pending if p.conversation.assignee_id}
    assignee_names: dict[int, str] = {}
    if assignees:
        rows = await session.execute(select(Agent.id, Agent.name).where(Agent.id.in_(assignees)))
        assignee_names = {r[0]: r[1] for r in rows}
    # A message of one channel may land in a conversation of another (merged into it).
    kinds = {p.inbox.id: p.inbox.kind for p in pending}
    elsewhere = {p.conversation.inbox_id for p in pending} - kinds.keys()
    if elsewhere:
        rows = await session.execute(select(Inbox.id, Inbox.kind).where(Inbox.id.in_(elsewhere)))
        kinds |= {r[0]: r[1] for r in rows}
    labels: dict[int, list[str]] = defaultdict(list, labels_found)
    unknown = {p.conversation.id for p in pending if not p.opened} - labels_found.keys()
    if unknown:
        rows = await session.execute(_LABELS, {"conversation_ids": sorted(unknown)})
        for conversation_id, label in rows:
            labels[conversation_id].append(label)
    announced: set[int] = set()
    for done in written:
        item = done.pending
        conversation = item.conversation
        view = conversation_out(
            conversation,
            channel=kinds[conversation.inbox_id],
            contact_name=item.sender.name,
            assignee_name=assignee_names.get(conversation.assignee_id or 0),
            labels=labels[conversation.id],
        )
        # The conversation's inbox: after a merge, a message of another channel may land in it.
        scope = event_log.Scope(inbox_id=conversation.inbox_id, conversation_id=conversation.id)
        if item.opened and conversation.id not in announced:
            event_log.record(session, ConversationCreated(conversation=view), scope)
        else:
            changes = ["status"] if item.reopened else []
            changes += ["last_message", "unread_count"]
            event_log.record(
                session, ConversationUpdated(conversation=view, changes=changes), scope
            )
        announced.add(conversation.id)
        event_log.record(
            session,
            MessageCreated(
                message=message_row_out(
                    {**done.row, "id": done.message_id},
                    attachments=done.attachments,
                    sender_name=item.sender.name,
                )
            ),
            event_log.Scope(
                inbox_id=conversation.inbox_id, conversation_id=conversation.id, public=True
            ),
        )


def _results(
    batch: list[_Incoming], stored: _StoredIds, written: list[_Stored]
) -> list[IngestResult]:
    """One result per message of the batch: a repeat (of a stored message, or of one
    earlier in the batch) answers with the message it repeats, as a duplicate."""
    by_key = {(s.pending.inbox.id, s.pending.msg.external_id): s for s in written}
    results = []
    for index, item in enumerate(batch):
        if item.key in stored:
            message_id, conversation_id = stored[item.key]
            results.append(IngestResult(message_id, conversation_id, duplicate=True))
            continue
        first = by_key[item.key]
        duplicate = first.pending.index != index
        results.append(
            IngestResult(
                first.message_id,
                first.pending.conversation.id,
                duplicate=duplicate,
                new_conversation=first.pending.opened and not duplicate,
            )
        )
    return results


# Every stored message of these inboxes with one of these ids: a superset of the keys asked
# for when a batch holds several inboxes, filtered in Python (one statement, one plan).
_STORED_IDS = select(
    _MESSAGES.c.inbox_id, _MESSAGES.c.external_id, _MESSAGES.c.id, _MESSAGES.c.conversation_id
).where(
    _MESSAGES.c.inbox_id.in_(bindparam("inbox_ids", expanding=True)),
    _MESSAGES.c.external_id.in_(bindparam("external_ids", expanding=True)),
)


async def _stored_ids(session: AsyncSession, keys: Collection[tuple[int, str]]) -> _StoredIds:
    """(inbox, external id) → (message id, conversation id) of what is stored already."""
    wanted = set(keys)
    rows = await session.execute(
        _STORED_IDS,
        {
            "inbox_ids": sorted({inbox_id for inbox_id, _ in wanted}),
            "external_ids": sorted({external_id for _, external_id in wanted}),
        },
    )
    return {(r[0], r[1]): (r[2], r[3]) for r in rows if (r[0], r[1]) in wanted}


async def _tell_apart(
    session: AsyncSession, batch: list[_Incoming], stored: _StoredIds
) -> list[_Incoming]:
    """The batch with a message that reuses an id held by a different message (stored, or
    earlier in the batch) under its id qualified by its fingerprint, so it is stored too;
    a repeat of the same message keeps the id and stays a duplicate."""
    reused = {item.key for item in batch if item.msg.fingerprint} & stored.keys()
    holders: dict[tuple[int, str], str] = {}
    if reused:
        rows = await session.execute(
            select(Message.inbox_id, Message.external_id, Message.meta).where(
                Message.id.in_([stored[key][0] for key in reused])
            )
        )
        # A message stored before fingerprints were kept counts as the same: a re-scan
        # must not store old mail twice.
        holders = {(r[0], r[1]): (r[2] or {}).get("fingerprint", _ANY) for r in rows}
    distinct = []
    for item in batch:
        msg = item.msg
        holder = holders.setdefault(item.key, msg.fingerprint or _ANY)
        if msg.fingerprint and holder not in (msg.fingerprint, _ANY):
            msg = replace(msg, external_id=f"{msg.external_id}#{msg.fingerprint[:16]}")
            item = replace(item, msg=msg)
        distinct.append(item)
    return distinct


_ANY = "*"  # the fingerprint of a stored message that has none: it matches every message


def _metadata(msg: InboundMessage) -> dict[str, Any]:
    if msg.fingerprint is None:
        return dict(msg.metadata)
    return {**msg.metadata, "fingerprint": msg.fingerprint}


# What ingest changes on a conversation, written by `_save_changes`.
_CHANGED = (
    "status",
    "snoozed_until",
    "resolved_at",
    "last_message_at",
    "last_activity_at",
    "last_message_preview",
    "unread_count",
    "waiting_since",
    "updated_at",
)


def _change(conversation: Conversation, **values: Any) -> None:
    """Set attributes as if already saved: the ORM's flush would write each conversation in
    its own UPDATE; `_save_changes` writes the whole batch in one."""
    for key, value in values.items():
        set_committed_value(conversation, key, value)


_CONVERSATIONS = table(Conversation)
_SAVE_CHANGES = (
    update(_CONVERSATIONS)
    .where(_CONVERSATIONS.c.id == bindparam("_id"))
    .values({name: bindparam(name) for name in _CHANGED})
)


async def _save_changes(session: AsyncSession, changed: dict[int, Conversation]) -> None:
    if not changed:
        return
    await session.execute(
        _SAVE_CHANGES,
        [{"_id": c.id, **{name: getattr(c, name) for name in _CHANGED}} for c in changed.values()],
    )


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
