"""Telegram Bot API updates → inbound items. Pure: no I/O.

Updates are read as the JSON objects Telegram sends, not through PTB's `Update.de_json`: PTB
insists on fields that real updates from older clients and servers lack (`file_unique_id` on
files, `chat_instance` on callback queries, `persistent_id` on polls), and an update that cannot
be read must never hold up the ones behind it. PTB's constants name the types and statuses.

A message's identity is `"{chat}:{message_id}"` (message ids are per chat): the same scheme
names our replies (SendResult), so a customer's reply to one of them threads to it, and a
webhook redelivery or a polling overlap stores nothing twice. `chat` is the chat id, or, for
a customer writing to a business account the bot answers for, `business:{connection}:{chat id}`
(that chat is not the customer's chat with the bot, and its message ids are its own).

What a customer says is stored, whatever it is: a kind of message this parser does not know
yet becomes a placeholder text (the raw update is kept for a re-parse). Everything else an
update can bring is acknowledged and ignored, with a log line saying why.
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
    ButtonPress,
    InboundItem,
    InboundMessage,
    MessageEdit,
    Party,
    PayloadError,
    ReachabilityChange,
)
from connectors.geo import map_link

log = logging.getLogger(__name__)

BLOCKED_REASON = "the customer blocked the bot"

_EDITS = frozenset(
    {UpdateType.EDITED_MESSAGE, UpdateType.EDITED_CHANNEL_POST, UpdateType.EDITED_BUSINESS_MESSAGE}
)
_CHANNEL_POSTS = frozenset({UpdateType.CHANNEL_POST, UpdateType.EDITED_CHANNEL_POST})
_BUSINESS_MESSAGES = frozenset({UpdateType.BUSINESS_MESSAGE, UpdateType.EDITED_BUSINESS_MESSAGE})
# Updates that carry a message, in the order they are looked for.
_MESSAGE_UPDATES: tuple[str, ...] = (
    UpdateType.MESSAGE,
    UpdateType.EDITED_MESSAGE,
    UpdateType.BUSINESS_MESSAGE,
    UpdateType.EDITED_BUSINESS_MESSAGE,
    UpdateType.CHANNEL_POST,
    UpdateType.EDITED_CHANNEL_POST,
)

# Why each other update type Telegram sends is acknowledged and dropped.
_IGNORED_UPDATES: dict[str, str] = {
    UpdateType.INLINE_QUERY: "inline mode is not a support channel",
    UpdateType.CHOSEN_INLINE_RESULT: "inline mode is not a support channel",
    UpdateType.SHIPPING_QUERY: "Panjereh sends no invoices",
    UpdateType.PRE_CHECKOUT_QUERY: "Panjereh sends no invoices",
    UpdateType.PURCHASED_PAID_MEDIA: "Panjereh sells no paid media",
    UpdateType.POLL: "Panjereh sends no polls",
    UpdateType.POLL_ANSWER: "Panjereh sends no polls",
    UpdateType.MESSAGE_REACTION: "reactions are not messages",
    UpdateType.MESSAGE_REACTION_COUNT: "reactions are not messages",
    UpdateType.CHAT_MEMBER: "group members are not tracked",
    UpdateType.CHAT_JOIN_REQUEST: "join requests are left to the group's admins",
    UpdateType.CHAT_BOOST: "boosts are not tracked",
    UpdateType.REMOVED_CHAT_BOOST: "boosts are not tracked",
    UpdateType.BUSINESS_CONNECTION: "each business message names its connection",
    UpdateType.DELETED_BUSINESS_MESSAGES: "a conversation keeps what the customer deleted",
    UpdateType.MANAGED_BOT: "Panjereh manages no bots",
    UpdateType.GUEST_MESSAGE: "guest queries are answered with answerGuestQuery, not a reply",
}

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
    ("live_photo", "live_photo", "video/mp4"),
)
# The extensions people expect, where `mimetypes` picks a rarer one (.oga, .mpga, .jpe).
_EXTENSIONS = {"audio/ogg": ".ogg", "audio/mpeg": ".mp3", "image/jpeg": ".jpg", "video/mp4": ".mp4"}


@dataclass(frozen=True, slots=True)
class ParseOptions:
    allow_groups: bool = False
    allow_channels: bool = False
    welcome_message: str = ""


def allowed_updates(options: ParseOptions) -> list[str]:
    """The update types this connector acts on: registered with setWebhook and asked of
    getUpdates, so Telegram does not send the rest at all."""
    kinds: list[str] = [
        UpdateType.MESSAGE,
        UpdateType.EDITED_MESSAGE,
        UpdateType.MY_CHAT_MEMBER,
        UpdateType.BUSINESS_MESSAGE,
        UpdateType.EDITED_BUSINESS_MESSAGE,
        UpdateType.CALLBACK_QUERY,
    ]
    if options.allow_channels:
        kinds += [UpdateType.CHANNEL_POST, UpdateType.EDITED_CHANNEL_POST]
    return kinds


def parse_body(body: bytes, options: ParseOptions) -> list[InboundItem]:
    """A webhook request's body: one update."""
    try:
        update = json.loads(body)
    except (ValueError, RecursionError) as exc:  # RecursionError: nested too deep to read
        raise PayloadError("the body is not JSON") from exc
    if not isinstance(update, dict):
        raise PayloadError("a Telegram update is a JSON object")
    return parse_update(update, options)


