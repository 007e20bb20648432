"""The reports page's own console server: a fresh SQLite database with only the fixture's
conversations (the shared console server's totals would include every other test's)."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.api import Api, login
from tests.support.app import ADMIN_EMAIL, ADMIN_PASSWORD, Running, serve
from tests.support.console import console_settings
from tests.support.reports import Fixture, recount, seed


@pytest.fixture
async def reports_server(sqlite_template: Path, tmp_path: Path) -> AsyncIterator[Running]:
    shutil.copyfile(sqlite_template, tmp_path / "panjereh.db")
    settings = console_settings(f"sqlite:///{tmp_path / 'panjereh.db'}", tmp_path / "data")
    async with serve(settings) as live:
        yield live


@pytest.fixture
async def reports_admin(reports_server: Running) -> Api:
    return await login(reports_server.client, ADMIN_EMAIL, ADMIN_PASSWORD)


@pytest.fixture
async def seeded(reports_server: Running, reports_admin: Api) -> Fixture:
    """The hand-computed fixture, in Asia/Tehran, its messages counted."""
    built = await seed(reports_server.ctx, reports_admin)
    changed = await reports_admin.patch("/api/v1/account", json={"timezone": "Asia/Tehran"})
    assert changed.status_code == 200, changed.text
    await recount(reports_server.ctx)
    return built
