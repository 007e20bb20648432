"""A fake Bot API server per test, inboxes pointed at it, and small update builders."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.api import login
from tests.support.app import ADMIN_EMAIL, ADMIN_PASSWORD, make_settings, serve
from tests.support.fakes.telegram import FakeBot, FakeTelegram, fake_telegram
from tests.support.telegram import TOKEN, Live


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with fake_telegram(TOKEN) as fake:
        yield fake


@pytest.fixture
def bot(telegram: FakeTelegram) -> FakeBot:
    return telegram.bots[TOKEN]


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
