"""Telegram Bot API updates → inbound items. Pure: no I/O.

Updates are read as the JSON objects Telegram sends, not through PTB's `Update.de_json`: PTB
insists on fields that real updates from older clients and servers lack (`file_unique_id` on
files, `chat_instance` on callback queries, `persistent_id` on polls), and an update that cannot
be read must never hold up the ones behind it. PTB's constants name the types and statuses.

A message's identity is `"{chat_id}:{message_id}"` (message ids are per chat): the same scheme
names our replies (SendResult), so a customer's reply to one of them threads to it, and a
webhook redelivery or a polling overlap stores nothing twice.
"""

from __future__ import annotations

import json
import logging
import mimetypes
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from telegram.constants import ChatMemberStatus, ChatType, MessageOriginType, UpdateType

from connectors.addresses import InvalidAddress, normalize_phone
from connectors.base import (
    Address,
    AddressKind,
    Attachment,
    AutoReply,
    InboundItem,
    InboundMessage,
    MessageEdit,
    Party,
    PayloadError,
    ReachabilityChange,
)

log = logging.getLogger(__name__)

# The update types this connector acts on: registered with setWebhook and asked of getUpdates,
# so Telegram does not send the rest at all.
ALLOWED_UPDATES: tuple[str, ...] = (
    UpdateType.MESSAGE,
    UpdateType.EDITED_MESSAGE,
    UpdateType.MY_CHAT_MEMBER,
)

BLOCKED_REASON = "the customer blocked the bot"

# /start, /start@SomeBot, with the deep-link payload (t.me/bot?start=PAYLOAD) after a space.
_START = re.compile(r"^/start(?:@\w+)?(?:\s+(?P<payload>\S.*?))?\s*$", re.DOTALL)

# A file in a message: the key, the name it gets when Telegram gives none, its default type.
_FILE_KINDS: tuple[tuple[str, str, str], ...] = (
    ("animation", "animation", "video/mp4"),
    ("document", "document", "application/octet-stream"),
    ("audio", "audio", "audio/mpeg"),
    ("video", "video", "video/mp4"),
    ("video_note", "video_note", "video/mp4"),
    ("voice", "voice", "audio/ogg"),
)
# The extensions people expect, where `mimetypes` picks a rarer one (.oga, .mpga, .jpe).
_EXTENSIONS = {"audio/ogg": ".ogg", "audio/mpeg": ".mp3", "image/jpeg": ".jpg", "video/mp4": ".mp4"}


@dataclass(frozen=True, slots=True)
class ParseOptions:
    allow_groups: bool = False
    welcome_message: str = ""


def parse_body(body: bytes, options: ParseOptions) -> list[InboundItem]:
    """A webhook request's body: one update."""
    try:
        update = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PayloadError("the body is not JSON") from exc
    if not isinstance(update, dict):
        raise PayloadError("a Telegram update is a JSON object")
    return parse_update(update, options)


def parse_update(update: Mapping[str, Any], options: ParseOptions) -> list[InboundItem]:
    """The items one update brings: [] for an update ignored by design (logged with why)."""
    update_id = update.get("update_id")
    if UpdateType.MESSAGE in update:
        return _message(update, UpdateType.MESSAGE, options)
    if UpdateType.EDITED_MESSAGE in update:
        return _message(update, UpdateType.EDITED_MESSAGE, options)
    if UpdateType.MY_CHAT_MEMBER in update:
        return _membership(update, _object(update, UpdateType.MY_CHAT_MEMBER, "update"))
    kinds = sorted(k for k in update if k != "update_id")
    return _ignored(update_id, f"update type {', '.join(kinds) or '(none)'} is not handled")


def _ignored(update_id: object, reason: str) -> list[InboundItem]:
    log.info("telegram update %s ignored: %s", update_id, reason)
    return []


