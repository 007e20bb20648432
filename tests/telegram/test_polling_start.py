"""Where a polling Telegram inbox starts: nothing sent to the bot after the inbox is saved is
skipped, however late the worker starts, and another bot never inherits an offset."""

from __future__ import annotations

from app.inbound.pollers import save_start
from tests.support.api import Api
from tests.support.app import Running
from tests.support.fakes.telegram import FakeBot, FakeTelegram
from tests.support.telegram import (
    CHAT,
    TOKEN,
    create_telegram_inbox,
    polling,
    private_message,
    wait_for_texts,
)

OTHER_TOKEN = "7098765432:AAG-another-panjereh-test-bot_98765"


async def test_updates_sent_before_the_worker_starts_are_stored_once(
    running: Running, admin: Api, telegram: FakeTelegram, bot: FakeBot
) -> None:
    inbox = await create_telegram_inbox(admin, telegram, mode="polling")
    bot.push({"message": private_message(CHAT, 1, text="before any worker")})
    async with polling(running):
        await wait_for_texts(admin, inbox["id"], ["before any worker"])
        bot.push({"message": private_message(CHAT, 2, text="with the worker")})
        await wait_for_texts(admin, inbox["id"], ["before any worker", "with the worker"])
    assert bot.offsets[0] is None  # it started where Telegram keeps what is unconfirmed


async def test_another_bot_starts_afresh_and_skips_nothing(
    running: Running, admin: Api, telegram: FakeTelegram, bot: FakeBot
) -> None:
    inbox = await create_telegram_inbox(admin, telegram, mode="polling")
    for n in range(3):
        bot.push({"message": private_message(CHAT, n + 1, text=f"old bot {n}")})
    async with polling(running):
        await wait_for_texts(admin, inbox["id"], ["old bot 0", "old bot 1", "old bot 2"])
    # The other bot's update ids are below the old bot's offset (ids are per bot).
    other = telegram.add_bot(OTHER_TOKEN, username="other_bot")
    response = await admin.patch(
        f"/api/v1/inboxes/{inbox['id']}", json={"config": {"bot_token": OTHER_TOKEN}}
    )
    assert response.status_code == 200, response.text
    other.push({"message": private_message(CHAT + 1, 1, text="new bot, first")})
    other.push({"message": private_message(CHAT + 1, 2, text="new bot, second")})
    async with polling(running):
        await wait_for_texts(
            admin,
            inbox["id"],
            ["old bot 0", "old bot 1", "old bot 2", "new bot, first", "new bot, second"],
        )
    assert other.offsets[0] is None


async def test_a_cursor_of_another_bot_is_never_used(
    running: Running, admin: Api, telegram: FakeTelegram, bot: FakeBot
) -> None:
    """As when a poll of the old bot stored its cursor just after the save."""
    inbox = await create_telegram_inbox(admin, telegram, mode="polling")
    other = telegram.add_bot(OTHER_TOKEN, username="other_bot")
    response = await admin.patch(
        f"/api/v1/inboxes/{inbox['id']}", json={"config": {"bot_token": OTHER_TOKEN}}
    )
    assert response.status_code == 200, response.text
    async with running.ctx.db.write() as session:
        await save_start(session, inbox["id"], f"{TOKEN.split(':')[0]}:700050")
    other.push({"message": private_message(CHAT, 1, text="not skipped")})
    async with polling(running):
        await wait_for_texts(admin, inbox["id"], ["not skipped"])
