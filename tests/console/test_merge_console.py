"""Merging in the console: the "possible duplicate" chip merges in one click, an undo puts
things back, the composer picks the channel a reply goes out on, and messages split off."""

from __future__ import annotations

from playwright.async_api import Browser, Page, expect

from tests.support.api import Api
from tests.support.app import Running
from tests.support.channels import api_channel, telegram_channel
from tests.support.console import open_console, open_inbox_view, row
from tests.support.mail import eventually
from tests.support.merge import only_conversation_in, same_contact


async def test_merge_from_the_duplicate_chip_undo_reply_on_the_other_channel_and_split(
    console: Page, console_admin: Api, console_server: Running, browser: Browser
) -> None:
    async with (
        api_channel(console_admin, console_server.url) as shop,
        telegram_channel(console_admin, console_server.url) as bot,
    ):
        await shop.deliver("Order 77 is late", sender="dup-1", name="Dana Dup")
        await bot.deliver("Hi, about order 77", sender="dup-1", name="Dana Dup")
        keep = await only_conversation_in(console_admin, shop.inbox_id)
        other = await only_conversation_in(console_admin, bot.inbox_id)
        await same_contact(console_admin, keep, other)

        # A colleague has the Telegram conversation open in another console.
        colleague, other_page = await open_console(browser, console_server.url, console_admin.token)
        await other_page.goto(f"/#/c/{other['id']}")
        await expect(other_page.get_by_test_id("thread")).to_contain_text("Hi, about order 77")

        await console.reload()  # the sidebar lists the inboxes made after it loaded
        await open_inbox_view(console, shop)
        await row(console, "Dana Dup").click()
        thread = console.get_by_test_id("thread")
        await expect(thread).to_contain_text("Order 77 is late")
        chip = console.get_by_test_id("duplicate-chip")
        await expect(chip).to_contain_text("Possible duplicate")
        await chip.get_by_role("button", name="Merge into this one").click()
        await expect(thread).to_contain_text("Hi, about order 77")
        await expect(chip).to_have_count(0)
        # The colleague's console shows where it went, without a reload; no reply box.
        await expect(other_page.get_by_test_id("merge-bar")).to_contain_text(
            f"Merged into conversation #{keep['id']}."
        )
        await expect(other_page.get_by_test_id("thread")).not_to_contain_text("Hi, about order 77")
        await expect(other_page.get_by_role("button", name="Send")).to_have_count(0)
        await colleague.close()

        await console.get_by_role("button", name="Undo merge").click()
        await expect(thread).not_to_contain_text("Hi, about order 77")
        await chip.get_by_role("button", name="Merge into this one").click()
        await expect(thread).to_contain_text("Hi, about order 77")

        # The reply goes out on Telegram, chosen in the composer.
        await console.get_by_role("combobox", name="Reply on").select_option(str(other["id"]))
        box = console.get_by_role("textbox", name="Reply by API to dup-1")
        await box.fill("Your order ships today")
        await box.press("Control+Enter")

        async def sent_on_telegram() -> bool | None:
            return "Your order ships today" in await bot.received() or None

        await eventually(sent_on_telegram, timeout=15)
        assert "Your order ships today" not in await shop.received()

        # Split the Telegram message off again: it opens as a conversation of its own.
        await console.get_by_role("button", name="Split messages…").click()
        split = console.get_by_role("form", name="Split messages…")
        await split.get_by_role("checkbox", name="Hi, about order 77").check()
        await split.get_by_role("button", name="Split off 1 message(s)").click()
        await expect(console.get_by_test_id("merge-bar")).to_contain_text(
            f"Split off conversation #{keep['id']}"
        )
        await expect(thread).to_contain_text("Hi, about order 77")
        await expect(thread).not_to_contain_text("Order 77 is late")
