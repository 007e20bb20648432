"""The TwiML a voice inbox answers Twilio with: pure functions of the inbox's settings and
the call, built with the SDK's VoiceResponse (which escapes what a setting contains)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from twilio.twiml.voice_response import VoiceResponse

from connectors.voice.config import VoiceConfig

# Whoever picks up an agent's leg has this long to press 1 before it hangs up.
WHISPER_SECONDS = 10


@dataclass(frozen=True, slots=True)
class VoiceUrls:
    """The inbox's voice webhooks at the public URL Twilio calls (the signatures cover it)."""

    base: str  # …/webhooks/twilio/{inbox_id}/voice

    def of(self, endpoint: str, **query: int | str) -> str:
        url = f"{self.base}/{endpoint}" if endpoint else self.base
        return f"{url}?{urlencode(query)}" if query else url


def _prompt(response: VoiceResponse, config: VoiceConfig, text: str, audio: object) -> None:
    if audio is not None:
        response.play(str(audio))
    elif text.strip():
        response.say(text, language=config.language)


def answer(config: VoiceConfig, urls: VoiceUrls, *, open_now: bool) -> str:
    """A customer's call: the greeting and every agent's phone at once, or, outside business
    hours or with no phone to ring, straight to voicemail."""
    if not open_now or not config.agent_numbers:
        return missed(config, urls)
    response = VoiceResponse()
    _prompt(response, config, config.greeting, config.greeting_audio_url)
    recording = (
        {
            "record": "record-from-answer-dual",
            "recording_status_callback": urls.of("recording"),
            "recording_status_callback_event": "completed",
        }
        if config.record_calls
        else {}
    )
    dial = response.dial(action=urls.of("dial"), timeout=config.ring_timeout_seconds, **recording)
    for number in config.agent_numbers:
        # The leg that answers reports itself: which agent took the call, and when.
        dial.number(number, status_callback_event="answered", status_callback=urls.of("status"))
    return str(response)


def missed(config: VoiceConfig, urls: VoiceUrls) -> str:
    """Nobody took the call: the caller hears they will be called back and may leave a
    message (announced to us by the recording callback)."""
    response = VoiceResponse()
    _prompt(response, config, config.voicemail_prompt, config.voicemail_audio_url)
    if config.voicemail:
        transcription = (
            {"transcribe": True, "transcribe_callback": urls.of("transcription")}
            if config.transcribe_voicemail
            else {}
        )
        response.record(
            action=urls.of("hangup"),
            max_length=config.voicemail_max_seconds,
            play_beep=True,
            finish_on_key="#",
            recording_status_callback=urls.of("recording", voicemail=1),
            recording_status_callback_event="completed",
            **transcription,
        )
    response.hangup()
    return str(response)


def hangup() -> str:
    response = VoiceResponse()
    response.hangup()
    return str(response)


def whisper(urls: VoiceUrls, call_id: int, text: str, language: str) -> str:
    """The agent's own leg of a call they placed: nothing reaches the customer until a
    person presses 1 (an agent's voicemail cannot)."""
    response = VoiceResponse()
    gather = response.gather(
        num_digits=1, action=urls.of("connect", call=call_id), timeout=WHISPER_SECONDS
    )
    gather.say(text, language=language)
    response.hangup()
    return str(response)


def connect(config: VoiceConfig, urls: VoiceUrls, call_id: int, customer: str) -> str:
    """The agent pressed 1: call the customer from the inbox's number."""
    response = VoiceResponse()
    recording = (
        {
            "record": "record-from-answer-dual",
            "recording_status_callback": urls.of("recording", call=call_id),
            "recording_status_callback_event": "completed",
        }
        if config.record_calls
        else {}
    )
    dial = response.dial(
        caller_id=config.number,
        action=urls.of("dial", call=call_id),
        timeout=config.ring_timeout_seconds,
        **recording,
    )
    dial.number(
        customer,
        status_callback_event="answered",
        status_callback=urls.of("status", call=call_id),
    )
    return str(response)
