"""A Telegram inbox in polling mode: getUpdates in the worker, the offset stored with the
messages, so a restart neither loses nor repeats an update."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select, update

from app.db import utcnow
from app.inbound.models import PollerState
from tests.support.api import Api, assert_error
from tests.support.app import Running
from tests.support.fakes.telegram import FakeBot, FakeTelegram
from tests.support.telegram import (
    CHAT,
    create_telegram_inbox,
    inbound_messages,
    polling,
    private_message,
    wait_for_texts,
)


async def cursor(running: Running, inbox_id: int) -> str | None:
    async with running.ctx.db.read() as session:
        return await session.scalar(
            select(PollerState.cursor).where(PollerState.inbox_id == inbox_id)
        )


async def test_polling_survives_a_restart_without_loss_or_repeat(
    running: Running, admin: Api, telegram: FakeTelegram, bot: FakeBot
) -> None:
    bot.webhook_url = "https://old.example/hook"  # left over from an earlier setup
    inbox = await create_telegram_inbox(admin, telegram, mode="polling")
    assert bot.calls[:2] == ["getMe", "deleteWebhook"]
    assert bot.webhook_url == ""
    photo = bot.add_file(b"\xff\xd8 photo bytes", path="photos/p.jpg")

    bot.push({"message": private_message(CHAT, 1, text="اول")})
    second = bot.push(
        {"message": private_message(CHAT, 2, photo=[{"file_id": photo, "width": 9, "height": 9}])}
    )
    async with polling(running):
        await wait_for_texts(admin, inbox["id"], ["اول", ""])
    assert await cursor(running, inbox["id"]) == f"7012345678:{second['update_id'] + 1}"
    (_, with_photo) = await inbound_messages(admin, inbox["id"])
    (attachment,) = with_photo["attachments"]
    assert (await admin.get(attachment["url"])).content == b"\xff\xd8 photo bytes"

    # Updates that arrive while no worker runs wait at Telegram.
    bot.push({"message": private_message(CHAT, 3, text="سوم")})
    last = bot.push(
        {"edited_message": {**private_message(CHAT, 1, text="اول (ویرایش)"), "edit_date": 1}}
    )
    # The old worker died: its lease runs out and a new one takes over.
    async with running.ctx.db.write() as session:
        await session.execute(
            update(PollerState)
            .where(PollerState.inbox_id == inbox["id"])
            .values(lease_until=utcnow() - timedelta(seconds=1))
        )
    asked_before = len(bot.offsets)
    async with polling(running):
        await wait_for_texts(admin, inbox["id"], ["اول (ویرایش)", "", "سوم"])

    # The new worker went on from the stored offset: what was stored before the restart was
    # not asked for again, and everything since was stored once.
    assert bot.offsets[asked_before] == second["update_id"] + 1
    assert await cursor(running, inbox["id"]) == f"7012345678:{last['update_id'] + 1}"


async def test_update_ids_that_start_again_lower_are_followed(
    running: Running, admin: Api, telegram: FakeTelegram, bot: FakeBot
) -> None:
    """After a week without updates Telegram picks the next update_id at random. From a
    stored offset above it, the server answers from its queue's head without confirming
    anything: the next offset follows what it handed out, or the same updates came back
    on every poll and those behind the first hundred were never read."""
    inbox = await create_telegram_inbox(admin, telegram, mode="polling")
    bot.push({"message": private_message(CHAT, 1, text="before the quiet week")})
    async with polling(running):
        await wait_for_texts(admin, inbox["id"], ["before the quiet week"])

    bot.restart_update_ids(5_000)
    for n in range(3):
        bot.push({"message": private_message(CHAT, 10 + n, text=f"after {n}")})
    asked_before = len(bot.offsets)
    async with polling(running):
        await wait_for_texts(
            admin, inbox["id"], ["before the quiet week", *(f"after {n}" for n in range(3))]
        )
        await asyncio.sleep(0.5)  # polls go on: each one now waits for news
    # Confirmed to Telegram, not handed out again and again.
    assert bot.pending == []
    assert len(bot.offsets) - asked_before < 10
    assert await cursor(running, inbox["id"]) == f"7012345678:{bot.last_update_id + 1}"


async def test_a_polling_inbox_takes_no_webhook_calls(
    running: Running, admin: Api, telegram: FakeTelegram, bot: FakeBot
) -> None:
    inbox = await create_telegram_inbox(admin, telegram, mode="polling")
    response = await running.client.post(
        f"/webhooks/telegram/{inbox['id']}",
        json={"update_id": 1, "message": private_message(CHAT, 1, text="hi")},
    )
    assert_error(response, 404)


async def test_switching_to_webhook_mode_registers_the_webhook(
    admin: Api, telegram: FakeTelegram, bot: FakeBot
) -> None:
    inbox = await create_telegram_inbox(admin, telegram, mode="polling")
    switched = await admin.patch(
        f"/api/v1/inboxes/{inbox['id']}", json={"config": {"mode": "webhook"}}
    )
    assert switched.status_code == 200, switched.text
    assert bot.webhook_url.endswith(f"/webhooks/telegram/{inbox['id']}")
    assert bot.webhook_secret
