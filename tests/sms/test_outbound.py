"""Replies by SMS: sent through the twilio SDK to the fake, followed by Twilio's status
callbacks, failed with readable reasons, never sent to a number that opted out."""

from __future__ import annotations

from typing import Any

import pytest

from app.outbound.worker import DeliveryWorker
from tests.support.api import Api
from tests.support.app import Running
from tests.support.delivery import drain, refused_reply, reply
from tests.support.fakes.twilio import FakeTwilio, TwilioError, post_signed, sid
from tests.support.sms import (
    CUSTOMER,
    OUR_NUMBER,
    SERVICE_SID,
    SmsInbox,
    contact_of,
    create_sms_inbox,
    delivered,
    incoming,
    messages_of,
    only_conversation,
    shown,
)


async def start(admin: Api, inbox: SmsInbox, text: str = "is my order shipped?") -> int:
    response = await inbox.post(incoming(text))
    assert response.status_code == 200, response.text
    conversation_id: int = (await only_conversation(admin, inbox.id))["id"]
    return conversation_id


async def test_a_reply_reaches_twilio_with_number_body_and_status_callback(
    admin: Api, inbox: SmsInbox, twilio: FakeTwilio, worker: DeliveryWorker
) -> None:
    conversation_id = await start(admin, inbox)
    sent = await reply(admin, conversation_id, "Yes — it ships today. امروز ارسال می‌شود")
    await drain(worker)

    (created,) = twilio.created
    assert created["To"] == CUSTOMER
    assert created["From"] == OUR_NUMBER
    assert "MessagingServiceSid" not in created
    assert created["Body"] == "Yes — it ships today. امروز ارسال می‌شود"
    assert created["StatusCallback"] == inbox.public_url("status") + f"?message_id={sent['id']}"
    (call,) = [c for c in twilio.calls if c.path.endswith("/Messages.json")]
    assert call.authorized
    message = await shown(admin, conversation_id, sent["id"])
    assert message["delivery_status"] == "sent"
    assert message["external_id"] == created["Sid"]
    assert message["metadata"]["num_segments"] == 1


async def test_a_messaging_service_sends_instead_of_a_number(
    running: Running, admin: Api, twilio: FakeTwilio, worker: DeliveryWorker
) -> None:
    inbox_id = await create_sms_inbox(
        admin, twilio, from_number=None, messaging_service_sid=SERVICE_SID
    )
    inbox = SmsInbox(inbox_id, running, twilio)
    conversation_id = await start(admin, inbox)
    await reply(admin, conversation_id, "hello")
    await drain(worker)

    (created,) = twilio.created
    assert created["MessagingServiceSid"] == SERVICE_SID
    assert "From" not in created


async def test_a_long_reply_is_left_to_twilio_and_shows_its_segment_count(
    admin: Api, inbox: SmsInbox, twilio: FakeTwilio, worker: DeliveryWorker
) -> None:
    conversation_id = await start(admin, inbox)
    body = "سفارش شما فردا تحویل داده می‌شود. " * 12  # UCS-2: 67 characters a part
    sent = await reply(admin, conversation_id, body.strip())
    await drain(worker)

    (created,) = twilio.created
    assert created["Body"] == body.strip()  # one request; Twilio splits it
    message = await shown(admin, conversation_id, sent["id"])
    assert message["metadata"]["num_segments"] == 7


# Status callbacks ---------------------------------------------------------------------------


async def sent_reply(
    admin: Api, inbox: SmsInbox, worker: DeliveryWorker
) -> tuple[int, dict[str, Any], str]:
    conversation_id = await start(admin, inbox)
    sent = await reply(admin, conversation_id, "on its way")
    await drain(worker)
    return conversation_id, sent, inbox.twilio.created[-1]["Sid"]


async def test_status_callbacks_move_a_reply_forward_and_never_back(
    running: Running, admin: Api, inbox: SmsInbox, twilio: FakeTwilio, worker: DeliveryWorker
) -> None:
    conversation_id, sent, message_sid = await sent_reply(admin, inbox, worker)

    for status, expected in (
        ("queued", "sent"),
        ("delivered", "delivered"),
        ("sent", "delivered"),  # late and out of order: ignored
        ("undelivered", "delivered"),
    ):
        response = await twilio.status_callback(message_sid, status, via=running.url)
        assert response.status_code == 200, response.text
        assert (await shown(admin, conversation_id, sent["id"]))["delivery_status"] == expected


async def test_a_report_that_beats_the_worker_still_finds_the_reply(
    running: Running, admin: Api, inbox: SmsInbox, twilio: FakeTwilio, worker: DeliveryWorker
) -> None:
    """Twilio reports `sent` before it answers the create request: the callback URL's
    message_id finds the reply although its SID is not recorded yet."""
    twilio.early_callbacks_to = running.url
    conversation_id, sent, message_sid = await sent_reply(admin, inbox, worker)

    message = await shown(admin, conversation_id, sent["id"])
    assert message["delivery_status"] == "sent"
    assert message["external_id"] == message_sid
    assert message["attempts"] == 1
    assert len(twilio.created) == 1
    await twilio.status_callback(message_sid, "delivered", via=running.url)
    assert (await shown(admin, conversation_id, sent["id"]))["delivery_status"] == "delivered"


