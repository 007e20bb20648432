"""Inbound SMS and MMS from Twilio: signed, stored once, media downloaded safely, opt-outs
shown on the customer's identity."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from app.tickets.models import Message
from tests.support.api import Api, create_api_inbox, login, post_incoming
from tests.support.app import ADMIN_EMAIL, ADMIN_PASSWORD, Running, make_settings, serve
from tests.support.fakes.twilio import FakeTwilio, post_signed, sign
from tests.support.sms import (
    CUSTOMER,
    EMPTY_TWIML,
    SmsInbox,
    contact_of,
    create_sms_inbox,
    incoming,
    messages_of,
    mms,
    only_conversation,
)


async def stored_messages(running: Running) -> int:
    async with running.ctx.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(Message)) or 0)


async def test_an_sms_lands_in_a_conversation_with_the_sender(admin: Api, inbox: SmsInbox) -> None:
    response = await inbox.post(incoming("سلام، سفارشم کجاست؟ 📦", ProfileName="Sara"))

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/xml")
    assert response.text == EMPTY_TWIML
    conversation = await only_conversation(admin, inbox.id)
    assert conversation["channel"] == "sms"
    assert conversation["contact"]["name"] == "Sara"
    (message,) = await messages_of(admin, conversation["id"])
    assert message["direction"] == "inbound"
    assert message["body_text"] == "سلام، سفارشم کجاست؟ 📦"
    contact = await contact_of(admin, conversation)
    assert [(i["kind"], i["address"]) for i in contact["identities"]] == [("phone", CUSTOMER)]


async def test_a_repeated_delivery_is_stored_once(
    running: Running, admin: Api, inbox: SmsInbox
) -> None:
    params = incoming("where is my parcel?")
    first = await inbox.post(params)
    again = await inbox.post(params)

    assert (first.status_code, again.status_code) == (200, 200)
    assert again.text == EMPTY_TWIML
    assert await stored_messages(running) == 1


# Signatures -------------------------------------------------------------------------------


async def test_a_missing_signature_is_refused_and_nothing_stored(
    running: Running, inbox: SmsInbox
) -> None:
    response = await inbox.post_raw(incoming("forged"), headers={})
    assert response.status_code == 403
    assert response.json()["code"] == "invalid_signature"
    assert await stored_messages(running) == 0


async def test_an_invalid_signature_is_refused(running: Running, inbox: SmsInbox) -> None:
    params = incoming("forged")
    forged = sign(inbox.public_url(), params, token="not-the-auth-token")
    response = await inbox.post_raw(params, headers={"X-Twilio-Signature": forged})
    assert response.status_code == 403
    assert await stored_messages(running) == 0


async def test_a_signature_for_another_url_is_refused(running: Running, inbox: SmsInbox) -> None:
    params = incoming("replayed from another inbox")
    other = inbox.public_url().replace(f"/{inbox.id}/", f"/{inbox.id + 1}/")
    response = await inbox.post_raw(params, headers={"X-Twilio-Signature": sign(other, params)})
    assert response.status_code == 403
    # Signed for the address the client connects to, not the public one Twilio calls.
    direct = f"{running.url}/webhooks/twilio/{inbox.id}/sms"
    response = await inbox.post_raw(params, headers={"X-Twilio-Signature": sign(direct, params)})
    assert response.status_code == 403
    assert await stored_messages(running) == 0


async def test_an_added_or_changed_parameter_breaks_the_signature(
    running: Running, inbox: SmsInbox
) -> None:
    params = incoming("pay 10 USD")
    signature = sign(inbox.public_url(), params)
    extra = {**params, "MediaUrl0": "http://169.254.169.254/latest/meta-data"}
    changed = {**params, "Body": "pay 1000 USD"}
    for tampered in (extra, changed):
        response = await inbox.post_raw(tampered, headers={"X-Twilio-Signature": signature})
        assert response.status_code == 403
    assert await stored_messages(running) == 0


async def test_a_query_string_is_part_of_what_is_signed(running: Running, inbox: SmsInbox) -> None:
    params = incoming("hello")
    url = inbox.public_url() + "?source=number-1"
    ok = await post_signed(running.url, url, params)
    assert ok.status_code == 200, ok.text
    moved = await inbox.post_raw(
        incoming("hello again"),
        headers={"X-Twilio-Signature": sign(url, params)},
        path=f"/webhooks/twilio/{inbox.id}/sms?source=number-2",
    )
    assert moved.status_code == 403
    assert await stored_messages(running) == 1


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_behind_a_proxy_the_public_url_is_what_twilio_signed(
    database_url: str, tmp_path: Path, twilio: FakeTwilio
) -> None:
    """Twilio calls https://desk.example.com; the proxy forwards to 127.0.0.1:port."""
    public = "https://desk.example.com"
    settings = make_settings(database_url, tmp_path / "data", public_url=public)
    async with serve(settings) as live:
        admin = await login(live.client, ADMIN_EMAIL, ADMIN_PASSWORD)
        inbox_id = await create_sms_inbox(admin, twilio)
        params = incoming("via the proxy")
        url = f"{public}/webhooks/twilio/{inbox_id}/sms"
        response = await post_signed(live.url, url, params)
        assert response.status_code == 200, response.text
        assert await stored_messages(live) == 1


