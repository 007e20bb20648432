"""The agent console in a real browser against a real server."""

from __future__ import annotations

import asyncio
import base64
import re
from datetime import timedelta
from pathlib import Path

from playwright.async_api import Browser, Page, Route, expect
from sqlalchemy import update

from app.callbacks.models import CallbackRequest, CallbackStatus
from app.db import utcnow
from app.inbound.ingest import InboxRef
from app.tickets.models import Message
from connectors.base import Address, AddressKind, Attachment, InboundMessage, Party
from tests.support.api import Api, create_agent
from tests.support.app import ADMIN_EMAIL, ADMIN_PASSWORD, Running
from tests.support.channels import Channel, api_channel
from tests.support.console import (
    ARTIFACTS,
    api_get,
    open_console,
    open_inbox_view,
    row,
    view_button,
)
from tests.support.receiver import receiving


async def test_sign_in_and_out(
    browser: Browser,
    console_server: Running,
    console_admin: Api,  # in English, whatever language a test before left it in
) -> None:
    context, page = await open_console(browser, console_server.url, None)
    try:
        await page.get_by_label("Email").fill(ADMIN_EMAIL)
        await page.get_by_label("Password").fill("wrong password")
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.get_by_role("alert")).to_contain_text("Sign-in failed")

        await page.get_by_label("Password").fill(ADMIN_PASSWORD)
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.get_by_role("button", name="Sign out")).to_be_visible()
        assert await page.evaluate("localStorage.getItem('panjereh.token')")
        # The agent's own status.
        await page.get_by_label("Online / Away").select_option("away")

        await page.get_by_role("button", name="Sign out").click()
        await expect(page.get_by_role("button", name="Sign in")).to_be_visible()
        assert await page.evaluate("localStorage.getItem('panjereh.token')") is None
    finally:
        await context.close()


async def test_a_message_appears_in_the_list_and_the_open_conversation_without_reload(
    channel: Channel, console: Page
) -> None:
    await open_inbox_view(console, channel)
    await channel.deliver("Where is my order?", sender="live-1", name="Sara Live")
    sara, bob = channel.shown_as("live-1", "Sara Live"), channel.shown_as("live-2", "Bob Live")
    first = row(console, sara)
    await expect(first).to_contain_text("Where is my order?")
    await expect(first.locator(".badge")).to_have_text("1")
    await first.click()
    thread = console.get_by_test_id("thread")
    await expect(thread).to_contain_text("Where is my order?")

    # Another customer writes: a new row, on top.
    await channel.deliver("Hello from Bob", sender="live-2", name="Bob Live")
    await expect(row(console, bob)).to_be_visible()
    await expect(console.locator(".conv-row").first).to_contain_text(bob)

    # The open conversation grows in place; its row moves back to the top.
    await channel.deliver("It was order 1234", sender="live-1", name="Sara Live")
    await expect(thread).to_contain_text("It was order 1234")
    await expect(console.locator(".conv-row").first).to_contain_text(sara)


async def test_reply_is_sent_on_the_channel_and_a_note_is_not(
    channel: Channel, console: Page
) -> None:
    await open_inbox_view(console, channel)
    await channel.deliver("Can you help?", sender="reply-1", name="Reza Reply")
    await row(console, channel.shown_as("reply-1", "Reza Reply")).click()

    reply_by = f"Reply by {channel.label} to {channel.address('reply-1')}"
    await expect(console.get_by_test_id("composer-label")).to_contain_text(reply_by)
    box = console.get_by_role("textbox", name=reply_by)
    await box.fill("Of course, one moment.")
    await box.press("Control+Enter")
    reply = console.get_by_test_id("message-outbound").filter(has_text="Of course, one moment.")
    await expect(reply.get_by_test_id("delivery")).to_have_attribute("data-status", "sent")
    assert await channel.received() == ["Of course, one moment."]

    # A private note: shown as a note, never sent.
    await console.keyboard.press("Escape")
    await console.locator("body").press("n")
    note_box = console.get_by_role("textbox", name="Private note")
    await expect(note_box).to_be_focused()
    await note_box.fill("Customer is a VIP")
    await console.get_by_role("button", name="Add note").click()
    note = console.get_by_test_id("message-note").filter(has_text="Customer is a VIP")
    await expect(note).to_contain_text("Private note")
    await expect(note.get_by_test_id("delivery")).to_have_count(0)
    await asyncio.sleep(0.5)
    assert await channel.received() == ["Of course, one moment."]