@pytest.mark.parametrize(
    ("status", "code", "twilio_message", "reason"),
    [
        ("undelivered", "30003", "", "Twilio error 30003: unreachable handset"),
        ("failed", "30006", "", "Twilio error 30006: landline or unreachable carrier"),
        ("failed", "30008", "Unknown error", "Twilio error 30008: unknown error"),
        ("undelivered", "39999", "Something new", "Twilio error 39999: Something new"),
    ],
)
async def test_a_failure_report_says_why_in_words(
    running: Running,
    admin: Api,
    inbox: SmsInbox,
    twilio: FakeTwilio,
    worker: DeliveryWorker,
    status: str,
    code: str,
    twilio_message: str,
    reason: str,
) -> None:
    conversation_id, sent, message_sid = await sent_reply(admin, inbox, worker)
    extra = {"ErrorCode": code} | ({"ErrorMessage": twilio_message} if twilio_message else {})
    await twilio.status_callback(message_sid, status, via=running.url, **extra)

    message = await shown(admin, conversation_id, sent["id"])
    assert message["delivery_status"] == "failed"
    assert message["error"].startswith(reason)
    assert message["metadata"]["twilio_error_code"] == code


async def test_a_forged_status_callback_changes_nothing(
    running: Running, admin: Api, inbox: SmsInbox, worker: DeliveryWorker
) -> None:
    conversation_id, sent, message_sid = await sent_reply(admin, inbox, worker)
    response = await running.client.post(
        f"/webhooks/twilio/{inbox.id}/status?message_id={sent['id']}",
        data={"MessageSid": message_sid, "MessageStatus": "delivered"},
        headers={"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"},
    )
    assert response.status_code == 403
    assert (await shown(admin, conversation_id, sent["id"]))["delivery_status"] == "sent"


async def test_a_status_callback_naming_no_reply_of_ours_changes_nothing(
    running: Running, admin: Api, inbox: SmsInbox, twilio: FakeTwilio, worker: DeliveryWorker
) -> None:
    """Signed, but the message_id in its URL is no id of ours (nor a number the database
    can compare): answered 200 like any report on a message this desk never sent."""
    conversation_id, sent, _message_sid = await sent_reply(admin, inbox, worker)
    params = {"MessageSid": sid("SM"), "MessageStatus": "delivered"}
    for message_id in (str(2**63), str(2**70), "-1", "0", "abc"):
        url = f"{inbox.public_url('status')}?message_id={message_id}"
        response = await post_signed(running.url, url, params, twilio.auth_token)
        assert response.status_code == 200, response.text
    # Our id of this reply, with a SID that is not its own: about another message.
    url = f"{inbox.public_url('status')}?message_id={sent['id']}"
    failed = params | {"MessageStatus": "failed", "ErrorCode": "30007"}
    response = await post_signed(running.url, url, failed, twilio.auth_token)
    assert response.status_code == 200, response.text
    message = await shown(admin, conversation_id, sent["id"])
    assert message["delivery_status"] == "sent"
    assert "twilio_error_code" not in message["metadata"]


# Errors on send -----------------------------------------------------------------------------


async def test_an_invalid_number_fails_at_once_with_the_reason(
    admin: Api, inbox: SmsInbox, twilio: FakeTwilio, worker: DeliveryWorker
) -> None:
    twilio.errors.append(
        TwilioError(400, 21211, "The 'To' number +12125550178 is not a valid phone number.")
    )
    conversation_id = await start(admin, inbox)
    message = await delivered(admin, worker, conversation_id, "hello")
    assert message["delivery_status"] == "failed"
    assert message["error"].startswith("Twilio error 21211: invalid number")
    assert message["attempts"] == 1


async def test_an_unknown_refusal_keeps_twilios_words(
    admin: Api, inbox: SmsInbox, twilio: FakeTwilio, worker: DeliveryWorker
) -> None:
    twilio.errors.append(TwilioError(400, 21999, "Something Twilio has never said before"))
    conversation_id = await start(admin, inbox)
    message = await delivered(admin, worker, conversation_id, "hello")
    assert message["error"] == "Twilio error 21999: Something Twilio has never said before"


@pytest.mark.parametrize(
    "error",
    [
        TwilioError(429, 20429, "Too Many Requests"),
        TwilioError(503, 20503, "Service Unavailable"),
    ],
)
async def test_rate_limits_and_outages_are_retried_until_sent(
    admin: Api, inbox: SmsInbox, twilio: FakeTwilio, worker: DeliveryWorker, error: TwilioError
) -> None:
    twilio.errors.extend([error, error])
    conversation_id = await start(admin, inbox)
    message = await delivered(admin, worker, conversation_id, "hello")
    assert message["delivery_status"] == "sent"
    assert message["attempts"] == 3
    assert len(twilio.created) == 1


