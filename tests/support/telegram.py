"""A Telegram inbox on the local Bot API fake, as the tests drive it: the inbox through the
API, updates as Telegram sends them, and the customer messages the inbox stored."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from app.inbound.pollers import PollerSupervisor
from tests.support.api import Api
from tests.support.app import Running
from tests.support.fakes.telegram import FakeBot, FakeTelegram

TOKEN = "7012345678:AAF-panjereh-test-token_0123456789"


async def create_telegram_inbox(
    admin: Api, telegram: FakeTelegram, **config: Any
) -> dict[str, Any]:
    response = await admin.post(
        "/api/v1/inboxes",
        json={
            "kind": "telegram",
            "name": "Support bot",
            "config": {"bot_token": TOKEN, "api_base_url": telegram.url, **config},
        },
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


@dataclass
class Live:
    running: Running
    admin: Api
    telegram: FakeTelegram
    bot: FakeBot

    def add_files(self, update: Any) -> None:
        """Every file the update points at, downloadable from the fake."""
        for file_id in file_ids(update):
            self.bot.add_file(f"bytes of {file_id}".encode(), file_id=file_id, path=f"f/{file_id}")


def file_ids(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "file_id" and isinstance(item, str):
                yield item
            else:
                yield from file_ids(item)
    elif isinstance(value, list):
        for item in value:
            yield from file_ids(item)


def person(user_id: int, first_name: str = "سارا", **extra: Any) -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": first_name, **extra}


def private_message(
    chat_id: int, message_id: int, *, text: str | None = None, **fields: Any
) -> dict[str, Any]:
    """A message from user `chat_id` in their private chat with the bot."""
    sender = fields.pop("from", person(chat_id))
    return {
        "message_id": message_id,
        "from": sender,
        "chat": {"id": chat_id, "type": "private", "first_name": sender["first_name"]},
        "date": 1_779_436_800 + message_id,
        **({"text": text} if text is not None else {}),
        **fields,
    }


def update(kind: str = "message", **message: Any) -> dict[str, Any]:
    return {kind: message}


async def inbound_messages(admin: Api, inbox_id: int) -> list[dict[str, Any]]:
    """Every customer message stored in the inbox, oldest first."""
    listed = await admin.get("/api/v1/conversations", params={"inbox_id": inbox_id, "limit": 100})
    assert listed.status_code == 200, listed.text
    found: list[dict[str, Any]] = []
    for conversation in listed.json()["items"]:
        page = await admin.get(f"/api/v1/conversations/{conversation['id']}/messages")
        assert page.status_code == 200, page.text
        found.extend(m for m in page.json()["items"] if m["direction"] == "inbound")
    return sorted(found, key=lambda m: m["id"])


CHAT = 6120045577


@asynccontextmanager
async def polling(running: Running) -> AsyncIterator[PollerSupervisor]:
    """The worker's poller supervisor, running until the block ends."""
    supervisor = PollerSupervisor(running.ctx, scan_seconds=0.05)
    stop = asyncio.Event()
    task = asyncio.create_task(supervisor.run(stop))
    try:
        yield supervisor
    finally:
        stop.set()
        await task


async def wait_for_texts(admin: Api, inbox_id: int, expected: list[str]) -> None:
    """Until the inbox's messages read `expected` (polling is asynchronous)."""
    texts: list[str] = []
    for _ in range(500):
        texts = [m["body_text"] for m in await inbound_messages(admin, inbox_id)]
        if texts == expected:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"stored {texts}, expected {expected}")
