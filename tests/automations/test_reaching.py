"""Rules that read or reach other features: the `business_hours` condition (the inbox's
hours at the moment of the event, across the boundaries of an Iranian week in Tehran), the
`send_survey` action (an NPS 30 days after `order.delivered`; a CSAT when a conversation
is resolved) and `call_webhook` (a signed delivery through the outgoing webhooks)."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from app.automations.worker import handler
from app.events.log import Logged
from app.outbound.worker import DeliveryWorker
from tests.support.api import Api, assert_error, create_api_inbox, post_incoming
from tests.support.app import Running
from tests.support.automations import api_token, create_rule, runs, settle, time_passes
from tests.support.delivery import drain
from tests.support.receiver import Receiver
from tests.support.surveys import answer_and_resolve, set_policy, surveys
from tests.support.webhooks import create_webhook, started
from tests.support.webhooks import drain as drain_webhooks

TEHRAN = ZoneInfo("Asia/Tehran")
IRANIAN_WEEK = {
    **{day: ["08:00-16:00"] for day in ("sat", "sun", "mon", "tue", "wed")},
    "thu": ["08:00-12:00"],
}


def tehran(day: int, hour: int, minute: int = 0) -> datetime:
    """A time in March 2027 in Tehran (3 March is a Wednesday; 6 March a Saturday)."""
    return datetime(2027, 3, day, hour, minute, tzinfo=TEHRAN)


async def test_business_hours_condition_follows_the_inbox_hours_in_tehran(
    running: Running, admin: Api
) -> None:
    inbox = await create_api_inbox(admin)
    holiday = {"from": "۲۰۲۷-۰۳-۰۷", "name": "a Sunday off"}  # Persian digits are read
    hours = {"timezone": "Asia/Tehran", "weekly": IRANIAN_WEEK, "holidays": [holiday]}
    saved = await admin.put(f"/api/v1/inboxes/{inbox.id}/business-hours", json=hours)
    assert saved.status_code == 200, saved.text
    closed = await create_rule(
        admin,
        name="After hours",
        inbox_id=inbox.id,
        event="message.received",
        conditions=[{"field": "business_hours", "op": "equals", "value": "Closed"}],
        actions=[{"type": "add_note", "text": "closed"}],
    )
    opened = await create_rule(
        admin,
        name="In hours",
        inbox_id=inbox.id,
        event="message.received",
        conditions=[{"field": "business_hours", "op": "not_equals", "value": "closed"}],
        actions=[{"type": "add_note", "text": "open"}],
    )
    await settle(running.ctx)
    posted = await post_incoming(running.client, inbox, external_id="m0", text="hi")
    conversation_id = posted.json()["conversation_id"]
    await settle(running.ctx)
    before = (len(await runs(admin, closed["id"])), len(await runs(admin, opened["id"])))

    handle = handler(running.ctx)
    said: dict[datetime, str] = {}
    moments = [
        tehran(3, 7, 59),  # Wednesday, before opening
        tehran(3, 8, 0),
        tehran(3, 15, 59),
        tehran(3, 16, 0),  # closing time is closed
        tehran(4, 11, 59),  # Thursday: mornings only
        tehran(4, 12, 0),
        tehran(5, 10, 0),  # Friday: closed all day
        tehran(6, 9, 0),  # Saturday: the week starts
        tehran(7, 9, 0),  # Sunday, a holiday
    ]
    for at in moments:
        counts = (len(await runs(admin, closed["id"])), len(await runs(admin, opened["id"])))
        message = {"id": 10**6, "direction": "inbound", "body_text": "hello"}
        event = Logged(
            0, "message.created", inbox.id, conversation_id, None, False, {"message": message}, at
        )
        async with running.ctx.db.write() as session:
            await handle(session, [event])
        after = (len(await runs(admin, closed["id"])), len(await runs(admin, opened["id"])))
        assert sum(after) - sum(counts) == 1, at  # exactly one of the two rules
        said[at] = "closed" if after[0] > counts[0] else "open"
    assert [said[at] for at in moments] == [
        "closed",
        "open",
        "open",
        "closed",
        "open",
        "closed",
        "closed",
        "open",
        "closed",
    ]
    assert sum(before) == 1  # the live message: open or closed, whatever now is

    refused = await admin.post(
        "/api/v1/automations",
        json={
            "name": "Bad",
            "event": "message.received",
            "conditions": [{"field": "business_hours", "op": "contains", "value": "open"}],
            "actions": [{"type": "resolve"}],
        },
    )
    assert_error(refused, 422)


async def test_nps_thirty_days_after_order_delivered(
    running: Running, admin: Api, receiver: Receiver, worker: DeliveryWorker
) -> None:
    inbox = await create_api_inbox(admin, outbound_url=receiver.url)
    await set_policy(admin, cooldown_days=0, nps_interval_days=90)
    rule = await create_rule(
        admin,
        name="NPS after delivery",
        event="customer.event",
        options={"name": "order.delivered"},
        actions=[
            {"type": "wait", "minutes": 30 * 24 * 60},
            {"type": "send_survey", "kind": "nps", "inbox_id": inbox.id},
        ],
    )
    await settle(running.ctx)
    token = {"Authorization": f"Bearer {await api_token(admin)}"}
    shopper = {"channel": "api", "address": f"{inbox.id}:shopper-1"}
    for order in ("A-1", "A-2"):
        posted = await running.client.post(
            "/api/v1/contacts/events",
            json={"identity": shopper, "name": "order.delivered", "payload": {"order": order}},
            headers=token,
        )
        assert posted.status_code == 201, posted.text
    contact_id = posted.json()["contact_id"]
    await settle(running.ctx)
    await time_passes(running.ctx, 30 * 24 * 60 - 5)
    await settle(running.ctx)
    assert await surveys(admin, contact_id=contact_id) == []  # not yet

    await time_passes(running.ctx, 5)
    await settle(running.ctx)
    await drain(worker)
    (survey,) = await surveys(admin, contact_id=contact_id)
    assert (survey["kind"], survey["trigger"], survey["channel"]) == ("nps", "rule", "api")
    asked = [json.loads(r.body)["message"] for r in receiver.received]
    assert [m["payload"]["survey"]["kind"] for m in asked] == ["nps"]
    # The second delivery's survey comes within the NPS interval: not sent, and said so.
    details = sorted(r["detail"] for r in await runs(admin, rule["id"]))
    assert "nps survey sent" in details[0] + details[1]
    assert any("no nps now" in d for d in details), details


async def test_csat_by_rule_when_a_conversation_is_resolved(
    running: Running, admin: Api, receiver: Receiver, worker: DeliveryWorker
) -> None:
    """Not through the policy's inboxes (none are set): the rule asks."""
    inbox = await create_api_inbox(admin, outbound_url=receiver.url)
    await set_policy(admin, cooldown_days=0)
    await create_rule(
        admin,
        name="CSAT on resolve",
        event="conversation.status_changed",
        conditions=[{"field": "conversation.status", "value": "resolved"}],
        actions=[{"type": "send_survey", "kind": "csat"}],
    )
    await settle(running.ctx)
    posted = await post_incoming(running.client, inbox, external_id="q1", text="help?")
    conversation_id = posted.json()["conversation_id"]
    await answer_and_resolve(admin, conversation_id)
    await settle(running.ctx)
    await drain(worker)
    (survey,) = await surveys(admin, conversation_id=conversation_id)
    assert (survey["kind"], survey["agent_id"]) == ("csat", admin.agent["id"])
    texts = [json.loads(r.body)["message"]["text"] for r in receiver.received]
    assert texts[0] == "Done!"
    assert "How would you rate" in texts[1]


