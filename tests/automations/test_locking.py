"""Rules and ingest change the same conversations at the same time on PostgreSQL: the
rules wait for the contacts an ingest batch holds instead of locking conversations in
another order (a cycle PostgreSQL breaks after a second by failing one side, a whole
batch of inbound messages)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app.automations import engine
from app.automations.worker import handler
from app.db import utcnow
from app.events.consumers import consume_once
from app.inbound.senders import lock_contacts
from app.tickets.models import Conversation
from tests.support.api import Api, create_api_inbox, post_incoming
from tests.support.app import Running
from tests.support.automations import create_rule, settle


@pytest.fixture
def backend() -> str:
    return "postgresql"


async def test_rules_wait_for_the_contacts_an_ingest_transaction_holds(
    running: Running, admin: Api
) -> None:
    inbox = await create_api_inbox(admin)
    await create_rule(
        admin, event="message.received", actions=[{"type": "add_label", "label": "seen"}]
    )
    await settle(running.ctx)
    stored = {}
    for sender in ("b", "a"):  # the rules meet B's conversation first
        answer = await post_incoming(running.client, inbox, external_id=sender, sender=sender)
        stored[sender] = answer.json()
    ids = {s: stored[s]["conversation_id"] for s in stored}
    contacts = {
        s: (await admin.get(f"/api/v1/conversations/{ids[s]}")).json()["contact"]["id"]
        for s in stored
    }

    async def touch(session: AsyncSession, sender: str) -> None:
        await session.execute(
            update(Conversation)
            .where(Conversation.id == ids[sender])
            .values(last_activity_at=utcnow())
        )

    # As an ingest batch does: both contacts locked in id order, then their conversations
    # changed one after the other, while the rules run.
    async with running.ctx.db.write() as session:
        await lock_contacts(session, contacts.values())
        await touch(session, "a")
        rules = asyncio.create_task(
            consume_once(running.ctx, engine.CONSUMER, handler(running.ctx))
        )
        await asyncio.sleep(0.5)
        assert not rules.done()  # waiting for the contacts
        await touch(session, "b")
    assert await asyncio.wait_for(rules, 10)
    for sender in ("a", "b"):
        labels = (await admin.get(f"/api/v1/conversations/{ids[sender]}")).json()["labels"]
        assert labels == ["seen"]
