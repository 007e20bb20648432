"""The console: an administrator builds a rule in the settings form (event, conditions,
actions with a wait), switches it off and moves it; an agent sees a contact's customer
events in the customer panel, and an automation's activity line in English and Persian."""

from __future__ import annotations

from playwright.async_api import Page, expect

from tests.support.api import Api
from tests.support.app import Running
from tests.support.automations import api_token, create_rule
from tests.support.channels import api_channel
from tests.support.console import open_inbox_view, row


async def test_a_rule_is_built_in_the_settings_form(console: Page, console_admin: Api) -> None:
    await console.get_by_role("button", name="Settings").click()
    await console.get_by_role("button", name="Automations").click()
    await console.get_by_role("button", name="New rule").click()
    form = console.get_by_role("form", name="New rule")
    await form.get_by_label("Rule name").fill("Order follow-up")
    await form.get_by_label("When").select_option(label="A customer event is posted")
    await form.get_by_label("Event name").fill("order.placed")
    await form.get_by_role("button", name="Add condition").click()
    condition = form.get_by_test_id("condition")
    await condition.get_by_label("Field").select_option(label="Event payload field")
    await condition.get_by_label("Path").fill("order_id")
    await condition.get_by_label("Operator").select_option(label="is set")
    await form.get_by_label("Text").fill("سفارش {{event.payload.order_id}} ثبت شد")
    await form.get_by_role("button", name="Add action").click()
    await form.get_by_label("Then 2").select_option(label="Wait")
    await form.get_by_label("Wait", exact=True).fill("۵")
    await form.get_by_label("Wait: minutes").select_option(label="days")
    await form.get_by_role("button", name="Add action").click()
    await form.get_by_label("Text").nth(1).fill("How was it?")
    await form.get_by_role("button", name="Save").click()

    rules = console.get_by_test_id("rule-row")
    await expect(rules.filter(has_text="Order follow-up")).to_contain_text(
        "A customer event is posted (order.placed)"
    )
    listed = (await console_admin.get("/api/v1/automations")).json()["items"]
    (rule,) = [r for r in listed if r["name"] == "Order follow-up"]
    assert rule["event"] == "customer.event"
    assert rule["options"]["name"] == "order.placed"
    assert [(c["field"], c["op"], c["value"]) for c in rule["conditions"]] == [
        ("event.payload.order_id", "exists", None)
    ]
    assert [a["type"] for a in rule["actions"]] == ["send_message", "wait", "send_message"]
    assert rule["actions"][1]["minutes"] == 5 * 24 * 60

    await console.get_by_label("Enabled: Order follow-up").uncheck()
    await expect(console.get_by_label("Enabled: Order follow-up")).not_to_be_checked()
    assert (await console_admin.get(f"/api/v1/automations/{rule['id']}")).json()["enabled"] is False
    await console_admin.delete(f"/api/v1/automations/{rule['id']}")


async def test_the_customer_panel_shows_customer_events_and_automation_lines_in_persian(
    console: Page, console_server: Running, console_admin: Api
) -> None:
    async with api_channel(console_admin, console_server.url) as shop:
        rule = await create_rule(
            console_admin,
            name="خوشامد",
            inbox_id=shop.inbox_id,
            event="message.first_received",
            actions=[{"type": "set_priority", "priority": "high"}],
        )
        try:
            await shop.deliver("hello", sender="evt-1", name="Eve Events")
            page = await console_admin.get(
                "/api/v1/conversations", params={"inbox_id": shop.inbox_id}
            )
            contact_id = page.json()["items"][0]["contact"]["id"]
            token = await api_token(console_admin)
            r = await console_server.client.post(
                f"/api/v1/contacts/{contact_id}/events",
                json={"name": "order.placed", "payload": {"order_id": "A-1001"}},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert r.status_code == 201, r.text
            await console.reload()  # the sidebar lists the inboxes made after it loaded
            await open_inbox_view(console, shop)
            await console.get_by_label("Language").first.select_option("fa")
            await row(console, "Eve Events").click()
            timeline = console.get_by_test_id("customer-events")
            await expect(timeline.get_by_test_id("customer-event")).to_contain_text("order.placed")
            await expect(timeline.get_by_test_id("customer-event")).to_contain_text(
                "order_id: A-1001"
            )
            await expect(console.get_by_test_id("activity").last).to_contain_text(
                "خودکارسازی «خوشامد» اولویت را «زیاد» کرد"
            )
        finally:
            await console_admin.delete(f"/api/v1/automations/{rule['id']}")


async def test_business_hours_a_survey_and_a_webhook_in_the_rule_form(
    console: Page, console_admin: Api
) -> None:
    hook = await console_admin.post(
        "/api/v1/webhooks",
        json={"url": "https://crm.example.com/in", "events": ["*"], "description": "CRM"},
    )
    assert hook.status_code == 201, hook.text
    await console.get_by_role("button", name="Settings").click()
    await console.get_by_role("button", name="Automations").click()
    await console.get_by_role("button", name="New rule").click()
    form = console.get_by_role("form", name="New rule")
    await form.get_by_label("Rule name").fill("Closed: ask and tell")
    await form.get_by_role("button", name="Add condition").click()
    condition = form.get_by_test_id("condition")
    await condition.get_by_label("Field").select_option(label="Business hours")
    await expect(condition.get_by_label("Operator").locator("option")).to_have_count(2)
    await condition.get_by_label("Value").select_option(label="closed")
    await form.get_by_label("Then 1").select_option(label="Send a satisfaction survey")
    await form.get_by_label("Send a satisfaction survey").select_option("nps")
    await form.get_by_role("button", name="Add action").click()
    await form.get_by_label("Then 2").select_option(label="Call a webhook")
    await form.get_by_label("Call a webhook", exact=True).select_option(label="CRM")
    await form.get_by_role("button", name="Save").click()
    await expect(
        console.get_by_test_id("rule-row").filter(has_text="Closed: ask and tell")
    ).to_be_visible()

    listed = (await console_admin.get("/api/v1/automations")).json()["items"]
    (rule,) = [r for r in listed if r["name"] == "Closed: ask and tell"]
    try:
        assert rule["conditions"] == [
            {"field": "business_hours", "op": "equals", "value": "closed"}
        ]
        assert rule["actions"] == [
            {"type": "send_survey", "kind": "nps", "inbox_id": None},
            {"type": "call_webhook", "webhook_id": hook.json()["id"]},
        ]
        # In Persian, the same rule reads in Persian.
        await console.get_by_label("Language").first.select_option("fa")
        rules = console.get_by_test_id("rule-row").filter(has_text="Closed: ask and tell")
        await rules.get_by_role("button", name="ویرایش").click()
        form = console.get_by_role("form", name="ویرایش قانون")
        await expect(form.get_by_label("فیلد")).to_have_value("business_hours")
        await expect(form.get_by_label("فیلد").locator("option:checked")).to_have_text("ساعت کاری")
        await expect(form.get_by_label("مقدار").locator("option:checked")).to_have_text("بسته")
        await expect(form.get_by_label("آنگاه 1").locator("option:checked")).to_have_text(
            "فرستادن نظرسنجی رضایت"
        )
    finally:
        await console_admin.delete(f"/api/v1/automations/{rule['id']}")
        await console_admin.delete(f"/api/v1/webhooks/{hook.json()['id']}")
