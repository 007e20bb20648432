"""A contact's conversations, in the contact panel, are named by what the customer asked; a
conflict the server answers is said in the agent's language."""

from __future__ import annotations

from playwright.async_api import Page, Route, expect

from tests.support.api import Api
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


async def test_a_lost_race_is_said_in_persian(
    shop: Channel, console: Page, console_admin: Api
) -> None:
    await shop.deliver("Anyone?", sender="race-1", name="Roya Race")
    await open_inbox_view(console, shop)
    await row(console, "Roya Race").click()
    await console.get_by_label("Language").first.select_option("fa")

    # Another agent took it a moment before: the server's 409, in its English words.
    async def taken(route: Route) -> None:
        if route.request.method != "PATCH":
            await route.fallback()
            return
        await route.fulfill(
            status=409,
            json={"detail": "Bita has already taken this conversation", "code": "already_assigned"},
        )

    await console.route("**/api/v1/conversations/*", taken)
    await console.locator("#assign-select").select_option(f"agent:{console_admin.agent['id']}")
    alert = console.get_by_test_id("conversation").get_by_role("alert")
    await expect(alert).to_have_text("کارشناس دیگری این گفتگو را پیش‌تر برداشته است.")
