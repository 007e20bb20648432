"""Finding a conversation: the search box above the list asks the server, and clearing it
brings back the view the agent came from."""

from __future__ import annotations

from playwright.async_api import Page, expect

from tests.support.channels import Channel
from tests.support.console import open_inbox_view, row


async def test_search_finds_a_conversation_by_its_words_and_clearing_it_goes_back(
    shop: Channel, console: Page
) -> None:
    await open_inbox_view(console, shop)
    await shop.deliver("My order 7741 never came", sender="find-1", name="Sara Search")
    await shop.deliver("Just saying hello", sender="find-2", name="Bob Search")
    sara, bob = shop.shown_as("find-1", "Sara Search"), shop.shown_as("find-2", "Bob Search")
    await expect(row(console, bob)).to_be_visible()

    box = console.get_by_role("searchbox", name="Search conversations (words, a name, a number…)")
    await box.fill("7741")
    await box.press("Enter")
    await expect(console.get_by_role("heading", name="Found for “7741”")).to_be_visible()
    await expect(row(console, sara)).to_contain_text("My order 7741 never came")
    await expect(row(console, bob)).to_have_count(0)

    await box.fill("")
    await expect(console.get_by_role("heading", name=shop.inbox_name)).to_be_visible()
    await expect(row(console, bob)).to_be_visible()
    await expect(row(console, sara)).to_be_visible()