async def test_refused_credentials_fail_at_once(
    admin: Api, inbox: SmsInbox, twilio: FakeTwilio, worker: DeliveryWorker
) -> None:
    conversation_id = await start(admin, inbox)
    twilio.auth_token = "rotated-in-the-twilio-console"
    message = await delivered(admin, worker, conversation_id, "hello")
    assert message["delivery_status"] == "failed"
    assert message["attempts"] == 1
    assert "refused the account credentials" in message["error"]


# Opt-out ------------------------------------------------------------------------------------


async def identity(admin: Api, inbox: SmsInbox) -> dict[str, Any]:
    contact = await contact_of(admin, await only_conversation(admin, inbox.id))
    (found,) = contact["identities"]
    return dict(found)


async def test_stop_blocks_replies_and_start_allows_them_again(
    admin: Api, inbox: SmsInbox, twilio: FakeTwilio, worker: DeliveryWorker
) -> None:
    conversation_id = await start(admin, inbox)
    assert (await inbox.post(incoming(" stop "))).status_code == 200

    opted_out = await identity(admin, inbox)
    assert opted_out["reachable"] is False
    assert opted_out["unreachable_reason"].startswith("opted out of SMS (replied STOP)")
    texts = [m["body_text"] for m in await messages_of(admin, conversation_id)]
    assert texts == ["is my order shipped?", " stop "]  # the STOP itself is kept

    refused = await refused_reply(admin, conversation_id, "are you sure?")
    assert "opted out of SMS (replied STOP)" in refused
    await reply(admin, conversation_id, "they opted out", private=True)  # a note is fine
    await drain(worker)
    assert twilio.created == []

    assert (await inbox.post(incoming("Start"))).status_code == 200
    assert (await identity(admin, inbox))["reachable"] is True
    welcome = await reply(admin, conversation_id, "welcome back")
    await drain(worker)
    assert (await shown(admin, conversation_id, welcome["id"]))["delivery_status"] == "sent"
    (created,) = twilio.created
    assert (created["To"], created["From"], created["Body"]) == (
        CUSTOMER,
        OUR_NUMBER,
        "welcome back",
    )
    assert created["StatusCallback"].endswith(f"/status?message_id={welcome['id']}")


async def test_a_late_retry_of_an_old_stop_does_not_undo_a_later_start(
    admin: Api, inbox: SmsInbox
) -> None:
    await start(admin, inbox)
    stop = incoming("STOP")
    assert (await inbox.post(stop)).status_code == 200
    assert (await inbox.post(incoming("START"))).status_code == 200
    assert (await inbox.post(stop)).status_code == 200  # Twilio retries the first one
    assert (await identity(admin, inbox))["reachable"] is True


@pytest.mark.parametrize("word", ["STOPALL", "unsubscribe", "Cancel", "END", "quit"])
async def test_every_opt_out_word_counts_only_as_the_whole_message(
    admin: Api, inbox: SmsInbox, word: str
) -> None:
    await inbox.post(incoming("please don't stop the delivery"))
    assert (await identity(admin, inbox))["reachable"] is True
    await inbox.post(incoming(word))
    assert (await identity(admin, inbox))["reachable"] is False


async def test_an_opt_out_reported_by_status_callback_marks_the_number_unreachable(
    running: Running, admin: Api, inbox: SmsInbox, twilio: FakeTwilio, worker: DeliveryWorker
) -> None:
    """Through a Messaging Service, Twilio accepts the send and reports 21610 later."""
    conversation_id = await start(admin, inbox)
    first = await reply(admin, conversation_id, "hello?")
    await drain(worker)
    (created,) = twilio.created
    response = await twilio.status_callback(
        created["Sid"], "undelivered", via=running.url, ErrorCode="21610"
    )
    assert response.status_code == 200, response.text

    assert (await shown(admin, conversation_id, first["id"]))["delivery_status"] == "failed"
    opted_out = await identity(admin, inbox)
    assert opted_out["reachable"] is False
    assert opted_out["unreachable_reason"].startswith("opted out of SMS (replied STOP)")
    assert "opted out" in await refused_reply(admin, conversation_id, "hello again?")


async def test_twilio_refusing_an_opted_out_number_marks_it_unreachable(
    admin: Api, inbox: SmsInbox, twilio: FakeTwilio, worker: DeliveryWorker
) -> None:
    """The customer opted out through another of the account's numbers: Twilio answers
    21610. The reply fails with the opt-out reason and the next one is refused."""
    twilio.errors.append(TwilioError(400, 21610, "Attempt to send to unsubscribed recipient"))
    conversation_id = await start(admin, inbox)
    first = await reply(admin, conversation_id, "hello?")
    await drain(worker)

    failed = await shown(admin, conversation_id, first["id"])
    assert failed["delivery_status"] == "failed"
    assert failed["error"].startswith("opted out of SMS (replied STOP)")
    assert (await identity(admin, inbox))["reachable"] is False
    creates = len([c for c in twilio.calls if c.path.endswith("/Messages.json")])
    assert failed["error"] in await refused_reply(admin, conversation_id, "hello again?")
    await drain(worker)
    assert len([c for c in twilio.calls if c.path.endswith("/Messages.json")]) == creates
