"""Automatic acknowledgements: an inbox's answer to the first message of a new conversation
("We got your message…"), with another text outside its business hours.

It follows the event log (consumer "acks", `on_events`), so ingest does no more work than
before. A message is acknowledged only when all of these hold:
- the inbox has an enabled acknowledgement, and its channel can carry text (not callback);
- the message opened its conversation (the conversation's first customer message);
- the connector did not mark it automatic (`is_auto`: an auto-reply, bounce, bulk or list
  mail, a Telegram bot, an SMS short code or sender ID), nor its sender ask for no automatic
  answer (an e-mail's `X-Auto-Response-Suppress: All` or `AutoReply`);
- the customer's address (identity: the contact on this channel) got no acknowledgement in
  the last 7 days;
- no agent wrote to the contact in the last 5 minutes;
- it arrived less than 10 minutes ago (after an outage, late thanks are not sent).
The reply goes out like an agent's (the delivery worker), marked automatic (e-mail carries
`Auto-Submitted: auto-replied`), with `Automated("Acknowledgement")` as its sender.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.acks.models import AcknowledgementSent, AcknowledgementSettings
from app.db import utcnow
from app.events import log as event_log
from app.hours.service import schedule_for
from app.inbound.senders import lock_contacts_of
from app.inboxes.models import Inbox, InboxKind
from app.tickets.messages import add_message
from app.tickets.models import Conversation, Direction, Message
from app.tickets.service import Automated

ACKNOWLEDGEMENT = Automated("Acknowledgement")
ONCE_PER = timedelta(days=7)
AGENT_QUIET = timedelta(minutes=5)
TOO_LATE = timedelta(minutes=10)


async def get_settings(session: AsyncSession, inbox_id: int) -> AcknowledgementSettings | None:
    return await session.get(AcknowledgementSettings, inbox_id)


async def save_settings(
    session: AsyncSession,
    inbox_id: int,
    *,
    enabled: bool,
    text: str,
    out_of_hours_text: str | None,
) -> AcknowledgementSettings:
    row = await session.get(AcknowledgementSettings, inbox_id)
    if row is None:
        row = AcknowledgementSettings(inbox_id=inbox_id)
        session.add(row)
    row.enabled = enabled
    row.text = text
    row.out_of_hours_text = out_of_hours_text
    row.updated_at = utcnow()
    await session.flush()
    return row


async def _opened_conversation(session: AsyncSession, message: dict[str, Any]) -> bool:
    """Whether the message is its conversation's first (a customer's answer to a message we
    started, such as an SMS confirmation, is not)."""
    earlier = await session.scalar(
        select(Message.id)
        .where(
            Message.conversation_id == message["conversation_id"],
            Message.direction.in_((Direction.inbound, Direction.outbound)),
            Message.id < message["id"],
        )
        .limit(1)
    )
    return earlier is None


async def _agent_wrote_lately(session: AsyncSession, contact_id: int, at: datetime) -> bool:
    wrote = await session.scalar(
        select(Message.id)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(
            Conversation.contact_id == contact_id,
            Message.direction == Direction.outbound,
            Message.sender_agent_id.is_not(None),
            Message.created_at > at - AGENT_QUIET,
        )
        .limit(1)
    )
    return wrote is not None


async def _acknowledge(
    session: AsyncSession, settings: AcknowledgementSettings, message: dict[str, Any], at: datetime
) -> None:
    # (An e-mail sender may ask for no automatic answer without being a machine.)
    asked_none = message["metadata"].get("auto_response_suppress")
    if message["is_auto"] or asked_none or not await _opened_conversation(session, message):
        return
    inbox = await session.get(Inbox, settings.inbox_id)
    conversation = await session.get(Conversation, message["conversation_id"])
    if (
        inbox is None
        or inbox.kind == InboxKind.callback
        or conversation is None
        or conversation.identity_id is None
    ):
        return
    sent = await session.get(AcknowledgementSent, conversation.identity_id, with_for_update=True)
    if sent is not None and sent.sent_at > at - ONCE_PER:
        return
    if await _agent_wrote_lately(session, conversation.contact_id, at):
        return
    schedule = await schedule_for(session, inbox.id)
    text = settings.text
    if settings.out_of_hours_text and not schedule.is_open(at):
        text = settings.out_of_hours_text
    await add_message(
        session, conversation, None, body=text, private=False, automated=ACKNOWLEDGEMENT
    )
    if sent is None:
        session.add(AcknowledgementSent(identity_id=conversation.identity_id, sent_at=at))
    else:
        sent.sent_at = at
    await session.flush()


async def interested(session: AsyncSession, events: Sequence[event_log.Logged]) -> bool:
    """The consumer's interest (app.events.consumers): a customer message, and an inbox
    that acknowledges."""
    return any(
        event.type == "message.created" and event.data["message"]["direction"] == Direction.inbound
        for event in events
    ) and bool(
        await session.scalar(
            select(AcknowledgementSettings.inbox_id)
            .where(AcknowledgementSettings.enabled.is_(True))
            .limit(1)
        )
    )


def _from_customer(event: event_log.Logged, since: datetime) -> bool:
    """A customer's message, recent enough to acknowledge."""
    return (
        event.type == "message.created"
        and event.data["message"]["direction"] == Direction.inbound
        and event.created_at >= since
    )


async def on_events(session: AsyncSession, events: Sequence[event_log.Logged]) -> None:
    """The log consumer's handler: acknowledge the customer messages among `events` that
    call for it (the reply is queued in the consumer's transaction)."""
    settings: dict[int, AcknowledgementSettings | None] = {}
    since = utcnow() - TOO_LATE
    # An acknowledgement changes its conversation: lock the contacts first, as ingest does.
    await lock_contacts_of(
        session,
        {e.conversation_id for e in events if e.conversation_id and _from_customer(e, since)},
    )
    for event in events:
        if event.inbox_id is None or not _from_customer(event, since):
            continue
        message = event.data["message"]
        if event.inbox_id not in settings:
            settings[event.inbox_id] = await get_settings(session, event.inbox_id)
        found = settings[event.inbox_id]
        if found is not None and found.enabled:
            await _acknowledge(session, found, message, event.created_at)
