"""Twilio's error codes, said so that an agent knows what happened to a reply."""

from __future__ import annotations

OPT_OUT_CODE = 21610
AUTH_FAILED_CODE = 20003
TOO_MANY_REQUESTS_CODE = 20429

_REASONS: dict[int, str] = {
    20003: "Twilio refused the account credentials (check account_sid and auth_token)",
    20429: "too many requests to Twilio",
    21211: "invalid number: Twilio cannot read the recipient's phone number",
    21408: "region not enabled: this Twilio account may not send to that country "
    "(Messaging geographic permissions)",
    21606: "the sending number cannot send SMS (not SMS-capable or not on this account)",
    21608: "trial accounts can only send to verified numbers",
    21610: "the recipient opted out of SMS (replied STOP)",
    21612: "Twilio cannot route a message between these two numbers",
    21614: "not a mobile number: the recipient's number cannot receive SMS",
    21617: "the message is too long (SMS bodies are limited to 1,600 characters)",
    30001: "Twilio's queue for the sending number overflowed",
    30002: "the Twilio account is suspended",
    30003: "unreachable handset: the phone is off or out of coverage",
    30004: "blocked: the recipient or their carrier blocks this message",
    30005: "unknown number: the recipient's number does not exist",
    30006: "landline or unreachable carrier: the number cannot receive SMS",
    30007: "carrier filtered: the carrier flagged the message as spam",
    30008: "unknown error from the carrier",
    30034: "the sending number is not registered for A2P 10DLC messaging",
    63007: "the sending number is not a WhatsApp sender on this Twilio account",
    63016: "WhatsApp accepts a free-form reply only within 24 hours of the customer's last "
    "message; after that only an approved template can reach them",
}


def opt_out_reason(keyword: str, channel: str = "SMS") -> str:
    return (
        f"opted out of {channel} (replied {keyword}): Twilio delivers nothing to this number "
        "until they text START"
    )


def error_reason(code: int | str | None, message: str | None = None) -> str:
    """`Twilio error 30003: unreachable handset…`; unknown codes keep Twilio's own words."""
    try:
        number = int(code) if code not in (None, "") else None
    except (TypeError, ValueError):
        number = None
    detail = (message or "").strip()
    if number is None:
        return f"Twilio error: {detail}" if detail else "Twilio reported an error"
    known = _REASONS.get(number)
    if known is not None:
        return f"Twilio error {number}: {known}"
    return f"Twilio error {number}: {detail}" if detail else f"Twilio error {number}"
