"""What a new team meets first: where the console opens, the setup forms, a callback's
conversation, the console in Persian (issue 13, sections 5 and 6)."""

from __future__ import annotations

import re
import socket
from typing import Any

from playwright.async_api import Browser, Page, Route, expect

from tests.support.api import Api, create_agent
from tests.support.app import Running
from tests.support.callbacks import ask, create_callback_inbox
from tests.support.channels import Channel
from tests.support.console import ARTIFACTS, open_console, row, view_button
from tests.support.fakes.twilio import running_twilio


async def test_the_console_opens_where_a_visitor_waits_then_on_the_last_view(
    shop: Channel, browser: Browser, console_server: Running, console_admin: Api
) -> None:
    newcomer = await create_agent(console_admin, f"newcomer{shop.inbox_id}@example.com")
    response = await console_admin.patch(
        f"/api/v1/inboxes/{shop.inbox_id}", json={"agent_ids": [newcomer.agent["id"]]}
    )
    assert response.status_code == 200, response.text
    await shop.deliver("Is anyone there?", sender="first-1", name="Farah First")

    context, page = await open_console(browser, console_server.url, newcomer.token)
    try:
        # Nothing is theirs yet: the console opens on Unassigned, where the visitor waits.
        await expect(page.locator(".list-head h2")).to_have_text("Unassigned")
        await expect(row(page, "Farah First")).to_contain_text("Is anyone there?")
        # Next time, the view they were on.
        await view_button(page, shop.inbox_name).click()
        await expect(page.locator(".list-head h2")).to_have_text(shop.inbox_name)
        await page.reload()
        await expect(page.locator(".list-head h2")).to_have_text(shop.inbox_name)
        await expect(row(page, "Farah First")).to_be_visible()

        # In Persian, the waiting time has a number one can see (the Persian zero is a dot).
        await page.get_by_label("Language").first.select_option("fa")
        waiting = row(page, "Farah First").locator(".waiting")
        await expect(waiting).to_have_text(re.compile("[۱-۹][۰-۹]* دقیقه"))
        # The j/k highlight is plain to see.
        await page.locator("body").press("j")
        outline = await page.locator(".conv-row").first.evaluate(
            "e => getComputedStyle(e).outlineStyle"
        )
        assert outline == "solid"
    finally:
        await context.close()


PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def select(page: Page, label: str) -> Any:
    """A select in the setup form (its label's text includes the options' text)."""
    return page.locator("form.stack label", has_text=re.compile(f"^{label}")).locator("select")


async def test_setup_forms_show_what_they_promise(console: Page, console_server: Running) -> None:
    public_url = console_server.ctx.settings.public_url.rstrip("/")
    await console.get_by_role("button", name="Settings").click()
    kind = select(console, "Channel")

    # A web chat: after creating it, the snippet to paste, filled in.
    await kind.select_option("webchat")
    await console.get_by_label("Name", exact=True).fill("Site chat")
    await console.get_by_role("button", name="Create").click()
    snippet = console.get_by_test_id("snippet")
    value = await snippet.input_value()
    assert re.fullmatch(
        rf'<script src="{re.escape(public_url)}/widget\.js" data-inbox="[\w-]+" async></script>',
        value,
    ), value
    await expect(console.locator(".steps")).not_to_contain_text("{public_token}")
    await expect(console.locator(".steps")).not_to_contain_text("{PUBLIC_URL}")

    # Telegram: webhook mode on a public address; polling on a loopback one (a newcomer's
    # `make run`), the mode that works there. An SMS number: the webhook URL the steps
    # promise, below them.
    await kind.select_option("telegram")
    await expect(select(console, "Mode")).to_have_value("webhook")

    async def on_loopback(route: Route) -> None:
        response = await route.fetch()
        body = await response.json()
        await route.fulfill(response=response, json=body | {"public_url": "http://127.0.0.1:8000"})

    await console.route("**/api/v1/bootstrap", on_loopback)
    await console.reload()
    await console.get_by_role("button", name="Settings").click()
    await kind.select_option("telegram")
    await expect(select(console, "Mode")).to_have_value("polling")
    async with running_twilio() as twilio:
        await kind.select_option("sms")
        await console.get_by_label("Name", exact=True).fill("Texts")
        await console.get_by_label("Account SID").fill(twilio.account_sid)
        await console.get_by_label("Auth token").fill(twilio.auth_token)
        await console.get_by_label("From number (E.164)").fill("+14155550143")
        await console.get_by_label("API URL (optional)").fill(twilio.url)
        await console.get_by_role("button", name="Create").click()
        await expect(console.get_by_test_id("webhook-url")).to_contain_text("/webhooks/twilio/")

    # A mailbox that cannot be reached: one plain sentence per server, gone on a change.
    await kind.select_option("email")
    await console.get_by_label("IMAP host").fill("127.0.0.1")
    imap_port = free_port()
    await console.get_by_label("IMAP port").fill(str(imap_port).translate(PERSIAN_DIGITS))
    await select(console, "IMAP security").select_option("none")
    await console.get_by_label("SMTP host").fill("127.0.0.1")
    await console.get_by_label("SMTP port").fill(str(free_port()))
    await select(console, "SMTP security").select_option("none")
    await console.get_by_label("From address").fill("support@example.com")
    await console.get_by_role("button", name="Test connection").click()
    result = console.get_by_test_id("test-result")
    await expect(result.locator("p")).to_have_count(2)
    await expect(result.locator("p").nth(0)).to_contain_text(
        f"The IMAP server 127.0.0.1:{imap_port} "
    )
    await expect(result.locator("p").nth(1)).to_contain_text("The SMTP server 127.0.0.1:")
    await expect(result).to_contain_text("refused the connection")
    await expect(result).not_to_contain_text("Error(")
    ARTIFACTS.mkdir(exist_ok=True)
    await console.screenshot(path=str(ARTIFACTS / "setup-email.png"))
    await kind.select_option("api")
    await expect(result).to_have_count(0)


