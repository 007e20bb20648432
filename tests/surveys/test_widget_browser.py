"""The widget's rating card in a real Chromium: the survey arrives live after the agent
resolves the chat (the embedded worker sends it), one tap answers, the card shows it, and
the agent's console shows the answer in the thread and the customer panel."""

from __future__ import annotations

from playwright.async_api import Browser, expect

from tests.support.api import Api
from tests.support.app import Running
from tests.support.console import api_get, open_console, row
from tests.support.servers import free_port
from tests.support.surveys import set_policy
from tests.support.widget import create_webchat_inbox, site_on, widget_snippet


async def test_one_tap_on_the_rating_card_and_the_agent_sees_it(
    browser: Browser, console_server: Running, console_admin: Api
) -> None:
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    chat = await create_webchat_inbox(console_admin, origin)
    await set_policy(console_admin, csat_inbox_ids=[chat["id"]], cooldown_days=0)
    snippet = widget_snippet(console_server.url, chat)
    with site_on(port, f"<!doctype html><html lang='fa'><body>{snippet}</body></html>"):
        context = await browser.new_context(locale="fa-IR")
        page = await context.new_page()
        try:
            await page.goto(origin)
            widget = page.locator("panjereh-widget")
            await widget.get_by_role("button", name="گفتگو با ما").click()
            prechat = widget.locator("form.prechat")
            await prechat.get_by_label("نام شما").fill("Sara Rate")
            await prechat.get_by_label("ایمیل").fill("sara@visitor.example")
            await prechat.locator("button[type=submit]").click()
            box = widget.get_by_role("textbox", name="پیامی بنویسید…")
            await box.fill("فرش موجود است؟")
            await box.press("Enter")
            await expect(widget.get_by_text("فرش موجود است؟")).to_be_visible()
            found = await api_get(
                console_admin.client, console_admin, f"/api/v1/conversations?inbox_id={chat['id']}"
            )
            (conversation,) = found["items"]
            path = f"/api/v1/conversations/{conversation['id']}"
            reply = await console_admin.post(f"{path}/messages", json={"body": "بله"})
            assert reply.status_code == 201
            resolved = await console_admin.patch(path, json={"status": "resolved"})
            assert resolved.status_code == 200

            card = widget.locator(".survey")
            await expect(card.get_by_role("button")).to_have_count(5, timeout=15_000)
            await card.get_by_role("button", name="امتیاز ۴").click()
            await expect(card).to_contain_text("✓ ۴")
            await expect(card.get_by_role("button")).to_have_count(0)
        finally:
            await context.close()

    surveys = await api_get(
        console_admin.client, console_admin, f"/api/v1/surveys?conversation_id={conversation['id']}"
    )
    assert [(s["kind"], s["score"]) for s in surveys] == [("csat", 4)]

    # Reopened, so it is in the agent's list: the rating is shown with the thread.
    await console_admin.patch(
        f"/api/v1/conversations/{conversation['id']}", json={"status": "open"}
    )
    context, console = await open_console(browser, console_server.url, console_admin.token)
    try:
        await row(console, "Sara Rate").click()
        answer = console.get_by_test_id("survey-answer")
        await expect(answer).to_contain_text("CSAT answer: 4 of 5")
        await expect(console.get_by_test_id("contact-surveys")).to_contain_text("4 / 5")
    finally:
        await context.close()
