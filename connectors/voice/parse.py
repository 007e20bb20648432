"""Twilio's voice callbacks, read: pure, and [] / PayloadError like every connector parse."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from connectors.base import Address, AddressKind, PayloadError
from connectors.sms.senders import Sender, parse_sender

TERMINAL = frozenset({"completed", "busy", "no-answer", "failed", "canceled"})
# A call moves forward only: a report of an earlier state arriving late changes nothing.
RANK = {"queued": 0, "initiated": 0, "ringing": 1, "in-progress": 2} | dict.fromkeys(TERMINAL, 3)
# <Dial>'s outcomes in which nobody took the call.
NOT_ANSWERED = frozenset({"busy", "no-answer", "failed", "canceled"})


def _int(value: str | None) -> int | None:
    text = (value or "").strip()
    return int(text) if text.isdigit() and len(text) < 10 else None


def _at(form: Mapping[str, str], now: datetime) -> datetime:
    """When the event happened as Twilio says (RFC 2822 `Timestamp`), so a replay of the
    same report gives the same times; else when it reached us."""
    try:
        at = parsedate_to_datetime(form.get("Timestamp", ""))
        # (A time at the calendar's edge overflows when moved to UTC.)
        return at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC)
    except (TypeError, ValueError, OverflowError):
        return now


def _require(form: Mapping[str, str] | None, name: str) -> tuple[Mapping[str, str], str]:
    if form is None:
        raise PayloadError("not a form post: Twilio posts voice callbacks as forms")
    value = form.get(name, "").strip()
    if not value:
        raise PayloadError(f"{name} is missing: not a Twilio voice callback")
    return form, value


@dataclass(frozen=True, slots=True)
class CallReport:
    """An inbound call's first request, or a status callback on any leg."""

    sid: str
    status: str  # Twilio's CallStatus, lower-cased
    at: datetime
    caller: str  # From
    called: str  # To
    caller_country: str | None = None  # FromCountry: the region of a national number
    parent_sid: str | None = None
    sequence: int | None = None
    duration: int | None = None  # CallDuration, seconds, on the final report


def parse_call(form_or_none: Mapping[str, str] | None, now: datetime) -> CallReport:
    form, sid = _require(form_or_none, "CallSid")
    status = form.get("CallStatus", "").strip().lower()
    if status not in RANK:
        raise PayloadError(f"CallStatus {status!r} is not one Twilio sends")
    return CallReport(
        sid=sid,
        status=status,
        at=_at(form, now),
        caller=form.get("From", "").strip(),
        called=form.get("To", "").strip(),
        caller_country=form.get("FromCountry", "").strip() or None,
        parent_sid=form.get("ParentCallSid", "").strip() or None,
        sequence=_int(form.get("SequenceNumber")),
        duration=_int(form.get("CallDuration")),
    )


@dataclass(frozen=True, slots=True)
class DialOutcome:
    """<Dial>'s action request: how ringing the agents (or the customer) ended."""

    sid: str  # the call that dialled
    status: str  # DialCallStatus
    dialled_sid: str | None
    talk_seconds: int | None


# What <Dial>'s action request says of the dialled leg (Twilio's TwiML <Dial> reference).
DIAL_STATUSES = frozenset({"completed", "answered", "busy", "no-answer", "failed", "canceled"})


def parse_dial(form_or_none: Mapping[str, str] | None) -> DialOutcome:
    form, sid = _require(form_or_none, "CallSid")
    _, status = _require(form, "DialCallStatus")
    if status.lower() not in DIAL_STATUSES:
        raise PayloadError(f"DialCallStatus {status!r} is not one Twilio sends")
    return DialOutcome(
        sid=sid,
        status=status.lower(),
        dialled_sid=form.get("DialCallSid", "").strip() or None,
        talk_seconds=_int(form.get("DialCallDuration")),
    )


@dataclass(frozen=True, slots=True)
class Recording:
    sid: str
    call_sid: str
    url: str  # without an extension (Twilio serves .mp3 and .wav under it); "" if none
    status: str
    duration: int | None


def parse_recording(form_or_none: Mapping[str, str] | None) -> Recording:
    form, sid = _require(form_or_none, "RecordingSid")
    _, call_sid = _require(form, "CallSid")
    status = form.get("RecordingStatus", "completed").strip().lower()
    # Only a finished recording has a file; a failed or absent one says so without a URL.
    url = _require(form, "RecordingUrl")[1] if status == "completed" else ""
    return Recording(
        sid=sid,
        call_sid=call_sid,
        url=url,
        status=status,
        duration=_int(form.get("RecordingDuration")),
    )


@dataclass(frozen=True, slots=True)
class Transcription:
    """Twilio's transcription of a voicemail (<Record transcribe>'s callback)."""

    call_sid: str
    recording_sid: str
    status: str  # completed or failed
    text: str


def parse_transcription(form_or_none: Mapping[str, str] | None) -> Transcription:
    form, call_sid = _require(form_or_none, "CallSid")
    _, recording_sid = _require(form, "RecordingSid")
    return Transcription(
        call_sid=call_sid,
        recording_sid=recording_sid,
        status=form.get("TranscriptionStatus", "").strip().lower(),
        text=form.get("TranscriptionText", "").strip(),
    )


# What Twilio writes in From when the caller withheld their number, besides words such as
# "Anonymous" or "Restricted": the keypad spellings of ANONYMOUS, RESTRICTED, UNKNOWN and
# BLOCKED.
_WITHHELD_NUMBERS = frozenset({"+266696687", "+7378742833", "+8656696", "+2562533"})
WITHHELD_PREFIX = "withheld:"
WITHHELD_REASON = "the caller withheld their number: they cannot be called or texted back"


def caller_of(report: CallReport) -> Sender:
    """The caller as the same `phone` identity an SMS from that number has. A withheld
    number is a caller of its own (`withheld:<CallSid>`): one shared "Anonymous" would make
    every such stranger one contact, with one history. Either way, what cannot be called
    back says so (`unreachable`)."""
    text = report.caller.strip()
    if text in _WITHHELD_NUMBERS or not any(c.isdigit() for c in text):
        return Sender(Address(AddressKind.phone, WITHHELD_PREFIX + report.sid), WITHHELD_REASON)
    return parse_sender(text, report.caller_country)
