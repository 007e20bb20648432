"""A customer's call: the TwiML that rings the agents, the call item on the timeline, and
how each outcome <Dial> reports ends it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from tests.support.api import Api, assert_error
from tests.support.fakes.twilio import sid
from tests.support.voice import (
    AGENT_PHONES,
    CUSTOMER,
    VoiceInbox,
    call_item,
    call_items,
    dial,
    incoming_call,
    said,
    status,
    twiml_of,
)


async def test_a_call_rings_every_agent_phone_and_shows_ringing(
    inbox: VoiceInbox, admin: Api
) -> None:
    call_sid, twiml = await inbox.call(CallerName="Sara Rahimi")

    assert said(twiml) == ["Say", "Dial"]
    assert twiml[0].text == "Thank you for calling. Connecting you to an agent."
    dial_verb = twiml[1]
    assert dial_verb.get("action") == inbox.url("dial")
    assert dial_verb.get("timeout") == "20"
    assert [n.text for n in dial_verb] == AGENT_PHONES
    assert {n.get("statusCallback") for n in dial_verb} == {inbox.url("status")}

    item = await call_item(admin, inbox.id, call_sid)
    call = item["metadata"]["call"]
    assert item["direction"] == "inbound"
    assert item["body_text"] == "Incoming call from Sara Rahimi"
    assert call["state"] == "ringing"
    assert call["customer_number"] == CUSTOMER
    assert call["contact"]["name"] == "Sara Rahimi"


async def test_a_repeated_incoming_request_is_the_same_call(inbox: VoiceInbox, admin: Api) -> None:
    call_sid, first = await inbox.call()
    _, again = await inbox.call(CallSid=call_sid)
    assert said(again) == said(first)
    await call_item(admin, inbox.id, call_sid)  # exactly one


async def test_calls_arriving_together_are_each_stored_once(inbox: VoiceInbox, admin: Api) -> None:
    """Calls that arrive at the same moment share a transaction (group commit): each still
    gets its own row and item, and a retry racing its original is the same call."""
    forms = [incoming_call(f"+1212555{n:04d}") for n in range(8)]
    forms.append(dict(forms[0]))  # Twilio retrying the first while it is being stored
    answers = await asyncio.gather(*(inbox.post("", form) for form in forms))
    assert all(said(twiml_of(a)) == ["Say", "Dial"] for a in answers)
    items = await call_items(admin, inbox.id)
    assert sorted(i["external_id"] for i in items) == sorted(
        {f"call:{form['CallSid']}" for form in forms}
    )
    assert len({i["metadata"]["call"]["id"] for i in items}) == 8
    assert {i["metadata"]["call"]["customer_number"] for i in items} == {
        form["From"] for form in forms
    }


async def test_the_agent_who_answers_is_on_the_call_item(inbox: VoiceInbox, admin: Api) -> None:
    agent = await admin.patch(
        f"/api/v1/agents/{admin.agent['id']}", json={"phone": "+1 415 555 0102"}
    )
    assert agent.status_code == 200, agent.text
    assert agent.json()["phone"] == AGENT_PHONES[1]
    call_sid, _ = await inbox.call()
    start = datetime.now(UTC)
    answered = status(
        sid("CA"), "in-progress", at=start, sequence=0, parent=call_sid, to=AGENT_PHONES[1]
    )
    assert (await inbox.post("status", answered)).status_code == 200
    item = await call_item(admin, inbox.id, call_sid)
    assert item["metadata"]["call"]["state"] == "in_progress"
    assert item["metadata"]["call"]["agent"]["name"] == admin.agent["name"]
    assert item["body_text"] == f"Call with {admin.agent['name']} in progress"

    response = await inbox.post("dial", dial(call_sid, "completed", talk_seconds=125))
    assert said(twiml_of(response)) == ["Hangup"]
    item = await call_item(admin, inbox.id, call_sid)
    assert item["metadata"]["call"]["state"] == "completed"
    assert item["metadata"]["call"]["talk_seconds"] == 125
    assert item["body_text"] == f"Call with {admin.agent['name']}, 2 min 5 s"
    callbacks = await admin.get("/api/v1/callbacks")
    assert callbacks.json()["items"] == []


@pytest.mark.parametrize("outcome", ["busy", "no-answer", "failed", "canceled"])
async def test_nobody_answering_offers_voicemail_and_queues_a_callback(
    inbox: VoiceInbox, admin: Api, outcome: str
) -> None:
    call_sid, _ = await inbox.call(CallerName="Sara Rahimi")
    response = await inbox.post("dial", dial(call_sid, outcome))
    assert response.status_code == 200, response.text
    twiml = twiml_of(response)
    assert said(twiml) == ["Say", "Record", "Hangup"]
    assert "We will call you back" in (twiml[0].text or "")
    record = twiml[1]
    assert record.get("recordingStatusCallback") == inbox.url("recording", voicemail=1)
    assert record.get("action") == inbox.url("hangup")

    item = await call_item(admin, inbox.id, call_sid)
    call = item["metadata"]["call"]
    assert call["state"] == "missed"
    assert item["body_text"] == "Missed call from Sara Rahimi"
    (callback,) = (await admin.get("/api/v1/callbacks", params={"view": "due_now"})).json()["items"]
    assert callback["id"] == call["callback_request_id"]
    assert callback["phone_e164"] == CUSTOMER
    assert callback["name"] == "Sara Rahimi"
    assert callback["conversation_id"] == item["conversation_id"]
    assert callback["note"].startswith("Missed call at ")

    # Twilio asks again (a retry): nothing doubles.
    await inbox.post("dial", dial(call_sid, outcome))
    assert len((await admin.get("/api/v1/callbacks")).json()["items"]) == 1


async def test_a_second_missed_call_joins_the_open_callback_request(
    inbox: VoiceInbox, admin: Api
) -> None:
    first, _ = await inbox.call()
    await inbox.post("dial", dial(first, "no-answer"))
    second, _ = await inbox.call()
    await inbox.post("dial", dial(second, "busy"))

    (callback,) = (await admin.get("/api/v1/callbacks")).json()["items"]
    assert callback["note"].count("Missed call at ") == 2
    for call_sid in (first, second):
        item = await call_item(admin, inbox.id, call_sid)
        assert item["metadata"]["call"]["callback_request_id"] == callback["id"]


async def test_outside_business_hours_a_call_goes_straight_to_voicemail(
    inbox: VoiceInbox, admin: Api
) -> None:
    now = datetime.now(UTC)
    # Open only tomorrow (UTC), an hour from now: closed at this moment.
    tomorrow = (now + timedelta(days=1)).strftime("%a").lower()
    opens = (now + timedelta(hours=1)).strftime("%H:00")
    hours = {tomorrow: f"{opens}-23:59"} if opens < "23:00" else {tomorrow: "00:00-23:59"}
    response = await admin.patch(
        f"/api/v1/inboxes/{inbox.id}", json={"config": {"business_hours": hours}}
    )
    assert response.status_code == 200, response.text

    call_sid, twiml = await inbox.call()
    assert said(twiml) == ["Say", "Record", "Hangup"]
    item = await call_item(admin, inbox.id, call_sid)
    assert item["metadata"]["call"]["state"] == "missed"
    (callback,) = (await admin.get("/api/v1/callbacks", params={"view": "scheduled"})).json()[
        "items"
    ]
    due = datetime.fromisoformat(callback["due_at"])
    assert due > now
    assert due.strftime("%a").lower() == tomorrow


async def test_a_written_reply_in_a_calls_conversation_is_refused_with_a_reason(
    inbox: VoiceInbox, admin: Api
) -> None:
    call_sid, _ = await inbox.call()
    item = await call_item(admin, inbox.id, call_sid)
    conversation = f"/api/v1/conversations/{item['conversation_id']}/messages"
    refused = await admin.post(conversation, json={"body": "Hello?"})
    body = assert_error(refused, 422, "reply_not_possible")
    assert body["detail"].startswith("a call is answered by phone")
    note = await admin.post(conversation, json={"body": "Asked about the invoice", "private": True})
    assert note.status_code == 201, note.text


async def test_callers_who_withhold_their_number_are_strangers_to_each_other(
    inbox: VoiceInbox, admin: Api
) -> None:
    """Each withheld caller is a caller of their own, whom nobody can call back: no callback
    request for them, and not one "Anonymous" contact holding every stranger's calls."""
    calls = [await inbox.call(caller) for caller in ("Anonymous", "+266696687", "")]
    for call_sid, _ in calls:
        assert (await inbox.post("dial", dial(call_sid, "no-answer"))).status_code == 200
    items = [await call_item(admin, inbox.id, call_sid) for call_sid, _ in calls]
    assert len({item["conversation_id"] for item in items}) == 3
    for item in items:
        contact = (await admin.get(f"/api/v1/contacts/{item['sender']['id']}")).json()
        (identity,) = contact["identities"]
        assert identity["address"].startswith("withheld:")
        assert identity["reachable"] is False
        assert "withheld their number" in identity["unreachable_reason"]
    assert (await admin.get("/api/v1/callbacks")).json()["items"] == []
