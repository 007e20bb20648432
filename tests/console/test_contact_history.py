"""A contact's conversations, in the contact panel, are named by what the customer asked."""

from __future__ import annotations

from playwright.async_api import Page, expect

from tests.support.channels import Channel
from tests.support.console import open_inbox_view, row


async def test_an_api_conversation_keeps_the_customers_words_as_its_title(
    shop: Channel, console: Page
) -> None:
    await shop.deliver("Where is my parcel?", sender="hist-1", name="Hana History")
    await open_inbox_view(console, shop)
    await row(console, "Hana History").click()
    await console.get_by_role("textbox", name="Reply by").fill("It ships today.")
    await console.get_by_role("button", name="Send", exact=True).click()
    await expect(console.get_by_test_id("thread")).to_contain_text("It ships today.")

    await console.reload()
    await open_inbox_view(console, shop)
    await row(console, "Hana History").click()
    history = console.locator(".history li")
    await expect(history).to_have_count(1)
    await expect(history).to_contain_text("Where is my parcel?")
    await expect(history).not_to_contain_text("It ships today.")