async def test_a_callback_conversation_opens_on_the_note_with_its_outcome(
    console: Page, console_server: Running, console_admin: Api
) -> None:
    inbox = await create_callback_inbox(console_admin, timezone="Asia/Tehran")
    asked = await ask(console_server, inbox["public_token"], name="Kaveh Callback")
    assert asked.status_code == 201, asked.text
    await console.reload()
    await view_button(console, "Call me back").first.click()
    await row(console, "Kaveh Callback").click()

    await expect(console.get_by_role("textbox", name="Private note")).to_be_visible()
    # No reply is offered that the server would refuse (it has nothing to send text on),
    # not even by the keyboard shortcut.
    composer = console.locator(".composer-tabs")
    await expect(composer.get_by_role("button", name="Private note")).to_be_visible()
    await expect(composer.get_by_role("button", name="Reply")).to_have_count(0)
    await console.locator("body").press("r")
    await expect(console.get_by_role("textbox", name="Private note")).to_be_visible()
    actions = console.get_by_test_id("callback-actions")
    await expect(actions.get_by_role("button", name="Called")).to_be_visible()

    # In Persian: the summary, the placeholder's direction, the number's `+` at its start.
    await console.get_by_label("Language").first.select_option("fa")
    summary = console.get_by_test_id("message-inbound").first.locator(".body")
    await expect(summary).to_contain_text("درخواست تماس")
    await expect(summary).not_to_contain_text("Callback requested")
    assert await console.get_by_role("textbox", name="یادداشت خصوصی").get_attribute("dir") == "rtl"
    ARTIFACTS.mkdir(exist_ok=True)
    await console.screenshot(path=str(ARTIFACTS / "callback-conversation-fa.png"))

    # Its outcome, right there.
    await actions.get_by_role("button", name="تماس گرفته شد").click()
    await expect(actions).to_have_count(0)
    page = (await console_admin.get("/api/v1/callbacks?status=completed")).json()
    assert any(c["name"] == "Kaveh Callback" for c in page["items"])


async def test_server_errors_are_said_in_persian(console: Page, console_admin: Api) -> None:
    await console.get_by_label("Language").first.select_option("fa")
    await console.get_by_role("button", name="تنظیمات").click()
    await console.get_by_role("button", name="کارشناسان").click()
    form = console.locator("form.stack")
    await form.get_by_label("نام").fill("Twin")
    await form.get_by_label("ایمیل").fill(console_admin.agent["email"])
    await form.get_by_label("گذرواژه").fill("long enough password")
    await form.get_by_role("button", name="ساختن").click()
    await expect(form.locator(".error")).to_have_text("کارشناسی با این ایمیل از پیش هست.")


async def test_the_favicon_is_served(console_server: Running) -> None:
    response = await console_server.client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
