"""Merging contacts re-points every foreign key to contacts.id found in the metadata: a new
table that refers to contacts fails here until a row of it is made below, and then is checked."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, select

from app.contacts.service import contact_references
from app.tickets.models import Conversation
from tests.support.api import Api, create_api_inbox, post_incoming
from tests.support.app import Running
from tests.support.fakes.twilio import running_twilio
from tests.support.surveys import answer_and_resolve, follow, set_policy
from tests.support.voice import VoiceInbox, create_voice_inbox
from tests.support.widget import SITE, create_webchat_inbox, say, start_visitor


async def contact_in(running: Running, inbox_id: int) -> int:
    async with running.ctx.db.read() as session:
        contact_id = await session.scalar(
            select(Conversation.contact_id).where(Conversation.inbox_id == inbox_id)
        )
    assert contact_id is not None
    return contact_id


async def rows_of(running: Running, column: Column[Any], contact_id: int) -> set[tuple[Any, ...]]:
    """The primary keys of the rows whose `column` is `contact_id`."""
    async with running.ctx.db.read() as session:
        keys = select(*column.table.primary_key.columns).where(column == contact_id)
        return {tuple(row) for row in await session.execute(keys)}


async def test_merge_moves_every_row_that_refers_to_the_merged_contact(
    running: Running, admin: Api
) -> None:
    shop = await create_api_inbox(admin)
    await post_incoming(running.client, shop, external_id="1", sender="sara")
    keep = await contact_in(running, shop.id)

    # Contacts that between them have a row in every table that refers to contacts.
    website = await create_webchat_inbox(admin)
    await set_policy(admin, csat_inbox_ids=[website["id"]], cooldown_days=0)
    await follow(running)
    said = await say(
        running.client, await start_visitor(running.client, website["public_token"]), "hi"
    )
    await answer_and_resolve(admin, said["conversation_id"])  # a satisfaction survey
    await follow(running)
    callbacks = await admin.post(
        "/api/v1/inboxes",
        json={"kind": "callback", "name": "Call me", "config": {"allowed_origins": [SITE]}},
    )
    assert callbacks.status_code == 201, callbacks.text
    callback_inbox = callbacks.json()
    asked = await running.client.post(
        f"/api/v1/callbacks/{callback_inbox['public_token']}",
        json={"name": "Sara", "phone": "+989121234567"},
        headers={"Origin": SITE},
    )
    assert asked.status_code == 201, asked.text
    async with running_twilio() as twilio:
        phone = VoiceInbox(await create_voice_inbox(admin, twilio), running, twilio)
        await phone.call()  # from another number than the callback's: a third contact
    others = [
        await contact_in(running, website["id"]),
        await contact_in(running, callback_inbox["id"]),
        await contact_in(running, phone.id),
    ]
    token = (await admin.post("/api/v1/api-tokens", json={"name": "Shop"})).json()["token"]
    posted = await running.client.post(
        f"/api/v1/contacts/{others[0]}/events",
        json={"name": "order.placed", "payload": {}},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert posted.status_code == 201, posted.text

    columns = contact_references()
    covered: set[Column[Any]] = set()
    for other in others:
        before = {column: await rows_of(running, column, other) for column in columns}
        merged = await admin.post(f"/api/v1/contacts/{keep}/merge", json={"other_id": other})
        assert merged.status_code == 200, merged.text
        for column, rows in before.items():
            assert not await rows_of(running, column, other), f"{column} still names {other}"
            assert rows <= await rows_of(running, column, keep), f"{column}: rows lost"
        covered |= {column for column, rows in before.items() if rows}
    assert covered == set(columns), (
        f"no row of {sorted(map(str, set(columns) - covered))} refers to a merged contact: "
        "give one of them a row there, so that merging is checked on it"
    )
