"""Where survey answers come in with a channel's traffic: replies (SMS) taken out of the
messages before they are stored, and button presses (Telegram) recorded, then answered."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy import exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.context import Context
from app.db import utcnow
from app.inboxes.models import Inbox
from app.surveys import service
from app.surveys.models import Survey
from connectors.base import ButtonConnector, ButtonPress, InboundMessage

log = logging.getLogger(__name__)


async def _may_answer(
    session: AsyncSession, inbox_id: int, messages: Sequence[InboundMessage]
) -> bool:
    """Whether a survey of this inbox waits for a reply, or took one of these messages."""
    ids = [m.external_id for m in messages]
    return bool(
        await session.scalar(
            select(
                exists().where(
                    Survey.inbox_id == inbox_id,
                    or_(Survey.reply_until > utcnow(), Survey.answer_external_id.in_(ids)),
                )
            )
        )
    )


async def without_answers(
    ctx: Context, inbox_id: int, messages: list[InboundMessage]
) -> list[InboundMessage]:
    """The messages to store: those that are not answers to a survey (recorded here)."""
    if not messages:
        return messages
    async with ctx.db.read() as session:
        if not await _may_answer(session, inbox_id, messages):
            return messages
    async with ctx.db.write() as session:
        kept = await service.take_replies(session, inbox_id, messages)
    if len(kept) < len(messages):
        ctx.outbox_ready.set()  # an NPS answer queues its "why?"
    return kept


async def answer_presses(ctx: Context, inbox_id: int, presses: Sequence[ButtonPress]) -> None:
    """Record each press, then answer it on the channel (after the commit: the answer says
    the score was recorded)."""
    if not presses:
        return
    async with ctx.db.write() as session:
        outcomes = [await service.take_press(session, inbox_id, p) for p in presses]
        inbox = await session.get(Inbox, inbox_id)
    ctx.outbox_ready.set()
    connector = ctx.connector(inbox) if inbox is not None else None
    if not isinstance(connector, ButtonConnector):
        return
    try:
        for outcome in outcomes:
            try:
                await connector.answer_press(
                    outcome.press, notice=outcome.notice, chosen=outcome.chosen
                )
            except Exception as exc:  # the score is stored; the toast is a courtesy
                log.warning("inbox %d: button press not answered: %r", inbox_id, exc)
    finally:
        await connector.aclose()
