"""The agent console in Debian's Chromium: how the browser is launched, the console's
settings, a signed-in browser context, and the locators the tests share."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Locator, Page, expect

from app.console import DIST
from tests.support.api import Api
from tests.support.app import make_settings
from tests.support.channels import Channel

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def require_console_build() -> None:
    if not (DIST / "index.html").is_file():
        pytest.fail("the console is not built: run `make frontend` (make test does)")


def console_settings(url: str, data_dir: Path, **overrides: Any) -> Any:
    return make_settings(
        url,
        data_dir,
        run_workers=True,
        delivery_poll_seconds=0.2,
        **overrides,
    )


async def open_console(
    browser: Browser,
    url: str,
    token: str | None,
    *,
    locale: str = "en-GB",
    size: tuple[int, int] = (1440, 900),
) -> tuple[BrowserContext, Page]:
    """A fresh browser context on the console; signed in already when a token is given."""
    width, height = size
    context = await browser.new_context(
        base_url=url,
        locale=locale,
        timezone_id="Asia/Tehran",
        viewport={"width": width, "height": height},
    )
    if token:
        await context.add_init_script(f"localStorage.setItem('panjereh.token', {token!r});")
    page = await context.new_page()
    await page.goto("/")
    return context, page


def view_button(page: Page, name: str, *, nav: str = "Views") -> Any:
    """A view in the sidebar; its name may follow a channel icon's label."""
    exact = re.compile(rf"(^|\s){re.escape(name)}$")
    return page.get_by_role("navigation", name=nav).get_by_role("button", name=exact)


async def open_inbox_view(page: Page, channel: Channel) -> None:
    await view_button(page, channel.inbox_name).click()
    await expect(page.get_by_role("heading", name=channel.inbox_name)).to_be_visible()


def row(page: Page, contact_name: str) -> Any:
    return page.get_by_test_id("conversation-list").locator(".conv-row", has_text=contact_name)


async def api_get(client: httpx.AsyncClient, admin: Api, path: str) -> Any:
    response = await admin.get(path)
    assert response.status_code == 200, response.text
    return response.json()


async def pick_jalali(
    within: Page | Locator, test_id: str, year: int, month: int, day: int
) -> None:
    """Pick a day in a Persian console's Jalali date field (JalaliDate.tsx)."""
    await within.get_by_test_id(f"{test_id}-year").select_option(str(year))
    await within.get_by_test_id(f"{test_id}-month").select_option(str(month))
    await within.get_by_test_id(f"{test_id}-day").select_option(str(day))


async def in_persian(page: Page, admin: Api, *buttons: str) -> None:
    """The signed-in agent's console switched to Persian (their setting, then a reload),
    opened at the page the named buttons lead to, in order (e.g. "تنظیمات", "وب‌هوک‌ها")."""
    assert (await admin.patch("/api/v1/auth/me", json={"language": "fa"})).is_success
    await page.reload()
    for name in buttons:
        await page.get_by_role("button", name=name).click()