def parse_update(update: Mapping[str, Any], options: ParseOptions) -> list[InboundItem]:
    """The items one update brings: [] for an update ignored by design (logged with why)."""
    update_id = update.get("update_id")
    for key in _MESSAGE_UPDATES:
        if key in update:
            return _message(update, key, options)
    if UpdateType.MY_CHAT_MEMBER in update:
        return _membership(update, _object(update, UpdateType.MY_CHAT_MEMBER, "update"))
    if UpdateType.CALLBACK_QUERY in update:
        return [_press(_object(update, UpdateType.CALLBACK_QUERY, "update"))]
    for key, reason in _IGNORED_UPDATES.items():
        if key in update:
            return _ignored(update_id, f"{key}: {reason}")
    kinds = sorted(k for k in update if k != "update_id")
    return _ignored(update_id, f"update type {', '.join(kinds) or '(none)'} is not known")


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


def _objects(parent: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    value = parent.get(key)
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _int(parent: Mapping[str, Any], key: str, where: str) -> int:
    value = parent.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise PayloadError(f"{where}.{key} must be an integer")
    return value


def _optional_int(parent: Mapping[str, Any], key: str) -> int | None:
    value = parent.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str(parent: Mapping[str, Any], key: str) -> str | None:
    value = parent.get(key)
    return value if isinstance(value, str) and value else None


def _time(parent: Mapping[str, Any], key: str, where: str) -> datetime:
    try:
        return datetime.fromtimestamp(_int(parent, key, where), tz=UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise PayloadError(f"{where}.{key} is out of range") from exc


_BUSINESS_PREFIX = "business:"


def chat_key(chat_id: int | str, business_connection: str | None = None) -> str:
    """A conversation's thread key: the chat, or a business account's chat with the customer
    (the customer's chat with the bot is another conversation)."""
    if business_connection:
        return f"{_BUSINESS_PREFIX}{business_connection}:{chat_id}"
    return str(chat_id)


def split_chat_key(key: str) -> tuple[str, str | None]:
    """The chat id and the business connection (if any) of a `chat_key`."""
    if key.startswith(_BUSINESS_PREFIX):
        connection, _, chat_id = key.removeprefix(_BUSINESS_PREFIX).rpartition(":")
        return chat_id, connection or None
    return key, None


def message_key(chat: int | str, message_id: int | str) -> str:
    return f"{chat}:{message_id}"


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

    def describe(self, description: str) -> None:
        """Put what a non-text message is in words, above its caption."""
        self.text = f"{description}\n{self.text}" if self.text else description


@dataclass(frozen=True, slots=True)
class _Chat:
    """Where a message was written, and by whom, as far as a conversation cares."""

    key: str  # chat_key: the thread, and the prefix of the message's external id
    sender: Party
    private: bool  # the customer's own chat with the bot, where /start and a welcome apply
    facts: dict[str, Any]


# What an edit can change besides the text: its formatting, a live location as it moves,
# a checklist's ticks. (Not `media`: it describes the attached file, which stays the first.)
EDITABLE_FACTS = ("entities", "location", "venue", "checklist")


def _message(update: Mapping[str, Any], key: str, options: ParseOptions) -> list[InboundItem]:
    update_id = update.get("update_id")
    msg = _object(update, key, "update")
    chat = _object(msg, "chat", key)
    chat_id = _int(chat, "id", f"{key}.chat")
    where = _chat(msg, chat, chat_id, key, options)
    if isinstance(where, str):
        return _ignored(update_id, where)
    message_id = _int(msg, "message_id", key)
    sent_at = _time(msg, "date", key)
    content = _content(msg, message_id)
    if content is None:
        kinds = sorted(k for k in msg if k not in _ENVELOPE)
        return _ignored(update_id, f"a service message ({', '.join(kinds) or 'empty'})")

    external_id = message_key(where.key, message_id)
    facts: dict[str, Any] = {"update_id": update_id, **where.facts, **content.facts}
    text = content.text
    if origin := _forwarded_from(msg):
        facts["forwarded_from"] = origin
        text = f"Forwarded from {origin}:\n{text}" if text else f"Forwarded from {origin}"
    facts.update(_context(msg))
    in_reply_to = None
    if (replied := _optional_object(msg, "reply_to_message")) is not None:
        replied_id = _optional_int(replied, "message_id")
        if replied_id is not None:
            in_reply_to = message_key(where.key, replied_id)

    start = _START.match(content.text) if where.private and key == UpdateType.MESSAGE else None
    attributes: dict[str, str] = {}
    if start is not None and start.group("payload"):
        attributes["telegram_start"] = start.group("payload")[:512]
    sender = where.sender
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
    if key in _EDITS:
        edited_at = _time(msg, "edit_date", key) if "edit_date" in msg else sent_at
        facts["edited_at"] = edited_at.isoformat()

    message = InboundMessage(
        external_id=external_id,
        sender=sender,
        sent_at=sent_at,
        text=text,
        thread_key=where.key,
        in_reply_to=in_reply_to,
        attachments=tuple(content.attachments),
        is_auto=_by_bot(msg),
        raw=update,
        metadata=facts,
    )
    if edited_at is not None:
        # The message itself too: if the original never reached us it is stored as edited;
        # if it did, this copy is a no-op and the edit replaces its text, keeping the old.
        new_facts = {k: v for k, v in facts.items() if k in EDITABLE_FACTS}
        edit = MessageEdit(external_id, text, edited_at, facts=new_facts, replaces=EDITABLE_FACTS)
        return [message, edit]
    if start is not None and options.welcome_message.strip():
        return [message, AutoReply(in_reply_to=external_id, text=options.welcome_message)]
    return [message]


def _chat(
    msg: Mapping[str, Any],
    chat: Mapping[str, Any],
    chat_id: int,
    key: str,
    options: ParseOptions,
) -> _Chat | str:
    """Where the message was written and who wrote it, or why it is not a customer's."""
    user = _optional_object(msg, "from")
    if key in _BUSINESS_MESSAGES:
        return _business_chat(msg, chat, chat_id, user)
    if key in _CHANNEL_POSTS:
        if not options.allow_channels:
            return f"channel {chat_id}: channels are off for this inbox"
        # A post is the channel's own words (signed by an admin, maybe).
        facts: dict[str, Any] = {"chat": _chat_facts(chat, chat_id)}
        if signature := _str(msg, "author_signature"):
            facts["author_signature"] = signature
        return _Chat(str(chat_id), _party(None, chat, chat_id), private=False, facts=facts)
    if _is_private(chat, chat_id):
        return _Chat(str(chat_id), _party(user, chat, chat_id), private=True, facts={})
    if chat.get("type") not in (ChatType.GROUP, ChatType.SUPERGROUP, ChatType.PRIVATE):
        return f"messages in a {chat.get('type')!r} chat are not handled"
    if not options.allow_groups:
        return f"group chat {chat_id}: groups are off for this inbox"
    if msg.get("is_automatic_forward") is True:
        return f"group chat {chat_id}: a copy of its linked channel's post"
    facts = {"chat": _chat_facts(chat, chat_id)}
    # An anonymous admin writes as the group, a member may write as one of their channels:
    # `from` is then a placeholder bot, and `sender_chat` who is speaking.
    sender_chat = _optional_object(msg, "sender_chat")
    speaker_chat = _optional_int(sender_chat, "id") if sender_chat is not None else None
    if sender_chat is not None and speaker_chat is not None:
        return _Chat(str(chat_id), _party(None, sender_chat, speaker_chat), False, facts)
    if user is None or (user_id := _optional_int(user, "id")) is None:
        return f"group chat {chat_id}: a message without a sender"
    return _Chat(str(chat_id), _party(user, chat, user_id), private=False, facts=facts)


def _business_chat(
    msg: Mapping[str, Any], chat: Mapping[str, Any], chat_id: int, user: Mapping[str, Any] | None
) -> _Chat | str:
    """A customer writing to a business account that lets the bot answer for it."""
    connection = _str(msg, "business_connection_id")
    if connection is None:
        return "a business message without its business_connection_id"
    if not _is_private(chat, chat_id):
        return f"business chat {chat_id} is not a private chat"
    # In the business account's chat with a customer, the customer's id is the chat's.
    if "sender_business_bot" in msg or (user is not None and user.get("id") != chat_id):
        return f"business chat {chat_id}: written by the business account, not the customer"
    facts = {"business_connection_id": connection}
    return _Chat(chat_key(chat_id, connection), _party(user, chat, chat_id), False, facts)


def _chat_facts(chat: Mapping[str, Any], chat_id: int) -> dict[str, Any]:
    return {"id": chat_id, "type": chat.get("type"), "title": _str(chat, "title")}


def _context(msg: Mapping[str, Any]) -> dict[str, Any]:
    """What a message answers or came through, beyond its chat: kept for the agent."""
    facts: dict[str, Any] = {}
    if (replied := _optional_object(msg, "reply_to_message")) is not None:
        quoted = _str(replied, "text") or _str(replied, "caption")
        facts["reply_to"] = {"message_id": replied.get("message_id"), "text": (quoted or "")[:300]}
    if (quote := _optional_object(msg, "quote")) is not None and (part := _str(quote, "text")):
        facts.setdefault("reply_to", {})["quote"] = part[:300]
    if (external := _optional_object(msg, "external_reply")) is not None:
        # A reply to a message of another chat: who wrote it, as a forward would say.
        facts["external_reply"] = {
            "from": _origin(_optional_object(external, "origin")) or "another chat",
            "message_id": external.get("message_id"),
        }
    if (story := _optional_object(msg, "reply_to_story")) is not None:
        facts["reply_to_story"] = _story_facts(story)
    if msg.get("is_topic_message") is True and (topic := _optional_int(msg, "message_thread_id")):
        facts["topic_id"] = topic
    if (via := _optional_object(msg, "via_bot")) is not None and (name := _str(via, "username")):
        facts["via_bot"] = f"@{name}"
    if media_group := _str(msg, "media_group_id"):
        facts["media_group_id"] = media_group
    return facts


# Keys a message may have whatever it carries.
_ENVELOPE = frozenset(
    {
        "message_id",
        "message_thread_id",
        "from",
        "sender_chat",
        "sender_boost_count",
        "sender_business_bot",
        "sender_tag",
        "date",
        "chat",
        "edit_date",
        "has_protected_content",
        "is_automatic_forward",
        "is_topic_message",
        "is_from_offline",
        "is_paid_post",
        "paid_star_count",
        "author_signature",
        "media_group_id",
        "reply_to_message",
        "external_reply",
        "quote",
        "reply_to_story",
        "reply_to_checklist_task_id",
        "reply_to_poll_option_id",
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
        "direct_messages_topic",
        "suggested_post_info",
        "guest_query_id",
        "guest_bot_caller_user",
        "guest_bot_caller_chat",
        "entities",
        "caption_entities",
    }
)

# Service messages: the chat's housekeeping, not something a customer said.
_SERVICE = frozenset(
    {
        "new_chat_members",
        "left_chat_member",
        "new_chat_title",
        "new_chat_photo",
        "delete_chat_photo",
        "group_chat_created",
        "supergroup_chat_created",
        "channel_chat_created",
        "message_auto_delete_timer_changed",
        "migrate_to_chat_id",
        "migrate_from_chat_id",
        "pinned_message",
        "connected_website",
        "write_access_allowed",
        "proximity_alert_triggered",
        "boost_added",
        "chat_background_set",
        "forum_topic_created",
        "forum_topic_edited",
        "forum_topic_closed",
        "forum_topic_reopened",
        "general_forum_topic_hidden",
        "general_forum_topic_unhidden",
        "giveaway_created",
        "giveaway_completed",
        "video_chat_scheduled",
        "video_chat_started",
        "video_chat_ended",
        "video_chat_participants_invited",
        "paid_message_price_changed",
        "direct_message_price_changed",
        "checklist_tasks_done",
        "checklist_tasks_added",
        "suggested_post_approved",
        "suggested_post_approval_failed",
        "suggested_post_declined",
        "suggested_post_paid",
        "suggested_post_refunded",
        "gift_upgrade_sent",
        "chat_owner_changed",
        "chat_owner_left",
        "managed_bot_created",
        "poll_option_added",
        "poll_option_deleted",
    }
)


def _by_bot(msg: Mapping[str, Any]) -> bool:
    """Written by a bot (another bot in a group): stored, never answered automatically. An
    anonymous group admin or a member writing as a channel shows a placeholder bot in
    `from`, with `sender_chat` naming who speaks: a person, not a bot."""
    user = _optional_object(msg, "from")
    return (
        user is not None
        and user.get("is_bot") is True
        and _optional_object(msg, "sender_chat") is None
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
    """What the customer sent, as text, files and facts; None for a service message
    (someone joined, a pin…)."""
    content = _Content(text=_str(msg, "text") or _str(msg, "caption") or "")
    entities = msg.get("entities") or msg.get("caption_entities")
    if isinstance(entities, list) and entities:
        # Offsets count UTF-16 code units of the Telegram text (before any forward line).
        content.facts["entities"] = entities
    _files(msg, message_id, content)
    for key, describe in _DESCRIBERS:
        if (item := _optional_object(msg, key)) is not None:
            describe(msg, item, content)
    if content.text or content.attachments:
        return content
    unknown = sorted(k for k in msg if k not in _ENVELOPE and k not in _SERVICE)
    if not unknown:
        return None
    # Something this parser does not know (yet): the customer said it all the same.
    content.text = f"(a Telegram message Panjereh cannot show yet: {', '.join(unknown)})"
    content.facts["unsupported"] = unknown
    return content


def _files(msg: Mapping[str, Any], message_id: int, content: _Content) -> None:
    if (largest := _largest(_objects(msg, "photo"))) is not None:
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
        content.attachments.append(_file(item, f"{stem}_{message_id}", default_type))
        content.facts["media"] = _media_facts(key, item)
        if key == "animation":
            break  # an animation comes with a `document` copy of itself


def _largest(sizes: list[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """Telegram sends every size of a photo it made; the largest is the photo."""
    return max(sizes, key=lambda p: (_area(p), p.get("file_size") or 0), default=None)


def _file(item: Mapping[str, Any], stem: str, default_type: str) -> Attachment:
    content_type = _str(item, "mime_type") or default_type
    extension = _EXTENSIONS.get(content_type) or mimetypes.guess_extension(content_type) or ""
    return _attachment(item, f"{stem}{extension}", content_type, named=True)


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


def _describe_location(
    msg: Mapping[str, Any], location: Mapping[str, Any], content: _Content
) -> None:
    if "venue" in msg or (point := _coordinates(location)) is None:
        return  # a venue carries its location and says more
    content.facts["location"] = {"latitude": point[0], "longitude": point[1]}
    content.describe(f"Location: {point[0]}, {point[1]}\n{map_link(*point)}")


def _describe_venue(msg: Mapping[str, Any], venue: Mapping[str, Any], content: _Content) -> None:
    where = _optional_object(venue, "location")
    point = _coordinates(where) if where is not None else None
    title, address = _str(venue, "title") or "", _str(venue, "address") or ""
    lines = [f"Venue: {', '.join(p for p in (title, address) if p)}"]
    if point is not None:
        lines.append(map_link(*point))
    content.describe("\n".join(lines))
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
    content.describe(f"Contact: {', '.join(p for p in (name, raw_phone) if p)}")
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


def _describe_dice(msg: Mapping[str, Any], dice: Mapping[str, Any], content: _Content) -> None:
    content.describe(f"{_str(dice, 'emoji') or '🎲'} {dice.get('value')}")
    content.facts["dice"] = dict(dice)


def _bulleted(heading: str, items: list[Mapping[str, Any]]) -> str:
    """A heading line, then each item's `text` on a line of its own."""
    texts = (_str(item, "text") for item in items)
    return "\n".join([heading, *(f"• {text}" for text in texts if text)])


def _describe_poll(msg: Mapping[str, Any], poll: Mapping[str, Any], content: _Content) -> None:
    heading = f"Poll: {_str(poll, 'question') or ''}"
    content.describe(_bulleted(heading, _objects(poll, "options")))


def _describe_checklist(
    msg: Mapping[str, Any], checklist: Mapping[str, Any], content: _Content
) -> None:
    heading = f"Checklist: {_str(checklist, 'title') or ''}"
    content.describe(_bulleted(heading, _objects(checklist, "tasks")))


def _describe_paid_media(
    msg: Mapping[str, Any], paid: Mapping[str, Any], content: _Content
) -> None:
    items = _objects(paid, "paid_media")
    message_id = msg.get("message_id")
    for number, item in enumerate(items, start=1):
        # A preview (media not paid for yet) has no file.
        if (photo := _largest(_objects(item, "photo"))) is not None:
            name = f"paid_photo_{message_id}_{number}.jpg"
            content.attachments.append(_attachment(photo, name, "image/jpeg", named=False))
        elif (video := _optional_object(item, "video")) is not None:
            content.attachments.append(
                _file(video, f"paid_video_{message_id}_{number}", "video/mp4")
            )
    stars = paid.get("star_count")
    content.describe(f"Paid media: {len(items)} item(s) for {stars} ⭐")


def _describe_story(msg: Mapping[str, Any], story: Mapping[str, Any], content: _Content) -> None:
    facts = _story_facts(story)
    content.describe(f"Story from {facts['from']}")
    content.facts["story"] = facts


def _story_facts(story: Mapping[str, Any]) -> dict[str, Any]:
    chat = _optional_object(story, "chat")
    return {
        "from": (_display_name(chat) if chat is not None else None) or "a chat",
        "chat_id": chat.get("id") if chat is not None else None,
        "story_id": story.get("id"),
    }


def _describe_game(msg: Mapping[str, Any], game: Mapping[str, Any], content: _Content) -> None:
    content.describe(f"Game: {_str(game, 'title') or ''}")


def _describe_giveaway(
    msg: Mapping[str, Any], giveaway: Mapping[str, Any], content: _Content
) -> None:
    prize = _str(giveaway, "prize_description")
    winners = giveaway.get("winner_count")
    content.describe(f"Giveaway: {winners} winner(s)" + (f", {prize}" if prize else ""))


def _describe_giveaway_winners(
    msg: Mapping[str, Any], result: Mapping[str, Any], content: _Content
) -> None:
    names = [_display_name(w) or str(w.get("id")) for w in _objects(result, "winners")]
    content.describe(f"Giveaway winners: {', '.join(names) or result.get('winner_count')}")


def _describe_invoice(
    msg: Mapping[str, Any], invoice: Mapping[str, Any], content: _Content
) -> None:
    content.describe(f"Invoice: {_str(invoice, 'title') or ''} — {_amount(invoice)}")


def _describe_payment(
    msg: Mapping[str, Any], payment: Mapping[str, Any], content: _Content
) -> None:
    content.describe(f"Payment received: {_amount(payment)}")
    content.facts["payment"] = _payment_facts(payment)


def _describe_refund(msg: Mapping[str, Any], refund: Mapping[str, Any], content: _Content) -> None:
    content.describe(f"Payment refunded: {_amount(refund)}")
    content.facts["refunded_payment"] = _payment_facts(refund)


def _payment_facts(payment: Mapping[str, Any]) -> dict[str, Any]:
    keep = ("currency", "total_amount", "invoice_payload", "telegram_payment_charge_id")
    return {k: payment[k] for k in keep if k in payment}


# Currencies Telegram counts in whole units (Telegram Stars, yen…); the others in cents.
_WHOLE_UNITS = frozenset({"XTR", "JPY", "KRW", "VND", "CLP", "ISK", "UGX", "PYG"})


def _amount(bill: Mapping[str, Any]) -> str:
    currency = _str(bill, "currency") or ""
    total = _optional_int(bill, "total_amount")
    if total is None:
        return f"an unknown amount {currency}".strip()
    if currency in _WHOLE_UNITS:
        return f"{total} {currency}"
    return f"{total / 100:.2f} {currency}"


def _describe_web_app_data(
    msg: Mapping[str, Any], data: Mapping[str, Any], content: _Content
) -> None:
    button = _str(data, "button_text") or "web app"
    content.describe(f"{button}: {_str(data, 'data') or ''}")


def _describe_users_shared(
    msg: Mapping[str, Any], shared: Mapping[str, Any], content: _Content
) -> None:
    users = [_shared_name(u, "user_id") for u in _objects(shared, "users")]
    content.describe(f"Shared users: {', '.join(users)}")


def _describe_chat_shared(
    msg: Mapping[str, Any], shared: Mapping[str, Any], content: _Content
) -> None:
    content.describe(f"Shared chat: {_shared_name(shared, 'chat_id')}")


def _shared_name(shared: Mapping[str, Any], id_key: str) -> str:
    name = _display_name(shared)
    return f"{name} ({shared.get(id_key)})" if name else str(shared.get(id_key))


def _describe_passport(
    msg: Mapping[str, Any], passport: Mapping[str, Any], content: _Content
) -> None:
    content.describe("Telegram Passport data (encrypted, not shown)")


# A message that is not text or files, put in words: (key, describer), in the order shown.
_DESCRIBERS = (
    ("venue", _describe_venue),
    ("location", _describe_location),
    ("contact", _describe_contact),
    ("dice", _describe_dice),
    ("poll", _describe_poll),
    ("checklist", _describe_checklist),
    ("paid_media", _describe_paid_media),
    ("story", _describe_story),
    ("game", _describe_game),
    ("giveaway", _describe_giveaway),
    ("giveaway_winners", _describe_giveaway_winners),
    ("invoice", _describe_invoice),
    ("successful_payment", _describe_payment),
    ("refunded_payment", _describe_refund),
    ("web_app_data", _describe_web_app_data),
    ("users_shared", _describe_users_shared),
    ("chat_shared", _describe_chat_shared),
    ("passport_data", _describe_passport),
)


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
    if (origin := _optional_object(msg, "forward_origin")) is not None:
        return _origin(origin) or "an unknown origin"
    # Before Bot API 7.0.
    legacy = _optional_object(msg, "forward_from") or _optional_object(msg, "forward_from_chat")
    if legacy is not None:
        return _display_name(legacy) or "a Telegram user"
    return _str(msg, "forward_sender_name")


def _origin(origin: Mapping[str, Any] | None) -> str | None:
    """Who wrote a message (a MessageOrigin) shown in words; None for an unknown kind."""
    kind = origin.get("type") if origin is not None else None
    if origin is None or kind is None:
        return None
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
    return None


def _press(query: Mapping[str, Any]) -> ButtonPress:
    """A press of one of our inline keyboard buttons. Every press is handed on, whatever its
    data, because each must be answered (answerCallbackQuery) or the customer's app spins."""
    press_id = _str(query, "id")
    if press_id is None:
        raise PayloadError("callback_query.id must be a string")
    user = _object(query, "from", "callback_query")
    message = _optional_object(query, "message")
    chat = _optional_object(message, "chat") if message is not None else None
    key = None
    if message is not None and chat is not None:
        chat_id = _int(chat, "id", "callback_query.message.chat")
        business = _str(message, "business_connection_id")
        key = message_key(chat_key(chat_id, business), _int(message, "message_id", "message"))
    return ButtonPress(
        press_id=press_id,
        data=_str(query, "data") or "",
        sender=Address(AddressKind.telegram, str(_int(user, "id", "callback_query.from"))),
        message_key=key,
        pressed_at=datetime.now(UTC),
    )
