"""Parsing updates (pure) and splitting long replies, one shape at a time."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from connectors.base import (
    Address,
    AddressKind,
    AutoReply,
    InboundMessage,
    MessageEdit,
    PayloadError,
    ReachabilityChange,
)
from connectors.telegram.parse import (
    EDITABLE_FACTS,
    ParseOptions,
    chat_key,
    parse_body,
    parse_update,
    split_chat_key,
)
from connectors.telegram.text import split_text, utf16_length
from tests.support.telegram import person, private_message

CHAT = 5230118842


def one_message(update: dict[str, Any], options: ParseOptions | None = None) -> InboundMessage:
    (item,) = parse_update(update, options or ParseOptions())
    assert isinstance(item, InboundMessage)
    return item


def test_a_text_message_keeps_its_entities_sender_and_language() -> None:
    entities = [{"type": "bold", "offset": 0, "length": 4}]
    sender = person(CHAT, "علی", last_name="رضایی", username="ali_r", language_code="fa")
    update = {
        "update_id": 3,
        "message": private_message(CHAT, 9, text="سلام 🌷", entities=entities, **{"from": sender}),
    }
    message = one_message(update)
    assert message.external_id == f"{CHAT}:9"
    assert message.thread_key == str(CHAT)
    assert message.text == "سلام 🌷"
    assert message.sender.address == Address(AddressKind.telegram, str(CHAT))
    assert message.sender.name == "علی رضایی"
    assert message.sender.language == "fa"
    assert message.sender.attributes == {"telegram_username": "@ali_r"}
    assert message.sent_at == datetime.fromtimestamp(1_779_436_809, tz=UTC)
    assert message.metadata == {"update_id": 3, "entities": entities}
    assert message.raw == update


def test_a_sender_without_a_name_is_shown_by_username() -> None:
    sender = {"id": CHAT, "is_bot": False, "first_name": "", "username": "nameless"}
    message = one_message({"message": private_message(CHAT, 1, text="x", **{"from": sender})})
    assert message.sender.name == "@nameless"


@pytest.mark.parametrize(
    ("origin", "shown"),
    [
        ({"type": "user", "sender_user": person(1, "رضا", last_name="نوری")}, "رضا نوری"),
        ({"type": "hidden_user", "sender_user_name": "Hidden Hana"}, "Hidden Hana"),
        (
            {"type": "channel", "chat": {"id": -100, "title": "اخبار"}, "author_signature": "S"},
            "اخبار (S)",
        ),
    ],
)
def test_a_forward_shows_its_origin(origin: dict[str, Any], shown: str) -> None:
    message = one_message(
        {"message": private_message(CHAT, 1, text="متن", forward_origin={**origin, "date": 1})}
    )
    assert message.text == f"Forwarded from {shown}:\nمتن"
    assert message.metadata["forwarded_from"] == shown


def test_a_legacy_forward_shows_its_origin() -> None:
    message = one_message(
        {"message": private_message(CHAT, 1, text="x", forward_from=person(2, "Old"))}
    )
    assert message.text == "Forwarded from Old:\nx"


def test_a_reply_points_at_the_message_it_answers_in_the_same_chat() -> None:
    replied = {"message_id": 320, "text": "شماره سفارش؟", "chat": {"id": CHAT}, "date": 1}
    message = one_message(
        {"message": private_message(CHAT, 321, text="884213", reply_to_message=replied)}
    )
    assert message.in_reply_to == f"{CHAT}:320"
    assert message.metadata["reply_to"] == {"message_id": 320, "text": "شماره سفارش؟"}


def test_only_the_senders_own_contact_becomes_their_phone() -> None:
    own = {"phone_number": "989121234567", "first_name": "علی", "user_id": CHAT}
    message = one_message({"message": private_message(CHAT, 1, contact=own)})
    assert message.sender.also_known_as == (Address(AddressKind.phone, "+989121234567"),)

    friend = {"phone_number": "+989351112233", "first_name": "دوست", "user_id": 42}
    message = one_message({"message": private_message(CHAT, 2, contact=friend)})
    assert message.sender.also_known_as == ()
    assert message.text == "Contact: دوست, +989351112233"

    invalid = {"phone_number": "12", "first_name": "x", "user_id": CHAT}
    message = one_message({"message": private_message(CHAT, 3, contact=invalid)})
    assert message.sender.also_known_as == ()
    assert "phone_problem" in message.metadata["contact"]


def test_start_keeps_the_payload_and_asks_for_the_welcome() -> None:
    update = {"message": private_message(7, 1, text="/start order_884213")}
    message, welcome = parse_update(update, ParseOptions(welcome_message="خوش آمدید"))
    assert isinstance(message, InboundMessage)
    assert message.sender.attributes == {"telegram_start": "order_884213"}
    assert welcome == AutoReply(in_reply_to="7:1", text="خوش آمدید")
    # Without a welcome configured (or with a bare /start) nothing else comes.
    assert len(parse_update(update, ParseOptions())) == 1
    bare = one_message({"message": private_message(7, 2, text="/start")})
    assert bare.sender.attributes == {}


def test_an_edit_brings_the_message_and_the_edit() -> None:
    edited = {**private_message(CHAT, 5, text="new"), "edit_date": 1_779_437_700}
    message, edit = parse_update({"edited_message": edited}, ParseOptions())
    assert isinstance(message, InboundMessage)
    assert message.text == "new"
    assert edit == MessageEdit(
        external_id=f"{CHAT}:5",
        text="new",
        edited_at=datetime.fromtimestamp(1_779_437_700, tz=UTC),
        replaces=EDITABLE_FACTS,
    )


@pytest.mark.parametrize(
    ("status", "reachable"), [("kicked", False), ("member", True)], ids=["blocked", "unblocked"]
)
def test_blocking_the_bot_changes_reachability(status: str, reachable: bool) -> None:
    update = {
        "my_chat_member": {
            "chat": {"id": CHAT, "type": "private"},
            "from": person(CHAT),
            "date": 1,
            "old_chat_member": {"status": "member", "user": person(1)},
            "new_chat_member": {"status": status, "user": person(1)},
        }
    }
    (change,) = parse_update(update, ParseOptions())
    assert change == ReachabilityChange(
        Address(AddressKind.telegram, str(CHAT)),
        reachable=reachable,
        reason=None if reachable else "the customer blocked the bot",
    )


@pytest.mark.parametrize(
    ("field", "value", "name", "content_type"),
    [
        (
            "sticker",
            {"file_id": "s", "emoji": "👍", "is_animated": False},
            "sticker_1.webp",
            "image/webp",
        ),
        (
            "sticker",
            {"file_id": "s", "is_animated": True},
            "sticker_1.tgs",
            "application/x-tgsticker",
        ),
        ("video_note", {"file_id": "v", "length": 240}, "video_note_1.mp4", "video/mp4"),
        (
            "audio",
            {"file_id": "a", "file_name": "song.mp3", "mime_type": "audio/mpeg"},
            "song.mp3",
            "audio/mpeg",
        ),
        ("document", {"file_id": "d", "file_name": "فاکتور.pdf"}, "فاکتور.pdf", "application/pdf"),
    ],
)
def test_files_point_at_their_file_id(
    field: str, value: dict[str, Any], name: str, content_type: str
) -> None:
    message = one_message({"message": private_message(CHAT, 1, **{field: value})})
    (attachment,) = message.attachments
    assert (attachment.filename, attachment.content_type) == (name, content_type)
    assert attachment.source == value["file_id"]
    assert attachment.data is None


def test_an_animation_is_one_file_not_two() -> None:
    animation = {"file_id": "g", "file_name": "cat.mp4", "mime_type": "video/mp4"}
    message = one_message(
        {"message": private_message(CHAT, 1, animation=animation, document=animation)}
    )
    assert [a.source for a in message.attachments] == ["g"]


def test_a_venue_is_described_with_a_map_link() -> None:
    venue = {
        "location": {"latitude": 35.7, "longitude": 51.4},
        "title": "دفتر",
        "address": "تهران",
    }
    described = one_message(
        {"message": private_message(CHAT, 1, venue=venue, location=venue["location"])}
    )
    assert described.text.startswith("Venue: دفتر, تهران\nhttps://www.openstreetmap.org/")


@pytest.mark.parametrize(
    "update",
    [
        {"update_id": 1, "channel_post": {"message_id": 1, "chat": {"id": -1, "type": "channel"}}},
        {"update_id": 2, "message": {**private_message(CHAT, 1), "new_chat_title": "x"}},
        {"update_id": 3, "message": {**private_message(CHAT, 1), "pinned_message": {}}},
        {"update_id": 4, "message": {**private_message(-5, 1, text="hi")}},  # "private", id < 0
        {
            "update_id": 5,
            "my_chat_member": {
                "chat": {"id": -100, "type": "supergroup"},
                "new_chat_member": {"status": "kicked"},
            },
        },
        {},
    ],
    ids=["channel", "service", "pin", "negative-private", "group-membership", "empty"],
)
def test_updates_we_do_not_handle_are_ignored(
    update: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("INFO", logger="connectors.telegram.parse"):
        assert parse_update(update, ParseOptions()) == []
    assert "ignored" in caplog.text


def test_groups_are_stored_per_group_when_allowed() -> None:
    group = {"id": -1002233445566, "type": "supergroup", "title": "خریداران"}
    update = {
        "message": {
            "message_id": 4410,
            "from": person(5550001112, "کاوه"),
            "chat": group,
            "date": 1,
            "text": "سلام",
        }
    }
    assert parse_update(update, ParseOptions()) == []
    message = one_message(update, ParseOptions(allow_groups=True))
    assert message.sender.address == Address(AddressKind.telegram, "5550001112")
    assert message.thread_key == "-1002233445566"
    assert message.external_id == "-1002233445566:4410"
    assert message.metadata["chat"]["title"] == "خریداران"


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        json.dumps({"message": "text"}).encode(),
        json.dumps({"message": {"message_id": 1, "date": 1}}).encode(),
        json.dumps({"message": {**private_message(CHAT, 1, text="x"), "date": "today"}}).encode(),
    ],
    ids=["not-json", "array", "message-not-object", "no-chat", "bad-date"],
)
def test_what_telegram_never_sends_is_a_payload_error(body: bytes) -> None:
    with pytest.raises(PayloadError):
        parse_body(body, ParseOptions())


def test_short_text_is_one_part_and_blank_text_none() -> None:
    assert split_text("سلام") == ["سلام"]
    assert split_text("  \n ") == []


def test_long_text_is_cut_after_a_newline_then_a_space() -> None:
    lines = ["خط " * 300] * 10  # ~9,000 characters in lines of 900
    text = "\n".join(lines)
    parts = split_text(text, limit=4096)
    assert "".join(parts) == text
    assert all(utf16_length(p) <= 4096 for p in parts)
    assert all(p.endswith("\n") for p in parts[:-1])
    words = split_text("کلمه " * 2000, limit=4096)
    assert all(p.endswith(" ") for p in words[:-1])


@pytest.mark.parametrize(
    "unit",
    ["😀", "👩\u200d💻", "🇮🇷", "👍🏽", "e\u0301", "ی\u200c"],
    ids=["astral", "zwj", "flag", "skin-tone", "combining", "zwnj"],
)
def test_an_unbroken_run_is_cut_between_whole_characters(unit: str) -> None:
    text = unit * 5000
    parts = split_text(text, limit=100)
    assert "".join(parts) == text
    for part in parts:
        assert utf16_length(part) <= 100
        assert len(part) % len(unit) == 0, part  # every cut falls between two units


@pytest.mark.parametrize(
    ("chat", "connection"), [("5230118842", None), ("-100123", None), ("5230118842", "b:c:1")]
)
def test_a_chat_key_names_the_chat_and_its_business_connection(
    chat: str, connection: str | None
) -> None:
    assert split_chat_key(chat_key(chat, connection)) == (chat, connection)
