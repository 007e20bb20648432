"""Log consumers and ingest change the same conversations at the same time on PostgreSQL:
a consumer waits for the contacts an ingest batch holds instead of locking conversations in
another order (a cycle PostgreSQL breaks after a second by failing one side, a whole batch
of inbound messages)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app.acks import service as acks
from app.automations import engine
from app.automations.worker import handler
from app.contacts.models import AddressKind, Contact, ContactIdentity
from app.db import utcnow
from app.events.consumers import consume_once
from app.inbound.senders import lock_contacts
from app.sla import service as sla
from app.tickets.models import Conversation
from tests.support.api import Api, ApiInbox, create_api_inbox, post_incoming
from tests.support.app import Running
from tests.support.automations import create_rule, settle
from tests.support.surveys import answer_and_resolve, follow, set_policy
from tests.support.surveys import surveys as list_surveys


@pytest.fixture
def backend() -> str:
    return "postgresql"


@dataclass
class Case:
    """A consumer under test: one round of it, and whether it did its work on a conversation."""

    consume: Callable[[], Awaitable[bool]]
    done: Callable[[int], Awaitable[bool]]
    before: Callable[[int], Awaitable[None]] | None = None  # what it acts on, after a message


async def rules(running: Running, admin: Api, _inbox: ApiInbox) -> Case:
    await create_rule(
        admin, event="message.received", actions=[{"type": "add_label", "label": "seen"}]
    )
    await settle(running.ctx)

    async def labelled(conversation_id: int) -> bool:
        return (await conversation(admin, conversation_id))["labels"] == ["seen"]

    return Case(lambda: consume_once(running.ctx, engine.CONSUMER, handler(running.ctx)), labelled)


async def service_levels(running: Running, admin: Api, inbox: ApiInbox) -> Case:
    saved = await admin.put(
        f"/api/v1/inboxes/{inbox.id}/sla-policies",
        json={"policies": [{"priority": "none", "first_response_minutes": 10}]},
    )
    assert saved.status_code == 200, saved.text
    await consume_once(running.ctx, "sla", sla.on_events)  # it starts at the log's end

    async def due(conversation_id: int) -> bool:
        return (await conversation(admin, conversation_id))["first_response_due_at"] is not None

    return Case(lambda: consume_once(running.ctx, "sla", sla.on_events), due)


async def acknowledgements(running: Running, admin: Api, inbox: ApiInbox) -> Case:
    saved = await admin.put(
        f"/api/v1/inboxes/{inbox.id}/acknowledgement", json={"text": "We got your message."}
    )
    assert saved.status_code == 200, saved.text
    await consume_once(running.ctx, "acks", acks.on_events)  # it starts at the log's end

    async def acknowledged(conversation_id: int) -> bool:
        thread = await admin.get(f"/api/v1/conversations/{conversation_id}/messages")
        return any(m["direction"] == "outbound" for m in thread.json()["items"])

    return Case(lambda: consume_once(running.ctx, "acks", acks.on_events), acknowledged)


async def surveys(running: Running, admin: Api, inbox: ApiInbox) -> Case:
    await set_policy(admin, csat_inbox_ids=[inbox.id], cooldown_days=0)
    await follow(running)  # it starts at the log's end

    async def surveyed(conversation_id: int) -> bool:
        return any(s["conversation_id"] == conversation_id for s in await list_surveys(admin))

    return Case(
        lambda: follow(running),
        surveyed,
        before=lambda conversation_id: answer_and_resolve(admin, conversation_id),
    )


async def conversation(admin: Api, conversation_id: int) -> dict[str, Any]:
    shown: dict[str, Any] = (await admin.get(f"/api/v1/conversations/{conversation_id}")).json()
    return shown


async def contacts_in_order(running: Running, inbox: ApiInbox, senders: list[str]) -> list[int]:
    """Contacts of these `api` senders, their ids in this order."""
    ids = []
    async with running.ctx.db.write() as session:
        for sender in senders:
            contact = Contact(name=sender)
            session.add(contact)
            await session.flush()
            address = f"{inbox.id}:{sender}"
            session.add(
                ContactIdentity(contact_id=contact.id, kind=AddressKind.api, address=address)
            )
            ids.append(contact.id)
    return ids


@pytest.mark.parametrize("consumer", [rules, service_levels, acknowledgements, surveys])
async def test_a_consumer_waits_for_the_contacts_an_ingest_transaction_holds(
    running: Running,
    admin: Api,
    consumer: Callable[[Running, Api, ApiInbox], Awaitable[Case]],
) -> None:
    inbox = await create_api_inbox(admin)
    low, high = await contacts_in_order(running, inbox, ["a", "b"])
    case = await consumer(running, admin, inbox)
    ids = {}
    for sender in ("b", "a"):  # the consumer meets B's conversation (the higher contact) first
        answer = await post_incoming(running.client, inbox, external_id=sender, sender=sender)
        ids[sender] = answer.json()["conversation_id"]
        if case.before is not None:
            await case.before(ids[sender])
    assert [(await conversation(admin, ids[s]))["contact"]["id"] for s in "ab"] == [low, high]

    async def touch(session: AsyncSession, sender: str) -> None:
        await session.execute(
            update(Conversation)
            .where(Conversation.id == ids[sender])
            .values(last_activity_at=utcnow())
        )

    # As an ingest batch does: the contacts locked in id order, each conversation changed
    # after its contact, while the consumer runs.
    async with running.ctx.db.write() as session:
        await lock_contacts(session, [low])
        await touch(session, "a")
        consuming = asyncio.create_task(case.consume())
        await asyncio.sleep(0.5)
        assert not consuming.done()  # waiting for the contacts
        await lock_contacts(session, [high])
        await touch(session, "b")
    assert await asyncio.wait_for(consuming, 10)
    for sender in ("a", "b"):
        assert await case.done(ids[sender])
