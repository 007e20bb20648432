"""The heart: one normalized inbound message becomes stored state, in the caller's transaction.

identity → contact, thread → conversation, the message (unique per inbox + external id),
counters, events. Nothing here knows which channel the message came from.
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, func, insert, null, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from app.agents.models import Agent
from app.contacts.models import Contact, ContactIdentity
from app.contacts.service import party_facts, resolve_contact
from app.db import table, utcnow
from app.events import log as event_log
from app.events.types import ConversationCreated, ConversationUpdated, MessageCreated
from app.tickets.models import (
    ACTIVE_STATUSES,
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
from connectors.base import Address, AddressKind, InboundMessage, Party

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


def storable_value(value: Any) -> Any:
    """The value with every string in it storable: NUL characters removed, and a lone UTF-16
    surrogate (JSON may escape one, "\\ud800") made U+FFFD. Providers do send both
    (broken MIME, binary junk), and neither database can store them as text."""
    if isinstance(value, str):
        if "\x00" in value:
            value = value.replace("\x00", "")
        if not value.isascii():
            try:
                value.encode()
            except UnicodeEncodeError:
                value = value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
        return value
    if isinstance(value, dict):
        return {storable_value(k): storable_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(storable_value(v) for v in value)
    return value


def _storable_address(address: Address) -> Address:
    return Address(address.kind, storable_value(address.value))


def storable(msg: InboundMessage) -> InboundMessage:
    """The message as it can be stored: every text in it storable (`storable_value`)."""
    sender = msg.sender
    return replace(
        msg,
        external_id=storable_value(msg.external_id),
        sender=Party(
            address=_storable_address(sender.address),
            name=storable_value(sender.name),
            also_known_as=tuple(_storable_address(a) for a in sender.also_known_as),
            language=storable_value(sender.language),
            attributes=storable_value(dict(sender.attributes)),
        ),
        text=storable_value(msg.text),
        thread_key=storable_value(msg.thread_key),
        in_reply_to=storable_value(msg.in_reply_to),
        references=storable_value(msg.references),
        html=storable_value(msg.html),
        subject=storable_value(msg.subject),
        attachments=tuple(
            replace(a, filename=storable_value(a.filename), content_id=storable_value(a.content_id))
            for a in msg.attachments
        ),
        metadata=storable_value(dict(msg.metadata)),
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


@dataclass(frozen=True, slots=True)
class _Sender:
    contact_id: int
    identity_id: int
    name: str | None
    attributes: dict[str, Any]

    def learns_from(self, party: Party) -> bool:
        """Whether this message tells us something new about the person."""
        if party.also_known_as or (self.name is None and party.name):
            return True
        return any(self.attributes.get(k) != v for k, v in party_facts(party).items())


async def _stored(
    session: AsyncSession, keys: set[tuple[int, str]]
) -> dict[tuple[int, str], tuple[int, int]]:
    """(inbox, external id) → (message id, conversation id) of what is stored already."""
    by_inbox: dict[int, list[str]] = defaultdict(list)
    for inbox_id, external_id in keys:
        by_inbox[inbox_id].append(external_id)
    rows = await session.execute(
        select(Message.inbox_id, Message.external_id, Message.id, Message.conversation_id).where(
            or_(
                *(
                    and_(Message.inbox_id == inbox_id, Message.external_id.in_(ids))
                    for inbox_id, ids in by_inbox.items()
                )
            )
        )
    )
    return {(r[0], r[1]): (r[2], r[3]) for r in rows if r[1] is not None}


async def _tell_apart(
    session: AsyncSession,
    prepared: list[tuple[InboxRef, InboundMessage, bytes]],
    stored: dict[tuple[int, str], tuple[int, int]],
) -> list[tuple[InboxRef, InboundMessage, bytes]]:
    """The batch with a message that reuses an id held by a different message (stored, or
    earlier in the batch) under its id qualified by its fingerprint, so it is stored too;
    a repeat of the same message keeps the id and stays a duplicate."""
    reused = {(i.id, m.external_id) for i, m, _ in prepared if m.fingerprint} & stored.keys()
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
    for inbox, msg, raw in prepared:
        key = (inbox.id, msg.external_id)
        holder = holders.setdefault(key, msg.fingerprint or _ANY)
        if msg.fingerprint and holder not in (msg.fingerprint, _ANY):
            msg = replace(msg, external_id=f"{msg.external_id}#{msg.fingerprint[:16]}")
        distinct.append((inbox, msg, raw))
    return distinct


_ANY = "*"  # the fingerprint of a stored message that has none: it matches every message


def _metadata(msg: InboundMessage) -> dict[str, Any]:
    if msg.fingerprint is None:
        return dict(msg.metadata)
    return {**msg.metadata, "fingerprint": msg.fingerprint}


async def _known_senders(
    session: AsyncSession, addresses: set[Address], *, with_attributes: bool
) -> dict[Address, _Sender]:
    """The contacts behind these addresses; their attributes only when asked (decoding
    every sender's JSON costs, and most channels tell nothing new about a person)."""
    by_kind: dict[str, list[str]] = defaultdict(list)
    for address in addresses:
        by_kind[address.kind].append(address.value)
    rows = await session.execute(
        select(
            ContactIdentity.kind,
            ContactIdentity.address,
            ContactIdentity.id,
            ContactIdentity.contact_id,
            Contact.name,
            Contact.attributes if with_attributes else null(),
        )
        .join(Contact, Contact.id == ContactIdentity.contact_id)
        .where(
            or_(
                *(
                    and_(ContactIdentity.kind == kind, ContactIdentity.address.in_(values))
                    for kind, values in by_kind.items()
                )
            )
        )
    )
    return {Address(AddressKind(r[0]), r[1]): _Sender(r[3], r[2], r[4], r[5] or {}) for r in rows}


async def _create_contacts(
    session: AsyncSession, parties: list[Party], now: datetime
) -> dict[Address, _Sender]:
    """A contact and identity for each of these first-time senders, in two multi-row
    INSERTs. If another transaction created one of them meanwhile, nothing is created here
    ({}), and the caller resolves them one by one."""
    facts = [party_facts(p) for p in parties]
    try:
        async with session.begin_nested():
            # RETURNING order is not guaranteed (and asking SQLAlchemy to sort makes SQLite
            # insert row by row), so the new ids are matched by content: new contacts with
            # the same name and facts are interchangeable.
            contact_ids: dict[tuple[str | None, str], list[int]] = defaultdict(list)
            for row in await session.execute(
                insert(table(Contact)).returning(
                    table(Contact).c.id, table(Contact).c.name, table(Contact).c.attributes
                ),
                [
                    {"name": p.name, "attributes": f, "created_at": now, "updated_at": now}
                    for p, f in zip(parties, facts, strict=True)
                ],
            ):
                contact_ids[(row[1], _fact_key(row[2]))].append(row[0])
            contacts = [
                contact_ids[(p.name, _fact_key(f))].pop()
                for p, f in zip(parties, facts, strict=True)
            ]
            identity_ids = {
                (row[1], row[2]): row[0]
                for row in await session.execute(
                    insert(table(ContactIdentity)).returning(
                        table(ContactIdentity).c.id,
                        table(ContactIdentity).c.kind,
                        table(ContactIdentity).c.address,
                    ),
                    [
                        {
                            "contact_id": contact_id,
                            "kind": p.address.kind,
                            "address": p.address.value,
                            "reachable": True,
                            "created_at": now,
                        }
                        for p, contact_id in zip(parties, contacts, strict=True)
                    ],
                )
            }
    except IntegrityError:
        return {}
    return {
        p.address: _Sender(contact_id, identity_ids[(p.address.kind, p.address.value)], p.name, f)
        for p, contact_id, f in zip(parties, contacts, facts, strict=True)
    }


def _fact_key(facts: dict[str, Any] | None) -> str:
    return json.dumps(facts or {}, sort_keys=True)


async def _latest_conversations(
    session: AsyncSession, partition: tuple[Any, Any], where: Any
) -> list[Conversation]:
    """The most recently active conversation in each partition (inbox + contact/thread)."""
    ranked = (
        select(
            Conversation.id,
            func.row_number()
            .over(partition_by=partition, order_by=Conversation.last_activity_at.desc())
            .label("rank"),
        )
        .where(where)
        .subquery()
    )
    return list(
        (
            await session.scalars(
                select(Conversation)
                .join(ranked, ranked.c.id == Conversation.id)
                .where(ranked.c.rank == 1)
            )
        ).all()
    )


def _named(
    conversation: Conversation | None, inbox: InboxRef, sender: _Sender
) -> Conversation | None:
    """The conversation a message names, if it is the sender's own in this inbox: a number
    in a stranger's subject never attaches their message to someone else's ticket."""
    if conversation is None or conversation.inbox_id != inbox.id:
        return None
    return conversation if conversation.contact_id == sender.contact_id else None


def _continues(conversation: Conversation | None, now: datetime, window: timedelta) -> bool:
    """Whether a message without an explicit reference still belongs to this conversation."""
    if conversation is None:
        return False
    if conversation.status in ACTIVE_STATUSES:
        return True
    return now - (conversation.resolved_at or conversation.updated_at) <= window


@dataclass(frozen=True, slots=True)
class _Pending:
    """A message to store, and the conversation it was decided to belong to."""

    index: int
    inbox: InboxRef
    msg: InboundMessage
    raw: bytes
    sender: _Sender
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
    """Store a batch of inbound messages in the caller's transaction, with a fixed number
    of statements for the whole batch on the common path (known senders, no attachments).

    Messages are decided in order, so a later one sees the conversations and contacts that
    an earlier one in the same batch created.
    """
    if not items:
        return []
    now = utcnow()
    prepared = [(inbox, storable(msg), _raw_bytes(msg)) for inbox, msg in items]
    results: list[IngestResult | None] = [None] * len(prepared)
    stored = await _stored(session, {(inbox.id, msg.external_id) for inbox, msg, _ in prepared})
    if any(msg.fingerprint for _, msg, _ in prepared):
        prepared = await _tell_apart(session, prepared, stored)
        stored |= await _stored(session, {(i.id, m.external_id) for i, m, _ in prepared})

    # Senders: the known ones in one query; first-time senders get their contacts in one
    # go; anything more (another address to link, a new fact) goes through resolve_contact.
    known = await _known_senders(
        session,
        {msg.sender.address for _, msg, _ in prepared},
        with_attributes=any(party_facts(msg.sender) for _, msg, _ in prepared),
    )
    first_time: dict[Address, Party] = {}
    for _inbox, msg, _raw in prepared:
        if msg.sender.address not in known and not msg.sender.also_known_as:
            first_time.setdefault(msg.sender.address, msg.sender)
    if first_time:
        known |= await _create_contacts(session, list(first_time.values()), now)
    senders: dict[int, _Sender] = {}
    for index, (_inbox, msg, _raw) in enumerate(prepared):
        sender = known.get(msg.sender.address)
        if sender is None or sender.learns_from(msg.sender):
            resolved = await resolve_contact(session, msg.sender)
            sender = _Sender(
                resolved.contact_id,
                resolved.identity_id,
                resolved.contact_name,
                {**(sender.attributes if sender else {}), **party_facts(msg.sender)},
            )
            known[msg.sender.address] = sender
        senders[index] = sender

    if session.get_bind().dialect.name == "postgresql":
        # Everything that decides "which conversation" is serialised per contact, so
        # concurrent first messages from one sender open one conversation. Sorted, so two
        # batches never wait on each other in a cycle.
        await session.execute(
            select(Contact.id)
            .where(Contact.id.in_(sorted({s.contact_id for s in senders.values()})))
            .order_by(Contact.id)
            .with_for_update()
        )
        stored |= await _stored(session, {(i.id, m.external_id) for i, m, _ in prepared})

    # Candidate conversations, each kind in one query.
    inbox_ids = {inbox.id for inbox, _, _ in prepared}
    refs = {(inbox.id, r) for inbox, msg, _ in prepared for r in _refs(msg)}
    by_ref: dict[tuple[int, str], Conversation] = {}
    if refs:
        ref_rows = await session.execute(
            select(Message.inbox_id, Message.external_id, Conversation)
            .join(Conversation, Conversation.id == Message.conversation_id)
            .where(or_(*(and_(Message.inbox_id == i, Message.external_id == r) for i, r in refs)))
            .order_by(Message.id)
        )
        by_ref = {(r[0], r[1]): r[2] for r in ref_rows if r[1] is not None}
    thread_keys = {msg.thread_key for _, msg, _ in prepared if msg.thread_key is not None}
    by_thread: dict[tuple[int, str | None], Conversation] = {}
    if thread_keys:
        for c in await _latest_conversations(
            session,
            (Conversation.inbox_id, Conversation.thread_key),
            and_(Conversation.inbox_id.in_(inbox_ids), Conversation.thread_key.in_(thread_keys)),
        ):
            by_thread[(c.inbox_id, c.thread_key)] = c
    unthreaded = {
        senders[i].contact_id for i, (_, m, _) in enumerate(prepared) if m.thread_key is None
    }
    # Conversations messages name themselves ("[#123]"), trusted only for their own contact.
    hinted_ids = {msg.conversation_hint for _, msg, _ in prepared if msg.conversation_hint}
    hinted: dict[int, Conversation] = {}
    if hinted_ids:
        hinted = {
            c.id: c
            for c in await session.scalars(
                select(Conversation).where(Conversation.id.in_(hinted_ids))
            )
        }
    by_contact: dict[tuple[int, int], Conversation] = {}
    if unthreaded:
        for c in await _latest_conversations(
            session,
            (Conversation.inbox_id, Conversation.contact_id),
            and_(Conversation.inbox_id.in_(inbox_ids), Conversation.contact_id.in_(unthreaded)),
        ):
            by_contact[(c.inbox_id, c.contact_id)] = c

    # Decide, in order.
    pending: list[_Pending] = []
    seen: dict[tuple[int, str], _Pending] = {}
    for index, (inbox, msg, raw) in enumerate(prepared):
        key = (inbox.id, msg.external_id)
        if key in stored:
            message_id, conversation_id = stored[key]
            results[index] = IngestResult(message_id, conversation_id, duplicate=True)
            continue
        if key in seen:
            continue  # a repeat inside this batch: answered from the first, below
        sender = senders[index]
        # An explicit reply joins its thread, whatever its state (a resolved one reopens),
        # including a thread that started earlier in this batch.
        replied = [(inbox.id, r) for r in _refs(msg)]
        conversation = (
            next((by_ref[k] for k in replied if k in by_ref), None)
            or next((seen[k].conversation for k in replied if k in seen), None)
            or _named(hinted.get(msg.conversation_hint or 0), inbox, sender)
        )
        if conversation is None:
            candidate = (
                by_thread.get((inbox.id, msg.thread_key))
                if msg.thread_key is not None
                else by_contact.get((inbox.id, sender.contact_id))
            )
            conversation = candidate if _continues(candidate, now, policy.reopen_window) else None
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
        if msg.thread_key is not None:
            by_thread[(inbox.id, msg.thread_key)] = conversation
        else:
            by_contact[(inbox.id, sender.contact_id)] = conversation
        item = _Pending(index, inbox, msg, raw, sender, conversation, opened, reopened)
        seen[key] = item
        pending.append(item)

    if any(p.opened for p in pending):
        await session.flush()  # new conversations get their ids
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
    # Messages go in as one multi-row INSERT, and the conversations' new state as one
    # UPDATE (no ORM unit of work: this is the hot path).
    await _save_changes(session, {item.conversation.id: item.conversation for item in pending})
    ids: list[int] = []
    if rows:
        # Matched by (inbox, external id), unique in a batch: RETURNING order is not
        # guaranteed, and asking SQLAlchemy to sort makes SQLite insert row by row.
        messages = table(Message)
        inserted = {
            (row[1], row[2]): row[0]
            for row in await session.execute(
                insert(messages).returning(
                    messages.c.id, messages.c.inbox_id, messages.c.external_id
                ),
                rows,
            )
        }
        ids = [inserted[(row["inbox_id"], row["external_id"])] for row in rows]
    stored_now = [
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
    await _record_events(session, stored_now)
    by_key = {(s.pending.inbox.id, s.pending.msg.external_id): s for s in stored_now}
    for index, (inbox, msg, _raw) in enumerate(prepared):
        if results[index] is None:
            first = by_key[(inbox.id, msg.external_id)]
            duplicate = first.pending.index != index
            results[index] = IngestResult(
                first.message_id,
                first.pending.conversation.id,
                duplicate=duplicate,
                new_conversation=first.pending.opened and not duplicate,
            )
    return [r for r in results if r is not None]


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


async def _save_changes(session: AsyncSession, changed: dict[int, Conversation]) -> None:
    if not changed:
        return
    conversations = table(Conversation)
    await session.execute(
        update(conversations)
        .where(conversations.c.id == bindparam("_id"))
        .values({name: bindparam(name) for name in _CHANGED}),
        [{"_id": c.id, **{name: getattr(c, name) for name in _CHANGED}} for c in changed.values()],
    )


def _refs(msg: InboundMessage) -> list[str]:
    return [r for r in (msg.in_reply_to, *msg.references) if r]


def _raw_bytes(msg: InboundMessage) -> bytes:
    if isinstance(msg.raw, bytes):
        return msg.raw
    try:
        return json.dumps(msg.raw, ensure_ascii=False).encode()
    except UnicodeEncodeError:  # a lone surrogate: kept as the escape it came as
        return json.dumps(msg.raw).encode()


async def _record_events(session: AsyncSession, stored: list[_Stored]) -> None:
    if not stored:
        return
    pending = [s.pending for s in stored]
    assignees = {p.conversation.assignee_id for p in pending if p.conversation.assignee_id}
    assignee_names: dict[int, str] = {}
    if assignees:
        rows = await session.execute(select(Agent.id, Agent.name).where(Agent.id.in_(assignees)))
        assignee_names = {r[0]: r[1] for r in rows}
    existing = [p.conversation.id for p in pending if not p.opened]
    labels: dict[int, list[str]] = defaultdict(list)
    if existing:
        rows = await session.execute(
            select(ConversationLabel.conversation_id, ConversationLabel.label).where(
                ConversationLabel.conversation_id.in_(existing)
            )
        )
        for conversation_id, label in rows:
            labels[conversation_id].append(label)
    announced: set[int] = set()
    for done in stored:
        item = done.pending
        conversation = item.conversation
        view = conversation_out(
            conversation,
            channel=item.inbox.kind,
            contact_name=item.sender.name,
            assignee_name=assignee_names.get(conversation.assignee_id or 0),
            labels=labels[conversation.id],
        )
        scope = event_log.Scope(inbox_id=item.inbox.id, conversation_id=conversation.id)
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
            event_log.Scope(inbox_id=item.inbox.id, conversation_id=conversation.id, public=True),
        )