def _object(parent: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = parent.get(key)
    if not isinstance(value, dict):
        raise PayloadError(f"{where}.{key} must be an object")
    return value


def _optional_object(parent: Mapping[str, Any], key: str) -> Mapping[str, Any] | None:
    value = parent.get(key)
    return value if isinstance(value, dict) else None


def _int(parent: Mapping[str, Any], key: str, where: str) -> int:
    value = parent.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise PayloadError(f"{where}.{key} must be an integer")
    return value


def _str(parent: Mapping[str, Any], key: str) -> str | None:
    value = parent.get(key)
    return value if isinstance(value, str) and value else None


def _time(parent: Mapping[str, Any], key: str, where: str) -> datetime:
    try:
        return datetime.fromtimestamp(_int(parent, key, where), tz=UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise PayloadError(f"{where}.{key} is out of range") from exc


def message_key(chat_id: int | str, message_id: int | str) -> str:
    return f"{chat_id}:{message_id}"


def _full_name(person: Mapping[str, Any]) -> str | None:
    name = " ".join(p for p in (_str(person, "first_name"), _str(person, "last_name")) if p)
    return name or None


def _display_name(person: Mapping[str, Any]) -> str | None:
    username = _str(person, "username")
    return _full_name(person) or _str(person, "title") or (f"@{username}" if username else None)


def _is_private(chat: Mapping[str, Any], chat_id: int) -> bool:
    # A private chat's id is the user's id, always positive; a negative id is a group's
    # whatever `type` claims.
    return chat.get("type") == ChatType.PRIVATE and chat_id > 0


@dataclass
class _Content:
    text: str = ""
    attachments: list[Attachment] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)
    phone: str | None = None  # the sender's own number, shared as a contact


def _message(update: Mapping[str, Any], key: str, options: ParseOptions) -> list[InboundItem]:
    update_id = update.get("update_id")
    msg = _object(update, key, "update")
    chat = _object(msg, "chat", key)
    chat_id = _int(chat, "id", f"{key}.chat")
    message_id = _int(msg, "message_id", key)
    sent_at = _time(msg, "date", key)
    user = _optional_object(msg, "from")
    private = _is_private(chat, chat_id)
    if not private:
        if chat.get("type") not in (ChatType.GROUP, ChatType.SUPERGROUP, ChatType.PRIVATE):
            return _ignored(update_id, f"messages in a {chat.get('type')!r} chat are not handled")
        if not options.allow_groups:
            return _ignored(update_id, f"group chat {chat_id}: groups are off for this inbox")
        if user is None:
            return _ignored(update_id, f"group chat {chat_id}: message without a sender")
    content = _content(msg, message_id)
    if content is None:
        kinds = sorted(k for k in msg if k not in _ENVELOPE)
        return _ignored(update_id, f"message without content we store ({', '.join(kinds)})")

    external_id = message_key(chat_id, message_id)
    facts: dict[str, Any] = {"update_id": update_id, **content.facts}
    if not private:
        facts["chat"] = {"id": chat_id, "type": chat.get("type"), "title": _str(chat, "title")}
    text = content.text
    if origin := _forwarded_from(msg):
        facts["forwarded_from"] = origin
        text = f"Forwarded from {origin}:\n{text}" if text else f"Forwarded from {origin}"
    in_reply_to = None
    if (replied := _optional_object(msg, "reply_to_message")) is not None:
        replied_id = replied.get("message_id")
        if isinstance(replied_id, int):
            in_reply_to = message_key(chat_id, replied_id)
            quoted = _str(replied, "text") or _str(replied, "caption")
            facts["reply_to"] = {"message_id": replied_id, "text": (quoted or "")[:300]}
    if media_group := _str(msg, "media_group_id"):
        facts["media_group_id"] = media_group

    start = _START.match(content.text) if private and key == UpdateType.MESSAGE else None
    attributes: dict[str, str] = {}
    if start is not None and start.group("payload"):
        attributes["telegram_start"] = start.group("payload")[:512]
    sender = _party(user, chat, chat_id if private else _int(user or {}, "id", f"{key}.from"))
    if attributes or content.phone:
        also = (Address(AddressKind.phone, content.phone),) if content.phone else ()
        sender = Party(
            address=sender.address,
            name=sender.name,
            also_known_as=also,
            language=sender.language,
            attributes={**sender.attributes, **attributes},
        )
    edited_at = None
    if key == UpdateType.EDITED_MESSAGE:
        edited_at = _time(msg, "edit_date", key) if "edit_date" in msg else sent_at
        facts["edited_at"] = edited_at.isoformat()

    message = InboundMessage(
        external_id=external_id,
        sender=sender,
        sent_at=sent_at,
        text=text,
        thread_key=str(chat_id),
        in_reply_to=in_reply_to,
        attachments=tuple(content.attachments),
        raw=update,
        metadata=facts,
    )
    if edited_at is not None:
        # The message itself too: if the original never reached us it is stored as edited;
        # if it did, this copy is a no-op and the edit replaces its text, keeping the old.
        return [message, MessageEdit(external_id=external_id, text=text, edited_at=edited_at)]
    if start is not None and options.welcome_message.strip():
        return [message, AutoReply(in_reply_to=external_id, text=options.welcome_message)]
    return [message]


# Keys every message has, whatever it carries.
_ENVELOPE = frozenset(
    {
        "message_id",
        "message_thread_id",
        "from",
        "sender_chat",
        "sender_boost_count",
        "sender_business_bot",
        "date",
        "chat",
        "edit_date",
        "has_protected_content",
        "is_automatic_forward",
        "is_topic_message",
        "is_from_offline",
        "author_signature",
        "media_group_id",
        "reply_to_message",
        "external_reply",
        "quote",
        "reply_to_story",
        "via_bot",
        "forward_origin",
        "forward_from",
        "forward_from_chat",
        "forward_from_message_id",
        "forward_signature",
        "forward_sender_name",
        "forward_date",
        "link_preview_options",
        "reply_markup",
        "effect_id",
        "show_caption_above_media",
        "has_media_spoiler",
        "business_connection_id",
    }
)


def _party(user: Mapping[str, Any] | None, chat: Mapping[str, Any], address_id: int) -> Party:
    who = user if user is not None else chat
    username = _str(who, "username")
    language = _str(user, "language_code") if user is not None else None
    return Party(
        address=Address(AddressKind.telegram, str(address_id)),
        name=_display_name(who),
        language=language,
        attributes={"telegram_username": f"@{username}"} if username else {},
    )


def _content(msg: Mapping[str, Any], message_id: int) -> _Content | None:
    """What the customer sent, as text, files and facts; None for a message that carries
    nothing we store (a service message: someone joined, a pin…)."""
    content = _Content(text=_str(msg, "text") or _str(msg, "caption") or "")
    entities = msg.get("entities") or msg.get("caption_entities")
    if isinstance(entities, list) and entities:
        # Offsets count UTF-16 code units of the Telegram text (before any forward line).
        content.facts["entities"] = entities
    _files(msg, message_id, content)
    if (venue := _optional_object(msg, "venue")) is not None:
        _describe_venue(venue, content)
    elif (location := _optional_object(msg, "location")) is not None:
        _describe_location(location, content)
    if (contact := _optional_object(msg, "contact")) is not None:
        _describe_contact(msg, contact, content)
    if (dice := _optional_object(msg, "dice")) is not None:
        content.text = f"{_str(dice, 'emoji') or '🎲'} {dice.get('value')}"
        content.facts["dice"] = dict(dice)
    if (poll := _optional_object(msg, "poll")) is not None:
        options = [o.get("text") for o in poll.get("options") or () if isinstance(o, dict)]
        lines = [f"Poll: {_str(poll, 'question') or ''}", *(f"• {o}" for o in options if o)]
        content.text = "\n".join(lines)
    if not content.text and not content.attachments:
        return None
    return content


def _files(msg: Mapping[str, Any], message_id: int, content: _Content) -> None:
    photo = msg.get("photo")
    if isinstance(photo, list) and (sizes := [p for p in photo if isinstance(p, dict)]):
        # Telegram sends every size it made; the largest is the photo.
        largest = max(sizes, key=lambda p: (_area(p), p.get("file_size") or 0))
        content.attachments.append(
            _attachment(largest, f"photo_{message_id}.jpg", "image/jpeg", named=False)
        )
        content.facts["media"] = _media_facts("photo", largest)
    if (sticker := _optional_object(msg, "sticker")) is not None:
        if sticker.get("is_animated") is True:
            name, kind = f"sticker_{message_id}.tgs", "application/x-tgsticker"
        elif sticker.get("is_video") is True:
            name, kind = f"sticker_{message_id}.webm", "video/webm"
        else:
            name, kind = f"sticker_{message_id}.webp", "image/webp"
        content.attachments.append(_attachment(sticker, name, kind, named=False))
        content.text = content.text or _str(sticker, "emoji") or ""
        content.facts["media"] = _media_facts("sticker", sticker)
    for key, stem, default_type in _FILE_KINDS:
        item = _optional_object(msg, key)
        if item is None:
            continue
        content_type = _str(item, "mime_type") or default_type
        extension = _EXTENSIONS.get(content_type) or mimetypes.guess_extension(content_type) or ""
        content.attachments.append(
            _attachment(item, f"{stem}_{message_id}{extension}", content_type, named=True)
        )
        content.facts["media"] = _media_facts(key, item)
        if key == "animation":
            break  # an animation comes with a `document` copy of itself


def _area(size: Mapping[str, Any]) -> int:
    width, height = size.get("width"), size.get("height")
    return width * height if isinstance(width, int) and isinstance(height, int) else 0


def _media_facts(kind: str, item: Mapping[str, Any]) -> dict[str, Any]:
    keep = ("duration", "width", "height", "title", "performer", "emoji", "file_unique_id")
    return {"kind": kind, **{k: item[k] for k in keep if k in item}}


def _attachment(
    item: Mapping[str, Any], fallback_name: str, content_type: str, *, named: bool
) -> Attachment:
    filename = (_str(item, "file_name") if named else None) or fallback_name
    if named and content_type == "application/octet-stream":
        content_type = mimetypes.guess_type(filename)[0] or content_type
    size = item.get("file_size")
    file_id = _str(item, "file_id")
    return Attachment(
        filename=filename,
        content_type=content_type,
        data=None,
        size=size if isinstance(size, int) else None,
        source=file_id,
        note=None if file_id else "Telegram sent no file id for this file",
    )


def _coordinates(location: Mapping[str, Any]) -> tuple[float, float] | None:
    lat, lon = location.get("latitude"), location.get("longitude")
    if isinstance(lat, int | float) and isinstance(lon, int | float):
        return float(lat), float(lon)
    return None


def _map_link(lat: float, lon: float) -> str:
    return f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=16/{lat}/{lon}"


def _describe_location(location: Mapping[str, Any], content: _Content) -> None:
    if (point := _coordinates(location)) is None:
        return
    content.facts["location"] = {"latitude": point[0], "longitude": point[1]}
    content.text = f"Location: {point[0]}, {point[1]}\n{_map_link(*point)}"


def _describe_venue(venue: Mapping[str, Any], content: _Content) -> None:
    where = _optional_object(venue, "location")
    point = _coordinates(where) if where is not None else None
    title, address = _str(venue, "title") or "", _str(venue, "address") or ""
    lines = [f"Venue: {', '.join(p for p in (title, address) if p)}"]
    if point is not None:
        lines.append(_map_link(*point))
    content.text = "\n".join(lines)
    content.facts["venue"] = {
        "title": title,
        "address": address,
        **({"latitude": point[0], "longitude": point[1]} if point else {}),
    }


def _describe_contact(
    msg: Mapping[str, Any], contact: Mapping[str, Any], content: _Content
) -> None:
    raw_phone = _str(contact, "phone_number") or ""
    name = _full_name(contact) or ""
    content.text = f"Contact: {', '.join(p for p in (name, raw_phone) if p)}"
    facts: dict[str, Any] = {"name": name, "phone_number": raw_phone}
    sender = _optional_object(msg, "from")
    shared_user = contact.get("user_id")
    if raw_phone and sender is not None and shared_user == sender.get("id"):
        # The customer's own number (the "share my contact" button): the same person.
        try:
            # Telegram gives international numbers, often without the "+".
            content.phone = normalize_phone(f"+{raw_phone.lstrip('+')}")
        except InvalidAddress as exc:
            facts["phone_problem"] = str(exc)
    if shared_user is not None:
        facts["user_id"] = shared_user
    content.facts["contact"] = facts


def _membership(update: Mapping[str, Any], change: Mapping[str, Any]) -> list[InboundItem]:
    """The customer blocked (or unblocked, or restarted) the bot in their private chat."""
    update_id = update.get("update_id")
    chat = _object(change, "chat", "my_chat_member")
    chat_id = _int(chat, "id", "my_chat_member.chat")
    if not _is_private(chat, chat_id):
        return _ignored(update_id, f"the bot's membership of chat {chat_id} is not tracked")
    status = _object(change, "new_chat_member", "my_chat_member").get("status")
    address = Address(AddressKind.telegram, str(chat_id))
    if status == ChatMemberStatus.BANNED:
        return [ReachabilityChange(address, reachable=False, reason=BLOCKED_REASON)]
    if status == ChatMemberStatus.MEMBER:
        return [ReachabilityChange(address, reachable=True)]
    return _ignored(update_id, f"private chat member status {status!r} is not handled")


def _forwarded_from(msg: Mapping[str, Any]) -> str | None:
    """Who wrote a forwarded message, as Telegram lets us know (or None if not forwarded)."""
    origin = _optional_object(msg, "forward_origin")
    if origin is not None:
        kind = origin.get("type")
        if kind == MessageOriginType.USER:
            user = _optional_object(origin, "sender_user")
            return (_display_name(user) if user else None) or "a Telegram user"
        if kind == MessageOriginType.HIDDEN_USER:
            return _str(origin, "sender_user_name") or "a hidden user"
        if kind in (MessageOriginType.CHAT, MessageOriginType.CHANNEL):
            source = _optional_object(origin, "sender_chat") or _optional_object(origin, "chat")
            title = (_display_name(source) if source else None) or "a chat"
            signature = _str(origin, "author_signature")
            return f"{title} ({signature})" if signature else title
        return "an unknown origin"
    # Before Bot API 7.0.
    legacy = _optional_object(msg, "forward_from") or _optional_object(msg, "forward_from_chat")
    if legacy is not None:
        return _display_name(legacy) or "a Telegram user"
    return _str(msg, "forward_sender_name")
