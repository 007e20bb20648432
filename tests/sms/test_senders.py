"""Every signed message Twilio posts is stored, whoever sent it: WhatsApp users (answered over
WhatsApp), short codes and alphanumeric sender IDs (kept, and marked unreachable), and the
post shapes an SMS never has (no Body, a location, a tapped button, ten media files)."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from app.outbound.worker import DeliveryWorker
from tests.support.api import Api
from tests.support.app import Running
from tests.support.delivery import drain, refused_reply, reply
from tests.support.fakes.twilio import FakeTwilio, TwilioError, sid
from tests.support.sms import (
    CUSTOMER,
    EMPTY_TWIML,
    OUR_NUMBER,
    SERVICE_SID,
    SmsInbox,
    contact_of,
    conversations,
    create_sms_inbox,
    delivered,
    incoming,
    messages_of,
    mms,
    only_conversation,
    shown,
)

WHATSAPP_USER = "whatsapp:" + CUSTOMER


def whatsapp(body: str, **extra: str) -> dict[str, str]:
    """An inbound WhatsApp message as Twilio posts it to the number's webhook."""
    return incoming(
        body,
        sender=WHATSAPP_USER,
        To="whatsapp:" + OUR_NUMBER,
        WaId=CUSTOMER.removeprefix("+"),
        ProfileName="Sara",
        **extra,
    )


