"""Screenshots of the agent console for the README (docs/screenshots/), in English and
Persian: a server with demo conversations on every channel, and Debian's Chromium.

    .venv/bin/python scripts/console_screenshots.py      (after `make frontend`)
"""

from __future__ import annotations

import asyncio
import struct
import sys
import tempfile
import zlib
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.async_api import Page, async_playwright  # noqa: E402

from app.callbacks.models import CallbackRequest  # noqa: E402
from app.context import Context  # noqa: E402
from app.db import utcnow  # noqa: E402
from app.inbound.ingest import InboxRef  # noqa: E402
from app.inboxes import service as inboxes  # noqa: E402
from app.inboxes.models import InboxKind  # noqa: E402
from app.migrate import upgrade  # noqa: E402
from app.tickets.models import Conversation  # noqa: E402
from connectors.base import Address, AddressKind, Attachment, InboundMessage, Party  # noqa: E402
from tests.support.api import login  # noqa: E402
from tests.support.app import ADMIN_EMAIL, ADMIN_PASSWORD, make_settings, serve  # noqa: E402
from tests.support.console import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

OUT = ROOT / "docs" / "screenshots"


def tiny_png() -> bytes:
    """A 120×80 image in soft blue, for an inline attachment."""
    width, height = 120, 80
    raw = b"".join(b"\x00" + bytes([0xC9, 0xD7, 0xF5]) * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


DEMO = [
    # kind, address kind, address, name, subject, text, html
    (
        InboxKind.email,
        AddressKind.email,
        "sara@example.com",
        "Sara Ahmadi",
        "Invoice #2231",
        "Hello, the invoice shows the wrong address.",
        "<p>Hello,</p><p>The invoice shows the <b>wrong address</b>. Could you fix it?</p>",
    ),
    (
        InboxKind.telegram,
        AddressKind.telegram,
        "5550001",
        "Reza Karimi",
        None,
        "سلام، سفارش من کی می‌رسد؟",
        None,
    ),
    (
        InboxKind.sms,
        AddressKind.phone,
        "+989121234567",
        "Maryam Hosseini",
        None,
        "Is the shop open on Friday?",
        None,
    ),
    (
        InboxKind.webchat,
        AddressKind.webchat,
        "visitor-77",
        "Visitor 77",
        None,
        "Do you ship to Shiraz?",
        None,
    ),
    (
        InboxKind.api,
        AddressKind.api,
        "crm-42",
        "Nima (CRM)",
        None,
        "Order 1042: payment failed twice",
        None,
    ),
]


async def seed(ctx: Context) -> int:
    ids: dict[InboxKind, int] = {}
    async with ctx.db.write() as session:
        for kind, names in [
            (InboxKind.email, "Support mail"),
            (InboxKind.telegram, "Telegram bot"),
            (InboxKind.sms, "SMS line"),
            (InboxKind.webchat, "Website chat"),
            (InboxKind.api, "Shop CRM"),
            (InboxKind.callback, "Call me back"),
        ]:
            config = inboxes.validated_config(kind, {})
            inbox, _ = await inboxes.create_inbox(
                session, ctx.secret_box, kind=kind, name=names, config=config, agent_ids=[]
            )
            ids[kind] = inbox.id
    first = 0
    for n, (kind, akind, address, name, subject, text, html) in enumerate(DEMO):
        result = await ctx.inbound.submit(
            InboxRef(ids[kind], kind),
            InboundMessage(
                external_id=f"demo-{n}",
                sender=Party(Address(akind, address), name=name),
                sent_at=utcnow() - timedelta(minutes=7 * (len(DEMO) - n)),
                text=text,
                html=html,
                subject=subject,
                attachments=(Attachment("screenshot.png", "image/png", tiny_png()),)
                if n == 0
                else (),
                metadata={"quoted": "On Monday, Support wrote:\n> Your invoice is attached."}
                if n == 0
                else {},
            ),
        )
        first = first or result.conversation_id
    async with ctx.db.write() as session:
        conversation = await session.get(Conversation, first)
        if conversation is None:
            raise RuntimeError("the demo conversation is missing")
        contact = conversation.contact_id
        session.add(
            CallbackRequest(
                inbox_id=ids[InboxKind.callback],
                contact_id=contact,
                name="Sara Ahmadi",
                phone_e164="+989121112233",
                preferred_from=utcnow() - timedelta(minutes=10),
                preferred_to=utcnow() + timedelta(minutes=50),
                timezone="Asia/Tehran",
                note="About the invoice",
                due_at=utcnow() - timedelta(minutes=10),
            )
        )
    return first


async def shoot(page: Page, name: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    await page.wait_for_timeout(400)
    await page.screenshot(path=str(OUT / name))
    print(f"wrote docs/screenshots/{name}")


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/panjereh.db"
        upgrade(url)
        settings = make_settings(url, Path(tmp) / "data", run_workers=True)
        async with serve(settings) as live:
            admin = await login(live.client, ADMIN_EMAIL, ADMIN_PASSWORD)
            await admin.post(
                "/api/v1/canned-responses",
                json={"shortcut": "thanks", "title": "Thanks", "body": "Thank you for writing!"},
            )
            first = await seed(live.ctx)
            async with async_playwright() as pw:
                browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                context = await browser.new_context(
                    base_url=live.url, viewport={"width": 1280, "height": 760}, locale="en-GB"
                )
                await context.add_init_script(
                    f"localStorage.setItem('panjereh.token', {admin.token!r});"
                )
                page = await context.new_page()
                await page.goto(f"/#/c/{first}")
                await (
                    page.get_by_role("navigation", name="Views")
                    .get_by_role("button", name="All", exact=True)
                    .click()
                )
                await page.get_by_test_id("thread").locator("iframe").wait_for()
                await shoot(page, "console-en.png")
                await (
                    page.get_by_role("navigation", name="Sections")
                    .get_by_role("button", name="Callbacks")
                    .click()
                )
                await shoot(page, "callbacks-en.png")
                await (
                    page.get_by_role("navigation", name="Sections")
                    .get_by_role("button", name="Settings")
                    .click()
                )
                await page.get_by_label("Channel").select_option("telegram")
                await shoot(page, "admin-inbox-en.png")
                await page.get_by_label("Language").first.select_option("fa")
                await (
                    page.get_by_role("navigation", name="بخش‌ها")
                    .get_by_role("button", name="گفتگوها")
                    .click()
                )
                await page.locator(".conv-row").nth(3).click()
                await shoot(page, "console-fa.png")
                await page.get_by_label("زبان").first.select_option("en")
                await browser.close()


if __name__ == "__main__":
    asyncio.run(main())
