"""One number, one customer: their SMS, their callback request and their calls are one
contact's history."""

from __future__ import annotations

from tests.support.api import Api
from tests.support.callbacks import ask, create_callback_inbox
from tests.support.fakes.twilio import FakeTwilio
from tests.support.sms import SmsInbox, create_sms_inbox, incoming
from tests.support.voice import CUSTOMER, VoiceInbox, call_item


async def test_sms_callback_request_and_calls_land_on_one_contact(
    inbox: VoiceInbox, admin: Api, twilio: FakeTwilio
) -> None:
    sms = SmsInbox(await create_sms_inbox(admin, twilio), inbox.running, twilio)
    assert (await sms.post(incoming("Hi, please call me", sender=CUSTOMER))).status_code == 200
    form = await create_callback_inbox(admin)
    assert (await ask(inbox.running, form["public_token"], phone=CUSTOMER)).status_code == 201
    call_sid, _ = await inbox.call()

    conversations = (await admin.get("/api/v1/conversations")).json()["items"]
    assert {c["inbox_id"] for c in conversations} == {sms.id, form["id"], inbox.id}
    assert len({c["contact"]["id"] for c in conversations}) == 1
    item = await call_item(admin, inbox.id, call_sid)
    assert item["metadata"]["call"]["contact"]["id"] == conversations[0]["contact"]["id"]


async def test_a_national_number_is_the_same_caller_as_its_e164_form(
    inbox: VoiceInbox, admin: Api, twilio: FakeTwilio
) -> None:
    """A carrier that passes a caller's number on without its country code: Twilio's
    FromCountry places it, so the caller is the customer who texts from that number."""
    sms = SmsInbox(await create_sms_inbox(admin, twilio), inbox.running, twilio)
    assert (await sms.post(incoming("Hi", sender=CUSTOMER))).status_code == 200
    call_sid, _ = await inbox.call(caller="(212) 555-0178", FromCountry="US")

    conversations = (await admin.get("/api/v1/conversations")).json()["items"]
    assert len({c["contact"]["id"] for c in conversations}) == 1
    item = await call_item(admin, inbox.id, call_sid)
    assert item["metadata"]["call"]["contact"]["id"] == conversations[0]["contact"]["id"]
