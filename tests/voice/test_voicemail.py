"""A voicemail (or a recorded call) is fetched by the worker, never in Twilio's request,
from the inbox's Twilio API host with its credentials, and played from the call item."""

from __future__ import annotations

from app.voice.worker import fetch_recordings
from tests.support.api import Api
from tests.support.app import Running
from tests.support.fakes.twilio import FakeTwilio
from tests.support.voice import (
    VoiceInbox,
    call_item,
    create_voice_inbox,
    dial,
    recording,
    transcription,
    twiml_of,
)

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


async def test_a_recording_twilio_could_not_make_is_taken_without_a_file(
    inbox: VoiceInbox, admin: Api
) -> None:
    call_sid, _ = await inbox.call()
    await inbox.post("dial", dial(call_sid, "no-answer"))
    failed = recording(call_sid, "https://api.twilio.com/x/RE9") | {"RecordingStatus": "failed"}
    del failed["RecordingUrl"]
    response = await inbox.post("recording", failed, voicemail=1)
    assert response.status_code == 200, response.text
    assert await fetch_recordings(inbox.running.ctx) == 0
    assert (await call_item(admin, inbox.id, call_sid))["attachments"] == []


async def test_twilios_transcription_of_a_voicemail_is_shown_on_the_call_item(
    admin: Api, twilio: FakeTwilio, running: Running
) -> None:
    inbox = VoiceInbox(
        await create_voice_inbox(admin, twilio, transcribe_voicemail=True), running, twilio
    )
    call_sid, _ = await inbox.call()
    response = await inbox.post("dial", dial(call_sid, "no-answer"))
    (record,) = [verb for verb in twiml_of(response) if verb.tag == "Record"]
    assert record.get("transcribe") == "true"
    assert record.get("transcribeCallback") == inbox.url("transcription")

    said = "Hi, this is Sara about order 1042, please call me back."
    response = await inbox.post("transcription", transcription(call_sid, said))
    assert response.status_code == 200, response.text
    item = await call_item(admin, inbox.id, call_sid)
    assert item["metadata"]["transcript"] == {
        "provider": "twilio",
        "status": "completed",
        "text": said,
    }
    assert item["metadata"]["call"]["state"] == "missed"

    # A repeat (or a later word) changes nothing; the call's later news keeps the text.
    await inbox.post("transcription", transcription(call_sid, "something else"))
    await inbox.post("recording", recording(call_sid, twilio.recording_url(MP3)), voicemail=1)
    item = await call_item(admin, inbox.id, call_sid)
    assert item["metadata"]["transcript"]["text"] == said
    assert item["metadata"]["call"]["recording_state"] == "pending"


async def test_a_failed_transcription_is_noted_without_text(inbox: VoiceInbox, admin: Api) -> None:
    call_sid, _ = await inbox.call()
    await inbox.post("dial", dial(call_sid, "busy"))
    await inbox.post("transcription", transcription(call_sid, "", status="failed"))
    item = await call_item(admin, inbox.id, call_sid)
    transcript = item["metadata"]["transcript"]
    assert transcript == {"provider": "twilio", "status": "failed", "text": None}
