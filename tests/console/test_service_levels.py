"""The service-level settings in the browser, in Persian: business hours on a weekly grid
with Nowruz entered in the Jalali calendar, the acknowledgement, SLA targets typed with
Persian digits; and the SLA badge on a conversation that has a clock running."""

from __future__ import annotations

from datetime import timedelta

from playwright.async_api import Page, expect

from app.db import utcnow
from app.sla import service as sla
from tests.support.api import Api, create_api_inbox, post_incoming
from tests.support.app import Running
from tests.support.console import ARTIFACTS, in_persian, pick_jalali, row, view_button


async def test_service_levels_in_persian_and_the_sla_badge(
    console: Page, console_admin: Api, console_server: Running
) -> None:
    inbox = await create_api_inbox(console_admin)
    renamed = await console_admin.patch(f"/api/v1/inboxes/{inbox.id}", json={"name": "Levels"})
    assert renamed.status_code == 200, renamed.text
    policy = {"policies": [{"priority": "none", "first_response_minutes": 90}]}
    assert (
        await console_admin.put(f"/api/v1/inboxes/{inbox.id}/sla-policies", json=policy)
    ).is_success
    await console.reload()
    # The SLA clock starts (the server's log consumer) and the list shows the time left.
    posted = await post_incoming(console_server.client, inbox, external_id="s1", name="Nima Badge")
    assert posted.status_code < 300, posted.text
    await view_button(console, "Levels").click()
    badge = row(console, "Nima Badge").get_by_test_id("sla-badge")
    await expect(badge).to_have_text("1h left", timeout=10_000)
    # Two hours later (the clock's job run at that time): the "SLA breached" view has it.
    async with console_server.ctx.db.write() as session:
        await sla.announce_due(session, utcnow() + timedelta(hours=2))
    await view_button(console, "SLA breached").click()
    await expect(row(console, "Nima Badge")).to_be_visible()
    await expect(row(console, "Nima Badge").locator(".sla-breached")).to_be_visible()

    await console.get_by_label("Language").first.select_option("fa")
    await console.get_by_role("button", name="تنظیمات").click()
    await console.get_by_role("button", name="سطح خدمات").click()
    await console.get_by_test_id("sl-inbox").select_option(label="Levels")
    for day in ("sat", "sun", "mon", "tue", "wed"):
        await console.get_by_test_id(f"hours-{day}").fill("08:00-16:00")
    await console.get_by_test_id("hours-thu").fill("۰۸:۰۰-۱۲:۰۰")
    # Nowruz 1406: 1 to 4 Farvardin.
    for field, farvardin in (("holiday-from", 1), ("holiday-to", 4)):
        await pick_jalali(console, field, 1406, 1, farvardin)
    await console.get_by_test_id("holiday-name").fill("نوروز")
    await console.get_by_test_id("holiday-add").click()
    await expect(console.get_by_test_id("holidays")).to_contain_text("۱ فروردین ۱۴۰۶")
    await console.get_by_test_id("hours-save").click()
    await expect(console.get_by_test_id("hours-form").get_by_role("status")).to_have_text(
        "ذخیره شد."
    )

    await console.get_by_test_id("ack-text").fill("پیام شما رسید؛ به‌زودی پاسخ می‌دهیم.")
    await console.get_by_test_id("ack-closed").fill("الان تعطیلیم؛ شنبه پاسخ می‌دهیم.")
    await console.get_by_test_id("ack-save").click()
    await expect(console.get_by_test_id("ack-form").get_by_role("status")).to_have_text("ذخیره شد.")

    await console.get_by_test_id("sla-high-first_response_minutes").fill("۳۰")
    await console.get_by_test_id("sla-high-resolution_minutes").fill("480")
    await console.get_by_test_id("sla-save").click()
    await expect(console.get_by_test_id("sla-form").get_by_role("status")).to_have_text("ذخیره شد.")
    await console.screenshot(path=str(ARTIFACTS / "service-levels-fa.png"), full_page=True)

    hours = (await console_admin.get(f"/api/v1/inboxes/{inbox.id}/business-hours")).json()
    assert hours["timezone"] == "Asia/Tehran"
    assert hours["weekly"]["thu"] == ["08:00-12:00"]
    assert "fri" not in hours["weekly"]
    assert hours["holidays"] == [{"from": "2027-03-21", "to": "2027-03-24", "name": "نوروز"}]
    ack = (await console_admin.get(f"/api/v1/inboxes/{inbox.id}/acknowledgement")).json()
    assert (ack["enabled"], ack["out_of_hours_text"]) == (True, "الان تعطیلیم؛ شنبه پاسخ می‌دهیم.")
    policies = (await console_admin.get(f"/api/v1/inboxes/{inbox.id}/sla-policies")).json()
    assert policies["policies"] == [
        {
            "priority": "none",
            "first_response_minutes": 90,
            "next_response_minutes": None,
            "resolution_minutes": None,
        },
        {
            "priority": "high",
            "first_response_minutes": 30,
            "next_response_minutes": None,
            "resolution_minutes": 480,
        },
    ]
    # What is no number is refused, not saved as "no target".
    await console.get_by_test_id("sla-high-resolution_minutes").fill("abc")
    await console.get_by_test_id("sla-save").click()
    await expect(console.get_by_test_id("sla-form").get_by_role("status")).to_have_text(
        "«abc» عدد نیست: چیزی ذخیره نشد."
    )
    kept = (await console_admin.get(f"/api/v1/inboxes/{inbox.id}/sla-policies")).json()
    assert kept["policies"] == policies["policies"]
    # A number as the Persian console shows it, thousands separator and all, reads back.
    await console.get_by_test_id("sla-high-resolution_minutes").fill("۱٬۴۴۰")
    await console.get_by_test_id("sla-save").click()
    await expect(console.get_by_test_id("sla-form").get_by_role("status")).to_have_text("ذخیره شد.")
    saved = (await console_admin.get(f"/api/v1/inboxes/{inbox.id}/sla-policies")).json()
    assert saved["policies"][1]["resolution_minutes"] == 1440


async def test_hours_the_server_refuses_are_said_in_persian(
    console: Page, console_admin: Api
) -> None:
    inbox = await create_api_inbox(console_admin)
    renamed = await console_admin.patch(f"/api/v1/inboxes/{inbox.id}", json={"name": "Backwards"})
    assert renamed.status_code == 200, renamed.text
    hours = f"/api/v1/inboxes/{inbox.id}/business-hours"
    before = (await console_admin.get(hours)).json()["weekly"]
    await in_persian(console, console_admin, "تنظیمات", "سطح خدمات")
    await console.get_by_test_id("sl-inbox").select_option(label="Backwards")
    await console.get_by_test_id("hours-sat").fill("16:00-08:00")  # ends before it starts
    await console.get_by_test_id("hours-save").click()
    # The rule broken and the day, in Persian: nothing of the server's English detail.
    await expect(console.get_by_test_id("hours-form").get_by_role("status")).to_have_text(
        "این ساعت‌های کاری درست نیست: شنبه: هر بازه باید پس از آغازش پایان یابد"
    )
    assert (await console_admin.get(hours)).json()["weekly"] == before