async def test_a_new_view_never_shows_another_views_rows_while_its_page_loads(
    shop: Channel, console: Page, console_admin: Api, console_server: Running
) -> None:
    await open_inbox_view(console, shop)
    await shop.deliver("Where is my parcel?", sender="view-1", name="Vera Elsewhere")
    await expect(row(console, "Vera Elsewhere")).to_have_count(1)
    async with api_channel(console_admin, console_server.url) as other:
        await console.reload()  # the sidebar lists the new inbox
        await expect(row(console, "Vera Elsewhere")).to_have_count(1)
        released = asyncio.Event()

        async def held(route: Route) -> None:
            await released.wait()
            await route.continue_()

        await console.route("**/api/v1/conversations?*", held)
        await open_inbox_view(console, other)
        await expect(row(console, "Vera Elsewhere")).to_have_count(0)
        async with console.expect_response("**/api/v1/conversations?*"):
            released.set()


async def test_a_failed_reply_shows_the_reason_and_retries(
    refusing_channel: Channel, console: Page
) -> None:
    channel = refusing_channel
    channel.fail_next_reply("chat not found")
    await open_inbox_view(console, channel)
    await channel.deliver("Please answer", sender="fail-1", name="Farid Fail")
    await row(console, channel.shown_as("fail-1", "Farid Fail")).click()
    reply_by = f"Reply by {channel.label} to {channel.address('fail-1')}"
    await console.get_by_role("textbox", name=reply_by).fill("First try")
    await console.get_by_role("button", name="Send").click()
    message = console.get_by_test_id("message-outbound").filter(has_text="First try")
    delivery = message.get_by_test_id("delivery")
    await expect(delivery).to_have_attribute("data-status", "failed", timeout=15_000)
    await expect(delivery).to_contain_text("Failed")
    await delivery.get_by_role("button", name="Retry").click()
    await expect(delivery).to_have_attribute("data-status", "sent", timeout=15_000)
    assert (await channel.received())[-1] == "First try"  # (a receiver also saw the refused try)


async def test_assign_snooze_resolve(
    shop: Channel, console: Page, console_admin: Api, console_server: Running
) -> None:
    await open_inbox_view(console, shop)
    await shop.deliver("Refund please", sender="act-1", name="Ali Actions")
    await row(console, "Ali Actions").click()
    conversation_id = int(await row(console, "Ali Actions").get_attribute("data-id") or 0)

    async def state() -> dict[str, object]:
        return dict(
            await api_get(
                console_server.client, console_admin, f"/api/v1/conversations/{conversation_id}"
            )
        )

    await console.locator("#assign-select").select_option(f"agent:{console_admin.agent['id']}")
    await expect(row(console, "Ali Actions")).to_contain_text(console_admin.agent["name"])
    assert (await state())["assignee"]["id"] == console_admin.agent["id"]  # type: ignore[index]

    await console.get_by_label("Snooze until").select_option("tomorrow")
    await expect(console.get_by_test_id("conversation").locator(".status")).to_have_text("Snoozed")
    assert (await state())["status"] == "snoozed"

    await console.get_by_role("button", name="Reopen").click()
    await expect(console.get_by_test_id("conversation").locator(".status")).to_have_text("Open")
    await console.locator("body").press("e")  # the keyboard shortcut for Resolve
    await expect(console.get_by_test_id("conversation").locator(".status")).to_have_text("Resolved")
    assert (await state())["status"] == "resolved"
    await expect(console.get_by_test_id("thread")).to_contain_text("resolved")

    # Labels, then a bulk action on a selection.
    await console.get_by_label("Add label").fill("refund")
    await console.get_by_label("Add label").press("Enter")
    await expect(console.locator(".conv-head .label")).to_contain_text("refund")
    assert (await state())["labels"] == ["refund"]


