"""Splitting messages off into a new conversation (e-mail replies follow them), and the
conversations suggested as possible duplicates."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from app.db import utcnow
from app.merge.service import normalized_subject
from app.tickets.models import Conversation
from tests.support.api import Api, assert_error
from tests.support.app import Running
from tests.support.channels import api_channel, email_channel
from tests.support.mail import eventually
from tests.support.merge import (
    conversation,
    merge,
    messages,
    only_conversation_in,
    said,
    same_contact,
)
from tests.support.sockets import agent_socket, next_event, ready


async def test_split_messages_move_with_their_threading_keys(running: Running, admin: Api) -> None:
    async with email_channel(admin, running.url) as mail:
        await mail.deliver("first question", sender="sara", name="Sara")
        await mail.deliver("a different matter", sender="sara", name="Sara")  # a reply to it
        source = await only_conversation_in(admin, mail.inbox_id)
        (different,) = [
            m for m in await messages(admin, source["id"]) if m["body_text"] == "a different matter"
        ]

        ws = await agent_socket(running.url, admin.token)
        await ready(ws)
        r = await admin.post(
            f"/api/v1/conversations/{source['id']}/split", json={"message_ids": [different["id"]]}
        )
        assert r.status_code == 200, r.text
        event = await next_event(ws, "conversation.split")
        await ws.close()
        created = r.json()["conversation"]
        assert event["data"]["conversation"]["id"] == created["id"]
        assert event["data"]["message_ids"] == [different["id"]]
        assert created["split_from_id"] == source["id"]
        assert created["contact"]["id"] == source["contact"]["id"]
        assert (created["status"], created["inbox_id"]) == ("open", mail.inbox_id)
        assert await said(admin, source["id"]) == ["first question"]
        assert await said(admin, created["id"]) == ["a different matter"]
        lines = [
            m["metadata"]["activity"]
            for m in await messages(admin, source["id"])
            if m["direction"] == "activity"
        ]
        assert lines[-1] == {
            "action": "split_to",
            "conversation": created["id"],
            "messages": [different["id"]],
        }

        # The customer answers the message that moved: the answer follows it.
        await mail.deliver("more on the different matter", sender="sara", name="Sara")

        async def followed() -> bool | None:
            return "more on the different matter" in await said(admin, created["id"]) or None

        await eventually(followed, timeout=30)
        assert await said(admin, source["id"]) == ["first question"]

        # Both were written within minutes, same sender, same subject: once the first is
        # resolved and quiet, it is still suggested as a possible duplicate of the second.
        assert await admin.patch(
            f"/api/v1/conversations/{source['id']}", json={"status": "resolved"}
        )
        async with running.ctx.db.write() as session:
            await session.execute(
                update(Conversation)
                .where(Conversation.id == source["id"])
                .values(last_activity_at=utcnow() - timedelta(days=2))
            )
        duplicates = (await admin.get(f"/api/v1/conversations/{created['id']}/duplicates")).json()
        assert [(d["conversation"]["id"], d["reason"]) for d in duplicates] == [
            (source["id"], "same_subject")
        ]


async def test_split_keeps_one_message_and_refuses_what_is_not_there(
    running: Running, admin: Api
) -> None:
    async with api_channel(admin, running.url) as shop:
        await shop.deliver("only one", sender="sara")
        source = await only_conversation_in(admin, shop.inbox_id)
        (message,) = await messages(admin, source["id"])
        everything = await admin.post(
            f"/api/v1/conversations/{source['id']}/split", json={"message_ids": [message["id"]]}
        )
        assert "leave at least one" in assert_error(everything, 422, "invalid_split")["detail"]
        stranger = await admin.post(
            f"/api/v1/conversations/{source['id']}/split", json={"message_ids": [999_999]}
        )
        assert (
            "not messages of this conversation"
            in (assert_error(stranger, 422, "invalid_split")["detail"])
        )
        # An activity line is of this conversation, and stays with it: said so.
        labelled = await admin.patch(
            f"/api/v1/conversations/{source['id']}", json={"labels": ["vip"]}
        )
        assert labelled.status_code == 200, labelled.text
        line = next(m for m in await messages(admin, source["id"]) if m["direction"] == "activity")
        activity = await admin.post(
            f"/api/v1/conversations/{source['id']}/split", json={"message_ids": [line["id"]]}
        )
        assert "are activity lines" in assert_error(activity, 422, "invalid_split")["detail"]


async def test_possible_duplicates_are_the_contacts_other_open_conversations(
    running: Running, admin: Api
) -> None:
    async with api_channel(admin, running.url) as shop, api_channel(admin, running.url) as more:
        await shop.deliver("one", sender="sara")
        await more.deliver("two", sender="sara")
        await shop.deliver("someone else", sender="reza")
        keep = await only_conversation_in(admin, more.inbox_id)
        other = next(
            c
            for c in (await admin.get("/api/v1/conversations")).json()["items"]
            if c["last_message"]["preview"] == "one"
        )
        await same_contact(admin, keep, other)

        async def suggested(conversation_id: int) -> list[tuple[int, str]]:
            r = await admin.get(f"/api/v1/conversations/{conversation_id}/duplicates")
            assert r.status_code == 200, r.text
            return [(d["conversation"]["id"], d["reason"]) for d in r.json()]

        assert await suggested(keep["id"]) == [(other["id"], "open_same_contact")]
        assert await suggested(other["id"]) == [(keep["id"], "open_same_contact")]

        # One click merges; nothing is suggested any more on either side.
        await merge(admin, keep["id"], other["id"])
        assert await suggested(keep["id"]) == []
        assert await suggested(other["id"]) == []
        assert (await conversation(admin, other["id"]))["status"] == "merged"


async def test_an_old_resolved_conversation_is_not_a_duplicate(
    running: Running, admin: Api
) -> None:
    async with api_channel(admin, running.url) as shop, api_channel(admin, running.url) as more:
        await shop.deliver("long ago", sender="sara")
        await more.deliver("today", sender="sara")
        old = await only_conversation_in(admin, shop.inbox_id)
        new = await only_conversation_in(admin, more.inbox_id)
        await same_contact(admin, new, old)
        await admin.patch(f"/api/v1/conversations/{old['id']}", json={"status": "resolved"})
        async with running.ctx.db.write() as session:
            await session.execute(
                update(Conversation)
                .where(Conversation.id == old["id"])
                .values(
                    created_at=utcnow() - timedelta(days=3),
                    last_activity_at=utcnow() - timedelta(days=2),
                )
            )
        r = await admin.get(f"/api/v1/conversations/{new['id']}/duplicates")
        assert r.json() == []


@pytest.mark.parametrize(
    ("subject", "normal"),
    [
        ("Re: RE: Fwd: My order", "my order"),
        ("AW: [#123] My   Order ", "my order"),
        ("پاسخ: سفارش من", "سفارش من"),
        ("Re[2]: invoice", "invoice"),
        (None, ""),
    ],
)
def test_normalized_subject(subject: str | None, normal: str) -> None:
    assert normalized_subject(subject) == normal
