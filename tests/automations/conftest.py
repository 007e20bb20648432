"""Fixtures for the automations' tests: each channel on the shared console server (SQLite,
every background worker running, the rules' consumer and step worker included), and the
console signed in as its administrator."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page, expect

from tests.support.api import Api
from tests.support.app import Running
from tests.support.channels import CHANNELS, Channel
from tests.support.console import open_console


@pytest.fixture(params=sorted(CHANNELS))
async def channel(
    request: pytest.FixtureRequest, console_admin: Api, console_server: Running
) -> AsyncIterator[Channel]:
    async with CHANNELS[request.param](console_admin, console_server.url) as built:
        yield built


@pytest.fixture
async def console(
    browser: Browser, console_server: Running, console_admin: Api
) -> AsyncIterator[Page]:
    reset = await console_admin.patch("/api/v1/auth/me", json={"language": "en"})
    assert reset.status_code == 200, reset.text
    context, page = await open_console(browser, console_server.url, console_admin.token)
    await expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    yield page
    await context.close()
