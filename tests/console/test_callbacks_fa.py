"""Persian: the Callbacks page's digits and separators, a callback scheduled with the Jalali
date picker of the business-hours page, and phone numbers reading from their `+` wherever
they are shown."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from playwright.async_api import Locator, Page, expect

from tests.support.api import Api
from tests.support.app import Running
from tests.support.callbacks import ask, create_callback_inbox
from tests.support.channels import sms_channel
from tests.support.console import ARTIFACTS, open_inbox_view, pick_jalali, row

TEHRAN = ZoneInfo("Asia/Tehran")  # the console's browser is in Tehran (open_console)
PHONE = "+989127654329"

# Whether the `+` of the element's number is shown left of its last digit, as a number reads.
PLUS_FIRST = """e => {
  const walker = document.createTreeWalker(e, NodeFilter.SHOW_TEXT);
  let node;
  while ((node = walker.nextNode()) && !node.data.includes("+")) {}
  const at = node.data.indexOf("+");
  const box = (i) => {
    const r = document.createRange();
    r.setStart(node, i);
    r.setEnd(node, i + 1);
    return r.getBoundingClientRect();
  };
  return box(at).left < box(node.data.length - 1).left;
}"""


async def text_without(card: Locator, selector: str) -> str:
    """The card's visible text, without the elements `selector` picks."""
    return str(
        await card.evaluate(
            """(e, s) => {
              const c = e.cloneNode(true);
              c.querySelectorAll(s).forEach(x => x.remove());
              return c.textContent;
            }""",
            selector,
        )
    )


async def jalali(page: Page, iso_day: str) -> tuple[int, int, int]:
    parts = await page.evaluate(
        """d => Object.fromEntries(new Intl.DateTimeFormat("en-u-ca-persian-nu-latn",
             {year: "numeric", month: "numeric", day: "numeric", timeZone: "UTC"})
             .formatToParts(new Date(d + "T00:00:00Z")).map(p => [p.type, p.value]))""",
        iso_day,
    )
    return int(parts["year"]), int(parts["month"]), int(parts["day"])


async def test_the_callbacks_page_in_persian(
    console: Page, console_server: Running, console_admin: Api
) -> None:
    # Its own name: other tests open the "Call me back" view of this shared server.
    inbox = await create_callback_inbox(
        console_admin, name="Persian callbacks", timezone="Asia/Tehran"
    )
    day = (datetime.now(TEHRAN) + timedelta(days=2)).date()
    asked = await ask(
        console_server,
        inbox["public_token"],
        name="Parisa Persian",
        phone="0912 765 4329",
        preferred_from=f"{day.isoformat()}T10:00:00",
        preferred_to=f"{day.isoformat()}T11:00:00",
        timezone="Europe/Berlin",
    )
    assert asked.status_code == 201, asked.text
    await console.get_by_label("Language").first.select_option("fa")
    await (
        console.get_by_role("navigation", name="بخش‌ها")
        .get_by_role("button", name="تماس‌های برگشتی")
        .click()
    )
    card = console.get_by_test_id("callback").filter(has_text="Parisa Persian")
    await expect(card).to_contain_text("وقت مشتری")

    # Persian digits and separators, but for the number itself (and the zone's name).
    shown = await text_without(card, ".tel, select, input")
    assert not re.search(r"[0-9,]", shown), shown
    assert any(d in shown for d in "۰۱۲۳۴۵۶۷۸۹"), shown
    phone = card.locator(".tel")
    await expect(phone).to_have_text(PHONE)
    assert await phone.evaluate(PLUS_FIRST)

    # Scheduled for a day picked in the Jalali calendar, at 10:30 the agent's time.
    when = (datetime.now(TEHRAN) + timedelta(days=1)).date()
    year, month, date = await jalali(console, when.isoformat())
    await pick_jalali(card, "schedule-date", year, month, date)
    await card.get_by_label("زمان‌بندی: ساعت").select_option("10:30")
    ARTIFACTS.mkdir(exist_ok=True)
    await console.screenshot(path=str(ARTIFACTS / "callbacks-fa.png"))
    await card.get_by_role("button", name="زمان‌بندی", exact=True).click()
    scheduled = console.locator(".cb-scheduled").get_by_test_id("callback")
    await expect(scheduled.filter(has_text="Parisa Persian")).to_be_visible()
    expected = datetime(when.year, when.month, when.day, 10, 30, tzinfo=TEHRAN).astimezone(UTC)
    items = (await console_admin.get("/api/v1/callbacks")).json()["items"]
    (mine,) = [c for c in items if c["name"] == "Parisa Persian"]
    assert datetime.fromisoformat(mine["scheduled_at"]) == expected


async def test_a_number_reads_from_its_plus_in_persian(
    console: Page, console_server: Running, console_admin: Api
) -> None:
    async with sms_channel(console_admin, console_server.url) as sms:
        await sms.deliver("سلام", sender="texter")
        await console.reload()  # the new inbox's view
        await open_inbox_view(console, sms)
        await console.get_by_label("Language").first.select_option("fa")
        label = row(console, "+1212555").locator(".contact-name")
        await expect(label).to_have_text(re.compile(r"^\+1212555\d{4}$"))
        await row(console, "+1212555").click()
        heading = console.get_by_test_id("conversation").locator(".conv-title h2")
        identity = console.locator(".addr", has_text="+1212555")
        await expect(identity).to_be_visible()
        for shown in (label, heading, identity):
            assert await shown.evaluate(PLUS_FIRST), await shown.evaluate("e => e.outerHTML")

        # Another texter, found when merging contacts: their number, `+` first too.
        await sms.deliver("سلام دوباره", sender="other")
        panel = console.get_by_test_id("contact-panel")
        await panel.get_by_role("button", name="ادغام با…").click()
        other = sms.address("other")  # (the console's server is shared: search exactly)
        await console.get_by_label("جستجوی مخاطب برای ادغام").fill(other)
        found = console.locator(".merge li").filter(has_text=other)
        await expect(found).to_have_count(1)
        assert await found.evaluate(PLUS_FIRST), await found.evaluate("e => e.outerHTML")