# Bad payloads -----------------------------------------------------------------------------


async def test_a_body_that_is_not_a_form_is_refused_not_a_crash(
    running: Running, inbox: SmsInbox
) -> None:
    url = inbox.public_url()
    for headers in ({}, {"Content-Type": "application/json"}, {"Content-Type": "text/plain"}):
        forged = await running.client.post(
            f"/webhooks/twilio/{inbox.id}/sms",
            content=b'{"From": "+12125550178", "Body": "hi"}',
            headers={**headers, "X-Twilio-Signature": sign(url, {"Body": "hi"})},
        )
        assert forged.status_code == 403, forged.text
        signed = await running.client.post(
            f"/webhooks/twilio/{inbox.id}/sms",
            content=b'{"From": "+12125550178", "Body": "hi"}',
            headers={**headers, "X-Twilio-Signature": sign(url, {})},
        )
        assert signed.status_code == 400, signed.text
        assert "form post" in signed.json()["detail"]
    assert await stored_messages(running) == 0


async def test_a_post_without_a_message_sid_is_a_clear_400(inbox: SmsInbox) -> None:
    params = {"From": CUSTOMER, "Body": "no sid"}
    response = await inbox.post(params)
    assert response.status_code == 400
    assert "MessageSid" in response.json()["detail"]


# One customer across channels ---------------------------------------------------------------


async def test_an_sms_joins_the_contact_known_by_that_number(
    running: Running, admin: Api, inbox: SmsInbox
) -> None:
    shop = await create_api_inbox(admin)
    stored = await post_incoming(
        running.client,
        shop,
        external_id="order-9",
        sender="cust-9",
        name="Sara",
        phone="+1 (212) 555-0178",
        text="please call me back",
    )
    assert stored.status_code == 201, stored.text
    response = await inbox.post(incoming("it's me again", sender=CUSTOMER))
    assert response.status_code == 200

    shop_conversation = await only_conversation(admin, shop.id)
    conversation = await only_conversation(admin, inbox.id)
    assert conversation["contact"]["id"] == shop_conversation["contact"]["id"]
    contact = await contact_of(admin, conversation)
    assert {c["channel"] for c in contact["conversations"]} == {"api", "sms"}


# MMS --------------------------------------------------------------------------------------

JPEG = b"\xff\xd8\xff\xe0" + b"photo of the broken item" * 100
PNG = b"\x89PNG\r\n\x1a\n" + b"receipt" * 50


async def attachments_of(admin: Api, inbox: SmsInbox) -> list[dict[str, Any]]:
    conversation = await only_conversation(admin, inbox.id)
    (message,) = await messages_of(admin, conversation["id"])
    attachments: list[dict[str, Any]] = message["attachments"]
    return attachments


