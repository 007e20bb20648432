"""Every Twilio post in the shared corpus (written by other people), posted to a running
server, signed as Twilio would sign it for this server's public URL; and the corpus's own
signatures checked against the URLs Twilio signed them for."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import pytest

from app.outbound.worker import DeliveryWorker
from connectors.base import RawRequest, VerificationError
from connectors.sms.config import SmsConfig
from connectors.sms.connector import TwilioSmsConnector
from tests.support.api import Api
from tests.support.app import Running
from tests.support.corpus import corpus_files
from tests.support.delivery import drain, reply
from tests.support.fakes.twilio import ACCOUNT_SID, sign
from tests.support.sms import (
    EMPTY_TWIML,
    SmsInbox,
    contact_of,
    conversations,
    incoming,
    messages_of,
    only_conversation,
)

FILES = corpus_files("twilio", "*.json")
CORPUS = FILES[0].parent
UNDELIVERED_30008 = "Twilio error 30008: unknown error from the carrier"
OPTED_OUT = "opted out of SMS (replied "
NO_PHONE = "is not a valid phone number: replies cannot be sent to it"

# What a person sees after each known post; a file added later is held to the general rules
# (a 2xx with TwiML and everything stored once, or a 400 that says what is wrong).
EXPECTED: dict[str, dict[str, Any]] = {
    "fa-twilio-inbound-mms-two-media-persian-body.json": {"stored": True},
    "fa-twilio-inbound-persian-emoji-zwnj-one-segment.json": {"stored": True},
    "inbound-sms-nl-full-params-empty-geo.json": {"stored": True},
    "twilio-inbound-start-us.json": {"stored": True, "reachable": True},
    "twilio-inbound-stop-us.json": {"stored": True, "unreachable": OPTED_OUT},
    "twilio-inbound-unsubscribe-ir.json": {"stored": True, "unreachable": OPTED_OUT},
    # Chatwoot's fixtures send from "+12345"/"+1234567890", which are not phone numbers: kept,
    # and nobody can answer them.
    "inbound-mms-one-image-content-type-mismatch.json": {"stored": True, "unreachable": NO_PHONE},
    "inbound-sms-missing-body.json": {"stored": True, "unreachable": NO_PHONE},
    "inbound-whatsapp-style-profile-name.json": {"stored": True, "unreachable": NO_PHONE},
    # A voice call's form and a JSON body are not incoming messages.
    "signed-request-validator-reference.json": {"refused": "MessageSid is missing"},
    "signed-json-body-bodysha256.json": {"refused": "expected Twilio's form post"},
    "status-delivered.json": {"status": "delivered"},
    "status-read.json": {"status": "read"},
    "status-queued.json": {"status": "sent"},
    "status-failed-30008-no-message.json": {"status": "failed", "error": UNDELIVERED_30008},
    "status-failed-30008-with-message.json": {"status": "failed", "error": UNDELIVERED_30008},
    # About messages this desk never sent: accepted, and nothing changes.
    "status-delivered-minimal.json": {"status": "sent"},
    "twilio-status-callback-sent.json": {"status": "sent"},
}


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def test_the_corpus_is_there() -> None:
    assert len(FILES) >= len(EXPECTED), f"expected the Twilio corpus in {CORPUS}"


# The corpus's own signatures --------------------------------------------------------------


def connector(token: str) -> TwilioSmsConnector:
    config = SmsConfig(account_sid=ACCOUNT_SID, auth_token=token, from_number="+14155550143")
    return TwilioSmsConnector(
        config,
        inbox_id=1,
        http=httpx.AsyncClient(),
        public_url="https://support.shop.example",
        max_attachment_bytes=1 << 20,
    )


def original_request(case: dict[str, Any], **changes: str) -> RawRequest:
    headers = {"x-twilio-signature": case["signature"]}
    if case.get("content_type") == "application/json":
        body = case["body"] + changes.get("Body", "")
        return RawRequest(url=case["url"], headers=headers, body=body.encode(), endpoint="sms")
    params = {**case["params"], **changes}
    body = urlencode(params).encode()
    return RawRequest(url=case["url"], headers=headers, body=body, endpoint="sms", form=params)


SIGNED = [path for path in FILES if "signature" in load(path)]


@pytest.mark.parametrize("path", SIGNED, ids=[p.name for p in SIGNED])
def test_signatures_twilio_made_are_accepted_and_tampering_is_not(path: Path) -> None:
    case = load(path)
    verifier = connector(case["auth_token"])
    verifier.verify(original_request(case))
    with pytest.raises(VerificationError):
        verifier.verify(original_request(case, Body="changed"))
    with pytest.raises(VerificationError):
        connector("another-token").verify(original_request(case))


# Posted to a running server -----------------------------------------------------------------


def endpoint_of(case: dict[str, Any]) -> str:
    params = case["params"]
    return "status" if "MessageStatus" in params or "status" in case["url"] else "sms"


async def post(running: Running, inbox: SmsInbox, case: dict[str, Any]) -> httpx.Response:
    """The post as Twilio would make it to this server: signed for its public URL."""
    endpoint = endpoint_of(case)
    if case.get("content_type") == "application/json":
        # JSON webhooks sign the URL only; the body's SHA-256 rides in its query string.
        url = inbox.public_url(endpoint) + "?" + urlsplit(case["url"]).query
        path = urlsplit(url).path + "?" + urlsplit(url).query
        return await running.client.post(
            path,
            content=case["body"].encode(),
            headers={"Content-Type": "application/json", "X-Twilio-Signature": sign(url, {})},
        )
    return await inbox.post(case["params"], endpoint)


async def sent_reply_sid(admin: Api, inbox: SmsInbox, worker: DeliveryWorker) -> tuple[int, str]:
    """A reply sent through the fake, for the status callbacks that name "the last one"."""
    assert (await inbox.post(incoming("hello"))).status_code == 200
    conversation_id: int = (await only_conversation(admin, inbox.id))["id"]
    sent = await reply(admin, conversation_id, "hi, how can we help?")
    await drain(worker)
    return int(str(sent["id"])), inbox.twilio.created[-1]["Sid"]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
async def test_every_corpus_post_is_handled(
    path: Path, running: Running, admin: Api, inbox: SmsInbox, worker: DeliveryWorker
) -> None:
    case = load(path)
    expected = EXPECTED.get(path.name, {})
    reply_id = None
    if endpoint_of(case) == "status":
        reply_id, reply_sid = await sent_reply_sid(admin, inbox, worker)
        params = case["params"]
        if params.get("MessageSid", "").startswith("<"):  # "the last message's id"
            case["params"] = {**params, "MessageSid": reply_sid}

    response = await post(running, inbox, case)

    if "refused" in expected or response.status_code == 400:
        assert response.status_code == 400, response.text
        assert response.json()["detail"].startswith(expected.get("refused", ""))
        assert await conversations(admin, inbox.id) == []
        return
    assert response.status_code == 200, response.text
    assert response.text == EMPTY_TWIML
    if reply_id is not None:
        conversation = await only_conversation(admin, inbox.id)
        shown = [m for m in await messages_of(admin, conversation["id"]) if m["id"] == reply_id]
        assert shown[0]["delivery_status"] == expected.get("status", shown[0]["delivery_status"])
        assert shown[0]["error"] == expected.get("error")
        return
    params = case["params"]
    again = await post(running, inbox, case)  # Twilio retries: stored once
    assert again.status_code == 200
    conversation = await only_conversation(admin, inbox.id)
    (message,) = await messages_of(admin, conversation["id"])
    assert message["body_text"] == params.get("Body", "")
    assert message["external_id"] == params.get("MessageSid", params.get("SmsSid"))
    assert len(message["attachments"]) == int(params.get("NumMedia", "0"))
    (identity,) = (await contact_of(admin, conversation))["identities"]
    assert (identity["kind"], identity["address"]) == ("phone", params["From"])
    if "reachable" in expected:
        assert identity["reachable"] is expected["reachable"]
    if "unreachable" in expected:
        assert identity["reachable"] is False
        assert expected["unreachable"] in identity["unreachable_reason"]
