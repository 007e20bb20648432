"""Settings → Webhooks in Chromium: an administrator subscribes a receiver, the secret the
page shows is the one the deliveries are signed with, the delivery log shows what was sent
(in Persian too, with Persian digits), and a webhook disabled after days of failures puts a
banner in front of every administrator."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from datetime import timedelta

from playwright.async_api import Page, expect
from sqlalchemy import update

from app.db import utcnow
from app.webhooks.models import WebhookSubscription
from tests.support.api import Api
from tests.support.app import Running
from tests.support.channels import Channel
from tests.support.console import in_persian
from tests.support.receiver import Receiver


async def test_an_admin_subscribes_a_receiver_and_sees_its_deliveries(
    console: Page, console_admin: Api, console_server: Running, shop: Channel, receiver: Receiver
) -> None:
    await console.get_by_role("button", name="Settings").click()
    await console.get_by_role("button", name="Webhooks").click()
    await console.get_by_label("Receiver URL").fill(receiver.url)
    await console.get_by_label("Description").fill("CRM")
    await console.get_by_label("message.created").check()
    await console.get_by_role("button", name="Create").click()
    secret = (await console.get_by_test_id("webhook-secret").inner_text()).strip()
    assert secret.startswith("whsec_")
    hooks = (await console_admin.get("/api/v1/webhooks")).json()
    webhook_id = next(h["id"] for h in hooks if h["url"] == receiver.url)
    try:
        await shop.deliver("Is my parcel on its way?", sender="c-hooks", name="Hooks Customer")
        for _ in range(200):
            mine = [r for r in receiver.received if b"Is my parcel on its way?" in r.body]
            if mine:
                break
            await asyncio.sleep(0.05)
        (received,) = mine
        timestamp = received.headers["x-panjereh-timestamp"]
        expected = hmac.new(
            secret.encode(), f"{timestamp}.".encode() + received.body, hashlib.sha256
        ).hexdigest()
        assert received.headers["x-panjereh-signature"] == f"sha256={expected}"
        assert json.loads(received.body)["type"] == "message.created"

        row = console.get_by_test_id("webhook-row").filter(has_text="CRM")
        await row.get_by_role("button", name="Deliveries").click()
        log = console.get_by_test_id("webhook-deliveries")
        await expect(log.get_by_test_id("delivery-row").first).to_contain_text("delivered")
        await expect(log.get_by_test_id("delivery-row").first).to_contain_text("tries: 1")

        # Days of failures: disabled, and every administrator's console says so.
        async with console_server.ctx.db.write() as session:
            await session.execute(
                update(WebhookSubscription)
                .where(WebhookSubscription.id == webhook_id)
                .values(failing_since=utcnow() - timedelta(days=4))
            )
        receiver.answers.extend([500] * 10)
        await shop.deliver("Hello again", sender="c-hooks", name="Hooks Customer")
        banner = console.get_by_test_id("webhook-disabled-banner")
        await expect(banner).to_contain_text("CRM")
        await expect(row).to_contain_text("Disabled")

        # In Persian: the same page, its words and digits.
        await in_persian(console, console_admin, "تنظیمات", "وب‌هوک‌ها")
        row = console.get_by_test_id("webhook-row").filter(has_text="CRM")
        await expect(row).to_contain_text("غیرفعال")
        await row.get_by_role("button", name="تحویل‌ها").click()
        await expect(console.get_by_test_id("webhook-deliveries")).to_contain_text("تحویل شد")
        await expect(console.get_by_test_id("webhook-deliveries")).to_contain_text("تلاش‌ها: ۱")
    finally:
        await console_admin.delete(f"/api/v1/webhooks/{webhook_id}")


async def test_a_persian_admin_hears_a_refused_receiver_url_in_persian(
    console: Page, console_admin: Api
) -> None:
    await in_persian(console, console_admin, "تنظیمات", "وب‌هوک‌ها")
    await console.get_by_label("message.created").check()
    await console.get_by_label("نشانی گیرنده").fill("https://user:secret@crm.example/hooks")
    await console.get_by_role("button", name="ساختن").click()
    # The rule it broke, in Persian: nothing of the server's English detail.
    await expect(console.locator("form p.error")).to_have_text(
        "این نشانی نمی‌تواند وب‌هوک بگیرد: نباید نام کاربری یا گذرواژه داشته باشد"
        " (امضا فرستنده را ثابت می‌کند)"
    )
    assert (await console_admin.get("/api/v1/webhooks")).json() == []
