"""Browser tests of the agent console: Debian's Chromium driven by Playwright against the app
served for real (uvicorn in this event loop, SQLite, the delivery worker running).

The server, the admin's API client and the browser start once per test session (per xdist
worker, fixtures of tests/conftest.py); each test gets a fresh browser context and its own
inbox, so tests do not see each other's conversations when they open their inbox's view."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from tests.support.api import Api
from tests.support.app import Running
from tests.support.channels import CHANNELS, REFUSING, Channel, api_channel
from tests.support.console import ARTIFACTS, open_console


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture
async def console(
    browser: Browser, console_server: Running, console_admin: Api, request: pytest.FixtureRequest
) -> AsyncIterator[Page]:
    """The console, signed in as the admin, in a fresh browser context. A failing test
    leaves a screenshot in test-artifacts/."""
    context, page = await open_console(browser, console_server.url, console_admin.token)
    messages: list[str] = []
    page.on("console", lambda m: messages.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: messages.append(f"pageerror: {e}"))
    await expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    yield page
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.name)
        await page.screenshot(path=str(ARTIFACTS / f"failed-{name}.png"))
        (ARTIFACTS / f"failed-{name}.log").write_text("\n".join(messages), encoding="utf-8")
    await context.close()


# ---- channels: "deliver a message on channel X" ------------------------------------------


@pytest.fixture(params=sorted(CHANNELS))
async def channel(
    request: pytest.FixtureRequest, console_admin: Api, console_server: Running
) -> AsyncIterator[Channel]:
    """Each channel in turn (tests that are about channels take this)."""
    async with CHANNELS[request.param](console_admin, console_server.url) as built:
        yield built


@pytest.fixture(params=REFUSING)
async def refusing_channel(
    request: pytest.FixtureRequest, console_admin: Api, console_server: Running
) -> AsyncIterator[Channel]:
    """Each channel whose provider can refuse a reply."""
    async with CHANNELS[request.param](console_admin, console_server.url) as built:
        yield built


@pytest.fixture
async def shop(console_admin: Api, console_server: Running) -> AsyncIterator[Channel]:
    """An `api` inbox, for tests that are not about a channel."""
    async with api_channel(console_admin, console_server.url) as built:
        yield built