def _signed(secret: str, headers: dict[str, str], body: bytes) -> bool:
    expected = hmac.new(
        secret.encode(), headers["x-panjereh-timestamp"].encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    return any(
        hmac.compare_digest(part, f"sha256={expected}")
        for part in headers["x-panjereh-signature"].split(",")
    )


async def test_call_webhook_sends_the_rule_and_its_facts_signed(
    running: Running, admin: Api, receiver: Receiver
) -> None:
    inbox = await create_api_inbox(admin)
    # Subscribed to nothing the customer's message causes: only the rule's call arrives.
    webhook = await create_webhook(admin, receiver.url, ["survey.answered"])
    hooks = await started(running)
    rule = await create_rule(
        admin,
        name="Tell the CRM",
        event="message.received",
        conditions=[{"field": "message.text", "op": "contains", "value": "refund"}],
        actions=[{"type": "call_webhook", "webhook_id": webhook["id"]}],
    )
    await settle(running.ctx)
    posted = await post_incoming(
        running.client, inbox, external_id="r1", text="I want a refund", name="Sara Ahmadi"
    )
    await post_incoming(running.client, inbox, external_id="r2", text="thanks")
    await settle(running.ctx)
    await drain_webhooks(hooks)

    (call,) = receiver.received
    assert _signed(webhook["secret"], call.headers, call.body)
    assert call.headers["x-panjereh-event"] == "automation.rule"
    sent: dict[str, Any] = json.loads(call.body)
    assert sent["type"] == "automation.rule"
    assert sent["version"] == 1
    data = sent["data"]
    assert data["rule"] == {"id": rule["id"], "name": "Tell the CRM"}
    assert data["conversation"]["id"] == posted.json()["conversation_id"]
    assert data["contact"]["first_name"] == "Sara"
    assert data["message"]["text"] == "I want a refund"
    assert data["event"]["type"] == "message.received"
    (run,) = await runs(admin, rule["id"])
    assert run["detail"].startswith(f"webhook {webhook['id']} called")
    log = (await admin.get(f"/api/v1/webhooks/{webhook['id']}/deliveries")).json()
    assert [(d["event_type"], d["state"], d["attempts"]) for d in log] == [
        ("automation.rule", "delivered", 1)
    ]

    missing = {**rule, "actions": [{"type": "call_webhook", "webhook_id": 999_999}]}
    body = {k: missing[k] for k in ("name", "event", "conditions", "actions")}
    assert_error(await admin.post("/api/v1/automations", json=body), 422, "invalid_webhook")
    for action, code in (
        ({"type": "assign_agent", "agent_id": 999_999}, "unknown_agent"),
        ({"type": "assign_team", "team_id": 999_999}, "invalid_team"),
    ):
        body = {**body, "actions": [action]}
        assert_error(await admin.post("/api/v1/automations", json=body), 422, code)
