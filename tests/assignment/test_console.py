"""The console's Take button and assignment settings, in Chromium."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page, Route, expect

from tests.support.api import Api, create_agent
from tests.support.app import Running
from tests.support.channels import Channel, api_channel
from tests.support.console import api_get, open_console, open_inbox_view, row
from tests.support.mail import eventually


@pytest.fixture
async def shop(console_admin: Api, console_server: Running) -> AsyncIterator[Channel]:
    async with api_channel(console_admin, console_server.url) as built:
        yield built


@pytest.fixture
async def page(
    browser: Browser, console_server: Running, console_admin: Api
) -> AsyncIterator[Page]:
    reset = await console_admin.patch("/api/v1/auth/me", json={"language": "en"})
    assert reset.status_code == 200, reset.text
    context, page = await open_console(browser, console_server.url, console_admin.token)
    await expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    yield page
    await context.close()


async def test_take_an_unassigned_conversation_or_learn_who_was_quicker(
    shop: Channel, page: Page, console_admin: Api, console_server: Running
) -> None:
    colleague = await create_agent(console_admin, f"quick{shop.inbox_id}@example.com")
    await console_admin.patch(
        f"/api/v1/inboxes/{shop.inbox_id}", json={"agent_ids": [colleague.agent["id"]]}
    )
    await page.reload()  # the directory (inboxes, agents) as it is now
    await open_inbox_view(page, shop)
    await shop.deliver("Who can help?", sender="take-1", name="Tara Take")
    await shop.deliver("Me too", sender="take-2", name="Omid Race")

    await row(page, "Tara Take").click()
    await page.get_by_role("button", name="Take", exact=True).click()
    await expect(page.locator("#assign-select")).to_have_value(f"agent:{console_admin.agent['id']}")
    await expect(page.get_by_role("button", name="Take", exact=True)).to_be_hidden()
    await expect(page.get_by_test_id("thread")).to_contain_text("assigned the conversation")

    # The colleague takes the other one just before this click reaches the server.
    await row(page, "Omid Race").click()
    raced = int(await row(page, "Omid Race").get_attribute("data-id") or 0)

    async def colleague_first(route: Route) -> None:
        taken = await colleague.post(f"/api/v1/conversations/{raced}/take")
        assert taken.status_code == 200, taken.text
        await route.continue_()

    await page.route(f"**/api/v1/conversations/{raced}/take", colleague_first)
    await page.get_by_role("button", name="Take", exact=True).click()
    await expect(page.get_by_role("alert")).to_have_text(
        f"{colleague.agent['name']} took this conversation first."
    )
    await expect(page.locator("#assign-select")).to_have_value(f"agent:{colleague.agent['id']}")
    conversation = await api_get(
        console_server.client, console_admin, f"/api/v1/conversations/{raced}"
    )
    assert conversation["assignee"]["id"] == colleague.agent["id"]


async def test_an_administrator_sets_round_robin_auto_resolve_and_capacity(
    shop: Channel, page: Page, console_admin: Api, console_server: Running
) -> None:
    agent = await create_agent(console_admin, f"capacity{shop.inbox_id}@example.com")
    await page.reload()  # the directory (inboxes, agents) as it is now
    await page.get_by_role("button", name="Settings").click()
    await page.get_by_role("button", name="Assignment").click()

    form = page.get_by_role("form", name=shop.inbox_name)
    await form.get_by_label("New conversations").select_option("round_robin")
    await form.get_by_label("Resolve after this many days waiting on the customer").fill("۵")
    await form.get_by_role("button", name="Save").click()
    await expect(form.get_by_role("status")).to_have_text("Saved.")
    policy = await api_get(
        console_server.client, console_admin, f"/api/v1/inboxes/{shop.inbox_id}/assignment"
    )
    assert (policy["mode"], policy["team_id"], policy["auto_resolve_days"]) == (
        "round_robin",
        None,
        5,
    )

    name = agent.agent["name"]
    await page.get_by_label(f"Most open: {name}").fill("۳")
    await page.get_by_role("row", name=name).get_by_role("button", name="Save").click()

    async def capacity() -> list[int]:
        rows = await api_get(console_server.client, console_admin, "/api/v1/assignment/capacities")
        return [r["max_open"] for r in rows if r["agent_id"] == agent.agent["id"] and r["max_open"]]

    assert await eventually(capacity, 10) == [3]

    # In Persian, the same settings, with Persian digits.
    await page.get_by_label("Language").first.select_option("fa")
    await expect(page.get_by_role("heading", name="واگذاری در هر صندوق")).to_be_visible()
    form = page.get_by_role("form", name=shop.inbox_name)
    await expect(form.get_by_label("گفتگوهای تازه")).to_have_value("round_robin")
    await expect(form.get_by_label("بستن پس از این چند روز انتظار برای پاسخ مشتری")).to_have_value(
        "۵"
    )
    await expect(page.get_by_label(f"سقف گفتگوهای باز: {name}")).to_have_value("۳")
