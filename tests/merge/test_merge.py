"""Merging a customer's conversations across channels: the survivor keeps every message,
the other becomes read-only, what the customer sends later on either channel lands in the
survivor, replies go out on the channel the agent picks, and a merge can be undone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from app.db import utcnow
from app.merge.models import ConversationMerge
from tests.support.api import Api, assert_error
from tests.support.app import Running
from tests.support.channels import CHANNELS, api_channel
from tests.support.mail import eventually
from tests.support.merge import (
    conversation,
    merge,
    messages,
    only_conversation_in,
    said,
    same_contact,
)
from tests.support.sockets import agent_socket, next_event, open_socket, ready
from tests.support.widget import create_webchat_inbox, say, start_visitor


@pytest.mark.parametrize("kind", sorted(CHANNELS))
async def test_merged_conversation_keeps_everything_and_what_comes_later_lands_there(
    running: Running, admin: Api, kind: str
) -> None:
    async with (
        api_channel(admin, running.url) as shop,
        CHANNELS[kind](admin, running.url) as other,
    ):
        await shop.deliver("where is my order?", sender="sara", name="Sara")
        await other.deliver(f"hello on {kind}", sender="sara", name="Sara")
        keep = await only_conversation_in(admin, shop.inbox_id)
        gone = await only_conversation_in(admin, other.inbox_id)
        await same_contact(admin, keep, gone)
        noted = await admin.post(
            f"/api/v1/conversations/{gone['id']}/messages",
            json={"body": "a note on the other one", "private": True},
        )
        assert noted.status_code == 201, noted.text
        before = sorted(await said(admin, keep["id"]) + await said(admin, gone["id"]))

        ws = await agent_socket(running.url, admin.token)
        await ready(ws)
        result = await merge(admin, keep["id"], gone["id"])
        event = await next_event(ws, "conversation.merged")
        await ws.close()
        assert event["data"]["conversation"]["id"] == keep["id"]
        assert [c["id"] for c in event["data"]["merged"]] == [gone["id"]]
        assert result["merge"]["merged_ids"] == [gone["id"]]

        # Every message and note moved, nothing lost or doubled; a line in both says so.
        assert sorted(await said(admin, keep["id"])) == before
        assert await said(admin, gone["id"]) == []
        lines = [m["metadata"]["activity"] for m in await messages(admin, gone["id"])]
        assert lines[-1]["action"] == "merged_into"
        assert lines[-1]["conversation"] == keep["id"]
        merged_away = await conversation(admin, gone["id"])
        assert merged_away["status"] == "merged"
        assert merged_away["merged_into_id"] == keep["id"]
        open_ids = {
            c["id"]
            for c in (await admin.get("/api/v1/conversations", params={"status": "open"})).json()[
                "items"
            ]
        }
        assert open_ids == {keep["id"]}

        # Read-only, with a reason that says where to go.
        refused = await admin.patch(
            f"/api/v1/conversations/{gone['id']}", json={"status": "resolved"}
        )
        assert str(keep["id"]) in assert_error(refused, 409, "conversation_merged")["detail"]
        assert_error(
            await admin.post(f"/api/v1/conversations/{gone['id']}/messages", json={"body": "x"}),
            409,
            "conversation_merged",
        )

        # The customer writes again on the merged-away channel: it lands in the survivor.
        await other.deliver(f"again on {kind}", sender="sara", name="Sara")

        async def arrived() -> bool | None:
            return f"again on {kind}" in await said(admin, keep["id"]) or None

        await eventually(arrived, timeout=30)
        assert await said(admin, gone["id"]) == []

        # The agent answers from the survivor on the other channel.
        channels = (await admin.get(f"/api/v1/conversations/{keep['id']}/channels")).json()
        assert [(c["conversation_id"], c["channel"]) for c in channels] == [
            (keep["id"], "api"),
            (gone["id"], kind),
        ]
        sent = await admin.post(
            f"/api/v1/conversations/{keep['id']}/messages",
            json={"body": f"answer on {kind}", "via_conversation_id": gone["id"]},
        )
        assert sent.status_code == 201, sent.text
        assert sent.json()["inbox_id"] == other.inbox_id

        async def delivered() -> bool | None:
            return f"answer on {kind}" in await other.received() or None

        await eventually(delivered, timeout=30)
        assert f"answer on {kind}" not in await shop.received()


async def test_a_reply_may_only_name_a_conversation_merged_into_this_one(
    running: Running, admin: Api
) -> None:
    async with api_channel(admin, running.url) as shop, api_channel(admin, running.url) as more:
        await shop.deliver("one", sender="sara")
        await more.deliver("two", sender="sara")
        keep = await only_conversation_in(admin, shop.inbox_id)
        other = await only_conversation_in(admin, more.inbox_id)
        await same_contact(admin, keep, other)
        refused = await admin.post(
            f"/api/v1/conversations/{keep['id']}/messages",
            json={"body": "hi", "via_conversation_id": other["id"]},
        )
        assert_error(refused, 422, "invalid_channel")


async def test_merging_another_contacts_conversation_is_refused(
    running: Running, admin: Api
) -> None:
    async with api_channel(admin, running.url) as shop:
        await shop.deliver("mine", sender="sara")
        await shop.deliver("theirs", sender="reza")
        ids = [c["id"] for c in (await admin.get("/api/v1/conversations")).json()["items"]]
        refused = await admin.post(
            f"/api/v1/conversations/{ids[0]}/merge", json={"conversation_ids": [ids[1]]}
        )
        assert_error(refused, 422, "different_contacts")
        itself = await admin.post(
            f"/api/v1/conversations/{ids[0]}/merge", json={"conversation_ids": [ids[0]]}
        )
        assert_error(itself, 422, "invalid_merge")


async def test_undo_gives_each_conversation_its_own_back_until_something_new_arrives(
    running: Running, admin: Api
) -> None:
    async with api_channel(admin, running.url) as shop, api_channel(admin, running.url) as more:
        await shop.deliver("first request", sender="sara")
        await more.deliver("second request", sender="sara")
        keep = await only_conversation_in(admin, shop.inbox_id)
        other = await only_conversation_in(admin, more.inbox_id)
        await same_contact(admin, keep, other)
        await admin.patch(f"/api/v1/conversations/{other['id']}", json={"status": "pending"})
        kept_before = await said(admin, keep["id"])
        other_before = await said(admin, other["id"])

        done = await merge(admin, keep["id"], other["id"])
        ws = await agent_socket(running.url, admin.token)
        await ready(ws)
        undone = await admin.post(f"/api/v1/conversation-merges/{done['merge']['id']}/undo")
        assert undone.status_code == 200, undone.text
        event = await next_event(ws, "conversation.unmerged")
        await ws.close()
        assert [c["id"] for c in event["data"]["restored"]] == [other["id"]]
        assert await said(admin, keep["id"]) == kept_before
        assert await said(admin, other["id"]) == other_before
        restored = await conversation(admin, other["id"])
        assert (restored["status"], restored["merged_into_id"]) == ("pending", None)
        assert_error(
            await admin.post(f"/api/v1/conversation-merges/{done['merge']['id']}/undo"),
            409,
            "merge_undone",
        )

        # Once the customer wrote again, the merge stays, and the answer says why.
        again = await merge(admin, keep["id"], other["id"])
        await more.deliver("anything new?", sender="sara")
        assert "anything new?" in await said(admin, keep["id"])
        refused = await admin.post(f"/api/v1/conversation-merges/{again['merge']['id']}/undo")
        assert "since the merge" in assert_error(refused, 409, "undo_not_possible")["detail"]
        listed = (await admin.get(f"/api/v1/conversations/{keep['id']}/merges")).json()
        assert [m["id"] for m in listed] == [again["merge"]["id"], done["merge"]["id"]]


async def test_a_merge_older_than_a_day_is_not_undone(running: Running, admin: Api) -> None:
    async with api_channel(admin, running.url) as shop, api_channel(admin, running.url) as more:
        await shop.deliver("one", sender="sara")
        await more.deliver("two", sender="sara")
        keep = await only_conversation_in(admin, shop.inbox_id)
        other = await only_conversation_in(admin, more.inbox_id)
        await same_contact(admin, keep, other)
        done = await merge(admin, keep["id"], other["id"])
        async with running.ctx.db.write() as session:
            await session.execute(
                update(ConversationMerge).values(created_at=utcnow() - timedelta(hours=25))
            )
        refused = await admin.post(f"/api/v1/conversation-merges/{done['merge']['id']}/undo")
        assert_error(refused, 409, "undo_expired")


async def test_a_visitors_live_chat_follows_a_merge_and_shows_only_the_chat(
    running: Running, admin: Api
) -> None:
    async with api_channel(admin, running.url) as shop:
        website = await create_webchat_inbox(admin)
        visitor = await start_visitor(running.client, website["public_token"], name="Sara")
        await say(running.client, visitor, "hi from the website")
        await shop.deliver("my order, by the shop's app", sender="sara")
        keep = await only_conversation_in(admin, shop.inbox_id)
        chat = await only_conversation_in(admin, website["id"])
        await same_contact(admin, keep, chat)
        ws = await open_socket(running.url, "/ws/widget", token=visitor.token)
        await ready(ws)

        await merge(admin, keep["id"], chat["id"])
        await shop.deliver("something the chat never shows", sender="sara")
        sent = await admin.post(
            f"/api/v1/conversations/{keep['id']}/messages",
            json={"body": "hello from the agent", "via_conversation_id": chat["id"]},
        )
        assert sent.status_code == 201, sent.text
        frame = await next_event(ws, "message.created")
        await ws.close()
        assert frame["data"]["message"]["body_text"] == "hello from the agent"
        shown = await running.client.get("/api/v1/widget/messages", headers=visitor.headers)
        assert [m["body_text"] for m in shown.json()["items"]] == [
            "hi from the website",
            "hello from the agent",
        ]
