"""Log consumers and ingest change the same conversations at the same time on PostgreSQL:
a consumer waits for the contacts an ingest batch holds instead of locking conversations in
another order (a cycle PostgreSQL breaks after a second by failing one side, a whole batch
of inbound messages)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app.automations import engine
from app.automations.worker import handler
from app.db import utcnow
from app.events.consumers import consume_once
from app.inbound.senders import lock_contacts
from app.sla import service as sla
from app.tickets.models import Conversation
from tests.support.api import Api, ApiInbox, create_api_inbox, post_incoming
from tests.support.app import Running
from tests.support.automations import create_rule, settle


@pytest.fixture
def backend() -> str:
    return "postgresql"


async def rules(running: Running, admin: Api, _inbox: ApiInbox) -> Callable[[], Awaitable[bool]]:
    await create_rule(
        admin, event="message.received", actions=[{"type": "add_label", "label": "seen"}]
    )
    await settle(running.ctx)
    return lambda: consume_once(running.ctx, engine.CONSUMER, handler(running.ctx))


async def service_levels(
    running: Running, admin: Api, inbox: ApiInbox
) -> Callable[[], Awaitable[bool]]:
    saved = await admin.put(
        f"/api/v1/inboxes/{inbox.id}/sla-policies",
        json={"policies": [{"priority": "none", "first_response_minutes": 10}]},
    )
    assert saved.status_code == 200, saved.text
    await consume_once(running.ctx, "sla", sla.on_events)  # it starts at the log's end
    return lambda: consume_once(running.ctx, "sla", sla.on_events)


@pytest.mark.parametrize("consumer", [rules, service_levels])
async def test_a_consumer_waits_for_the_contacts_an_ingest_transaction_holds(
    running: Running,
    admin: Api,
    consumer: Callable[[Running, Api, ApiInbox], Awaitable[Callable[[], Awaitable[bool]]]],
) -> None:
    inbox = await create_api_inbox(admin)
    consume = await consumer(running, admin, inbox)
    ids = {}
    for sender in ("b", "a"):  # the consumer meets B's conversation first
        answer = await post_incoming(running.client, inbox, external_id=sender, sender=sender)
        ids[sender] = answer.json()["conversation_id"]
    contacts = [
        (await admin.get(f"/api/v1/conversations/{ids[s]}")).json()["contact"]["id"] for s in ids
    ]

    async def touch(session: AsyncSession, sender: str) -> None:
        await session.execute(
            update(Conversation)
            .where(Conversation.id == ids[sender])
            .values(last_activity_at=utcnow())
        )

    # As an ingest batch does: both contacts locked in id order, then their conversations
    # changed one after the other, while the consumer runs.
    async with running.ctx.db.write() as session:
        await lock_contacts(session, contacts)
        await touch(session, "a")
        consuming = asyncio.create_task(consume())
        await asyncio.sleep(0.5)
        assert not consuming.done()  # waiting for the contacts
        await touch(session, "b")
    assert await asyncio.wait_for(consuming, 10)
    for sender in ("a", "b"):
        shown = (await admin.get(f"/api/v1/conversations/{ids[sender]}")).json()
        if consumer is rules:
            assert shown["labels"] == ["seen"]
        else:
            assert shown["first_response_due_at"] is not None
