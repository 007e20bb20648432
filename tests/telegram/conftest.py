"""A fake Bot API server per test, inboxes pointed at it, and small update builders."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Api, Running, login, make_settings, serve
from tests.fakes.telegram import FakeBot, FakeTelegram, fake_telegram

TOKEN = "7012345678:AAF-panjereh-test-token_0123456789"


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with fake_telegram(TOKEN) as fake:
        yield fake


@pytest.fixture
def bot(telegram: FakeTelegram) -> FakeBot:
    return telegram.bots[TOKEN]


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


@pytest.fixture(scope="module")
async def live(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Live]:
    """One server for a whole module of updates (parsing does not depend on the database):
    each test creates an inbox of its own."""
    tmp = tmp_path_factory.mktemp("telegram")
    shutil.copyfile(sqlite_template, tmp / "panjereh.db")
    settings = make_settings(f"sqlite:///{tmp / 'panjereh.db'}", tmp / "data")
    async with fake_telegram(TOKEN) as telegram, serve(settings) as running:
        admin = await login(running.client, ADMIN_EMAIL, ADMIN_PASSWORD)
        yield Live(running, admin, telegram, telegram.bots[TOKEN])


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
