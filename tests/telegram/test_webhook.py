"""A Telegram inbox in webhook mode, from the outside: set up against a fake Bot API server,
updates posted to the running app as Telegram posts them, replies sent by the worker."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy import update as sql_update

from app.db import utcnow
from app.inboxes.models import Inbox
from app.inboxes.service import channel_config
from app.outbound.worker import DeliveryWorker
from app.tickets.models import DeliveryAttempt, Message
from connectors.telegram.config import TelegramConfig
from tests.support.api import Api, assert_error
from tests.support.app import Running
from tests.support.delivery import drain, message, refused_reply, reply
from tests.support.fakes.telegram import FakeBot, FakeTelegram
from tests.support.telegram import (
    TOKEN,
    create_telegram_inbox,
    inbound_messages,
    person,
    private_message,
    update,
)

CHAT = 184467301


async def post(
    telegram: FakeTelegram, bot: FakeBot, running: Running, body: dict[str, Any], **kw: Any
) -> None:
    response = await telegram.deliver(bot, body, running.url, **kw)
    assert response.status_code == 200, response.text


async def stored_secret(running: Running, inbox_id: int) -> str:
    async with running.ctx.db.read() as session:
        inbox = await session.get(Inbox, inbox_id)
        assert inbox is not None
        config = channel_config(inbox, running.ctx.secret_box)
    assert isinstance(config, TelegramConfig)
    return config.webhook_secret


async def test_creating_an_inbox_checks_the_token_and_registers_the_webhook(
    running: Running, admin: Api, telegram: FakeTelegram, bot: FakeBot
) -> None:
    inbox = await create_telegram_inbox(admin, telegram)

    assert bot.calls[:2] == ["getMe", "setWebhook"]
    expected_url = f"http://testserver.invalid/webhooks/telegram/{inbox['id']}"
    assert inbox["webhook_url"] == expected_url
    assert bot.webhook_url == expected_url
    assert bot.webhook_secret == await stored_secret(running, inbox["id"])
    assert len(bot.webhook_secret or "") >= 32
    assert bot.allowed_updates == [
        "message",
        "edited_message",
        "my_chat_member",
        "business_message",
        "edited_business_message",
        "callback_query",
    ]
    assert TOKEN not in str(inbox)


async def test_a_bad_token_is_refused_and_nothing_is_saved(
    admin: Api, telegram: FakeTelegram
) -> None:
    bad = "1234567:not-a-token-telegram-knows"
    response = await admin.post(
        "/api/v1/inboxes",
        json={
            "kind": "telegram",
            "name": "Bot",
            "config": {"bot_token": bad, "api_base_url": telegram.url},
        },
    )
    body = assert_error(response, 422)
    assert body["code"] == "channel_setup_failed"
    assert "rejected the bot token" in body["detail"]
    assert bad not in response.text
    assert (await admin.get("/api/v1/inboxes")).json() == []


async def test_a_refused_webhook_is_a_setup_error_and_nothing_is_kept(
    admin: Api, telegram: FakeTelegram, bot: FakeBot
) -> None:
    bot.fail_next(
        "setWebhook", 400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
    )
    response = await admin.post(
        "/api/v1/inboxes",
        json={
            "kind": "telegram",
            "name": "Bot",
            "config": {"bot_token": TOKEN, "api_base_url": telegram.url},
        },
    )
    body = assert_error(response, 422)
    assert body["code"] == "channel_setup_failed"
    assert "an https url must be provided" in body["detail"]
    assert (await admin.get("/api/v1/inboxes")).json() == []


async def test_an_unreachable_bot_api_is_a_clear_setup_error(admin: Api) -> None:
    response = await admin.post(
        "/api/v1/inboxes",
        json={
            "kind": "telegram",
            "name": "Bot",
            "config": {"bot_token": TOKEN, "api_base_url": "http://127.0.0.1:9"},
        },
    )
    body = assert_error(response, 422)
    assert body["code"] == "channel_setup_failed"
    assert body["detail"] == (
        "could not reach the Bot API at http://127.0.0.1:9: check api_base_url (empty for "
        "Telegram's own) and that this server can reach it, or try again in a minute"
    )
    assert TOKEN not in response.text


async def test_a_wrong_or_missing_secret_is_refused_and_nothing_stored(
    running: Running, admin: Api, telegram: FakeTelegram, bot: FakeBot
) -> None:
    inbox = await create_telegram_inbox(admin, telegram)
    body = update(**private_message(CHAT, 1, text="hello"))
    for secret in ("wrong-secret", None, ""):
        response = await telegram.deliver(bot, body, running.url, secret=secret)
        assert_error(response, 403)
    assert await inbound_messages(admin, inbox["id"]) == []

    await post(telegram, bot, running, body)
    assert [m["body_text"] for m in await inbound_messages(admin, inbox["id"])] == ["hello"]


async def test_a_body_that_is_no_update_is_refused_with_400_and_nothing_stored(
    running: Running, admin: Api, telegram: FakeTelegram, bot: FakeBot
) -> None:
    inbox = await create_telegram_inbox(admin, telegram)
    deep = b"[" * 100_000 + b"]" * 100_000  # nested too deep for the JSON reader
    for body in (b"", b"{not json", b'{"update_id": "\xff"}', b"[]", b"null", deep):
        response = await telegram.deliver(bot, body, running.url)
        assert_error(response, 400, "invalid_payload")
    assert await inbound_messages(admin, inbox["id"]) == []


async def test_a_repeated_update_is_stored_once(
    running: Running, admin: Api, telegram: FakeTelegram, bot: FakeBot
) -> None:
    inbox = await create_telegram_inbox(admin, telegram)
    first = {"update_id": 5001, **update(**private_message(CHAT, 7, text="سلام 👋"))}
    await post(telegram, bot, running, first)
    await post(telegram, bot, running, first)  # a webhook redelivery
    # The same message under another update id (e.g. once polled, once pushed).
    await post(telegram, bot, running, {**first, "update_id": 5002})

    (stored,) = await inbound_messages(admin, inbox["id"])
    assert stored["body_text"] == "سلام 👋"
    assert stored["external_id"] == f"{CHAT}:7"
    assert stored["sender"]["name"] == "سارا"


async def test_a_lone_surrogate_escape_is_stored_not_a_500(
    running: Running, admin: Api, telegram: FakeTelegram, bot: FakeBot
) -> None:
    """JSON may escape half an emoji ("\\ud83d" alone); no database stores that as text. The
    message is stored with U+FFFD in its place, and the raw update as it came."""
    inbox = await create_telegram_inbox(admin, telegram)
    written = {"update_id": 5101, **update(**private_message(CHAT, 8, text="ok MARK then"))}
    sent = json.dumps(written).replace("MARK", "\\ud83d").encode()
    response = await telegram.deliver(bot, sent, running.url)
    assert response.status_code == 200, response.text
    (stored,) = await inbound_messages(admin, inbox["id"])
    assert stored["body_text"] == "ok \ufffd then"
    async with running.ctx.db.read() as session:
        raw = await session.scalar(select(Message.raw).where(Message.id == stored["id"]))
    assert raw is not None
    assert b"ok \\ud83d then" in raw
    # An edit may carry one too.
    edited = {
        "update_id": 5102,
        **update("edited_message", **private_message(CHAT, 8, text="MARK fixed", edit_date=1)),
    }
    response = await telegram.deliver(
        bot, json.dumps(edited).replace("MARK", "\\udc00").encode(), running.url
    )
    assert response.status_code == 200, response.text
    (stored,) = await inbound_messages(admin, inbox["id"])
    assert stored["body_text"] == "\ufffd fixed"


async def test_photos_and_voice_notes_are_downloaded(
    running: Running, admin: Api, telegram: FakeTelegram, bot: FakeBot
) -> None:
    inbox = await create_telegram_inbox(admin, telegram)
    photo = b"\xff\xd8\xff\xe0 a jpeg"
    voice = b"OggS voice"
    photo_id = bot.add_file(photo, path="photos/file_1.jpg")
    voice_id = bot.add_file(voice, path="voice/file_2.oga")
    small = {"file_id": "thumb-never-fetched", "file_unique_id": "t", "width": 90, "height": 90}
    large = {"file_id": photo_id, "file_unique_id": "p", "width": 800, "height": 600}
    await post(
        telegram,
        bot,
        running,
        update(**private_message(CHAT, 10, photo=[small, large], caption="خطای ورود ⚠️")),
    )
    await post(
        telegram,
        bot,
        running,
        update(
            **private_message(
                CHAT, 11, voice={"file_id": voice_id, "duration": 3, "mime_type": "audio/ogg"}
            )
        ),
    )

    photo_message, voice_message = await inbound_messages(admin, inbox["id"])
    assert photo_message["body_text"] == "خطای ورود ⚠️"
    for stored, expected, name, kind in (
        (photo_message, photo, "photo_10.jpg", "image/jpeg"),
        (voice_message, voice, "voice_11.ogg", "audio/ogg"),
    ):
        (attachment,) = stored["attachments"]
        assert (attachment["filename"], attachment["content_type"]) == (name, kind)
        assert attachment["stored"] is True
        downloaded = await admin.get(attachment["url"])
        assert downloaded.content == expected
    assert voice_message["metadata"]["media"]["duration"] == 3


async def test_a_file_telegram_cannot_hand_out_now_is_refused_until_delivered_again(
    running: Running, admin: Api, telegram: FakeTelegram, bot: FakeBot
) -> None:
    inbox = await create_telegram_inbox(admin, telegram)
    invoice = b"%PDF-1.7 invoice"
    document = {
        "file_id": bot.add_file(invoice, path="documents/file_3.pdf"),
        "file_unique_id": "d",
        "file_name": "invoice.pdf",
        "mime_type": "application/pdf",
    }
    delivery = update(**private_message(CHAT, 12, document=document, caption="my invoice"))
    bot.fail_next("getFile", 502, "Bad Gateway")

    refused = await telegram.deliver(bot, delivery, running.url)
    assert refused.status_code == 503, refused.text
    assert refused.json()["code"] == "provider_unavailable"
    assert "Bad Gateway" in refused.json()["detail"]
    assert refused.headers["retry-after"] == "5"
    assert await inbound_messages(admin, inbox["id"]) == []

    # Telegram delivers the update again: stored once, file and all.
    accepted = await telegram.deliver(bot, delivery, running.url)
    assert accepted.status_code == 200, accepted.text
    (stored,) = await inbound_messages(admin, inbox["id"])
    assert stored["body_text"] == "my invoice"
    (attachment,) = stored["attachments"]
    assert (attachment["filename"], attachment["stored"]) == ("invoice.pdf", True)
    assert (await admin.get(attachment["url"])).content == invoice


async def test_files_too_large_keep_their_metadata_and_a_note(
    running: Running, admin: Api, telegram: FakeTelegram, bot: FakeBot
) -> None:
    inbox = await create_telegram_inbox(admin, telegram)
    huge_id = bot.add_file(b"x", size=30_000_000)  # getFile refuses: over 20 MB
    document = {"file_id": huge_id, "file_name": "scan.pdf", "mime_type": "application/pdf"}
    announced = {"file_id": "big-video", "file_size": 2_000_000_000, "mime_type": "video/mp4"}
    await post(telegram, bot, running, update(**private_message(CHAT, 20, document=document)))
    await post(telegram, bot, running, update(**private_message(CHAT, 21, video=announced)))
    # A size no file has (past what a database integer holds): stored without it, no 500.
    absurd = {**announced, "file_id": "absurd", "file_size": 2**63}
    await post(telegram, bot, running, update(**private_message(CHAT, 22, video=absurd)))

    refused, oversized, unsized = await inbound_messages(admin, inbox["id"])
    assert unsized["attachments"][0]["size"] is None
    (pdf,) = refused["attachments"]
    assert (pdf["filename"], pdf["content_type"], pdf["stored"]) == (
        "scan.pdf",
        "application/pdf",
        False,
    )
    assert "file is too big" in pdf["note"].lower()
    (video,) = oversized["attachments"]
    assert video["stored"] is False
    assert video["size"] == 2_000_000_000
    assert "over the" in video["note"]
    assert bot.calls.count("getFile") == 1  # the announced size was enough to skip it


async def test_an_edit_shows_the_new_text_and_keeps_the_old(
    running: Running, admin: Api, telegram: FakeTelegram, bot: FakeBot
) -> None:
    inbox = await create_telegram_inbox(admin, telegram)
    original = private_message(CHAT, 30, text="سفارش ۸۸۴۲۱۳ نرسیده")
    await post(telegram, bot, running, update(**original))
    edited = {**original, "text": "سفارش ۸۸۴۲۱۳ هنوز نرسیده (ویرایش)", "edit_date": 1_779_437_700}
    await post(telegram, bot, running, update("edited_message", **edited))
    await post(telegram, bot, running, update("edited_message", **edited))  # redelivered

    (stored,) = await inbound_messages(admin, inbox["id"])
    assert stored["body_text"] == "سفارش ۸۸۴۲۱۳ هنوز نرسیده (ویرایش)"
    (earlier,) = stored["metadata"]["edits"]
    assert earlier["text"] == "سفارش ۸۸۴۲۱۳ نرسیده"


async def test_an_edit_replaces_what_described_the_old_version(
    running: Running, admin: Api, telegram: FakeTelegram, bot: FakeBot
) -> None:
    """Formatting taken off, a live location moved: the stored message says what the new
    version is, not what the old one was."""
    inbox = await create_telegram_inbox(admin, telegram)
    bold = [{"type": "bold", "offset": 0, "length": 5}]
    formatted = private_message(CHAT, 32, text="URGENT order", entities=bold)
    live = private_message(CHAT, 33, location={"latitude": 1.0, "longitude": 2.0})
    await post(telegram, bot, running, update(**formatted))
    await post(telegram, bot, running, update(**live))
    plain_now = {**formatted, "text": "plain now", "edit_date": 1_779_437_700}
    plain_now.pop("entities")
    moved = {**live, "location": {"latitude": 1.5, "longitude": 2.5}, "edit_date": 1_779_437_700}
    await post(telegram, bot, running, update("edited_message", **plain_now))
    await post(telegram, bot, running, update("edited_message", **moved))

    text, location = await inbound_messages(admin, inbox["id"])
    assert text["body_text"] == "plain now"
    assert "entities" not in text["metadata"]
    assert location["metadata"]["location"]["latitude"] == 1.5
    assert location["metadata"]["edits"][0]["text"] != location["body_text"]


async def test_edits_are_placed_by_their_time_whatever_order_they_arrive_in(
    running: Running, admin: Api, telegram: FakeTelegram, bot: FakeBot
) -> None:
    inbox = await create_telegram_inbox(admin, telegram)
    original = private_message(CHAT, 31, text="v1")
    first = update("edited_message", **{**original, "text": "v2", "edit_date": 1_779_437_100})
    second = update("edited_message", **{**original, "text": "v3", "edit_date": 1_779_437_200})
    third = update("edited_message", **{**original, "text": "v4", "edit_date": 1_779_437_300})
    await post(telegram, bot, running, update(**original))
    for delivery in (first, third, second, first, third):  # late, and redelivered
        await post(telegram, bot, running, delivery)

    (stored,) = await inbound_messages(admin, inbox["id"])
    assert stored["body_text"] == "v4"
    assert [(e["text"], e["replaced_at"][:19]) for e in stored["metadata"]["edits"]] == [
        ("v1", "2026-05-22T08:05:00"),
        ("v2", "2026-05-22T08:06:40"),
        ("v3", "2026-05-22T08:08:20"),
    ]


async def test_a_shared_contact_adds_a_phone_identity(
    running: Running, admin: Api, telegram: FakeTelegram, bot: FakeBot
) -> None:
    inbox = await create_telegram_inbox(admin, telegram)
    contact = {"phone_number": "989121234567", "first_name": "علی", "user_id": CHAT}
    await post(telegram, bot, running, update(**private_message(CHAT, 40, contact=contact)))

    (stored,) = await inbound_messages(admin, inbox["id"])
    contact_id = (await admin.get(f"/api/v1/conversations/{stored['conversation_id']}")).json()[
        "contact"
    ]["id"]
    identities = (await admin.get(f"/api/v1/contacts/{contact_id}")).json()["identities"]
    assert {(i["kind"], i["address"]) for i in identities} == {
        ("telegram", str(CHAT)),
        ("phone", "+989121234567"),
    }


async def test_start_keeps_the_deep_link_and_sends_the_welcome_once(
    running: Running, admin: Api, telegram: FakeTelegram, bot: FakeBot
) -> None:
    inbox = await create_telegram_inbox(admin, telegram, welcome_message="خوش آمدید! 🌷")
    start = {
        "update_id": 9,
        **update(
            **private_message(
                CHAT, 1, text="/start order_884213", **{"from": person(CHAT, language_code="fa")}
            )
        ),
    }
    await post(telegram, bot, running, start)
    await post(telegram, bot, running, start)
    await drain(DeliveryWorker(running.ctx))

    (welcome,) = bot.sent
    assert (welcome.chat_id, welcome.text) == (str(CHAT), "خوش آمدید! 🌷")
    assert welcome.reply_to_message_id == 1
    (stored,) = await inbound_messages(admin, inbox["id"])
    conversation = (await admin.get(f"/api/v1/conversations/{stored['conversation_id']}")).json()
    contact = (await admin.get(f"/api/v1/contacts/{conversation['contact']['id']}")).json()
    assert contact["attributes"] == {"telegram_start": "order_884213", "language": "fa"}


async def test_a_reply_reaches_the_customer_and_their_answer_threads_to_it(
    running: Running, admin: Api, telegram: FakeTelegram, bot: FakeBot
) -> None:
    inbox = await create_telegram_inbox(admin, telegram)
    await post(telegram, bot, running, update(**private_message(CHAT, 77, text="کمک!")))
    (question,) = await inbound_messages(admin, inbox["id"])
    conversation_id = question["conversation_id"]

    sent = await reply(admin, conversation_id, "در خدمتم — how can I help? 🙂")
    await DeliveryWorker(running.ctx).run_once()

    (delivered,) = bot.sent
    assert delivered.method == "sendMessage"
    assert delivered.chat_id == str(CHAT)
    assert delivered.text == "در خدمتم — how can I help? 🙂"
    assert delivered.reply_to_message_id == 77
    shown = await message(admin, conversation_id, sent["id"])
    assert shown["delivery_status"] == "sent"
    assert shown["external_id"] == f"{CHAT}:{delivered.message_id}"

    # The customer answers our message (quoting it) after the conversation was resolved.
    resolved = await admin.patch(
        f"/api/v1/conversations/{conversation_id}", json={"status": "resolved"}
    )
    assert resolved.status_code == 200, resolved.text
    answer = private_message(
        CHAT, 79, text="ممنون", reply_to_message={"message_id": delivered.message_id}
    )
    await post(telegram, bot, running, update(**answer))
    stored = (await inbound_messages(admin, inbox["id"]))[-1]
    assert stored["conversation_id"] == conversation_id


async def test_a_long_reply_is_split_without_breaking_characters(
    running: Running, admin: Api, telegram: FakeTelegram, bot: FakeBot
) -> None:
    inbox = await create_telegram_inbox(admin, telegram)
    await post(telegram, bot, running, update(**private_message(CHAT, 1, text="hi")))
    (question,) = await inbound_messages(admin, inbox["id"])
    paragraph = "سلام دنیا 👩‍💻 " * 120
    text = "\n".join([paragraph] * 5)  # ~9,000 UTF-16 code units

    await reply(admin, question["conversation_id"], text)
    await DeliveryWorker(running.ctx).run_once()

    parts = [s.text or "" for s in bot.sent]
    assert len(parts) == 3
    assert all(len(p.encode("utf-16-le")) // 2 <= 4096 for p in parts)
    assert all("\u200d" not in (p[0], p[-1]) for p in parts)
    assert "".join(parts) == text
    assert [s.reply_to_message_id for s in bot.sent] == [1, None, None]


@pytest.mark.parametrize(
    ("code", "description", "permanent"),
    [(502, "Bad Gateway", False), (400, "Bad Request: message is too long", True)],
    ids=["retried-by-the-worker", "failed-then-retried-by-the-agent"],
)
async def test_a_long_reply_that_fails_midway_is_resumed_not_repeated(
    running: Running,
    admin: Api,
    telegram: FakeTelegram,
    bot: FakeBot,
    code: int,
    description: str,
    permanent: bool,
) -> None:
    inbox = await create_telegram_inbox(admin, telegram)
    await post(telegram, bot, running, update(**private_message(CHAT, 1, text="hi")))
    (question,) = await inbound_messages(admin, inbox["id"])
    conversation_id = question["conversation_id"]
    text = "\n".join(f"بخش {n}: " + "کلمه " * 700 for n in range(1, 5))  # four messages
    worker = DeliveryWorker(running.ctx)
    bot.fail_next("sendMessage", code, description, after=2)  # the third part fails

    sent = await reply(admin, conversation_id, text)
    await drain(worker)
    shown = await message(admin, conversation_id, sent["id"])
    if permanent:
        assert shown["delivery_status"] == "failed"
        assert "too long" in str(shown["error"])
        assert len(shown["metadata"]["parts_sent"]) == 2  # what the agent's retry skips
        retried = await admin.post(f"/api/v1/messages/{sent['id']}/retry")
        assert retried.status_code == 200, retried.text
        await drain(worker)
        shown = await message(admin, conversation_id, sent["id"])

    assert shown["delivery_status"] == "sent"
    parts = [s.text for s in bot.sent]
    assert len(parts) == 4  # each part once
    assert "".join(p or "" for p in parts) == text
    assert [s.reply_to_message_id for s in bot.sent] == [1, None, None, None]
    assert shown["external_id"] == f"{CHAT}:{bot.sent[0].message_id}"
    assert "parts_sent" not in shown["metadata"]
    assert bot.calls.count("sendMessage") == 5  # four parts and the one failed call


async def test_a_blocked_customer_fails_with_a_clear_reason(
    running: Running, admin: Api, telegram: FakeTelegram, bot: FakeBot
) -> None:
    inbox = await create_telegram_inbox(admin, telegram)
    await post(telegram, bot, running, update(**private_message(CHAT, 1, text="hi")))
    (question,) = await inbound_messages(admin, inbox["id"])
    bot.blocked.add(str(CHAT))

    sent = await reply(admin, question["conversation_id"], "hello?")
    await drain(DeliveryWorker(running.ctx))

    failed = await message(admin, question["conversation_id"], sent["id"])
    assert failed["delivery_status"] == "failed"
    assert failed["attempts"] == 1
    assert str(failed["error"]).startswith("the customer blocked the bot")

    # The identity is marked unreachable: the next reply is refused, and nothing is called.
    conversation = (await admin.get(f"/api/v1/conversations/{question['conversation_id']}")).json()
    contact = (await admin.get(f"/api/v1/contacts/{conversation['contact']['id']}")).json()
    (identity,) = contact["identities"]
    assert identity["reachable"] is False
    assert identity["unreachable_reason"] == failed["error"]
    calls = len(bot.calls)
    refused = await refused_reply(admin, question["conversation_id"], "still there?")
    assert str(failed["error"]) in refused
    retried = await admin.post(f"/api/v1/messages/{sent['id']}/retry")
    assert retried.status_code == 422, retried.text  # nor is the failed one sent again
    assert retried.json()["code"] == "reply_not_possible"
    await drain(DeliveryWorker(running.ctx))
    assert len(bot.calls) == calls


async def test_blocking_and_unblocking_the_bot_switch_replies_off_and_on(
    running: Running, admin: Api, telegram: FakeTelegram, bot: FakeBot
) -> None:
    inbox = await create_telegram_inbox(admin, telegram)
    await post(telegram, bot, running, update(**private_message(CHAT, 1, text="hi")))
    (question,) = await inbound_messages(admin, inbox["id"])
    worker = DeliveryWorker(running.ctx)

    def membership(old: str, new: str) -> dict[str, Any]:
        return update(
            "my_chat_member",
            chat={"id": CHAT, "type": "private", "first_name": "سارا"},
            **{"from": person(CHAT)},
            date=1_779_437_000,
            old_chat_member={"status": old, "user": {"id": bot.id, "is_bot": True}},
            new_chat_member={"status": new, "user": {"id": bot.id, "is_bot": True}},
        )

    await post(telegram, bot, running, membership("member", "kicked"))
    refused = await refused_reply(admin, question["conversation_id"], "are you there?")
    assert "the customer blocked the bot" in refused
    await drain(worker)
    assert bot.sent == []  # not even tried

    await post(telegram, bot, running, membership("kicked", "member"))
    accepted = await reply(admin, question["conversation_id"], "welcome back")
    await drain(worker)
    assert (await message(admin, question["conversation_id"], accepted["id"]))[
        "delivery_status"
    ] == "sent"
    assert [s.text for s in bot.sent] == ["welcome back"]


# PTB's RetryAfter warns, as it is built, that its `retry_after` will become a timedelta.
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_flood_control_and_server_errors_are_retried(
    running: Running, admin: Api, telegram: FakeTelegram, bot: FakeBot
) -> None:
    inbox = await create_telegram_inbox(admin, telegram)
    await post(telegram, bot, running, update(**private_message(CHAT, 1, text="hi")))
    (question,) = await inbound_messages(admin, inbox["id"])
    worker = DeliveryWorker(running.ctx)
    bot.fail_next("sendMessage", 429, "Too Many Requests: retry after 30", retry_after=30)
    bot.fail_next("sendMessage", 502, "Bad Gateway")

    sent = await reply(admin, question["conversation_id"], "hello")
    await worker.run_once()
    async with running.ctx.db.write() as session:
        row = await session.get(Message, sent["id"])
        assert row is not None
        assert row.next_attempt_at is not None
        # Telegram's pause is honoured: the next try waits 30 s, not the usual backoff.
        assert row.next_attempt_at - utcnow() > timedelta(seconds=25)
        await session.execute(
            sql_update(Message).where(Message.id == sent["id"]).values(next_attempt_at=utcnow())
        )
    await drain(worker)

    assert (await message(admin, question["conversation_id"], sent["id"]))[
        "delivery_status"
    ] == "sent"
    async with running.ctx.db.read() as session:
        attempts = (
            await session.scalars(
                select(DeliveryAttempt.error)
                .where(DeliveryAttempt.message_id == sent["id"])
                .order_by(DeliveryAttempt.attempt)
            )
        ).all()
    assert len(attempts) == 3
    assert "slow down" in str(attempts[0])
    assert "Bad Gateway" in str(attempts[1])
    assert attempts[2] is None


async def test_disabling_deletes_the_webhook_and_enabling_sets_it_again(
    admin: Api, telegram: FakeTelegram, bot: FakeBot
) -> None:
    inbox = await create_telegram_inbox(admin, telegram)
    secret = bot.webhook_secret
    assert (await admin.delete(f"/api/v1/inboxes/{inbox['id']}")).status_code == 204
    assert bot.webhook_url == ""

    enabled = await admin.patch(f"/api/v1/inboxes/{inbox['id']}", json={"enabled": True})
    assert enabled.status_code == 200, enabled.text
    assert bot.webhook_url.endswith(f"/webhooks/telegram/{inbox['id']}")
    assert bot.webhook_secret == secret


async def test_another_bot_token_gets_another_webhook_secret(
    running: Running, admin: Api, telegram: FakeTelegram, bot: FakeBot
) -> None:
    """The old bot's webhook is deleted when the token changes; should that fail, what the
    old bot still delivers carries the old secret, and is refused."""
    inbox = await create_telegram_inbox(admin, telegram)
    old_secret = bot.webhook_secret
    other = telegram.add_bot("777:OTHERBOTTOKEN", username="other_bot")
    bot.fail_next("deleteWebhook", 500, "Internal Server Error")
    path = f"/api/v1/inboxes/{inbox['id']}"
    changed = await admin.patch(path, json={"config": {"bot_token": "777:OTHERBOTTOKEN"}})
    assert changed.status_code == 200, changed.text
    assert bot.webhook_url  # the old bot's webhook is still registered
    assert bot.webhook_secret == old_secret
    assert other.webhook_secret not in (None, old_secret)
    assert other.webhook_secret == await stored_secret(running, inbox["id"])

    stale = await telegram.deliver(bot, update(**private_message(CHAT, 1, text="old")), running.url)
    assert_error(stale, 403)
    await post(telegram, other, running, update(**private_message(CHAT, 2, text="new")))
    assert [m["body_text"] for m in await inbound_messages(admin, inbox["id"])] == ["new"]

    renamed = await admin.patch(path, json={"config": {"welcome_message": "سلام"}})
    assert renamed.status_code == 200, renamed.text
    assert other.webhook_secret == await stored_secret(running, inbox["id"])  # kept


async def test_group_messages_are_stored_and_answered_in_the_group_when_allowed(
    running: Running, admin: Api, telegram: FakeTelegram, bot: FakeBot
) -> None:
    group = {"id": -1002233445566, "title": "خریداران", "type": "supergroup"}
    in_group = {
        "message_id": 4410,
        "from": person(5550001112, "کاوه"),
        "chat": group,
        "date": 1_779_437_600,
        "text": "ارسال به شیراز چند روز است؟",
    }
    ignoring = await create_telegram_inbox(admin, telegram)
    await post(telegram, bot, running, update(**in_group))
    assert await inbound_messages(admin, ignoring["id"]) == []

    allowing = await create_telegram_inbox(admin, telegram, allow_groups=True)
    await post(telegram, bot, running, update(**in_group))
    (stored,) = await inbound_messages(admin, allowing["id"])
    assert stored["sender"]["name"] == "کاوه"
    await reply(admin, stored["conversation_id"], "دو روز")
    await DeliveryWorker(running.ctx).run_once()
    (answer,) = bot.sent
    assert answer.chat_id == str(group["id"])


async def test_a_new_bot_token_unregisters_the_old_bots_webhook(
    admin: Api, telegram: FakeTelegram, bot: FakeBot
) -> None:
    inbox = await create_telegram_inbox(admin, telegram)
    other = telegram.add_bot("987654:ANOTHERBOTTOKEN", username="other_bot")
    response = await admin.patch(
        f"/api/v1/inboxes/{inbox['id']}", json={"config": {"bot_token": "987654:ANOTHERBOTTOKEN"}}
    )
    assert response.status_code == 200, response.text
    assert bot.webhook_url == ""  # the old bot no longer delivers here
    assert other.webhook_url == inbox["webhook_url"]
