"""Twilio's form posts, read into inbound items. Pure: no I/O, no clock but `now`."""

from __future__ import annotations

import logging
import math
import mimetypes
import re
from collections.abc import Mapping
from datetime import datetime
from urllib.parse import parse_qs, urlsplit

from connectors.base import (
    Attachment,
    DeliveryState,
    DeliveryUpdate,
    InboundItem,
    InboundMessage,
    Party,
    PayloadError,
    ReachabilityChange,
)
from connectors.geo import map_link
from connectors.sms.errors import OPT_OUT_CODE, error_reason, opt_out_reason
from connectors.sms.senders import WHATSAPP, Sender, channel_of, parse_sender

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


def reachability(form: Mapping[str, str], sender: Sender, cause: str) -> ReachabilityChange | None:
    """Whether replies can reach the sender after this message.

    A sender no reply can reach (a short code, an alphanumeric ID) says so with every message,
    without a `cause`: the change is true whenever it is applied, so Twilio's retry of a message
    whose change was not stored yet completes it. Otherwise: STOP (and the other opt-out words)
    or START as the whole message, Twilio's SMS keywords; Twilio's Advanced Opt-Out also names
    the kind in OptOutType, which covers keywords an account added, and any channel.
    """
    if sender.unreachable is not None:
        return ReachabilityChange(sender.address, reachable=False, reason=sender.unreachable)
    body = form.get("Body", "").strip()
    word = body.casefold() if channel_of(sender.address) is None else ""
    kind = form.get("OptOutType", "").strip().upper()
    if word in OPT_OUT or kind == "STOP":
        # The keyword as the customer sent it when it is one; else Twilio's word for it.
        keyword = body.upper() if word in OPT_OUT else "STOP"
        channel = channel_of(sender.address)
        reason = opt_out_reason(keyword, "WhatsApp" if channel == WHATSAPP else "SMS")
        return ReachabilityChange(sender.address, reachable=False, reason=reason, cause=cause)
    if word in OPT_IN or kind == "START":
        return ReachabilityChange(sender.address, reachable=True, cause=cause)
    return None


def _float(value: str | None) -> float | None:
    try:
        number = float(value or "")
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _location(form: Mapping[str, str], facts: dict[str, object]) -> str | None:
    """A WhatsApp location pin (it has no Body), in words and a map link as Telegram's are."""
    lat, lon = _float(form.get("Latitude")), _float(form.get("Longitude"))
    if lat is None or lon is None:
        return None
    place = {k: v for k in ("Label", "Address") if (v := form.get(k, "").strip())}
    point = {"latitude": lat, "longitude": lon}
    facts["location"] = point | {k.lower(): v for k, v in place.items()}
    lines = [f"Location: {lat}, {lon}", ", ".join(place.values()), map_link(lat, lon)]
    return "\n".join(line for line in lines if line)


def _text(form: Mapping[str, str], facts: dict[str, object]) -> str:
    """The Body as sent; else the WhatsApp quick-reply button tapped; a location after it."""
    text = form.get("Body", "")
    button = {k: v for k in ("ButtonText", "ButtonPayload") if (v := form.get(k, "").strip())}
    if button:
        facts["button"] = {k.removeprefix("Button").lower(): v for k, v in button.items()}
        if not text.strip():
            text = button.get("ButtonText", text)
    location = _location(form, facts)
    if location is None:
        return text
    return f"{text}\n{location}" if text.strip() else location


def parse_incoming(form_or_none: Mapping[str, str] | None, now: datetime) -> list[InboundItem]:
    """An inbound SMS, MMS or WhatsApp message: the message, and what it says about whether
    the sender can be answered."""
    form = _form(form_or_none)
    sid = _message_sid(form)
    if sid is None:
        raise PayloadError("MessageSid is missing: not an incoming Twilio message")
    sender = parse_sender(form.get("From", ""), form.get("FromCountry"))
    metadata: dict[str, object] = {"twilio_to": form.get("To", "")}
    if (segments := _int(form.get("NumSegments"))) is not None:
        metadata["num_segments"] = segments
    if country := form.get("FromCountry", "").strip():
        metadata["from_country"] = country
    text = _text(form, metadata)
    message = InboundMessage(
        external_id=sid,
        sender=Party(address=sender.address, name=form.get("ProfileName", "").strip() or None),
        sent_at=now,  # Twilio posts at once and says no time of its own
        text=text,
        attachments=_media(form, sid),
        is_auto=sender.machine,
        raw=dict(form),
        metadata=metadata,
    )
    change = reachability(form, sender, sid)
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
        # Every message passes the no-news statuses; a status Twilio added (or one such as
        # partially_delivered, which says less than sent or delivered) is worth a look.
        level = logging.DEBUG if status in _NO_NEWS else logging.INFO
        log.log(level, "Twilio status %r for %s ignored", status, sid or message_id)
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
    update = DeliveryUpdate(
        state=state,
        at=now,
        external_id=sid,
        message_id=message_id,
        reason=reason,
        metadata=metadata,
    )
    return [update, *_opted_out(form, metadata.get("twilio_error_code"))]


def _opted_out(form: Mapping[str, str], code: object) -> list[InboundItem]:
    """A reply refused because its recipient opted out (21610, as a Messaging Service
    reports it: by status callback, not when the send is made): later replies to them fail
    at once, as after their STOP."""
    recipient = form.get("To", "").strip()
    if code != str(OPT_OUT_CODE) or not recipient:
        return []
    address = parse_sender(recipient).address
    return [ReachabilityChange(address, reachable=False, reason=opt_out_reason("STOP"))]
