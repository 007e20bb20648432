"""The widget in a real Chromium, embedded in a page served from another origin (its own
HTTP server on another port) with hostile global CSS and JavaScript, against the app served
for real with the delivery worker running."""

from __future__ import annotations

import gzip
from typing import Any

from playwright.async_api import Browser, Locator, expect

from app.widget.assets import WIDGET_JS
from tests.support.api import Api
from tests.support.app import Running
from tests.support.callbacks import create_callback_inbox
from tests.support.console import api_get
from tests.support.servers import free_port
from tests.support.widget import create_webchat_inbox, site_on, widget_snippet

BUDGET = 40 * 1024

# A page that tries its best to break whatever it embeds.
HOSTILE = """
<style>
  * { color: red !important; font-size: 4px !important; display: inline !important;
      visibility: hidden !important; }
  html, body { visibility: visible !important; }
  panjereh-widget { display: none !important; opacity: 0 !important; }
  button, input, textarea { display: none !important; }
</style>
<script>
  // After the widget has loaded: break the globals it would need later.
  addEventListener("load", () => {
    window.fetch = () => Promise.reject(new Error("hostile page"));
    window.WebSocket = function () { throw new Error("hostile page"); };
    document.querySelectorAll("button").forEach((b) => b.remove());
  });
</script>"""


async def chat_as(
    widget: Locator, admin: Api, chat: dict[str, Any], name: str, text: str
) -> dict[str, Any]:
    """Start a chat in the open widget as visitor `name` (no agent is online, so with an
    e-mail too) and say `text`: the conversation as agents see it."""
    prechat = widget.locator("form.prechat")
    await prechat.get_by_label("Your name").fill(name)
    await prechat.get_by_label("Email").fill(f"{name.split()[0].lower()}@visitor.example")
    await widget.get_by_role("button", name="Start chatting").click()
    box = widget.get_by_role("textbox", name="Write a message…")
    await box.fill(text)
    await box.press("Enter")
    await expect(widget.get_by_text(text)).to_be_visible()
    found = await api_get(admin.client, admin, f"/api/v1/conversations?inbox_id={chat['id']}")
    (conversation,) = found["items"]
    return dict(conversation)


def test_the_widget_is_small() -> None:
    gzipped = len(gzip.compress(WIDGET_JS.read_bytes(), compresslevel=9))
    print(f"widget.js: {gzipped} bytes gzipped (budget {BUDGET})")
    assert gzipped < BUDGET


async def test_chat_and_callback_from_another_origin_on_a_hostile_page(
    browser: Browser, console_server: Running, console_admin: Api
) -> None:
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    chat = await create_webchat_inbox(console_admin, origin, welcome_message="Hi there!")
    callback = await console_admin.post(
        "/api/v1/inboxes",
        json={"kind": "callback", "name": "Calls", "config": {"allowed_origins": [origin]}},
    )
    assert callback.status_code == 201, callback.text
    snippet = widget_snippet(console_server.url, chat, callback=callback.json()["public_token"])
    page_html = (
        f"<!doctype html><html lang='en'><body><h1>Shop</h1>{HOSTILE}{snippet}</body></html>"
    )

    # The page must be served on exactly the allowed origin: bind that port.
    with site_on(port, page_html):
        context = await browser.new_context(locale="en-GB", timezone_id="Asia/Tehran")
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        try:
            await page.goto(origin)
            widget = page.locator("panjereh-widget")
            launcher = widget.get_by_role("button", name="Chat with us")
            await expect(launcher).to_be_visible()
            await page.wait_for_load_state("load")  # the page's hostile script has run
            await launcher.click()
            await expect(widget.get_by_text("Hi there!")).to_be_visible()
            # No agent is online: the widget asks for an e-mail to answer at.
            await expect(widget.get_by_text("We're offline right now.")).to_be_visible()
            # Shown as text, never as markup.
            conversation = await chat_as(
                widget, console_admin, chat, "Nina Visitor", "<b>Is the rug in stock?</b>"
            )
            assert conversation["contact"]["name"] == "Nina Visitor"
            reply = await console_admin.post(
                f"/api/v1/conversations/{conversation['id']}/messages",
                json={"body": "بله، موجود است. Yes, in stock!"},
            )
            assert reply.status_code == 201
            shown = widget.get_by_text("بله، موجود است. Yes, in stock!")
            await expect(shown).to_be_visible()  # live, without a reload
            assert await shown.get_attribute("dir") == "auto"

            # The reply is "sent" (the webchat connector), not failed for want of one.
            async def status() -> str:
                items = (
                    await api_get(
                        console_admin.client,
                        console_admin,
                        f"/api/v1/conversations/{conversation['id']}/messages",
                    )
                )["items"]
                return str(items[-1]["delivery_status"])

            for _ in range(50):
                if await status() == "sent":
                    break
                await page.wait_for_timeout(100)
            assert await status() == "sent"

            # The conversation survives a reload (the token is in localStorage).
            await page.reload()
            await widget.get_by_role("button", name="Chat with us").click()
            await expect(widget.get_by_text("Yes, in stock!")).to_be_visible()

            # Call me back: the server's 422 next to the field, then a request in the queue.
            await widget.get_by_role("tab", name="Call me back").click()
            form = widget.locator("form.callback")
            await form.get_by_label("Your name").fill("Nina Visitor")
            await form.get_by_label("Phone number").fill("12")
            await form.get_by_role("button", name="Request a call").click()
            await expect(form.locator("[data-for=phone]")).to_contain_text("phone")
            await form.get_by_label("Phone number").fill("+98 912 765 4321")
            await form.get_by_role("button", name="Request a call").click()
            await expect(form.get_by_role("status")).to_have_text("Thanks! We'll call you.")
            queue = await api_get(console_admin.client, console_admin, "/api/v1/callbacks")
            mine = [c for c in queue["items"] if c["phone_e164"] == "+989127654321"]
            assert len(mine) == 1
            assert mine[0]["timezone"] == "Asia/Tehran"
            assert not errors, errors
        finally:
            await context.close()


