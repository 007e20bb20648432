"""What a connector brought in, stored: messages through ingest, and the rest (edits,
delivery reports, reachability, automatic replies) applied beside them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.contacts import service as contacts
from app.context import Context
from app.inbound.ingest import InboxRef, IngestResult
from app.inbound.storable import storable_value
from app.surveys import inbound as surveys
from app.tickets import messages as tickets
from app.tickets.models import Conversation, DeliveryStatus, Message
from connectors.base import (
    AutoReply,
    ButtonPress,
    DeliveryUpdate,
    InboundItem,
    InboundMessage,
    MessageEdit,
    ReachabilityChange,
)

log = logging.getLogger(__name__)


def messages_of(items: Sequence[InboundItem]) -> list[InboundMessage]:
    return [item for item in items if isinstance(item, InboundMessage)]


def fresh_ids(messages: Sequence[InboundMessage], results: Sequence[IngestResult]) -> set[str]:
    """External ids of the messages this delivery stored for the first time."""
    return {m.external_id for m, r in zip(messages, results, strict=True) if not r.duplicate}


async def apply_updates(
    session: AsyncSession, inbox: InboxRef, items: Sequence[InboundItem], fresh: Collection[str]
) -> bool:
    """Apply everything but messages, in order, in the caller's transaction. An automatic
    reply is queued only for a message stored by this very delivery, so a repeated
    delivery never answers twice. Returns whether a reply was queued."""
    queued = False
    for item in items:
        if isinstance(item, MessageEdit):
            edited = await tickets.edit_inbound(
                session,
                inbox_id=inbox.id,
                external_id=item.external_id,
                text=storable_value(item.text),
                html=storable_value(item.html),
                edited_at=item.edited_at,
                facts=storable_value(dict(item.facts)),
                replaces=item.replaces,
            )
            if edited is None:
                log.info("inbox %d: edit of unknown message %r ignored", inbox.id, item.external_id)
        elif isinstance(item, DeliveryUpdate):
            reported = await tickets.report_delivery(
                session,
                inbox_id=inbox.id,
                message_id=item.message_id,
                external_id=item.external_id,
                status=DeliveryStatus(item.state.value),
                reason=storable_value(item.reason),
                details=storable_value(dict(item.metadata)),
            )
            if reported is None:
                log.info(
                    "inbox %d: report on unknown reply %r ignored",
                    inbox.id,
                    item.message_id or item.external_id,
                )
        elif isinstance(item, ReachabilityChange) and (item.cause is None or item.cause in fresh):
            await contacts.set_reachability(
                session, item.address, reachable=item.reachable, reason=storable_value(item.reason)
            )
        elif isinstance(item, AutoReply) and item.in_reply_to in fresh:
            conversation = await session.scalar(
                select(Conversation)
                .join(Message, Message.conversation_id == Conversation.id)
                .where(Message.inbox_id == inbox.id, Message.external_id == item.in_reply_to)
            )
            if conversation is not None:
                await tickets.add_message(
                    session, conversation, None, body=item.text, private=False
                )
                queued = True
    return queued


async def receive(ctx: Context, inbox: InboxRef, items: Sequence[InboundItem]) -> None:
    """Store what one webhook delivery carried; returns once all of it is committed.
    Messages go through the group-commit queue (but for answers to a survey); the rest
    follows in one transaction."""
    messages = await surveys.without_answers(ctx, inbox.id, messages_of(items))
    results = await asyncio.gather(*(ctx.inbound.submit(inbox, m) for m in messages))
    await surveys.answer_presses(ctx, inbox.id, [i for i in items if isinstance(i, ButtonPress)])
    others = [i for i in items if not isinstance(i, InboundMessage | ButtonPress)]
    if not others:
        return
    async with ctx.db.write() as session:
        queued = await apply_updates(session, inbox, others, fresh_ids(messages, results))
    if queued:
        ctx.outbox_ready.set()