async def test_keyboard_and_bulk_actions(shop: Channel, console: Page) -> None:
    await open_inbox_view(console, shop)
    for n in (1, 2, 3):
        await shop.deliver(f"message {n}", sender=f"kb-{n}", name=f"Kim {n}")
    await expect(console.locator(".conv-row")).to_have_count(3)
    await console.locator("body").press("j")
    await console.keyboard.press("j")
    await console.keyboard.press("Enter")
    await expect(console.get_by_test_id("thread")).to_contain_text("message 2")
    await console.locator("body").press("?")
    await expect(console.get_by_role("dialog")).to_contain_text("Keyboard shortcuts")
    await console.keyboard.press("Escape")

    for n in (1, 3):
        await console.get_by_label(f"selected: Kim {n}").check()
    await (
        console.get_by_role("region", name="2 selected")
        .get_by_label("Apply")
        .select_option("pending")
    )
    await console.get_by_role("button", name="Apply").click()
    # The inbox view lists every status; the rows stay with their new status.
    await expect(console.locator(".bulk")).to_have_count(0)
    await view_button(console, "Pending").click()
    await expect(row(console, "Kim 1")).to_be_visible()
    await expect(row(console, "Kim 3")).to_be_visible()


async def test_canned_response_on_slash(shop: Channel, console: Page, console_admin: Api) -> None:
    response = await console_admin.post(
        "/api/v1/canned-responses",
        json={"shortcut": f"thanks{shop.inbox_id}", "title": "Thanks", "body": "Thank you!"},
    )
    assert response.status_code == 201, response.text
    await console.reload()
    await open_inbox_view(console, shop)
    await shop.deliver("hi", sender="canned-1", name="Cora Canned")
    await row(console, "Cora Canned").click()
    box = console.get_by_role("textbox", name="Reply by API to canned-1")
    await box.fill(f"Hi! /thanks{shop.inbox_id}")
    await expect(console.get_by_role("listbox", name="Canned responses")).to_be_visible()
    await box.press("Enter")
    await expect(box).to_have_value("Hi! Thank you!")
    # The draft survives a reload.
    await console.reload()
    await expect(console.get_by_role("textbox", name="Reply by API to canned-1")).to_have_value(
        "Hi! Thank you!"
    )


PAYLOAD = (
    "<p>Hello <b>agent</b></p>"
    "<script>window.__pwned = 'script'; parent.__pwned = 'script'</script>"
    "<img src=x onerror=\"window.__pwned='onerror'; parent.__pwned='onerror'\">"
    "<a id=js href=\"javascript:parent.__pwned='href'\">click me</a>"
    "<svg onload=\"parent.__pwned='svg'\"></svg>"
)


