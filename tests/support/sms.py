"""An SMS inbox on the local Twilio fake, as the tests drive it: Twilio's signed posts of a
customer's SMS or MMS, the inbox's conversations and messages through the API, and replies
after the delivery worker has sent them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from app.outbound.worker import DeliveryWorker
from tests.support.api import Api
from tests.support.app import Running
from tests.support.delivery import drain, reply
from tests.support.fakes.twilio import FakeTwilio, post_signed, sid

OUR_NUMBER = "+14155550143"
CUSTOMER = "+12125550178"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


@dataclass
class SmsInbox:
    id: int
    running: Running
    twilio: FakeTwilio

    def public_url(self, endpoint: str = "sms") -> str:
        """Where Twilio posts: the app's public URL, not the address tests connect to."""
        base = self.running.ctx.settings.public_url.rstrip("/")
        return f"{base}/webhooks/twilio/{self.id}/{endpoint}"

    async def post(self, params: dict[str, str], endpoint: str = "sms") -> httpx.Response:
        """A correctly signed post, as Twilio sends it."""
        return await post_signed(
            self.running.url, self.public_url(endpoint), params, self.twilio.auth_token
        )

    async def post_raw(
        self, params: dict[str, str], *, headers: dict[str, str], path: str | None = None
    ) -> httpx.Response:
        return await self.running.client.post(
            path or f"/webhooks/twilio/{self.id}/sms", data=params, headers=headers
        )


async def create_sms_inbox(admin: Api, twilio: FakeTwilio, **config: Any) -> int:
    values: dict[str, Any] = {
        "account_sid": twilio.account_sid,
        "auth_token": twilio.auth_token,
        "api_base_url": twilio.url,
        "from_number": OUR_NUMBER,
        **config,
    }
    values = {k: v for k, v in values.items() if v is not None}
    response = await admin.post(
        "/api/v1/inboxes", json={"kind": "sms", "name": "Support SMS", "config": values}
    )
    assert response.status_code == 201, response.text
    assert response.json()["webhook_url"].endswith(f"/webhooks/twilio/{response.json()['id']}/sms")
    inbox_id: int = response.json()["id"]
    return inbox_id


def incoming(body: str, *, sender: str = CUSTOMER, **extra: str) -> dict[str, str]:
    """An inbound SMS as Twilio posts it."""
    message_sid = extra.pop("MessageSid", None) or sid("SM")
    return {
        "ToCountry": "US",
        "SmsMessageSid": message_sid,
        "NumMedia": "0",
        "SmsSid": message_sid,
        "SmsStatus": "received",
        "Body": body,
        "FromCountry": "US",
        "To": OUR_NUMBER,
        "NumSegments": "1",
        "MessageSid": message_sid,
        "AccountSid": "AC0f1e2d3c4b5a69788796a5b4c3d2e1f0",
        "From": sender,
        "ApiVersion": "2010-04-01",
        **extra,
    }


async def messages_of(admin: Api, conversation_id: int) -> list[dict[str, Any]]:
    response = await admin.get(f"/api/v1/conversations/{conversation_id}/messages")
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def conversations(admin: Api, inbox_id: int) -> list[dict[str, Any]]:
    response = await admin.get("/api/v1/conversations", params={"inbox_id": inbox_id})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def only_conversation(admin: Api, inbox_id: int) -> dict[str, Any]:
    (conversation,) = await conversations(admin, inbox_id)
    return conversation


async def contact_of(admin: Api, conversation: dict[str, Any]) -> dict[str, Any]:
    response = await admin.get(f"/api/v1/contacts/{conversation['contact']['id']}")
    assert response.status_code == 200, response.text
    contact: dict[str, Any] = response.json()
    return contact


def mms(twilio: FakeTwilio, body: str, *files: tuple[str, bytes]) -> dict[str, str]:
    message_sid = sid("MM")
    media: dict[str, str] = {}
    for index, (content_type, data) in enumerate(files):
        media[f"MediaUrl{index}"] = twilio.media_url(message_sid, content_type, data)
        media[f"MediaContentType{index}"] = content_type
    return incoming(body, MessageSid=message_sid, NumMedia=str(len(files)), **media)


SERVICE_SID = "MG" + "5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d"


async def shown(admin: Api, conversation_id: int, message_id: object) -> dict[str, Any]:
    (found,) = [m for m in await messages_of(admin, conversation_id) if m["id"] == message_id]
    return found


async def delivered(
    admin: Api, worker: DeliveryWorker, conversation_id: int, body: str
) -> dict[str, Any]:
    """A reply, after the delivery worker has done with it, as the agent sees it."""
    sent = await reply(admin, conversation_id, body)
    await drain(worker)
    return await shown(admin, conversation_id, sent["id"])
