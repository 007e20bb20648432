"""A voice inbox on the local Twilio fake, as the tests drive it: Twilio's signed posts for
a call (the incoming call, status callbacks, <Dial>'s outcome, recordings) and the call
items they leave in the inbox's conversations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlencode
from xml.etree import ElementTree

import httpx

from tests.support.api import Api
from tests.support.app import Running
from tests.support.fakes.twilio import NUMBER, FakeTwilio, post_signed, sid

OUR_NUMBER = NUMBER
CUSTOMER = "+12125550178"
AGENT_PHONES = ["+14155550101", "+14155550102"]
# Every voice webhook, as its path after /voice.
ENDPOINTS = ("", "status", "dial", "recording", "transcription", "hangup", "whisper", "connect")


@dataclass
class VoiceInbox:
    id: int
    running: Running
    twilio: FakeTwilio

    def url(self, endpoint: str = "", **query: int | str) -> str:
        """Where Twilio posts: the app's public URL, not the address tests connect to."""
        base = self.running.ctx.settings.public_url.rstrip("/")
        path = f"{base}/webhooks/twilio/{self.id}/voice" + (f"/{endpoint}" if endpoint else "")
        return path + (f"?{urlencode(query)}" if query else "")

    async def post(
        self, endpoint: str, params: dict[str, str], **query: int | str
    ) -> httpx.Response:
        """A correctly signed post, as Twilio sends it."""
        return await post_signed(
            self.running.url, self.url(endpoint, **query), params, self.twilio.auth_token
        )

    async def call(self, caller: str = CUSTOMER, **extra: str) -> tuple[str, ElementTree.Element]:
        """A customer calls: the CallSid and the TwiML the app answered."""
        form = incoming_call(caller, **extra)
        response = await self.post("", form)
        assert response.status_code == 200, response.text
        return form["CallSid"], twiml_of(response)


async def create_voice_inbox(admin: Api, twilio: FakeTwilio, **config: Any) -> int:
    values: dict[str, Any] = {
        "account_sid": twilio.account_sid,
        "auth_token": twilio.auth_token,
        "api_base_url": twilio.url,
        "number": OUR_NUMBER,
        "agent_numbers": AGENT_PHONES,
        **config,
    }
    response = await admin.post(
        "/api/v1/inboxes", json={"kind": "voice", "name": "Phone", "config": values}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["webhook_url"].endswith(f"/webhooks/twilio/{body['id']}/voice")
    assert "auth_token" not in body["config"]
    inbox_id: int = body["id"]
    return inbox_id


def timestamp(at: datetime) -> str:
    return format_datetime(at.astimezone(UTC), usegmt=True)


def incoming_call(caller: str = CUSTOMER, **extra: str) -> dict[str, str]:
    """Twilio's request to the number's Voice URL when a customer calls."""
    return {
        "AccountSid": "AC0f1e2d3c4b5a69788796a5b4c3d2e1f0",
        "ApiVersion": "2010-04-01",
        "CallSid": extra.pop("CallSid", None) or sid("CA"),
        "CallStatus": "ringing",
        "Direction": "inbound",
        "From": caller,
        "To": OUR_NUMBER,
        "FromCountry": "US",
        "ToCountry": "US",
        **extra,
    }


def status(
    call_sid: str,
    call_status: str,
    *,
    at: datetime,
    sequence: int,
    parent: str | None = None,
    to: str = OUR_NUMBER,
    **extra: str,
) -> dict[str, str]:
    """A status callback on a call's leg (`parent`: a leg it rang)."""
    form = {
        "AccountSid": "AC0f1e2d3c4b5a69788796a5b4c3d2e1f0",
        "CallSid": call_sid,
        "CallStatus": call_status,
        "Timestamp": timestamp(at),
        "SequenceNumber": str(sequence),
        "CallbackSource": "call-progress-events",
        "From": CUSTOMER,
        "To": to,
        **extra,
    }
    if parent is not None:
        form["ParentCallSid"] = parent
    return form


def dial(call_sid: str, dial_status: str, talk_seconds: int | None = None) -> dict[str, str]:
    form = {"CallSid": call_sid, "CallStatus": "in-progress", "DialCallStatus": dial_status}
    if talk_seconds is not None:
        form |= {"DialCallSid": sid("CA"), "DialCallDuration": str(talk_seconds)}
    return form


def recording(call_sid: str, url: str, seconds: int = 7) -> dict[str, str]:
    return {
        "AccountSid": "AC0f1e2d3c4b5a69788796a5b4c3d2e1f0",
        "CallSid": call_sid,
        "RecordingSid": url.rsplit("/", 1)[-1],
        "RecordingUrl": url,
        "RecordingStatus": "completed",
        "RecordingDuration": str(seconds),
        "RecordingChannels": "1",
        "RecordingSource": "RecordVerb",
    }


def transcription(call_sid: str, text: str, status: str = "completed") -> dict[str, str]:
    """<Record transcribe>'s callback."""
    return {
        "AccountSid": "AC0f1e2d3c4b5a69788796a5b4c3d2e1f0",
        "CallSid": call_sid,
        "RecordingSid": sid("RE"),
        "TranscriptionSid": sid("TR"),
        "TranscriptionStatus": status,
        "TranscriptionText": text,
    }


async def call_items(admin: Api, inbox_id: int) -> list[dict[str, Any]]:
    """Every call item of the inbox's conversations (their message, `call` in metadata)."""
    response = await admin.get("/api/v1/conversations", params={"inbox_id": inbox_id})
    assert response.status_code == 200, response.text
    items = []
    for conversation in response.json()["items"]:
        messages = await admin.get(f"/api/v1/conversations/{conversation['id']}/messages")
        items += [m for m in messages.json()["items"] if "call" in m["metadata"]]
    return items


async def call_item(admin: Api, inbox_id: int, call_sid: str) -> dict[str, Any]:
    (item,) = [
        m for m in await call_items(admin, inbox_id) if m["external_id"] == f"call:{call_sid}"
    ]
    return item


def twiml_of(response: httpx.Response) -> ElementTree.Element:
    """The TwiML the app answered (its own document, so the standard parser is safe)."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/xml")
    return ElementTree.fromstring(response.text)  # noqa: S314 - our server's own answer


def said(twiml: ElementTree.Element) -> list[str]:
    """The verbs of a TwiML answer, in order."""
    return [child.tag for child in twiml]
