"""A rule answers the first message of a conversation on every channel's inbound path
(api, e-mail through Dovecot, Telegram and Twilio fakes, the web chat widget), with the
background workers of a served app doing the work."""

from __future__ import annotations

import asyncio

from tests.support.api import Api
from tests.support.automations import create_rule
from tests.support.channels import Channel


async def _conversation_id(admin: Api, inbox_id: int) -> int:
    page = await admin.get("/api/v1/conversations", params={"inbox_id": inbox_id})
    (conversation,) = page.json()["items"]
    conversation_id: int = conversation["id"]
    return conversation_id


async def test_a_rule_answers_the_first_message_on_every_channel(
    channel: Channel, console_admin: Api
) -> None:
    rule = await create_rule(
        console_admin,
        name=f"Welcome {channel.kind}",
        inbox_id=channel.inbox_id,
        event="message.first_received",
        conditions=[
            {"field": "channel", "op": "equals", "value": channel.kind},
            {"field": "message.text", "op": "contains", "value": "help"},
        ],
        actions=[
            {
                "type": "send_message",
                "text": "Ticket {{conversation.id}} on {{conversation.channel}}",
            },
            {"type": "add_label", "label": "welcomed"},
        ],
    )
    try:
        await channel.deliver("I need help", name="Sara Ahmadi")
        conversation_id = await _conversation_id(console_admin, channel.inbox_id)
        expected = [f"Ticket {conversation_id} on {channel.kind}"]
        for _ in range(300):
            if await channel.received() == expected:
                break
            await asyncio.sleep(0.1)
        assert await channel.received() == expected
        conversation = (await console_admin.get(f"/api/v1/conversations/{conversation_id}")).json()
        assert conversation["labels"] == ["welcomed"]
    finally:
        await console_admin.delete(f"/api/v1/automations/{rule['id']}")
