"""The console on narrow screens: a phone shows one column at a time (the views, the list,
or the open conversation, with a way back), and where the customer's panel does not fit
beside the conversation it opens over it on request."""

from __future__ import annotations

from playwright.async_api import Browser, expect

from tests.support.api import Api
from tests.support.app import Running
from tests.support.channels import Channel
from tests.support.console import ARTIFACTS, open_console, row, view_button


async def test_a_phone_shows_one_column_at_a_time(
    browser: Browser, console_server: Running, console_admin: Api, shop: Channel
) -> None:
    await shop.deliver("Checking from my phone", sender="ph-1", name="Pari Phone")
    pari = shop.shown_as("ph-1", "Pari Phone")
    context, page = await open_console(
        browser, console_server.url, console_admin.token, size=(390, 844)
    )
    try:
        await page.get_by_role("button", name="Views").click()
        await view_button(page, shop.inbox_name).click()
        listed = row(page, pari)
        await expect(listed).to_be_visible()
        await expect(page.get_by_role("navigation", name="Views")).to_be_hidden()

        await listed.click()
        thread = page.get_by_test_id("thread")
        await expect(thread).to_contain_text("Checking from my phone")
        await expect(listed).to_be_hidden()
        # Nothing runs off the side of the screen.
        assert await page.evaluate("document.documentElement.scrollWidth") <= 390
        await page.screenshot(path=str(ARTIFACTS / "console-phone.png"))

        await page.get_by_role("button", name="← List").click()
        await expect(listed).to_be_visible()
        await expect(thread).to_be_hidden()
    finally:
        await context.close()


async def test_the_customers_panel_opens_over_a_narrow_conversation(
    browser: Browser, console_server: Running, console_admin: Api, shop: Channel
) -> None:
    await shop.deliver("Is my parcel on its way?", sender="nw-1", name="Nima Narrow")
    context, page = await open_console(
        browser, console_server.url, console_admin.token, size=(1024, 768)
    )
    try:
        await view_button(page, shop.inbox_name).click()
        await row(page, shop.shown_as("nw-1", "Nima Narrow")).click()
        panel = page.get_by_test_id("contact-panel")
        await expect(page.get_by_test_id("thread")).to_contain_text("Is my parcel on its way?")
        await expect(panel).to_be_hidden()
        await page.get_by_test_id("conversation").get_by_role("button", name="Customer").click()
        await expect(panel).to_be_visible()
        await expect(panel).to_contain_text("Nima Narrow")
    finally:
        await context.close()