async def test_email_html_is_sanitized_and_sandboxed(
    shop: Channel, console: Page, console_server: Running
) -> None:
    """The app sanitizes HTML at ingest; even HTML that was not sanitized (stored directly
    here, as if the sanitizer missed something) runs nothing in the console."""
    ctx = console_server.ctx
    sender = Party(Address(AddressKind.api, "mail-1"), name="Mina Mail")
    result = await ctx.inbound.submit(
        InboxRef(shop.inbox_id, shop.kind),
        InboundMessage(
            external_id="html-1",
            sender=sender,
            sent_at=utcnow(),
            text="Hello agent",
            html=PAYLOAD,
            subject="Invoice question",
            metadata={
                "quoted": "On Monday you wrote:\n> the old thread",
                "from": ["no-reply@forms.example"],  # its Reply-To is the customer
            },
        ),
    )
    unsanitized = await ctx.inbound.submit(
        InboxRef(shop.inbox_id, shop.kind),
        InboundMessage(
            external_id="html-2",
            sender=sender,
            sent_at=utcnow(),
            text="raw",
            html="<p>raw</p>",
        ),
    )
    async with ctx.db.write() as session:
        await session.execute(
            update(Message)
            .where(Message.id == unsanitized.message_id)
            .values(body_html=PAYLOAD + "<p>unsanitized copy</p>")
        )
    assert result.conversation_id == unsanitized.conversation_id

    await open_inbox_view(console, shop)
    await row(console, "Mina Mail").click()
    frames = console.locator("iframe.email-frame")
    await expect(frames).to_have_count(2)
    for i in range(2):
        assert await frames.nth(i).get_attribute("sandbox") is not None
        assert "allow-scripts" not in (await frames.nth(i).get_attribute("sandbox") or "")
    raw = console.frame_locator("iframe.email-frame >> nth=1")
    await expect(raw.locator("body")).to_contain_text("unsanitized copy")
    await expect(console.frame_locator("iframe.email-frame >> nth=0").locator("b")).to_have_text(
        "agent"
    )
    await raw.locator("#js").click()
    await asyncio.sleep(0.5)
    assert await console.evaluate("window.__pwned") is None
    for frame in console.frames[1:]:
        assert await frame.evaluate("window.__pwned") is None

    # Who sent it, when answers go elsewhere; the subject and the hidden quoted history.
    await expect(console.get_by_test_id("sent-via")).to_have_text("via no-reply@forms.example")
    await expect(console.get_by_test_id("thread")).to_contain_text("Invoice question")
    await console.get_by_role("button", name="Show quoted text").click()
    await expect(console.get_by_test_id("thread")).to_contain_text("the old thread")


# A 1×1 PNG.
PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
)


async def test_inline_images_show_and_remote_ones_load_only_when_asked(
    shop: Channel, console: Page, console_server: Running
) -> None:
    """A screenshot pasted into an e-mail (`cid:`) shows from its attachment; a remote image
    (a tracking pixel) is not fetched until the agent asks, so opening a message tells the
    sender nothing."""
    async with receiving() as tracker:
        html = (
            '<p>Here is the error:</p><img src="cid:shot@mail.example" alt="screenshot">'
            f'<img src="{tracker.url}?opened=1" alt="pixel">'
        )
        await console_server.ctx.inbound.submit(
            InboxRef(shop.inbox_id, shop.kind),
            InboundMessage(
                external_id="inline-1",
                sender=Party(Address(AddressKind.api, "inline-1"), name="Ilya Inline"),
                sent_at=utcnow(),
                text="Here is the error:",
                html=html,
                attachments=(
                    Attachment(
                        "screenshot.png", "image/png", PIXEL, content_id="shot@mail.example"
                    ),
                ),
            ),
        )
        await open_inbox_view(console, shop)
        await row(console, "Ilya Inline").click()
        shot = console.frame_locator("iframe.email-frame").locator('img[alt="screenshot"]')
        await expect(shot).to_have_attribute("src", re.compile(r"^blob:"))
        await expect(shot).to_have_js_property("naturalWidth", 1)
        await asyncio.sleep(0.5)
        assert tracker.received == []
        notice = console.get_by_test_id("remote-images")
        await expect(notice).to_contain_text("Remote images are hidden")
        await notice.get_by_role("button", name="Show images").click()
        await expect(notice).to_have_count(0)
        async with asyncio.timeout(5):
            while not tracker.received:  # noqa: ASYNC110 - the browser fetches on its own
                await asyncio.sleep(0.05)
        await expect(shot).to_have_js_property("naturalWidth", 1)


