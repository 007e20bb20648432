"""Ingest through the `api` channel: idempotency, concurrency, threading and reopen rules."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import func, select, update

from app.contacts.models import Contact, ContactIdentity
from app.db import utcnow
from app.events.models import EventRow
from app.tickets.models import Conversation, Message
from tests.support.api import Api, ApiInbox, create_api_inbox, post_incoming
from tests.support.app import Running


async def count(running: Running, model: type, *where: object) -> int:
    async with running.ctx.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def conversations_of(admin: Api) -> list[dict[str, object]]:
    response = await admin.get("/api/v1/conversations", params={"limit": 100})
    assert response.status_code == 200, response.text
    items: list[dict[str, object]] = response.json()["items"]
    return items


async def test_repeat_delivery_stores_nothing_twice(running: Running, admin: Api) -> None:
    inbox = await create_api_inbox(admin)
    first = await post_incoming(running.client, inbox, external_id="dup-1", text="first")
    events_before = await count(running, EventRow)
    again = await post_incoming(running.client, inbox, external_id="dup-1", text="first")

    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json() == {**first.json(), "duplicate": True}
    assert await count(running, Message) == 1
    assert await count(running, EventRow) == events_before  # a repeat announces nothing


async def test_same_external_id_in_two_inboxes_is_two_messages(
    running: Running, admin: Api
) -> None:
    shop = await create_api_inbox(admin)
    crm = await create_api_inbox(admin)
    a = await post_incoming(running.client, shop, external_id="42")
    b = await post_incoming(running.client, crm, external_id="42")
    assert (a.status_code, b.status_code) == (201, 201)
    assert await count(running, Message) == 2


async def test_concurrent_first_messages_make_one_contact_and_one_conversation(
    running: Running, admin: Api
) -> None:
    inbox = await create_api_inbox(admin)
    responses = await asyncio.gather(
        *(
            post_incoming(
                running.client, inbox, external_id=f"c-{i}", sender="new-person", text=f"m{i}"
            )
            for i in range(50)
        )
    )
    assert [r.status_code for r in responses] == [201] * 50
    assert await count(running, Contact) == 1
    assert await count(running, ContactIdentity) == 1
    assert await count(running, Conversation) == 1
    assert await count(running, Message) == 50
    (conversation,) = await conversations_of(admin)
    assert conversation["unread_count"] == 50


async def test_concurrent_repeats_of_one_message_store_it_once(
    running: Running, admin: Api
) -> None:
    inbox = await create_api_inbox(admin)
    responses = await asyncio.gather(
        *(post_incoming(running.client, inbox, external_id="same", sender="p") for _ in range(20))
    )
    assert sorted(r.status_code for r in responses) == [200] * 19 + [201]
    assert len({r.json()["message_id"] for r in responses}) == 1
    assert await count(running, Message) == 1


async def test_messages_from_one_sender_continue_one_conversation(
    running: Running, admin: Api
) -> None:
    inbox = await create_api_inbox(admin)
    a = (await post_incoming(running.client, inbox, external_id="1", sender="ali")).json()
    b = (await post_incoming(running.client, inbox, external_id="2", sender="ali")).json()
    c = (await post_incoming(running.client, inbox, external_id="3", sender="reza")).json()
    assert a["conversation_id"] == b["conversation_id"] != c["conversation_id"]


async def test_thread_keys_and_replies_pick_the_conversation(running: Running, admin: Api) -> None:
    inbox = await create_api_inbox(admin)
    order1 = (
        await post_incoming(
            running.client, inbox, external_id="o1", sender="ali", thread_key="order-1"
        )
    ).json()
    order2 = (
        await post_incoming(
            running.client, inbox, external_id="o2", sender="ali", thread_key="order-2"
        )
    ).json()
    assert order1["conversation_id"] != order2["conversation_id"]
    # A reply names the message it answers: it joins that thread, whoever sends it.
    reply = (
        await post_incoming(
            running.client, inbox, external_id="o3", sender="colleague", in_reply_to="o1"
        )
    ).json()
    assert reply["conversation_id"] == order1["conversation_id"]
    again = (
        await post_incoming(
            running.client, inbox, external_id="o4", sender="ali", thread_key="order-2"
        )
    ).json()
    assert again["conversation_id"] == order2["conversation_id"]


async def test_resolved_conversation_reopens_within_the_window_else_a_new_one(
    running: Running, admin: Api
) -> None:
    inbox = await create_api_inbox(admin)
    first = (await post_incoming(running.client, inbox, external_id="1", sender="sara")).json()
    conversation_id = first["conversation_id"]
    resolved = await admin.patch(
        f"/api/v1/conversations/{conversation_id}", json={"status": "resolved"}
    )
    assert resolved.json()["status"] == "resolved"

    back = (await post_incoming(running.client, inbox, external_id="2", sender="sara")).json()
    assert back["conversation_id"] == conversation_id
    reopened = (await admin.get(f"/api/v1/conversations/{conversation_id}")).json()
    assert reopened["status"] == "open"
    assert reopened["resolved_at"] is None

    await admin.patch(f"/api/v1/conversations/{conversation_id}", json={"status": "resolved"})
    async with running.ctx.db.write() as session:  # resolved long ago, past the reopen window
        await session.execute(
            update(Conversation)
            .where(Conversation.id == conversation_id)
            .values(resolved_at=utcnow() - timedelta(days=30))
        )
    later = (await post_incoming(running.client, inbox, external_id="3", sender="sara")).json()
    assert later["conversation_id"] != conversation_id
    # An explicit reply to the old thread still reopens it, however old.
    reply = (
        await post_incoming(running.client, inbox, external_id="4", sender="sara", in_reply_to="1")
    ).json()
    assert reply["conversation_id"] == conversation_id


async def test_customer_message_wakes_a_snoozed_conversation(running: Running, admin: Api) -> None:
    inbox = await create_api_inbox(admin)
    first = (await post_incoming(running.client, inbox, external_id="1")).json()
    until = (utcnow() + timedelta(days=1)).isoformat()
    snoozed = await admin.patch(
        f"/api/v1/conversations/{first['conversation_id']}", json={"snoozed_until": until}
    )
    assert snoozed.json()["status"] == "snoozed"
    await post_incoming(running.client, inbox, external_id="2")
    woke = (await admin.get(f"/api/v1/conversations/{first['conversation_id']}")).json()
    assert woke["status"] == "open"
    assert woke["snoozed_until"] is None


async def test_sender_email_and_phone_become_identities_of_one_contact(
    running: Running, admin: Api
) -> None:
    inbox = await create_api_inbox(admin)
    response = await running.client.post(
        f"/api/v1/inboxes/{inbox.id}/incoming",
        headers={"X-Api-Key": inbox.api_key},
        json={
            "external_id": "x",
            "sender": {
                "id": "u-9",
                "name": "Sara",
                "email": "Sara@Example.COM",
                "phone": "+98 912 345 6789",
            },
            "text": "hi",
        },
    )
    assert response.status_code == 201, response.text
    contact_id = (await conversations_of(admin))[0]["contact"]["id"]  # type: ignore[index]
    contact = (await admin.get(f"/api/v1/contacts/{contact_id}")).json()
    addresses = {(i["kind"], i["address"]) for i in contact["identities"]}
    assert addresses == {
        ("api", f"{inbox.id}:u-9"),
        ("email", "sara@example.com"),
        ("phone", "+989123456789"),
    }


async def test_a_new_sender_joins_the_one_contact_that_has_their_phone_or_email(
    running: Running, admin: Api
) -> None:
    shop, crm = await create_api_inbox(admin), await create_api_inbox(admin)

    async def contact_of(inbox: ApiInbox, sender: dict[str, str]) -> int:
        response = await running.client.post(
            f"/api/v1/inboxes/{inbox.id}/incoming",
            headers={"X-Api-Key": inbox.api_key},
            json={"external_id": sender["id"], "sender": sender, "text": "hello"},
        )
        assert response.status_code == 201, response.text
        conversation_id = response.json()["conversation_id"]
        conversation = (await admin.get(f"/api/v1/conversations/{conversation_id}")).json()
        return int(conversation["contact"]["id"])

    sara = await contact_of(shop, {"id": "s-1", "phone": "+98 912 345 6789"})
    ali = await contact_of(shop, {"id": "a-1", "email": "ali@example.com"})
    # Another integration knows Sara by her phone (written with Persian digits): one contact.
    assert await contact_of(crm, {"id": "77", "phone": "+98 ۹۱۲ ۳۴۵ ۶۷۸۹"}) == sara
    identities = (await admin.get(f"/api/v1/contacts/{sara}")).json()["identities"]
    assert all(i["channel"] == i["kind"] for i in identities)  # the contract's name for it
    assert {(i["kind"], i["address"]) for i in identities} == {
        ("api", f"{shop.id}:s-1"),
        ("api", f"{crm.id}:77"),
        ("phone", "+989123456789"),
    }
    # Addresses of two different people: a contact of its own, for an agent to merge.
    both = {"id": "78", "phone": "+989123456789", "email": "ali@example.com"}
    assert await contact_of(crm, both) not in (sara, ali)


async def test_invalid_phone_is_a_clear_422(running: Running, admin: Api) -> None:
    inbox = await create_api_inbox(admin)
    response = await running.client.post(
        f"/api/v1/inboxes/{inbox.id}/incoming",
        headers={"X-Api-Key": inbox.api_key},
        json={"external_id": "x", "sender": {"id": "u", "phone": "12"}, "text": "hi"},
    )
    assert response.status_code == 422
    assert "phone" in response.json()["detail"]
    assert await count(running, Message) == 0


async def test_wrong_or_missing_api_key_is_401_and_stores_nothing(
    running: Running, admin: Api
) -> None:
    inbox = await create_api_inbox(admin)
    payload = {"external_id": "1", "sender": {"id": "u"}, "text": "hi"}
    url = f"/api/v1/inboxes/{inbox.id}/incoming"
    missing = await running.client.post(url, json=payload)
    wrong = await running.client.post(url, json=payload, headers={"X-Api-Key": "nope"})
    other_inbox = await create_api_inbox(admin)
    crossed = await running.client.post(
        url, json=payload, headers={"X-Api-Key": other_inbox.api_key}
    )
    # The key is checked before the body: without it, validation tells nothing.
    invalid = await running.client.post(url, json={"sender": {"phone": "0912"}})
    assert [r.status_code for r in (missing, wrong, crossed, invalid)] == [401] * 4
    assert wrong.json()["code"] == "invalid_api_key"
    assert await count(running, Message) == 0


async def test_every_stored_message_records_events_in_sequence(
    running: Running, admin: Api
) -> None:
    inbox = await create_api_inbox(admin)
    await post_incoming(running.client, inbox, external_id="1", sender="a")
    await post_incoming(running.client, inbox, external_id="2", sender="a")
    async with running.ctx.db.read() as session:
        events = (
            await session.execute(select(EventRow.seq, EventRow.type).order_by(EventRow.seq))
        ).all()
    assert [t for _s, t in events] == [
        "contact.created",
        "conversation.created",
        "message.created",
        "conversation.updated",
        "message.created",
    ]
    seqs = [s for s, _t in events]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))


async def test_a_key_verified_a_moment_ago_stops_working_when_the_inbox_changes(
    running: Running, admin: Api
) -> None:
    inbox = await create_api_inbox(admin)
    assert (await post_incoming(running.client, inbox, external_id="1")).status_code == 201
    rotated = await admin.patch(f"/api/v1/inboxes/{inbox.id}", json={"rotate_api_key": True})
    assert (await post_incoming(running.client, inbox, external_id="2")).status_code == 401
    inbox.api_key = rotated.json()["api_key"]
    assert (await post_incoming(running.client, inbox, external_id="3")).status_code == 201
    assert (await admin.delete(f"/api/v1/inboxes/{inbox.id}")).status_code == 204
    assert (await post_incoming(running.client, inbox, external_id="4")).status_code == 401
