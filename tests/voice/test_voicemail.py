"""A voicemail (or a recorded call) is fetched by the worker, never in Twilio's request,
from the inbox's Twilio API host with its credentials, and played from the call item."""

from __future__ import annotations

from app.voice.worker import fetch_recordings
from tests.support.api import Api
from tests.support.voice import VoiceInbox, call_item, dial, recording

MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(range(256)) * 40


async def test_a_voicemail_is_fetched_and_attached_to_the_missed_call(
    inbox: VoiceInbox, admin: Api
) -> None:
    call_sid, _ = await inbox.call()
    await inbox.post("dial", dial(call_sid, "no-answer"))
    url = inbox.twilio.recording_url(MP3)
    response = await inbox.post("recording", recording(call_sid, url), voicemail=1)
    assert response.status_code == 200, response.text
    # Answered at once: nothing was downloaded inside Twilio's request.
    assert not [c for c in inbox.twilio.calls if "/Recordings/" in c.path]
    item = await call_item(admin, inbox.id, call_sid)
    assert item["metadata"]["call"]["recording_state"] == "pending"

    assert await fetch_recordings(inbox.running.ctx) == 1
    (fetch,) = [c for c in inbox.twilio.calls if "/Recordings/" in c.path]
    assert fetch.authorized
    assert fetch.path.endswith(".mp3")
    item = await call_item(admin, inbox.id, call_sid)
    assert item["metadata"]["call"]["voicemail"] is True
    assert item["metadata"]["call"]["recording_state"] == "stored"
    assert item["body_text"].endswith("voicemail left")
    (audio,) = item["attachments"]
    assert audio["content_type"] == "audio/mpeg"
    assert audio["size"] == len(MP3)
    played = await admin.get(audio["url"])
    assert played.status_code == 200
    assert played.content == MP3

    # Twilio repeats the callback: one recording.
    await inbox.post("recording", recording(call_sid, url), voicemail=1)
    assert await fetch_recordings(inbox.running.ctx) == 0
    assert len((await call_item(admin, inbox.id, call_sid))["attachments"]) == 1


async def test_a_recording_elsewhere_than_twilio_is_not_fetched(
    inbox: VoiceInbox, admin: Api
) -> None:
    call_sid, _ = await inbox.call()
    await inbox.post("dial", dial(call_sid, "busy"))
    # A signed callback naming another host: the credentials must not go there.
    elsewhere = inbox.running.url + "/2010-04-01/Accounts/AC1/Recordings/RE1"
    await inbox.post("recording", recording(call_sid, elsewhere), voicemail=1)
    assert await fetch_recordings(inbox.running.ctx) == 1
    item = await call_item(admin, inbox.id, call_sid)
    assert item["metadata"]["call"]["recording_state"] == "failed"
    (note,) = item["attachments"]
    assert note["url"] is None
    assert "is not this inbox's Twilio API host" in note["note"]
