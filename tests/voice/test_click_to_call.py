"""Click-to-call: the agent's own phone rings first; the customer only after the agent
pressed 1; the callback request's outcome comes from the call."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.support.api import Api, assert_error
from tests.support.voice import (
    CUSTOMER,
    OUR_NUMBER,
    VoiceInbox,
    dial,
    said,
    status,
    twiml_of,
)

AGENT_PHONE = "+14155550199"


async def _missed_call_callback(inbox: VoiceInbox, admin: Api) -> dict[str, Any]:
    call_sid, _ = await inbox.call(CallerName="Sara Rahimi")
    await inbox.post("dial", dial(call_sid, "no-answer"))
    (callback,) = (await admin.get("/api/v1/callbacks")).json()["items"]
    return dict(callback)


async def _call_back(inbox: VoiceInbox, admin: Api, callback_id: int) -> dict[str, Any]:
    me = await admin.patch("/api/v1/auth/me", json={"phone": "+1 (415) 555-0199"})
    assert me.status_code == 200, me.text
    response = await admin.post("/api/v1/calls", json={"callback_id": callback_id})
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_the_agent_leg_rings_first_and_the_customer_only_after_1(
    inbox: VoiceInbox, admin: Api
) -> None:
    callback = await _missed_call_callback(inbox, admin)
    call = await _call_back(inbox, admin, callback["id"])
    assert call["direction"] == "outbound"
    assert call["state"] == "ringing"
    (placed,) = inbox.twilio.placed
    assert placed["To"] == AGENT_PHONE
    assert placed["From"] == OUR_NUMBER
    assert placed["Url"] == inbox.url("whisper", call=call["id"])
    assert placed["StatusCallback"] == inbox.url("status", call=call["id"])

    # The agent picks up: a whisper that waits for a key.
    whisper = twiml_of(await inbox.post("whisper", {"CallSid": placed["Sid"]}, call=call["id"]))
    assert said(whisper) == ["Gather", "Hangup"]
    gather = whisper[0]
    assert gather.get("numDigits") == "1"
    assert gather[0].text == "Call to Sara Rahimi. Press 1 to connect."
    assert not list(whisper.iter("Dial"))

    # Anything but 1 (an answering machine, a wrong key): the customer is never called.
    other = await inbox.post("connect", {"CallSid": placed["Sid"], "Digits": "2"}, call=call["id"])
    assert said(twiml_of(other)) == ["Hangup"]

    one = await inbox.post("connect", {"CallSid": placed["Sid"], "Digits": "1"}, call=call["id"])
    connect = twiml_of(one)
    assert said(connect) == ["Dial"]
    assert connect[0].get("callerId") == OUR_NUMBER
    assert [n.text for n in connect[0]] == [CUSTOMER]

    # The customer answers and they talk.
    leg = status(
        "CA" + "2" * 32,
        "in-progress",
        at=datetime.now(UTC),
        sequence=0,
        parent=placed["Sid"],
        to=CUSTOMER,
    )
    assert (await inbox.post("status", leg, call=call["id"])).status_code == 200
    done = await inbox.post(
        "dial", dial(placed["Sid"], "completed", talk_seconds=42), call=call["id"]
    )
    assert said(twiml_of(done)) == ["Hangup"]

    (after,) = (await admin.get("/api/v1/callbacks")).json()["items"]
    assert after["status"] == "completed"
    messages = await admin.get(f"/api/v1/conversations/{callback['conversation_id']}/messages")
    (item,) = [
        m for m in messages.json()["items"] if m["metadata"].get("call", {}).get("id") == call["id"]
    ]
    assert item["metadata"]["call"]["state"] == "completed"
    assert item["metadata"]["call"]["talk_seconds"] == 42
    assert item["metadata"]["call"]["agent"]["id"] == admin.agent["id"]


async def test_a_customer_who_does_not_answer_gets_a_retry_suggestion(
    inbox: VoiceInbox, admin: Api
) -> None:
    callback = await _missed_call_callback(inbox, admin)
    call = await _call_back(inbox, admin, callback["id"])
    (placed,) = inbox.twilio.placed
    await inbox.post("dial", dial(placed["Sid"], "no-answer"), call=call["id"])
    (after,) = (await admin.get("/api/v1/callbacks")).json()["items"]
    assert after["status"] == "no_answer"
    assert after["retry_suggested_at"] is not None


async def test_an_agent_without_a_phone_cannot_place_a_call(inbox: VoiceInbox, admin: Api) -> None:
    callback = await _missed_call_callback(inbox, admin)
    response = await admin.post("/api/v1/calls", json={"callback_id": callback["id"]})
    assert_error(response, 422, "agent_phone_missing")
    assert inbox.twilio.placed == []


async def test_calling_from_a_conversation_puts_the_call_item_in_it(
    inbox: VoiceInbox, admin: Api
) -> None:
    call_sid, _ = await inbox.call(CallerName="Sara Rahimi")
    await inbox.post("dial", dial(call_sid, "busy"))
    (conversation,) = (
        await admin.get("/api/v1/conversations", params={"inbox_id": inbox.id})
    ).json()["items"]
    await admin.patch("/api/v1/auth/me", json={"phone": AGENT_PHONE})

    response = await admin.post("/api/v1/calls", json={"conversation_id": conversation["id"]})
    assert response.status_code == 201, response.text
    (placed,) = inbox.twilio.placed
    assert placed["To"] == AGENT_PHONE
    messages = (await admin.get(f"/api/v1/conversations/{conversation['id']}/messages")).json()[
        "items"
    ]
    calls = [m["metadata"]["call"] for m in messages if "call" in m["metadata"]]
    assert [(c["direction"], c["state"]) for c in calls] == [
        ("inbound", "missed"),
        ("outbound", "ringing"),
    ]
    assert calls[1]["customer_number"] == CUSTOMER


async def test_an_agent_who_does_not_pick_up_leaves_the_callback_open(
    inbox: VoiceInbox, admin: Api
) -> None:
    callback = await _missed_call_callback(inbox, admin)
    call = await _call_back(inbox, admin, callback["id"])
    (placed,) = inbox.twilio.placed
    unanswered = status(
        placed["Sid"], "no-answer", at=datetime.now(UTC), sequence=2, to=AGENT_PHONE
    )
    assert (await inbox.post("status", unanswered, call=call["id"])).status_code == 200
    (after,) = (await admin.get("/api/v1/callbacks")).json()["items"]
    assert after["status"] == "requested"
    messages = await admin.get(f"/api/v1/conversations/{callback['conversation_id']}/messages")
    (item,) = [
        m for m in messages.json()["items"] if m["metadata"].get("call", {}).get("id") == call["id"]
    ]
    assert item["metadata"]["call"]["state"] == "missed"
    assert item["metadata"]["call"]["twilio_status"] == "no-answer"
