"""The reports page in Chromium, in English and in Persian, on the hand-computed fixture
(tests/support/reports.py): the figures the API gives, Persian digits and Jalali dates in
Persian, and a CSV download holding the API's CSV."""

from __future__ import annotations

import asyncio
from pathlib import Path

from playwright.async_api import Browser, Page, expect

from tests.support.api import Api
from tests.support.app import Running
from tests.support.console import ARTIFACTS, open_console, pick_jalali
from tests.support.reports import Fixture


async def open_reports(page: Page, tab: str, *, jalali: bool = False) -> None:
    """The Reports page for 30 November – 1 December 2026 (9–10 Azar 1405, picked in the
    Jalali calendar in Persian)."""
    await page.get_by_role("navigation").get_by_role("button", name=tab).click()
    if jalali:
        await pick_jalali(page, "report-since", 1405, 9, 9)
        await pick_jalali(page, "report-until", 1405, 9, 10)
        return
    await page.locator('input[type="date"]').first.fill("2026-11-30")
    await page.locator('input[type="date"]').nth(1).fill("2026-12-01")


async def test_the_reports_page_in_english(
    browser: Browser, reports_server: Running, reports_admin: Api, seeded: Fixture
) -> None:
    context, page = await open_console(browser, reports_server.url, reports_admin.token)
    try:
        await open_reports(page, "Reports")
        period = page.get_by_test_id("report-period")
        await expect(period).to_have_text(
            "30 November 2026 – 1 December 2026 · figures in Asia/Tehran"
        )
        await expect(page.get_by_test_id("total-conversations")).to_contain_text("4")
        # First responses 600, 120, 1800 s: the median is ten minutes.
        await expect(page.get_by_test_id("first-response-median")).to_contain_text("10m")
        agents = page.get_by_test_id("agents-table")
        await expect(agents.get_by_role("row", name=seeded.agent_name)).to_contain_text("2m")
        # The surveys of the fixture (tests/reports/test_satisfaction.py): NPS (2 − 1)/3,
        # CSAT 5, 2, 4 of 4 sent.
        await expect(page.get_by_test_id("nps")).to_contain_text("+33")
        await expect(page.get_by_test_id("nps-split")).to_contain_text("2 · 0 · 1")
        await expect(page.get_by_test_id("csat-average")).to_contain_text("3.67")
        await expect(page.get_by_test_id("csat-satisfied")).to_contain_text("67%")
        await expect(page.get_by_test_id("csat-rate")).to_contain_text("75%")
        by_agent = page.get_by_test_id("satisfaction-agents")
        await expect(by_agent.get_by_role("row", name=seeded.agent_name)).to_contain_text("3.50")
        await expect(page.get_by_test_id("satisfaction-comments").locator("li")).to_have_count(3)
        await expect(page.get_by_test_id("report-satisfaction").locator("canvas")).to_be_visible()
        heatmap = page.get_by_test_id("heatmap")
        await expect(heatmap.locator('td[data-value="1"]')).to_have_count(4)
        await expect(page.get_by_test_id("report-volume").locator("canvas")).to_be_visible()
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "reports-en.png"), full_page=True)
        await page.get_by_test_id("report-satisfaction").screenshot(
            path=str(ARTIFACTS / "reports-satisfaction-en.png")
        )

        async with page.expect_download() as started:
            await (
                page.get_by_test_id("report-speed")
                .get_by_role("button", name="Download CSV")
                .click()
            )
        download = await started.value
        assert download.suggested_filename == "speed_2026-11-30_2026-12-01.csv"
        api_csv = await reports_admin.get(
            "/api/v1/reports/speed",
            params={"since": "2026-11-30", "until": "2026-12-01", "format": "csv"},
        )
        saved = await asyncio.to_thread(Path(await download.path()).read_bytes)
        assert saved == api_csv.content  # byte for byte, CRLF line ends and all
    finally:
        await context.close()


async def test_the_reports_page_in_persian(
    browser: Browser, reports_server: Running, reports_admin: Api, seeded: Fixture
) -> None:
    switched = await reports_admin.patch("/api/v1/auth/me", json={"language": "fa"})
    assert switched.status_code == 200, switched.text
    context, page = await open_console(
        browser, reports_server.url, reports_admin.token, locale="fa-IR"
    )
    try:
        await page.evaluate("localStorage.setItem('panjereh.lang', 'fa')")
        await page.reload()
        await open_reports(page, "گزارش‌ها", jalali=True)
        await expect(page.locator("html")).to_have_attribute("dir", "rtl")
        period = page.get_by_test_id("report-period")
        await expect(period).to_contain_text("۹ آذر ۱۴۰۵ – ۱۰ آذر ۱۴۰۵")
        await expect(page.get_by_test_id("total-conversations")).to_contain_text("۴")
        await expect(page.get_by_test_id("first-response-median")).to_contain_text("۱۰ دقیقه")
        await expect(page.get_by_test_id("nps")).to_contain_text("۳۳")
        await expect(page.get_by_test_id("csat-average")).to_contain_text("۳٫۶۷")
        await expect(page.get_by_test_id("csat-rate")).to_contain_text("۷۵")
        await expect(page.get_by_test_id("report-satisfaction")).to_contain_text("مروجان")
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "reports-fa.png"), full_page=True)
        await page.get_by_test_id("report-satisfaction").screenshot(
            path=str(ARTIFACTS / "reports-satisfaction-fa.png")
        )
    finally:
        await context.close()