async def identities(admin: Api, conversation: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = (await contact_of(admin, conversation))["identities"]
    return found


async def the_message(admin: Api, inbox: SmsInbox) -> dict[str, Any]:
    (message,) = await messages_of(admin, (await only_conversation(admin, inbox.id))["id"])
    return message


async def stored(admin: Api, inbox: SmsInbox, params: dict[str, str]) -> dict[str, Any]:
    """Post `params` as Twilio does; it must be stored (once, as a retry shows): the message."""
    for _ in range(2):
        response = await inbox.post(params)
        assert response.status_code == 200, response.text
        assert response.text == EMPTY_TWIML
    message = await the_message(admin, inbox)
    assert message["external_id"] == params["MessageSid"]
    return message


# WhatsApp -----------------------------------------------------------------------------------


async def test_a_whatsapp_user_is_known_by_their_whatsapp_address(
    admin: Api, inbox: SmsInbox
) -> None:
    message = await stored(admin, inbox, whatsapp("سلام از واتس‌اپ"))

    assert message["body_text"] == "سلام از واتس‌اپ"
    conversation = await only_conversation(admin, inbox.id)
    assert conversation["contact"]["name"] == "Sara"
    (identity,) = await identities(admin, conversation)
    assert (identity["kind"], identity["address"]) == ("phone", WHATSAPP_USER)
    assert identity["reachable"] is True


async def test_the_whatsapp_number_is_normalized_but_keeps_its_channel(
    admin: Api, inbox: SmsInbox
) -> None:
    await stored(admin, inbox, whatsapp("hi", From="WhatsApp:+1 (212) 555-0178"))
    (identity,) = await identities(admin, await only_conversation(admin, inbox.id))
    assert identity["address"] == WHATSAPP_USER


async def test_a_national_number_is_placed_by_twilios_from_country(
    admin: Api, inbox: SmsInbox
) -> None:
    await stored(admin, inbox, incoming("hi", sender="0912 123 4567", FromCountry="IR"))
    (identity,) = await identities(admin, await only_conversation(admin, inbox.id))
    assert (identity["address"], identity["reachable"]) == ("+989121234567", True)


async def test_sms_and_whatsapp_from_one_number_stay_apart(admin: Api, inbox: SmsInbox) -> None:
    """Each conversation is answered where it came from: an SMS never joins the WhatsApp
    conversation of the same number (whose replies leave by WhatsApp), nor the reverse."""
    assert (await inbox.post(whatsapp("on WhatsApp"))).status_code == 200
    assert (await inbox.post(incoming("by SMS", sender=CUSTOMER))).status_code == 200

    by_address = {}
    for conversation in await conversations(admin, inbox.id):
        (identity,) = await identities(admin, conversation)
        (message,) = await messages_of(admin, conversation["id"])
        by_address[identity["address"]] = message["body_text"]
    assert by_address == {WHATSAPP_USER: "on WhatsApp", CUSTOMER: "by SMS"}


async def test_a_reply_to_whatsapp_goes_back_over_whatsapp(
    running: Running, admin: Api, inbox: SmsInbox, twilio: FakeTwilio, worker: DeliveryWorker
) -> None:
    assert (await inbox.post(whatsapp("is my order shipped?"))).status_code == 200
    conversation_id = (await only_conversation(admin, inbox.id))["id"]
    sent = await reply(admin, conversation_id, "Yes, today.")
    await drain(worker)

    (created,) = twilio.created
    assert (created["To"], created["From"]) == (WHATSAPP_USER, "whatsapp:" + OUR_NUMBER)
    assert created["Body"] == "Yes, today."
    message = await shown(admin, conversation_id, sent["id"])
    assert message["delivery_status"] == "sent"

    response = await twilio.status_callback(created["Sid"], "read", via=running.url)
    assert response.status_code == 200, response.text
    assert (await shown(admin, conversation_id, sent["id"]))["delivery_status"] == "read"


async def test_a_messaging_service_replies_to_whatsapp_with_its_own_sender(
    running: Running, admin: Api, twilio: FakeTwilio, worker: DeliveryWorker
) -> None:
    inbox_id = await create_sms_inbox(
        admin, twilio, from_number=None, messaging_service_sid=SERVICE_SID
    )
    inbox = SmsInbox(inbox_id, running, twilio)
    assert (await inbox.post(whatsapp("hello"))).status_code == 200
    await reply(admin, (await only_conversation(admin, inbox.id))["id"], "hi")
    await drain(worker)

    (created,) = twilio.created
    assert created["To"] == WHATSAPP_USER
    assert created["MessagingServiceSid"] == SERVICE_SID
    assert "From" not in created


async def test_a_whatsapp_reply_after_the_24_hour_window_says_why_it_failed(
    admin: Api, inbox: SmsInbox, twilio: FakeTwilio, worker: DeliveryWorker
) -> None:
    twilio.errors.append(
        TwilioError(400, 63016, "Failed to send freeform message because you are outside the")
    )
    assert (await inbox.post(whatsapp("hello"))).status_code == 200
    conversation_id = (await only_conversation(admin, inbox.id))["id"]
    message = await delivered(admin, worker, conversation_id, "sorry for the wait")
    assert message["delivery_status"] == "failed"
    assert message["error"].startswith("Twilio error 63016: WhatsApp accepts a free-form reply")
    assert message["attempts"] == 1


async def test_stop_on_whatsapp_is_a_message_unless_twilio_says_it_is_an_opt_out(
    admin: Api, inbox: SmsInbox
) -> None:
    """The STOP keywords are Twilio's SMS opt-out; on WhatsApp only Twilio's OptOutType
    (Advanced Opt-Out) makes the customer unreachable."""
    assert (await inbox.post(whatsapp("STOP"))).status_code == 200
    conversation = await only_conversation(admin, inbox.id)
    assert [i["reachable"] for i in await identities(admin, conversation)] == [True]

    assert (await inbox.post(whatsapp("please remove me", OptOutType="STOP"))).status_code == 200
    (identity,) = await identities(admin, conversation)
    assert identity["reachable"] is False
    assert identity["unreachable_reason"].startswith("opted out of WhatsApp (replied STOP)")


# Senders nobody can answer ------------------------------------------------------------------

UNANSWERABLE = [
    ("12345", "12345 is a short code: it cannot receive replies from this inbox's number"),
    ("MyBank", "MyBank is an alphanumeric sender ID: it cannot receive replies"),
    ("+12345", "+12345 is not a valid phone number: replies cannot be sent to it"),
    (
        "messenger:4512871253412",
        "replies over Twilio's messenger channel are not supported by this inbox",
    ),
    ("whatsapp:12345", "whatsapp:12345 is not a WhatsApp number: replies cannot be sent to it"),
]


@pytest.mark.parametrize(("sender", "reason"), UNANSWERABLE, ids=[s for s, _ in UNANSWERABLE])
async def test_a_sender_nobody_can_answer_is_stored_and_replies_are_refused_with_the_reason(
    admin: Api,
    inbox: SmsInbox,
    twilio: FakeTwilio,
    worker: DeliveryWorker,
    sender: str,
    reason: str,
) -> None:
    message = await stored(admin, inbox, incoming("Your code is 481516", sender=sender))
    assert message["body_text"] == "Your code is 481516"
    conversation = await only_conversation(admin, inbox.id)
    (identity,) = await identities(admin, conversation)
    assert identity["address"] == sender
    assert (identity["reachable"], identity["unreachable_reason"]) == (False, reason)

    assert reason in await refused_reply(admin, conversation["id"], "thanks")
    await drain(worker)
    assert twilio.created == []


async def test_an_unanswerable_sender_stays_unreachable_whatever_it_sends(
    admin: Api, inbox: SmsInbox
) -> None:
    for body, extra in (("START", {}), ("hello", {"OptOutType": "START"}), ("UNSTOP", {})):
        assert (await inbox.post(incoming(body, sender="MyBank", **extra))).status_code == 200
    (identity,) = await identities(admin, await only_conversation(admin, inbox.id))
    assert identity["reachable"] is False
    assert identity["unreachable_reason"].startswith("MyBank is an alphanumeric sender ID")


async def test_a_post_without_a_sender_is_a_clear_400(running: Running, inbox: SmsInbox) -> None:
    params = incoming("who am I?")
    del params["From"]
    response = await inbox.post(params)
    assert response.status_code == 400
    assert response.json()["detail"] == "From is missing: not an incoming Twilio message"


# Posts an SMS never makes -------------------------------------------------------------------


async def test_an_mms_without_a_body_is_stored_with_its_files(
    admin: Api, inbox: SmsInbox, twilio: FakeTwilio
) -> None:
    files = [b"\xff\xd8 photo %d" % i for i in range(10)]
    params = mms(twilio, "", *(("image/jpeg", data) for data in files))
    del params["Body"]
    message = await stored(admin, inbox, params)

    assert message["body_text"] == ""
    assert [a["stored"] for a in message["attachments"]] == [True] * 10
    assert [a["size"] for a in message["attachments"]] == [len(data) for data in files]


async def test_a_body_of_only_whitespace_is_stored_as_sent(admin: Api, inbox: SmsInbox) -> None:
    message = await stored(admin, inbox, incoming(" \n\t "))
    assert message["body_text"] == " \n\t "


async def test_a_whatsapp_location_is_stored_in_words_with_a_map_link(
    admin: Api, inbox: SmsInbox
) -> None:
    params = whatsapp(
        "",
        Latitude="35.6997",
        Longitude="51.3380",
        Address="Azadi Square, Tehran",
        Label="Azadi Tower",
    )
    del params["Body"]
    message = await stored(admin, inbox, params)

    assert message["body_text"] == (
        "Location: 35.6997, 51.338\n"
        "Azadi Tower, Azadi Square, Tehran\n"
        "https://www.openstreetmap.org/?mlat=35.6997&mlon=51.338#map=16/35.6997/51.338"
    )
    assert message["metadata"]["location"] == {
        "latitude": 35.6997,
        "longitude": 51.338,
        "label": "Azadi Tower",
        "address": "Azadi Square, Tehran",
    }


async def test_a_location_without_usable_coordinates_is_still_stored(
    admin: Api, inbox: SmsInbox
) -> None:
    message = await stored(admin, inbox, whatsapp("", Latitude="north", Longitude="nan"))
    assert message["body_text"] == ""
    assert "location" not in message["metadata"]


async def test_a_tapped_whatsapp_button_is_its_text_and_keeps_its_payload(
    admin: Api, inbox: SmsInbox
) -> None:
    params = whatsapp("", ButtonText="Track my order", ButtonPayload="track:8812")
    message = await stored(admin, inbox, params)
    assert message["body_text"] == "Track my order"
    assert message["metadata"]["button"] == {"text": "Track my order", "payload": "track:8812"}


async def test_help_and_unknown_fields_are_stored_and_change_nothing(
    admin: Api, inbox: SmsInbox
) -> None:
    params = incoming(
        "HELP",
        OptOutType="HELP",
        ChannelMetadata='{"type":"sms","data":{}}',
        SomethingTwilioAddsNextYear="42",
    )
    message = await stored(admin, inbox, params)
    assert message["body_text"] == "HELP"
    (identity,) = await identities(admin, await only_conversation(admin, inbox.id))
    assert identity["reachable"] is True


# Status callbacks -----------------------------------------------------------------------------


async def test_reports_on_messages_this_desk_never_sent_are_accepted_and_logged(
    inbox: SmsInbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    unknown = sid("SM")
    response = await inbox.post(
        {"MessageSid": unknown, "MessageStatus": "delivered", "AccountSid": "AC1"}, "status"
    )
    assert response.status_code == 200, response.text
    assert f"report on unknown reply {unknown!r} ignored" in caplog.text


@pytest.mark.parametrize(
    ("status", "expected", "error"),
    [
        ("received", "sent", None),
        ("partially_delivered", "sent", None),
        ("read", "read", None),
        ("canceled", "failed", "canceled before it was sent"),
    ],
)
async def test_every_status_twilio_reports_is_applied_or_ignored(
    running: Running,
    admin: Api,
    inbox: SmsInbox,
    twilio: FakeTwilio,
    worker: DeliveryWorker,
    status: str,
    expected: str,
    error: str | None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="connectors.sms")
    assert (await inbox.post(incoming("hello"))).status_code == 200
    conversation_id = (await only_conversation(admin, inbox.id))["id"]
    sent = await reply(admin, conversation_id, "hi")
    await drain(worker)

    response = await twilio.status_callback(twilio.created[-1]["Sid"], status, via=running.url)
    assert response.status_code == 200, response.text
    message = await shown(admin, conversation_id, sent["id"])
    assert (message["delivery_status"], message["error"]) == (expected, error)
    if status in ("received", "partially_delivered"):
        assert f"Twilio status {status!r} for {twilio.created[-1]['Sid']} ignored" in caplog.text
