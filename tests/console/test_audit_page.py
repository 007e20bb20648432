"""The audit log in the browser: in Persian its days are picked in the Jalali calendar, and
each day is sent as the instant it starts where the administrator is."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from playwright.async_api import Page, Request, expect

from tests.support.api import Api
from tests.support.console import in_persian, pick_jalali


def _asks_for(request: Request, **query: str) -> bool:
    asked = dict(parse_qsl(urlsplit(request.url).query))
    return "/api/v1/audit" in request.url and all(asked.get(k) == v for k, v in query.items())


async def test_a_persian_admin_filters_the_audit_log_by_jalali_days(
    console: Page, console_admin: Api
) -> None:
    await in_persian(console, console_admin, "تنظیمات", "گزارش تغییرات")
    # 1 Azar 1405 is 22 November 2026; the browser is in Tehran (UTC+3:30).
    since = "2026-11-21T20:30:00.000Z"
    async with console.expect_request(lambda r: _asks_for(r, since=since)):
        await pick_jalali(console, "audit-since", 1405, 9, 1)
    # The last day counts whole: up to the start of the next (11 Azar, 2 December).
    async with console.expect_request(
        lambda r: _asks_for(r, since=since, until="2026-12-01T20:30:00.000Z")
    ):
        await pick_jalali(console, "audit-until", 1405, 9, 10)
    await expect(console.locator("main.admin input[type=date]")).to_have_count(0)
