"""Telegram: the survey is a message with an inline keyboard; a press is a callback_query,
always answered (answerCallbackQuery), its keyboard edited to show the choice. Driven
through python-telegram-bot against the fake Bot API."""

from __future__ import annotations

from typing import Any

from app.outbound.worker import DeliveryWorker
from tests.support.api import Api
from tests.support.app import Running
from tests.support.delivery import drain
from tests.support.fakes.telegram import FakeBot, FakeTelegram, Sent
from tests.support.surveys import answer_and_resolve, follow, set_policy, surveys
from tests.support.telegram import (
    CHAT,
    TOKEN,
    create_telegram_inbox,
    inbound_messages,
    person,
    private_message,
    update,
)


async def press(
    telegram: FakeTelegram, bot: FakeBot, running: Running, sent: Sent, data: str, press_id: str
) -> None:
    query: dict[str, Any] = {
        "id": press_id,
        "from": person(CHAT),
        "message": {
            "message_id": sent.message_id,
            "from": {"id": bot.id, "is_bot": True, "first_name": "Panjereh Test"},
            "chat": {"id": CHAT, "type": "private", "first_name": "سارا"},
            "date": 1_779_437_000,
            "text": sent.text,
        },
        "chat_instance": "-4242",
        "data": data,
    }
    response = await telegram.deliver(bot, {"callback_query": query}, running.url)
    assert response.status_code == 200, response.text


async def test_nps_by_inline_button_then_why(
    running: Running, admin: Api, worker: DeliveryWorker, telegram: FakeTelegram
) -> None:
    bot = telegram.bots[TOKEN]
    inbox = await create_telegram_inbox(admin, telegram)
    assert "callback_query" in (bot.allowed_updates or [])
    await set_policy(admin, nps_enabled=True, cooldown_days=0, language="fa")
    await follow(running)
    message = private_message(CHAT, 1, text="سفارشم کجاست؟")
    assert (await telegram.deliver(bot, update(**message), running.url)).status_code == 200
    (stored,) = await inbound_messages(admin, inbox["id"])
    conversation_id = stored["conversation_id"]
    await answer_and_resolve(admin, conversation_id, "فردا می‌رسد")
    await follow(running)
    await drain(worker)

    # (The reply and the survey go out in one delivery round, in either order.)
    (asked,) = [s for s in bot.sent if s.keyboard]
    assert "پیشنهاد" in (asked.text or "")
    (survey,) = await surveys(admin, conversation_id=conversation_id)
    sid = survey["id"]
    assert [[label for label, _ in row] for row in asked.keyboard] == [
        ["0", "1", "2", "3", "4", "5"],
        ["6", "7", "8", "9", "10"],
    ]
    assert asked.keyboard[1][3] == ("9", f"sv:{sid}:9")
    assert all(len(data.encode()) <= 64 for row in asked.keyboard for _, data in row)

    await press(telegram, bot, running, asked, f"sv:{sid}:9", "press-1")
    (survey,) = await surveys(admin, conversation_id=conversation_id)
    assert survey["score"] == 9
    assert bot.press_answers[-1].callback_query_id == "press-1"
    assert "سپاس" in (bot.press_answers[-1].text or "")
    assert asked.keyboard == [[("✓ 9", f"sv:{sid}:9")]]
    # A second press (another button, before the keyboard changed on their screen) is
    # answered too, and changes nothing.
    await press(telegram, bot, running, asked, f"sv:{sid}:2", "press-2")
    assert [a.callback_query_id for a in bot.press_answers] == ["press-1", "press-2"]
    assert (await surveys(admin, conversation_id=conversation_id))[0]["score"] == 9

    # The "why?" follow-up, and the next message is the comment, not a message.
    await drain(worker)
    assert "دلیل" in (bot.sent[-1].text or "")
    reason = private_message(CHAT, 2, text="پاسخ سریع بود")
    assert (await telegram.deliver(bot, update(**reason), running.url)).status_code == 200
    (survey,) = await surveys(admin, conversation_id=conversation_id)
    assert survey["comment"] == "پاسخ سریع بود"
    assert [m["body_text"] for m in await inbound_messages(admin, inbox["id"])] == ["سفارشم کجاست؟"]


async def test_presses_that_are_not_a_survey_of_this_chat_are_answered_and_ignored(
    running: Running, admin: Api, worker: DeliveryWorker, telegram: FakeTelegram
) -> None:
    bot = telegram.bots[TOKEN]
    inbox = await create_telegram_inbox(admin, telegram)
    await set_policy(admin, csat_inbox_ids=[inbox["id"]], cooldown_days=0)
    await follow(running)
    message = private_message(CHAT + 1, 1, text="hello", **{"from": person(CHAT + 1)})
    await telegram.deliver(bot, update(**message), running.url)
    (stored,) = await inbound_messages(admin, inbox["id"])
    await answer_and_resolve(admin, stored["conversation_id"])
    await follow(running)
    await drain(worker)
    (asked,) = [s for s in bot.sent if s.keyboard]
    (survey,) = await surveys(admin, conversation_id=stored["conversation_id"])
    assert [label for label, _ in asked.keyboard[0]] == ["1", "2", "3", "4", "5"]

    # Another chat (CHAT) presses with this survey's data, and someone's old button.
    await press(telegram, bot, running, asked, f"sv:{survey['id']}:1", "forged")
    await press(telegram, bot, running, asked, "menu:yes", "other")
    # Forged data: an id past any database integer, digits that are not ASCII.
    await press(telegram, bot, running, asked, "sv:99999999999999999999:1", "too-large")
    await press(telegram, bot, running, asked, f"sv:{survey['id']}:²", "not-ascii")
    assert [a.callback_query_id for a in bot.press_answers] == [
        "forged",
        "other",
        "too-large",
        "not-ascii",
    ]
    assert (await surveys(admin, conversation_id=stored["conversation_id"]))[0]["score"] is None
    assert [label for label, _ in asked.keyboard[0]] == ["1", "2", "3", "4", "5"]
