"""Surveys follow the event log: a conversation resolved, or a callback completed, may call
for one (see `service.after_resolve`, `service.after_callback`). The survey and its message
are written in the consumer's transaction; the delivery worker sends the message."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from app.callbacks.models import CallbackStatus
from app.context import Context
from app.errors import Conflict
from app.events.consumers import Handler, run_consumer
from app.events.log import Logged
from app.inbound.senders import lock_contacts_of
from app.surveys import service
from app.surveys.models import Survey
from app.tickets.models import Status

CONSUMER = "surveys"


def links(ctx: Context) -> service.Links:
    return service.Links(ctx.settings.public_url, service.link_signer(ctx.settings.secret_key))


def resolved_ids(events: Sequence[Logged]) -> list[int]:
    """Conversations these events resolved, once each, in order."""
    ids: dict[int, None] = {}
    for event in events:
        conversation = event.data.get("conversation")
        if (
            event.type == "conversation.updated"
            and "status" in event.data.get("changes", ())
            and isinstance(conversation, dict)
            and conversation.get("status") == Status.resolved
            and isinstance(conversation.get("id"), int)
        ):
            ids[conversation["id"]] = None
    return list(ids)


def completed_callback_ids(events: Sequence[Logged]) -> list[int]:
    """Callbacks these events marked completed, once each, in order."""
    ids: dict[int, None] = {}
    for event in events:
        callback = event.data.get("callback")
        if (
            event.type == "callback.updated"
            and isinstance(callback, dict)
            and callback.get("status") == CallbackStatus.completed
            and isinstance(callback.get("id"), int)
        ):
            ids[callback["id"]] = None
    return list(ids)


def handler(ctx: Context) -> Handler:
    async def handle(session: AsyncSession, events: Sequence[Logged]) -> None:
        resolved, callbacks = resolved_ids(events), completed_callback_ids(events)
        # A survey changes its conversation: lock their contacts first, as ingest does.
        of_callbacks = {
            e.conversation_id
            for e in events
            if e.conversation_id
            and e.type == "callback.updated"
            and e.data["callback"].get("id") in callbacks
        }
        await lock_contacts_of(session, {*resolved, *of_callbacks})
        sent = False
        for conversation_id in resolved:
            sent |= await _sent(service.after_resolve(session, conversation_id, links(ctx)))
        for callback_id in callbacks:
            sent |= await _sent(service.after_callback(session, callback_id, links(ctx)))
        if sent:
            ctx.outbox_ready.set()  # (in this process; other workers poll)

    return handle


async def _sent(attempt: Awaitable[Survey | None]) -> bool:
    try:
        return await attempt is not None
    except Conflict:  # surveyed meanwhile by another transaction (a bulk NPS): done
        return False


async def interested(_session: AsyncSession, events: Sequence[Logged]) -> bool:
    """The consumer's interest (app.events.consumers): a resolve or a completed callback."""
    return bool(resolved_ids(events) or completed_callback_ids(events))


async def run_surveys(ctx: Context, stop: asyncio.Event) -> None:
    await run_consumer(ctx, CONSUMER, handler(ctx), stop, interest=interested)
