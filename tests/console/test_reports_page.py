"""The Reports page in the browser: in Persian the period is picked in the Jalali calendar
(and sent to the server as the Gregorian days it is), and a period the server refuses is
said in the agent's language, with nothing of the server's English."""

from __future__ import annotations

from playwright.async_api import Page, expect

from tests.support.api import Api
from tests.support.console import in_persian, pick_jalali


async def test_a_persian_agent_picks_the_period_in_the_jalali_calendar(
    console: Page, console_admin: Api
) -> None:
    await in_persian(console, console_admin, "گزارش‌ها")
    await pick_jalali(console, "report-since", 1405, 9, 1)  # 1 Azar 1405: 22 November 2026
    async with console.expect_request(
        lambda r: (
            "/api/v1/reports/" in r.url
            and "since=2026-11-22" in r.url
            and "until=2026-12-01" in r.url
        )
    ):
        await pick_jalali(console, "report-until", 1405, 9, 10)  # 10 Azar 1405: 1 December 2026
    period = console.get_by_test_id("report-period")
    await expect(period).to_contain_text("۱ آذر ۱۴۰۵")
    await expect(period).to_contain_text("۱۰ آذر ۱۴۰۵")
    await expect(console.get_by_test_id("reports").locator("input[type=date]")).to_have_count(0)


async def test_a_backwards_period_is_refused_in_persian(console: Page, console_admin: Api) -> None:
    await in_persian(console, console_admin, "گزارش‌ها")
    await pick_jalali(console, "report-since", 1405, 9, 19)  # 10 December 2026
    await pick_jalali(console, "report-until", 1405, 9, 10)  # 1 December: before it starts
    alert = console.get_by_test_id("reports").get_by_role("alert")
    await expect(alert).to_have_text("بازه باید پیش از پایانش آغاز شود و از دو سال بیشتر نباشد.")
