"""The Reports page in the browser: a period the server refuses is said in the agent's
language, with nothing of the server's English."""

from __future__ import annotations

from playwright.async_api import Page, expect

from tests.support.api import Api


async def test_a_backwards_period_is_refused_in_persian(console: Page, console_admin: Api) -> None:
    assert (await console_admin.patch("/api/v1/auth/me", json={"language": "fa"})).is_success
    await console.reload()
    await console.get_by_role("button", name="گزارش‌ها").click()
    await console.get_by_label("از", exact=True).fill("2026-12-10")
    await console.get_by_label("تا", exact=True).fill("2026-12-01")  # before it starts
    alert = console.get_by_test_id("reports").get_by_role("alert")
    await expect(alert).to_have_text("بازه باید پیش از پایانش آغاز شود و از دو سال بیشتر نباشد.")
