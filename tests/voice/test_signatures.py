"""Every voice webhook takes only what Twilio signed for the public URL it called."""

from __future__ import annotations

import pytest

from tests.support.fakes.twilio import sign
from tests.support.voice import ENDPOINTS, VoiceInbox, incoming_call


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_a_missing_or_forged_signature_is_refused(inbox: VoiceInbox, endpoint: str) -> None:
    form = incoming_call()
    path = f"/webhooks/twilio/{inbox.id}/voice" + (f"/{endpoint}" if endpoint else "")
    forged = sign(inbox.url(endpoint), form, token="f" * 32)
    # Signed for the address the proxy forwards to, not the public one Twilio called.
    wrong_url = sign(inbox.running.url + path, form, inbox.twilio.auth_token)
    for headers in ({}, {"X-Twilio-Signature": forged}, {"X-Twilio-Signature": wrong_url}):
        response = await inbox.running.client.post(path, data=form, headers=headers)
        assert response.status_code == 403, (headers, response.text)
        assert response.json()["code"] == "invalid_signature"


async def test_a_tampered_form_is_refused(inbox: VoiceInbox) -> None:
    form = incoming_call()
    signature = sign(inbox.url(), form, inbox.twilio.auth_token)
    response = await inbox.running.client.post(
        f"/webhooks/twilio/{inbox.id}/voice",
        data={**form, "From": "+12125550100"},
        headers={"X-Twilio-Signature": signature},
    )
    assert response.status_code == 403


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_a_valid_signature_for_the_public_url_is_accepted_behind_a_proxy(
    inbox: VoiceInbox, endpoint: str
) -> None:
    # The app listens on loopback; Twilio signed PANJEREH_PUBLIC_URL (another host).
    assert not inbox.url().startswith(inbox.running.url)
    call_sid, _ = await inbox.call()
    forms = {
        "": incoming_call(),
        "status": {"CallSid": call_sid, "CallStatus": "completed"},
        "dial": {"CallSid": call_sid, "DialCallStatus": "completed"},
        "recording": {
            "CallSid": call_sid,
            "RecordingSid": "RE" + "0" * 32,
            "RecordingUrl": inbox.twilio.recording_url(b"ID3"),
            "RecordingStatus": "completed",
        },
        "transcription": {"CallSid": call_sid, "RecordingSid": "RE" + "0" * 32},
        "hangup": {"CallSid": call_sid},
        "whisper": {"CallSid": call_sid},
        "connect": {"CallSid": call_sid, "Digits": "1"},
    }
    response = await inbox.post(endpoint, forms[endpoint])
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/xml")


async def test_a_dial_outcome_twilio_never_sends_is_refused_and_changes_nothing(
    inbox: VoiceInbox,
) -> None:
    call_sid, _ = await inbox.call()
    response = await inbox.post("dial", {"CallSid": call_sid, "DialCallStatus": "exploded"})
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "invalid_payload"
    # Still ringing: the real outcome, when it comes, decides.
    assert (
        await inbox.post("dial", {"CallSid": call_sid, "DialCallStatus": "no-answer"})
    ).status_code == 200
