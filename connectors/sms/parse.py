"""Twilio's form posts, read into inbound items. Pure: no I/O, no clock but `now`."""

from __future__ import annotations

import logging
import mimetypes
import re
from collections.abc import Mapping
from datetime import datetime
from urllib.parse import parse_qs, urlsplit

from connectors.addresses import InvalidAddress, normalize_phone
from connectors.base import (
    Address,
    AddressKind,
    Attachment,
    DeliveryState,
    DeliveryUpdate,
    InboundItem,
    InboundMessage,
    Party,
    PayloadError,
    ReachabilityChange,
)
from connectors.sms.errors import error_reason, opt_out_reason

log = logging.getLogger(__name__)

# Twilio's default opt-out and opt-in keywords, matched against the whole message.
OPT_OUT = frozenset({"stop", "stopall", "unsubscribe", "cancel", "end", "quit"})
OPT_IN = frozenset({"start", "yes", "unstop"})

_MEDIA_URL = re.compile(r"MediaUrl(\d{1,3})")
# Statuses that say nothing a stored reply does not already show (it is queued until sent),
# and the inbound ones Twilio may post to a status URL shared with incoming messages.
_NO_NEWS = frozenset({"accepted", "scheduled", "queued", "sending", "receiving", "received"})
_STATES = {
    "sent": DeliveryState.sent,
    "delivered": DeliveryState.delivered,
    "read": DeliveryState.read,
    "undelivered": DeliveryState.failed,
    "failed": DeliveryState.failed,
    "canceled": DeliveryState.failed,
}


def _form(form: Mapping[str, str] | None) -> Mapping[str, str]:
    if form is None:
        raise PayloadError("expected Twilio's form post (application/x-www-form-urlencoded)")
    return form


def _message_sid(form: Mapping[str, str]) -> str | None:
    # SmsSid/SmsMessageSid are the deprecated names Twilio still sends beside MessageSid.
    for name in ("MessageSid", "SmsMessageSid", "SmsSid"):
        if value := form.get(name, "").strip():
            return value
    return None


def sender_address(raw: str) -> Address:
    """The sender's phone number in E.164: the same identity as their callback requests."""
    channel, colon, _number = raw.partition(":")
    if colon and channel.isalpha():
        raise PayloadError(
            f"From: {raw!r} is a {channel} address; this inbox handles SMS and MMS from "
            "phone numbers"
        )
    try:
        return Address(AddressKind.phone, normalize_phone(raw))
    except InvalidAddress as exc:
        raise PayloadError(f"From: {exc}") from exc


def _media(form: Mapping[str, str], message_sid: str) -> tuple[Attachment, ...]:
    """MediaUrlN/MediaContentTypeN as attachments to download (`source` is the URL)."""
    indexes = sorted(int(m.group(1)) for key in form if (m := _MEDIA_URL.fullmatch(key)))
    attachments = []
    for index in indexes:
        url = form[f"MediaUrl{index}"].strip()
        if not url:
            continue
        content_type = form.get(f"MediaContentType{index}", "").strip().lower()
        content_type = content_type or "application/octet-stream"
        # Twilio's media has no file name; its Media SID (the URL's last segment) is unique.
        stem = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1] or f"{message_sid}-{index}"
        extension = mimetypes.guess_extension(content_type) or ""
        filename = stem if stem.endswith(extension) else stem + extension
        attachments.append(
            Attachment(filename=filename, content_type=content_type, data=None, source=url)
        )
    return tuple(attachments)


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def reachability(
    form: Mapping[str, str], address: Address, cause: str
) -> ReachabilityChange | None:
    """STOP (and the other opt-out words) or START, as the whole message. Twilio's Advanced
    Opt-Out also names the kind in OptOutType, which covers keywords an account added."""
    body = form.get("Body", "").strip()
    word = body.casefold()
    kind = form.get("OptOutType", "").strip().upper()
    if word in OPT_OUT or kind == "STOP":
        return ReachabilityChange(
            address, reachable=False, reason=opt_out_reason(body.upper()), cause=cause
        )
    if word in OPT_IN or kind == "START":
        return ReachabilityChange(address, reachable=True, cause=cause)
    return None


def parse_incoming(form_or_none: Mapping[str, str] | None, now: datetime) -> list[InboundItem]:
    """An inbound SMS or MMS: the message, and an opt-out or opt-in if it was one."""
    form = _form(form_or_none)
    sid = _message_sid(form)
    if sid is None:
        raise PayloadError("MessageSid is missing: not an incoming Twilio message")
    address = sender_address(form.get("From", ""))
    metadata: dict[str, object] = {"twilio_to": form.get("To", "")}
    if (segments := _int(form.get("NumSegments"))) is not None:
        metadata["num_segments"] = segments
    if country := form.get("FromCountry", "").strip():
        metadata["from_country"] = country
    message = InboundMessage(
        external_id=sid,
        sender=Party(address=address, name=form.get("ProfileName", "").strip() or None),
        sent_at=now,  # Twilio posts at once and says no time of its own
        text=form.get("Body", ""),
        attachments=_media(form, sid),
        raw=dict(form),
        metadata=metadata,
    )
    change = reachability(form, address, sid)
    return [message] if change is None else [message, change]


def _our_id(url: str) -> int | None:
    """The `message_id` we put in the status callback URL when sending."""
    values = parse_qs(urlsplit(url).query).get("message_id", [])
    return _int(values[0]) if values else None


def parse_status(
    form_or_none: Mapping[str, str] | None, url: str, now: datetime
) -> list[InboundItem]:
    """A status callback about one of our replies."""
    form = _form(form_or_none)
    status = (form.get("MessageStatus") or form.get("SmsStatus") or "").strip().lower()
    sid = _message_sid(form)
    message_id = _our_id(url)
    if not status:
        raise PayloadError("MessageStatus is missing: not a Twilio status callback")
    if sid is None and message_id is None:
        raise PayloadError("MessageSid is missing: cannot tell which message this is about")
    state = _STATES.get(status)
    if state is None:
        if status not in _NO_NEWS:
            log.info("Twilio status %r for %s ignored", status, sid or message_id)
        return []
    metadata: dict[str, object] = {}
    if (segments := _int(form.get("NumSegments"))) is not None:
        metadata["num_segments"] = segments
    reason = None
    if state is DeliveryState.failed:
        code = form.get("ErrorCode", "").strip()
        if code:
            metadata["twilio_error_code"] = code
        reason = (
            "canceled before it was sent"
            if status == "canceled"
            else error_reason(code, form.get("ErrorMessage"))
        )
    return [
        DeliveryUpdate(
            state=state,
            at=now,
            external_id=sid,
            message_id=message_id,
            reason=reason,
            metadata=metadata,
        )
    ]
