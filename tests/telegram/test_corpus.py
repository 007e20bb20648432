"""Every update in the shared corpus (written by other people) through the real webhook of a
running server: stored with the right sender, text and files, or ignored by design."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from tests.support.corpus import corpus_files
from tests.support.telegram import Live, create_telegram_inbox, inbound_messages

FILES = {path.name: path.read_bytes() for path in corpus_files("telegram", "*.json")}


@dataclass(frozen=True)
class Stored:
    sender: str  # the Telegram address (private chat id)
    name: str
    text: str
    attachments: tuple[tuple[str, str], ...] = ()  # (filename, content type), downloaded


STORED = {
    "fa-tg-contact-share-plus98.json": Stored(
        "5230118842", "علی", "Contact: علی رضایی, +989121234567"
    ),
    # Alone, the edit of a message we never got is stored as it reads now.
    "fa-tg-edited-message.json": Stored(
        "184467301",
        "مریم احمدی",
        "سفارش ۸۸۴۲۱۳ هنوز نرسیده (ویرایش: کد پستی درست ۱۲۳۴۵۶۷۸۹۰ است)",
    ),
    "fa-tg-forward-origin-user.json": Stored(
        "6120045577",
        "سارا محمدی",
        "Forwarded from رضا نوری:\nسلام، کد تخفیف NOROOZ1403 برای من کار نمی\u200cکند",
    ),
    "fa-tg-photo-persian-caption.json": Stored(
        "6120045577",
        "سارا محمدی",
        "تصویر خطای ورود — کد ۴۰۳ می\u200cدهد ⚠️",
        (("photo_340.jpg", "image/jpeg"),),
    ),
    "fa-tg-reply-to-bot-message.json": Stored(
        "5230118842",
        "علی",
        "شناسه کمپین: CMP-20931 — bid را به اشتباه ۹۰۰۰ تومان به\u200cجای ۹۰۰ تومان زدم",
    ),
    "fa-tg-start-deep-link.json": Stored("7001122334", "نگار", "/start order_884213"),
    "fa-tg-text-bold-textlink-zwnj.json": Stored(
        "184467301",
        "مریم احمدی",
        "سلام، سفارش ۸۸۴۲۱۳ هنوز نرسیده. لطفاً پیگیری کنید: کد رهگیری 1234-5678-90 — "
        "جزئیات در صفحه\u200cی سفارش",
    ),
    "fa-tg-voice-message.json": Stored(
        "184467301", "مریم احمدی", "", (("voice_360.ogg", "audio/ogg"),)
    ),
    "message-dice-emoji-escaped.json": Stored("879343317", "George Forse", "🎯 4"),
    "message-document-empty-thumb-legacy.json": Stored(
        "10", "Fd Wd", "", (("Text File", "application/octet-stream"),)
    ),
    "message-location-legacy.json": Stored(
        "1089734",
        "dd dd",
        "Location: 26.090577, 127.479471\nhttps://www.openstreetmap.org/"
        "?mlat=26.090577&mlon=127.479471#map=16/26.090577/127.479471",
    ),
    "message-photo-three-sizes-no-caption.json": Stored(
        "10734", "Fd Wd", "", (("photo_96.jpg", "image/jpeg"),)
    ),
    "message-poll.json": Stored("111", "FN LN", "Poll: Test poll 1\n• Answer 1\n• Answer 2"),
    "update-compact-text-legacy.json": Stored("1111", "Fk Wg", "HIHI"),
    "update-message-text.json": Stored("1", "John", "message-text"),
}

# Ignored by design (each logged with its reason): groups and channels (off by default), a
# business message without its connection, buttons, inline mode, polls' answers, join
# requests, unknown update types, and a group chat id (negative) that claims to be private.
IGNORED = {
    "fa-tg-group-message-ignore.json",
    "getupdates-response-list.json",
    "message-group-cjk-title-inconsistent-type.json",
    "message-location.json",
    "message-new-chat-members.json",
    "message-photo-caption-entities-supergroup.json",
    "message-sticker.json",
    "message-video.json",
    "message-voice.json",
    "update-business-message.json",
    "update-callback-query-minimal.json",
    "update-channel-post-signed.json",
    "update-chat-join-request.json",
    "update-edited-channel-post.json",
    "update-inline-query.json",
    "update-poll-answer.json",
    "update-unknown-type.json",
}


@pytest.mark.parametrize("name", FILES)
async def test_corpus_update(live: Live, name: str) -> None:
    body = FILES[name]
    payload = json.loads(body)
    live.add_files(payload)
    inbox = await create_telegram_inbox(live.admin, live.telegram)

    response = await live.telegram.deliver(live.bot, body, live.running.url)

    assert response.status_code == 200, response.text
    stored = await inbound_messages(live.admin, inbox["id"])
    expected = STORED.get(name)
    if expected is None:
        # Ignored by design; a file added to the corpus later must at least be accepted.
        assert stored == [] if name in IGNORED else len(stored) <= 1
        return
    (message,) = stored
    assert message["body_text"] == expected.text
    assert message["sender"]["name"] == expected.name
    conversation = await live.admin.get(f"/api/v1/conversations/{message['conversation_id']}")
    contact_id = conversation.json()["contact"]["id"]
    contact = (await live.admin.get(f"/api/v1/contacts/{contact_id}")).json()
    identities = {(i["kind"], i["address"]) for i in contact["identities"]}
    assert ("telegram", expected.sender) in identities
    sent = payload.get("message") or payload["edited_message"]
    assert message["external_id"] == f"{expected.sender}:{sent['message_id']}"
    assert [(a["filename"], a["content_type"]) for a in message["attachments"]] == list(
        expected.attachments
    )
    for attachment in message["attachments"]:
        assert attachment["stored"] is True, attachment
        downloaded = await live.admin.get(attachment["url"])
        assert downloaded.content.startswith(b"bytes of ")