async def test_a_long_conversation_pages_back_to_its_first_message(
    browser: Browser, console_server: Running, console_admin: Api
) -> None:
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    chat = await create_webchat_inbox(console_admin, origin)
    snippet = widget_snippet(console_server.url, chat)
    with site_on(port, f"<!doctype html><html lang='en'><body>{snippet}</body>"):
        context = await browser.new_context()
        page = await context.new_page()
        try:
            await page.goto(origin)
            widget = page.locator("panjereh-widget")
            await widget.get_by_role("button", name="Chat with us").click()
            conversation = await chat_as(
                widget, console_admin, chat, "Lena Long", "The very first question"
            )
            for i in range(105):  # more than the widget's first page of 100
                reply = await console_admin.post(
                    f"/api/v1/conversations/{conversation['id']}/messages",
                    json={"body": f"answer number {i}"},
                )
                assert reply.status_code == 201, reply.text

            await page.reload()
            await widget.get_by_role("button", name="Chat with us").click()
            await expect(widget.get_by_text("answer number 104", exact=True)).to_be_visible()
            await expect(widget.get_by_text("The very first question")).to_have_count(0)
            older = widget.get_by_role("button", name="Earlier messages")
            await older.click()
            await expect(widget.get_by_text("The very first question")).to_be_visible()
            await expect(widget.get_by_text("answer number 0", exact=True)).to_be_visible()
            await expect(older).to_have_count(0)
            await expect(widget.locator(".msg")).to_have_count(106)
        finally:
            await context.close()


async def test_persian_page_and_label_overrides(
    browser: Browser, console_server: Running, console_admin: Api
) -> None:
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    chat = await create_webchat_inbox(console_admin, origin, labels={"title": "از ما بپرسید"})
    labels = '{"start": "بزن بریم"}'
    snippet = widget_snippet(console_server.url, chat, labels=labels)
    with site_on(port, f"<!doctype html><html lang='fa-IR'><body>{snippet}</body>"):
        context = await browser.new_context()
        page = await context.new_page()
        try:
            await page.goto(origin)
            widget = page.locator("panjereh-widget")
            await widget.get_by_role("button", name="گفتگو با ما").click()
            # The inbox's label and the page's override; the rest in Persian, right to left.
            await expect(widget.get_by_role("heading", name="از ما بپرسید")).to_be_visible()
            await expect(widget.get_by_role("button", name="بزن بریم")).to_be_visible()
            assert await widget.get_by_role("dialog").get_attribute("dir") == "rtl"
        finally:
            await context.close()


async def test_a_persian_page_hears_a_refused_callback_request_in_persian(
    browser: Browser, console_server: Running, console_admin: Api
) -> None:
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    chat = await create_webchat_inbox(console_admin, origin)
    callback = await create_callback_inbox(console_admin, name="تماس", allowed_origins=[origin])
    snippet = widget_snippet(console_server.url, chat, callback=callback["public_token"])
    with site_on(port, f"<!doctype html><html lang='fa'><body>{snippet}</body>"):
        context = await browser.new_context(locale="fa-IR", timezone_id="Asia/Tehran")
        page = await context.new_page()
        try:
            await page.goto(origin)
            widget = page.locator("panjereh-widget")
            await widget.get_by_role("button", name="گفتگو با ما").click()
            await widget.get_by_role("tab", name="با من تماس بگیرید").click()
            form = widget.locator("form.callback")
            await form.get_by_label("نام شما").fill("پریسا")
            phone = form.get_by_label("شماره تلفن")
            request = form.get_by_role("button", name="درخواست تماس")

            await phone.fill("۱۲")
            await request.click()
            await expect(form.locator("[data-for=phone]")).to_contain_text(
                "این شماره تلفن درست نیست"
            )

            # A window in the past: said in Persian beside the day and hours.
            await phone.fill("۰۹۱۲ ۷۶۵ ۴۳۲۱")
            await form.get_by_label("روز").fill("2020-03-20")
            await form.get_by_label("از ساعت").fill("10:00")
            await form.get_by_label("تا ساعت").fill("11:00")
            await request.click()
            await expect(form.locator("[data-for=window]")).to_have_text(
                "این زمان ممکن نیست. روز و ساعتی در آینده و در ساعات کاری انتخاب کنید."
            )
            await expect(form.locator("[data-for=phone]")).to_have_text("")

            # Persian digits are a number like any other.
            await form.get_by_label("روز").fill("")
            await request.click()
            await expect(form.get_by_role("status")).to_have_text("ممنون! با شما تماس می‌گیریم.")
            queue = await api_get(console_admin.client, console_admin, "/api/v1/callbacks")
            assert [c["phone_e164"] for c in queue["items"] if c["name"] == "پریسا"] == [
                "+989127654321"
            ]
        finally:
            await context.close()
