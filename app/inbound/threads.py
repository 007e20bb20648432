"""Which conversation a message continues: the candidates for a whole batch, each kind read
in one query, and the rules that choose among them."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, bindparam, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import json_array_agg
from app.tickets.models import ACTIVE_STATUSES, Conversation, ConversationLabel, Message
from app.tickets.service import follow_merges
from connectors.base import InboundMessage


@dataclass(slots=True)
class Threads:
    """The conversations a batch's messages may continue, keyed the way messages name them.
    `joined` adds each decided message, so a later message in the batch sees the
    conversations that earlier ones opened or continued. A conversation merged into another
    stands for the one it was merged into (`survivors`): what threads into it lands there."""

    by_ref: dict[tuple[int, str], Conversation]  # (inbox, a stored message's external id)
    by_thread: dict[tuple[int, str | None], Conversation]  # (inbox, thread key): the latest
    by_contact: dict[tuple[int, int], Conversation]  # (inbox, contact): the latest unthreaded
    hinted: dict[int, Conversation]  # by id, for messages that name one ("[#123]")
    labels: dict[int, list[str]]  # of the conversations above, by id
    in_batch: dict[tuple[int, str], Conversation] = field(default_factory=dict)
    survivors: dict[int, Conversation] = field(default_factory=dict)  # merged id → survivor

    def continued_by(
        self, inbox_id: int, msg: InboundMessage, contact_id: int, now: datetime, window: timedelta
    ) -> Conversation | None:
        """The conversation this message belongs to, or None for a new one.

        An explicit reply joins its thread whatever its state (a resolved one reopens),
        including a thread that started earlier in this batch; so does a conversation the
        message names, if it is the sender's own. Otherwise the latest conversation of the
        thread (or of the contact, for channels without threads), if it is active or was
        resolved within the reopen window.
        """
        replied = [(inbox_id, r) for r in _refs(msg)]
        conversation = (
            next((self.by_ref[k] for k in replied if k in self.by_ref), None)
            or next((self.in_batch[k] for k in replied if k in self.in_batch), None)
            or _named(self.hinted.get(msg.conversation_hint or 0), inbox_id, contact_id)
        )
        if conversation is not None:
            return self._surviving(conversation)
        candidate = (
            self.by_thread.get((inbox_id, msg.thread_key))
            if msg.thread_key is not None
            else self.by_contact.get((inbox_id, contact_id))
        )
        candidate = self._surviving(candidate) if candidate is not None else None
        return candidate if _continues(candidate, now, window) else None

    def _surviving(self, conversation: Conversation) -> Conversation:
        return self.survivors.get(conversation.id, conversation)

    def joined(
        self, inbox_id: int, msg: InboundMessage, contact_id: int, conversation: Conversation
    ) -> None:
        """Record that this message (not yet stored) went into this conversation."""
        if msg.thread_key is not None:
            self.by_thread[(inbox_id, msg.thread_key)] = conversation
        else:
            self.by_contact[(inbox_id, contact_id)] = conversation
        self.in_batch[(inbox_id, msg.external_id)] = conversation


async def find_threads(
    session: AsyncSession, batch: Sequence[tuple[int, InboundMessage, int]]
) -> Threads:
    """The candidate conversations for a batch of (inbox id, message, sender's contact id):
    at most one query for each kind of candidate, none for a kind the batch never uses."""
    inbox_ids = {inbox_id for inbox_id, _, _ in batch}
    refs_wanted = {(inbox_id, r) for inbox_id, msg, _ in batch for r in _refs(msg)}
    by_ref: dict[tuple[int, str], Conversation] = {}
    labels: dict[int, list[str]] = {}
    if refs_wanted:
        ref_rows = await session.execute(
            select(Message.inbox_id, Message.external_id, Conversation, _LABELS)
            .join(Conversation, Conversation.id == Message.conversation_id)
            .where(
                or_(
                    *(and_(Message.inbox_id == i, Message.external_id == r) for i, r in refs_wanted)
                )
            )
            .order_by(Message.id)
        )
        for inbox_id, external_id, conversation, names in ref_rows:
            by_ref[(inbox_id, external_id)] = conversation
            labels[conversation.id] = names or []
    thread_keys = {msg.thread_key for _, msg, _ in batch if msg.thread_key is not None}
    by_thread: dict[tuple[int, str | None], Conversation] = {}
    if thread_keys:
        for c, names in await session.execute(
            _LATEST_BY_THREAD, _latest_params(inbox_ids, thread_keys)
        ):
            by_thread[(c.inbox_id, c.thread_key)] = c
            labels[c.id] = names or []
    unthreaded = {contact_id for _, msg, contact_id in batch if msg.thread_key is None}
    hinted_ids = {msg.conversation_hint for _, msg, _ in batch if msg.conversation_hint}
    hinted: dict[int, Conversation] = {}
    if hinted_ids:
        for c, names in await session.execute(
            select(Conversation, _LABELS).where(Conversation.id.in_(hinted_ids))
        ):
            hinted[c.id] = c
            labels[c.id] = names or []
    by_contact: dict[tuple[int, int], Conversation] = {}
    if unthreaded:
        for c, names in await session.execute(
            _LATEST_BY_CONTACT, _latest_params(inbox_ids, unthreaded)
        ):
            by_contact[(c.inbox_id, c.contact_id)] = c
            labels[c.id] = names or []
    merged = [
        c
        for found in (by_ref, by_thread, by_contact, hinted)
        for c in found.values()
        if c.merged_into_id is not None
    ]
    survivors = await follow_merges(session, merged) if merged else {}
    return Threads(by_ref, by_thread, by_contact, hinted, labels, survivors=survivors)


def _refs(msg: InboundMessage) -> list[str]:
    """The external ids of the messages this one answers, nearest first."""
    return [r for r in (msg.in_reply_to, *msg.references) if r]


# A candidate's labels, read with it (the events announcing a message show them): a JSON
# array, or None when it has none (PostgreSQL).
_LABELS = (
    select(json_array_agg(ConversationLabel.label))
    .where(ConversationLabel.conversation_id == Conversation.id)
    .scalar_subquery()
)


def _latest_query(key: Any) -> Select[Conversation, Any]:
    """The most recently active conversation of each (inbox, `key`) among the inboxes
    `inbox_ids` and the keys `keys` (both expanding parameters), and its labels."""
    ranked = (
        select(
            Conversation.id,
            func.row_number()
            .over(
                partition_by=(Conversation.inbox_id, key),
                order_by=Conversation.last_activity_at.desc(),
            )
            .label("rank"),
        )
        .where(
            Conversation.inbox_id.in_(bindparam("inbox_ids", expanding=True)),
            key.in_(bindparam("keys", expanding=True)),
        )
        .subquery()
    )
    return (
        select(Conversation, _LABELS)
        .join(ranked, ranked.c.id == Conversation.id)
        .where(ranked.c.rank == 1)
    )


# Built once, as ingest's other statements (see app.inbound.ingest).
_LATEST_BY_THREAD = _latest_query(Conversation.thread_key)
_LATEST_BY_CONTACT = _latest_query(Conversation.contact_id)


def _latest_params(inbox_ids: Collection[int], keys: Collection[Any]) -> dict[str, list[Any]]:
    return {"inbox_ids": sorted(inbox_ids), "keys": sorted(keys)}


def _named(
    conversation: Conversation | None, inbox_id: int, contact_id: int
) -> Conversation | None:
    """The conversation a message names, if it is the sender's own in this inbox: a number
    in a stranger's subject never attaches their message to someone else's ticket."""
    if conversation is None or conversation.inbox_id != inbox_id:
        return None
    return conversation if conversation.contact_id == contact_id else None


def _continues(conversation: Conversation | None, now: datetime, window: timedelta) -> bool:
    """Whether a message without an explicit reference still belongs to this conversation."""
    if conversation is None:
        return False
    if conversation.status in ACTIVE_STATUSES:
        return True
    return now - (conversation.resolved_at or conversation.updated_at) <= window
