"""The settings of a `voice` inbox: a Twilio number whose calls ring the agents' phones."""

from __future__ import annotations

from typing import ClassVar

from pydantic import AnyHttpUrl, Field, field_validator

from connectors.addresses import InvalidAddress, normalize_phone
from connectors.callback.config import CallbackConfig
from connectors.config import ChannelConfig
from connectors.sms.config import SmsConfig

# Twilio's <Dial> rings at most ten <Number>s at once.
MAX_AGENT_NUMBERS = 10


def _e164(value: str, field: str) -> str:
    try:
        return normalize_phone(value)
    except InvalidAddress as exc:
        raise ValueError(f"{field}: {value!r} is not a phone number in E.164 form: {exc}") from exc


class VoiceConfig(ChannelConfig):
    SECRET_FIELDS: ClassVar[frozenset[str]] = frozenset({"auth_token"})

    # The same Twilio account as an SMS inbox (the same checks).
    account_sid: str = Field(max_length=64)
    auth_token: str = Field(min_length=1, max_length=128)
    api_base_url: AnyHttpUrl = AnyHttpUrl("https://api.twilio.com")
    # The Twilio number customers call, and the caller ID of calls the agents place.
    number: str
    # Rung all at once when a customer calls; the first to pick up takes the call.
    agent_numbers: list[str] = Field(default_factory=list, max_length=MAX_AGENT_NUMBERS)
    # At most a minute: a call still ringing after 90 s is taken for lost by the sweeper.
    ring_timeout_seconds: int = Field(default=20, ge=5, le=60)
    # Business hours in the callback channel's shape; outside them a call goes straight to
    # voicemail, and a missed call's callback is due at the next opening.
    timezone: str = "UTC"
    business_hours: dict[str, str] = Field(default_factory=dict)
    # What the caller hears: text read by Twilio's text-to-speech in `language`, or an audio
    # file (https, e.g. a Twilio Asset) for languages it speaks poorly, such as Persian.
    language: str = Field(default="en-US", pattern=r"^[a-z]{2,3}(-[A-Z]{2})?$")
    greeting: str = Field(
        default="Thank you for calling. Connecting you to an agent.", max_length=1000
    )
    greeting_audio_url: AnyHttpUrl | None = None
    voicemail_prompt: str = Field(
        default="Sorry, nobody can take your call right now. We will call you back. "
        "You can leave a message after the tone.",
        max_length=1000,
    )
    voicemail_audio_url: AnyHttpUrl | None = None
    record_calls: bool = False
    voicemail: bool = True
    voicemail_max_seconds: int = Field(default=120, ge=5, le=600)
    # Twilio's own transcription of voicemails (billed by Twilio; English only, and only
    # recordings up to two minutes): the text is shown on the call item when it arrives.
    transcribe_voicemail: bool = False

    _account_sid = field_validator("account_sid")(SmsConfig._account_sid.__func__)  # type: ignore[attr-defined]
    _timezone = field_validator("timezone")(CallbackConfig._known_timezone.__func__)  # type: ignore[attr-defined]
    _hours = field_validator("business_hours")(CallbackConfig._valid_hours.__func__)  # type: ignore[attr-defined]

    @field_validator("number")
    @classmethod
    def _number(cls, value: str) -> str:
        return _e164(value, "number")

    @field_validator("agent_numbers")
    @classmethod
    def _agent_numbers(cls, values: list[str]) -> list[str]:
        numbers = [_e164(v, "agent_numbers") for v in values if v.strip()]
        return list(dict.fromkeys(numbers))