async def test_mms_media_are_downloaded_with_the_account_credentials(
    admin: Api, inbox: SmsInbox, twilio: FakeTwilio
) -> None:
    response = await inbox.post(
        mms(twilio, "عکس کالای شکسته و رسید خرید", ("image/jpeg", JPEG), ("image/png", PNG))
    )
    assert response.status_code == 200, response.text

    first, second = await attachments_of(admin, inbox)
    assert (first["content_type"], second["content_type"]) == ("image/jpeg", "image/png")
    assert first["filename"].startswith("ME")
    assert first["filename"].endswith(".jpg")
    assert second["filename"].endswith(".png")
    for attachment, data in ((first, JPEG), (second, PNG)):
        assert attachment["stored"] is True
        assert attachment["size"] == len(data)
        downloaded = await admin.get(f"/api/v1/attachments/{attachment['id']}")
        assert downloaded.status_code == 200
        assert downloaded.content == data
    media_calls = [c for c in twilio.calls if "/Media/" in c.path]
    assert len(media_calls) == 2
    assert all(c.authorized for c in media_calls)


async def test_media_elsewhere_than_twilio_is_never_fetched(
    running: Running, admin: Api, inbox: SmsInbox, twilio: FakeTwilio
) -> None:
    """A MediaUrl naming another host (here the app itself, standing for an internal
    service) would turn the webhook into a proxy: it is refused, the message kept."""
    params = incoming(
        "see attached",
        NumMedia="1",
        MediaUrl0=f"{running.url}/healthz",
        MediaContentType0="image/jpeg",
    )
    response = await inbox.post(params)
    assert response.status_code == 200, response.text
    (attachment,) = await attachments_of(admin, inbox)
    assert attachment["stored"] is False
    assert "is not this inbox's Twilio API host" in attachment["note"]
    assert not [c for c in twilio.calls if c.method == "GET" and "/Media/" in c.path]


async def test_a_media_url_that_is_no_url_leaves_a_note_and_the_message_is_kept(
    admin: Api, inbox: SmsInbox, twilio: FakeTwilio
) -> None:
    params = incoming(
        "see attached", NumMedia="1", MediaUrl0="::::", MediaContentType0="image/jpeg"
    )
    response = await inbox.post(params)
    assert response.status_code == 200, response.text
    (attachment,) = await attachments_of(admin, inbox)
    assert attachment["stored"] is False
    assert attachment["note"] == "not downloaded: '::::' is not a URL"
    assert not [c for c in twilio.calls if "/Media/" in c.path]


async def test_media_over_the_size_limit_keep_their_metadata_and_a_note(
    database_url: str, tmp_path: Path, twilio: FakeTwilio
) -> None:
    settings = make_settings(database_url, tmp_path / "data", max_attachment_bytes=1000)
    async with serve(settings) as live:
        admin = await login(live.client, ADMIN_EMAIL, ADMIN_PASSWORD)
        inbox = SmsInbox(await create_sms_inbox(admin, twilio), live, twilio)
        response = await inbox.post(
            mms(twilio, "two files", ("image/jpeg", JPEG), ("image/png", PNG))
        )
        assert response.status_code == 200, response.text
        big, small = await attachments_of(admin, inbox)
        assert big["stored"] is False
        assert big["content_type"] == "image/jpeg"
        assert "1000-byte limit" in big["note"]
        assert small["stored"] is True


async def test_a_media_file_twilio_cannot_find_leaves_a_note(
    admin: Api, inbox: SmsInbox, twilio: FakeTwilio
) -> None:
    params = mms(twilio, "photo", ("image/jpeg", JPEG))
    twilio.media.clear()
    response = await inbox.post(params)
    assert response.status_code == 200, response.text
    (attachment,) = await attachments_of(admin, inbox)
    assert attachment["stored"] is False
    assert attachment["note"] == "not downloaded: Twilio answered 404"