async def test_callback_queue(
    shop: Channel, console: Page, console_server: Running, console_admin: Api
) -> None:
    ctx = console_server.ctx
    result = await ctx.inbound.submit(
        InboxRef(shop.inbox_id, shop.kind),
        InboundMessage(
            external_id="cb-contact",
            sender=Party(Address(AddressKind.api, "cb-1"), name="Callum Back"),
            sent_at=utcnow(),
            text="Call me",
        ),
    )
    now = utcnow()
    async with ctx.db.write() as session:
        conversation_contact = (
            await api_get(
                console_server.client,
                console_admin,
                f"/api/v1/conversations/{result.conversation_id}",
            )
        )["contact"]["id"]
        rows = [
            CallbackRequest(
                inbox_id=shop.inbox_id,
                contact_id=conversation_contact,
                conversation_id=result.conversation_id,
                name=name,
                phone_e164=phone,
                preferred_from=start,
                preferred_to=start + timedelta(hours=1) if start else None,
                timezone="Europe/Berlin",
                due_at=start or now,
                status=CallbackStatus.requested,
            )
            for name, phone, start in [
                ("Olga Overdue", "+4915112345671", now - timedelta(hours=3)),
                ("Dana Due", "+4915112345672", now - timedelta(minutes=5)),
                ("Sam Scheduled", "+4915112345673", now + timedelta(days=1)),
            ]
        ]
        session.add_all(rows)
    await console.reload()
    await (
        console.get_by_role("navigation", name="Sections")
        .get_by_role("button", name="Callbacks")
        .click()
    )
    queue = console.get_by_test_id("callbacks")
    await expect(queue.locator(".cb-overdue")).to_contain_text("Olga Overdue")
    await expect(queue.locator(".cb-dueNow")).to_contain_text("Dana Due")
    # Requested for later, not scheduled by an agent: listed as such.
    await expect(queue.locator(".cb-requested")).to_contain_text("Sam Scheduled")
    # (The console's server is shared: other tests' callbacks may be scheduled.)
    await expect(queue.locator(".cb-scheduled").filter(has_text="Sam Scheduled")).to_have_count(0)
    dana = queue.get_by_test_id("callback").filter(has_text="Dana Due")
    await expect(dana.get_by_role("link", name="+4915112345672")).to_have_attribute(
        "href", "tel:+4915112345672"
    )
    await expect(dana).to_contain_text("customer's time (Europe/Berlin)")
    await dana.get_by_label("Outcome note").fill("Sorted on the phone")
    await dana.get_by_role("button", name="Called").click()
    await expect(queue).not_to_contain_text("Dana Due")
    page = await api_get(console_server.client, console_admin, "/api/v1/callbacks?status=completed")
    done = [c for c in page["items"] if c["name"] == "Dana Due"]
    assert done
    assert done[0]["outcome_note"] == "Sorted on the phone"
    # Nobody answered: the request stays, to be tried again at the time suggested.
    olga = queue.get_by_test_id("callback").filter(has_text="Olga Overdue")
    await olga.get_by_role("button", name="No answer").click()
    retry = (
        queue.locator(".cb-retryLater").get_by_test_id("callback").filter(has_text="Olga Overdue")
    )
    await expect(retry).to_contain_text("No answer. Try again at")
    await console.reload()
    await (
        console.get_by_role("navigation", name="Sections")
        .get_by_role("button", name="Callbacks")
        .click()
    )
    await expect(retry).to_be_visible()


