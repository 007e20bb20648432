"""Twilio's `From`, as the identity a customer is known and answered by.

Twilio names a sender in one of these forms, and every one is stored (Twilio does not retry a
refused message, so refusing one loses it):

- an E.164 number (SMS, MMS): the `phone` identity, the same one a callback request from that
  number has;
- `whatsapp:+E164`: kept with its prefix, the number in E.164. The value is the address Twilio
  delivers a reply to, so a reply goes back over WhatsApp. It is deliberately neither the
  bare number nor linked to it as another identity of the contact: an SMS from that number
  would then join the WhatsApp conversation (conversations without a thread are per contact
  and inbox) and its replies would leave by WhatsApp. The kind stays `phone` (a number on a
  Twilio channel; the identity kinds are the API's, and one more would be a change there);
- another channel's address (`messenger:…`): kept as Twilio wrote it, not answerable here;
- a short code (`12345`), an alphanumeric sender ID (`MyBank`) or anything else that is no
  phone number: kept as Twilio wrote it, and unreachable, with the reason an agent is shown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from connectors.addresses import InvalidAddress, normalize_phone
from connectors.base import Address, AddressKind, PayloadError

WHATSAPP = "whatsapp"

# `whatsapp:+14155550100`; a phone number never starts with a letter.
_CHANNEL = re.compile(r"([A-Za-z][A-Za-z0-9_-]*):(.*)", re.DOTALL)
# Short codes are 3 to 8 digits, written without a country code.
_SHORT_CODE = re.compile(r"\d{3,8}")


@dataclass(frozen=True, slots=True)
class Sender:
    address: Address
    unreachable: str | None = None  # why no reply can reach this address; None if one can
    # A short code or an alphanumeric sender ID: a company's system (a bank, a delivery
    # notice), never answered automatically.
    machine: bool = False


def channel_of(address: Address) -> str | None:
    """The Twilio channel of an identity's address (`whatsapp`), None for a plain number."""
    match = _CHANNEL.fullmatch(address.value)
    return match.group(1).lower() if match else None


def unsupported_channel(channel: str) -> str:
    return f"replies over Twilio's {channel} channel are not supported by this inbox"


def parse_sender(raw: str, country: str | None = None) -> Sender:
    """The identity behind Twilio's `From`. PayloadError only when there is none at all.
    `country` is Twilio's `FromCountry`: the region of a number written without its country
    code (a carrier passing a national number on), so it is the same identity as in E.164."""
    text = raw.strip()
    if not text:
        raise PayloadError("From is missing: not an incoming Twilio message")
    if (match := _CHANNEL.fullmatch(text)) is None:
        return _number(text, country)
    channel, rest = match.group(1).lower(), match.group(2).strip()
    if channel != WHATSAPP:
        return Sender(Address(AddressKind.phone, f"{channel}:{rest}"), unsupported_channel(channel))
    number = _number(rest, country)
    address = Address(AddressKind.phone, f"{WHATSAPP}:{number.address.value}")
    if number.unreachable is None:
        return Sender(address)
    return Sender(address, f"{text} is not a WhatsApp number: replies cannot be sent to it")


def _number(text: str, country: str | None) -> Sender:
    try:
        region = (country or "").strip().upper() or None
        return Sender(Address(AddressKind.phone, normalize_phone(text, region)))
    except InvalidAddress:
        pass
    if _SHORT_CODE.fullmatch(text):
        reason = f"{text} is a short code: it cannot receive replies from this inbox's number"
    elif any(c.isalpha() for c in text):
        reason = f"{text} is an alphanumeric sender ID: it cannot receive replies"
    else:
        reason = f"{text} is not a valid phone number: replies cannot be sent to it"
        return Sender(Address(AddressKind.phone, text), reason)
    return Sender(Address(AddressKind.phone, text), reason, machine=True)