async def test_persian_layout_is_right_to_left(shop: Channel, console: Page) -> None:
    await shop.deliver("سلام، سفارشم کجاست؟", sender="fa-1", name="مریم")
    await console.get_by_label("Language").first.select_option("fa")
    await expect(console.locator("html")).to_have_attribute("dir", "rtl")
    await expect(console.locator("html")).to_have_attribute("lang", "fa")
    await view_button(console, shop.inbox_name, nav="نماها").click()
    await row(console, "مریم").click()
    await expect(console.get_by_test_id("thread")).to_contain_text("سفارشم")
    sidebar = await console.locator(".sidebar").bounding_box()
    conversation = await console.get_by_test_id("conversation").bounding_box()
    assert sidebar
    assert conversation
    assert sidebar["x"] > conversation["x"]
    # Dates in the Persian calendar, with Persian digits.
    title = await console.locator(".msg time").first.get_attribute("title") or ""
    assert any(d in title for d in "۰۱۲۳۴۵۶۷۸۹"), title
    assert await console.locator(".msg .body").first.get_attribute("dir") == "auto"
    # An activity line is said in the agent's language (the API stores it in English too).
    await console.get_by_test_id("conversation").get_by_role("button", name="معلق").click()
    await expect(console.get_by_test_id("activity").last).to_contain_text("گفتگو را معلق کرد")
    ARTIFACTS.mkdir(exist_ok=True)
    await console.screenshot(path=str(ARTIFACTS / "console-fa.png"))
    # The language is the agent's setting: it follows them to the next sign-in.
    await console.reload()
    await expect(console.locator("html")).to_have_attribute("dir", "rtl")
    await console.get_by_label("زبان").first.select_option("en")
    await expect(console.locator("html")).to_have_attribute("dir", "ltr")


async def test_another_agents_typing_and_changes_appear_live(
    shop: Channel,
    console: Page,
    browser: Browser,
    console_server: Running,
    console_admin: Api,
) -> None:
    colleague = await create_agent(console_admin, f"colleague{shop.inbox_id}@example.com")
    response = await console_admin.patch(
        f"/api/v1/inboxes/{shop.inbox_id}", json={"agent_ids": [colleague.agent["id"]]}
    )
    assert response.status_code == 200, response.text
    await shop.deliver("Anyone there?", sender="typing-1", name="Tara Typing")
    await open_inbox_view(console, shop)
    await row(console, "Tara Typing").click()
    await expect(console).to_have_title(re.compile(r"^(\(\d+\) )?Panjereh$"))

    context, other = await open_console(browser, console_server.url, colleague.token)
    try:
        await view_button(other, shop.inbox_name).click()
        await row(other, "Tara Typing").click()
        await other.get_by_role("textbox", name="Reply by API to typing-1").fill("Let me check")
        await expect(console.get_by_test_id("thread")).to_contain_text(
            f"{colleague.agent['name']} is typing"
        )
        await other.get_by_test_id("conversation").get_by_role("button", name="Pending").click()
        await expect(console.get_by_test_id("conversation").locator(".status")).to_have_text(
            "Pending"
        )
        await expect(console.get_by_test_id("thread")).to_contain_text(colleague.agent["name"])
    finally:
        await context.close()


async def test_a_reply_with_a_file(shop: Channel, console: Page, tmp_path: Path) -> None:
    await open_inbox_view(console, shop)
    await shop.deliver("Send me the invoice", sender="file-1", name="Fati File")
    await row(console, "Fati File").click()
    invoice = tmp_path / "invoice.txt"
    invoice.write_text("total: 42")
    await console.get_by_label("Attach", exact=True).set_input_files(str(invoice))
    await expect(console.locator(".uploads")).to_contain_text("invoice.txt")
    await console.get_by_role("textbox", name="Reply by API to file-1").fill("Here it is")
    await console.get_by_role("button", name="Send", exact=True).click()
    reply = console.get_by_test_id("message-outbound").filter(has_text="Here it is")
    await expect(reply).to_contain_text("invoice.txt")
    await expect(reply.get_by_test_id("delivery")).to_have_attribute("data-status", "sent")
    assert await shop.received() == ["Here it is"]
    await expect(console.locator(".uploads")).to_have_count(0)
