"""Rules on the `api` channel's inbound path, customer events posted by another system,
waits and their stop conditions, and the loop breaker: what the customer receives and what
the agents see in the conversation."""

from __future__ import annotations

from typing import Any

from app.contacts.service import set_reachability
from app.outbound.worker import DeliveryWorker
from connectors.base import Address, AddressKind
from tests.support.api import Api, assert_error, create_api_inbox, post_incoming
from tests.support.app import Running
from tests.support.automations import (
    api_token,
    create_rule,
    pending_steps,
    runs,
    settle,
    texts,
    time_passes,
)
from tests.support.delivery import drain, reply
from tests.support.receiver import Receiver


async def _messages(admin: Api, conversation_id: int) -> list[dict[str, Any]]:
    page = await admin.get(f"/api/v1/conversations/{conversation_id}/messages")
    items: list[dict[str, Any]] = page.json()["items"]
    return items


async def test_a_first_message_gets_the_rules_answer_and_labels(
    running: Running, admin: Api, receiver: Receiver, worker: DeliveryWorker
) -> None:
    inbox = await create_api_inbox(admin, outbound_url=receiver.url)
    await create_rule(
        admin,
        name="Orders",
        inbox_id=inbox.id,
        event="message.first_received",
        conditions=[{"field": "message.text", "op": "contains", "value": "ORDER"}],
        actions=[
            {"type": "send_message", "text": "سلام {{contact.first_name}}! #{{conversation.id}}"},
            {"type": "add_label", "label": "orders"},
            {"type": "set_priority", "priority": "high"},
        ],
    )
    await settle(running.ctx)
    first = await post_incoming(
        running.client, inbox, external_id="1", text="my order?", name="Sara Ahmadi"
    )
    await post_incoming(running.client, inbox, external_id="2", text="order again", name="Sara")
    await post_incoming(running.client, inbox, external_id="3", sender="c2", text="hello")
    await settle(running.ctx)
    await drain(worker)
    conversation_id = first.json()["conversation_id"]
    assert texts(receiver) == [f"سلام Sara! #{conversation_id}"]
    conversation = (await admin.get(f"/api/v1/conversations/{conversation_id}")).json()
    assert conversation["labels"] == ["orders"]
    assert conversation["priority"] == "high"


async def test_automated_changes_are_the_rules_own_activity_lines_and_never_start_rules(
    running: Running, admin: Api
) -> None:
    inbox = await create_api_inbox(admin)
    resolver = await create_rule(
        admin,
        name="Close thanks",
        event="message.received",
        conditions=[{"field": "message.text", "op": "matches", "value": r"^thanks?\b"}],
        actions=[{"type": "resolve"}],
    )
    watcher = await create_rule(
        admin,
        name="Watcher",
        event="conversation.status_changed",
        actions=[{"type": "add_note", "text": "status changed"}],
    )
    await settle(running.ctx)
    stored = await post_incoming(running.client, inbox, external_id="1", text="Thanks a lot")
    await settle(running.ctx)
    conversation_id = stored.json()["conversation_id"]
    conversation = (await admin.get(f"/api/v1/conversations/{conversation_id}")).json()
    assert conversation["status"] == "resolved"
    (line,) = [m for m in await _messages(admin, conversation_id) if m["direction"] == "activity"]
    assert line["body_text"] == "Automation Close thanks resolved the conversation"
    assert line["sender"] is None
    assert line["metadata"]["by"] == "Automation Close thanks"
    assert [r["status"] for r in await runs(admin, resolver["id"])] == ["done"]
    # The resolve was the rule's doing: it starts no rule (depth 1).
    assert await runs(admin, watcher["id"]) == []
    # An agent's change does.
    r = await admin.patch(f"/api/v1/conversations/{conversation_id}", json={"status": "open"})
    assert r.status_code == 200, r.text
    await settle(running.ctx)
    assert [r["status"] for r in await runs(admin, watcher["id"])] == ["done"]


async def test_the_loop_breaker_holds_the_fourth_automatic_message_with_one_note(
    running: Running, admin: Api, receiver: Receiver, worker: DeliveryWorker
) -> None:
    inbox = await create_api_inbox(admin, outbound_url=receiver.url)
    await create_rule(
        admin,
        name="Echo",
        event="message.received",
        actions=[{"type": "send_message", "text": "got: {{message.text}}"}],
    )
    await settle(running.ctx)
    for n in range(1, 7):
        stored = await post_incoming(running.client, inbox, external_id=str(n), text=f"m{n}")
        await settle(running.ctx)
    await drain(worker)
    assert texts(receiver) == ["got: m1", "got: m2", "got: m3"]
    messages = await _messages(admin, stored.json()["conversation_id"])
    notes = [m for m in messages if m["direction"] == "note"]
    assert len(notes) == 1
    assert "held back" in notes[0]["body_text"]
    assert notes[0]["metadata"]["by"] == "Automation Echo"


async def test_a_customer_event_is_on_the_timeline_and_its_rule_writes_now_and_later(
    running: Running, admin: Api, receiver: Receiver, worker: DeliveryWorker
) -> None:
    inbox = await create_api_inbox(admin, outbound_url=receiver.url)
    rule = await create_rule(
        admin,
        name="Order follow-up",
        event="customer.event",
        options={"name": "order.placed"},
        conditions=[{"field": "event.payload.total", "op": "equals", "value": "۱۲۰"}],
        actions=[
            {
                "type": "send_message",
                "inbox_id": inbox.id,
                "text": "سفارش {{event.payload.order_id}} ثبت شد{{event.payload.missing}}",
            },
            {"type": "wait", "minutes": 5 * 24 * 60},
            {"type": "send_message", "text": "How was order {{event.payload.order_id}}?"},
        ],
    )
    await settle(running.ctx)
    token = await api_token(admin)
    by_identity = {"channel": "api", "address": f"{inbox.id}:shopper-1"}
    r = await running.client.post(
        "/api/v1/contacts/events",
        json={"identity": by_identity, "name": "order.placed", "payload": {"order_id": "A-7"}},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 201, r.text  # no total: on the timeline, no rule runs
    contact_id = r.json()["contact_id"]
    r = await running.client.post(
        f"/api/v1/contacts/{contact_id}/events",
        json={
            "name": "order.placed",
            "payload": {"order_id": "A-8", "total": 120},
            "occurred_at": "2026-12-01T13:30:00+03:30",  # when the shop took the order
        },
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["occurred_at"].startswith("2026-12-01T10:00:00")
    await settle(running.ctx)
    await drain(worker)
    assert texts(receiver) == ["سفارش A-8 ثبت شد"]
    timeline = (await admin.get(f"/api/v1/contacts/{contact_id}/events")).json()["items"]
    assert [(e["name"], e["payload"].get("order_id")) for e in timeline] == [
        ("order.placed", "A-8"),
        ("order.placed", "A-7"),
    ]
    assert timeline[0]["occurred_at"].startswith("2026-12-01T10:00:00")
    assert timeline[1]["occurred_at"] == timeline[1]["created_at"]  # not given: when told
    assert [r["status"] for r in await runs(admin, rule["id"])] == ["waiting"]
    await time_passes(running.ctx, minutes=5 * 24 * 60 - 1)
    await settle(running.ctx)
    assert len(await pending_steps(running.ctx)) == 1  # a minute early: still waiting
    await time_passes(running.ctx, minutes=1)
    await settle(running.ctx)
    await drain(worker)
    assert texts(receiver) == ["سفارش A-8 ثبت شد", "How was order A-8?"]
    assert [r["status"] for r in await runs(admin, rule["id"])] == ["done"]
    assert await pending_steps(running.ctx) == []


async def test_customer_events_need_an_api_token_and_a_valid_name_and_payload(
    running: Running, admin: Api
) -> None:
    url = "/api/v1/contacts/events"
    body = {"identity": {"channel": "email", "address": "sara@example.com"}, "name": "signed_up"}
    assert_error(await running.client.post(url, json=body), 401)
    # An agent's session is not an API token.
    assert_error(await admin.post(url, json=body), 401, "invalid_token")
    token = {"Authorization": f"Bearer {await api_token(admin)}"}
    for bad in (
        {**body, "name": "no spaces please"},
        {**body, "payload": {"blob": "x" * 20_000}},
        {**body, "identity": {"channel": "email", "address": "not an address"}},
        # An api identity names an api inbox and a sender in it.
        {**body, "identity": {"channel": "api", "address": "nocolon"}},
        {**body, "identity": {"channel": "api", "address": "99999:sara"}},
        {**body, "occurred_at": "2026-12-01T10:00:00"},  # no offset: whose ten o'clock?
        {**body, "occurred_at": "yesterday"},
    ):
        assert_error(await running.client.post(url, json=bad, headers=token), 422)
    r = await running.client.post(url, json=body, headers=token)
    assert r.status_code == 201, r.text
    listed = (await admin.get("/api/v1/api-tokens")).json()["items"]
    assert listed[0]["token"] is None  # shown once
    assert listed[0]["last_used_at"] is not None
    assert (await admin.delete(f"/api/v1/api-tokens/{listed[0]['id']}")).status_code == 204
    assert_error(await running.client.post(url, json=body, headers=token), 401)


async def test_a_reply_in_the_conversation_cancels_the_waiting_rule(
    running: Running, admin: Api, receiver: Receiver, worker: DeliveryWorker
) -> None:
    inbox = await create_api_inbox(admin, outbound_url=receiver.url)
    rule = await create_rule(
        admin,
        name="Nudge",
        event="message.first_received",
        actions=[
            {"type": "send_message", "text": "We are on it"},
            {"type": "wait", "minutes": 60},
            {"type": "send_message", "text": "Still there?"},
        ],
    )
    await settle(running.ctx)
    stored = await post_incoming(running.client, inbox, external_id="1", text="help")
    await settle(running.ctx)
    await reply(admin, stored.json()["conversation_id"], "An agent answers")
    await time_passes(running.ctx, minutes=60)
    await settle(running.ctx)
    await drain(worker)
    assert texts(receiver) == ["We are on it", "An agent answers"]
    (run,) = await runs(admin, rule["id"])
    assert run["status"] == "cancelled"
    assert "someone wrote in the conversation" in run["detail"]


async def test_rules_are_validated_reordered_and_switched_off(admin: Api) -> None:
    base = {"name": "R", "event": "message.received", "actions": [{"type": "resolve"}]}
    for bad in (
        {**base, "conditions": [{"field": "nope", "op": "equals", "value": "x"}]},
        {**base, "conditions": [{"field": "message.text", "op": "matches", "value": "(a+)+$"}]},
        {**base, "event": "customer.event"},
        {**base, "actions": []},
    ):
        assert_error(await admin.post("/api/v1/automations", json=bad), 422)
    first = await create_rule(admin, **{**base, "name": "first"})
    second = await create_rule(admin, **{**base, "name": "second"})
    r = await admin.patch(
        f"/api/v1/automations/{second['id']}", json={"position": first["position"]}
    )
    assert r.status_code == 200, r.text
    r = await admin.patch(f"/api/v1/automations/{first['id']}", json={"enabled": False})
    assert r.json()["enabled"] is False
    items = (await admin.get("/api/v1/automations")).json()["items"]
    assert [(i["name"], i["enabled"]) for i in items] == [("second", True), ("first", False)]


async def test_an_unsubscribed_contact_gets_no_follow_up(
    running: Running, admin: Api, receiver: Receiver, worker: DeliveryWorker
) -> None:
    inbox = await create_api_inbox(admin, outbound_url=receiver.url)
    rule = await create_rule(
        admin,
        name="Follow-up",
        event="message.first_received",
        actions=[
            {"type": "wait", "minutes": 10, "cancel_on_reply": False},
            {"type": "send_message", "text": "Anything else?"},
        ],
    )
    await settle(running.ctx)
    await post_incoming(running.client, inbox, external_id="1", sender="stop-1", text="hi")
    await settle(running.ctx)
    async with running.ctx.db.write() as session:  # the customer opted out meanwhile
        address = Address(AddressKind.api, f"{inbox.id}:stop-1")
        assert await set_reachability(session, address, reachable=False, reason="STOP")
    await time_passes(running.ctx, minutes=10)
    await settle(running.ctx)
    await drain(worker)
    assert texts(receiver) == []
    (run,) = await runs(admin, rule["id"])
    assert run["status"] == "cancelled"
    assert "unsubscribed" in run["detail"]


async def quiet_for_30_minutes(admin: Api) -> dict[str, Any]:
    """An idle rule for every inbox: a note after 30 minutes in which nobody wrote."""
    return await create_rule(
        admin,
        name="Quiet",
        event="conversation.idle",
        options={"minutes": 30},
        actions=[{"type": "add_note", "text": "Quiet for 30 minutes"}],
    )


async def test_an_idle_conversation_starts_its_rule_once_quiet_long_enough(
    running: Running, admin: Api
) -> None:
    inbox = await create_api_inbox(admin)
    rule = await quiet_for_30_minutes(admin)
    await settle(running.ctx)
    stored = await post_incoming(running.client, inbox, external_id="1", text="hello?")
    await settle(running.ctx)
    await time_passes(running.ctx, minutes=20)
    # The customer writes again: the clock starts again from now.
    await post_incoming(running.client, inbox, external_id="2", text="anyone?")
    await settle(running.ctx)
    await time_passes(running.ctx, minutes=20)
    await settle(running.ctx)
    assert await runs(admin, rule["id"]) == []
    await time_passes(running.ctx, minutes=10)
    await settle(running.ctx)
    assert [r["status"] for r in await runs(admin, rule["id"])] == ["done"]
    notes = [
        m["body_text"]
        for m in await _messages(admin, stored.json()["conversation_id"])
        if m["direction"] == "note"
    ]
    assert notes == ["Quiet for 30 minutes"]


async def test_a_rules_own_welcome_does_not_keep_a_conversation_from_going_idle(
    running: Running, admin: Api
) -> None:
    """A welcome sent by a rule after the customer's message moves no idle clock (the rules'
    own messages never start a rule), and no longer stops the clock set before it."""
    inbox = await create_api_inbox(admin)
    await create_rule(
        admin,
        name="Welcome",
        event="conversation.created",
        actions=[{"type": "send_message", "text": "Hi, we are on it."}],
    )
    idle = await quiet_for_30_minutes(admin)
    await settle(running.ctx)
    stored = await post_incoming(running.client, inbox, external_id="1", text="hello?")
    await settle(running.ctx)
    texts_now = [m["body_text"] for m in await _messages(admin, stored.json()["conversation_id"])]
    assert "Hi, we are on it." in texts_now
    await time_passes(running.ctx, minutes=31)
    await settle(running.ctx)
    assert [r["status"] for r in await runs(admin, idle["id"])] == ["done"]


async def test_a_changed_rule_applies_from_the_next_message(running: Running, admin: Api) -> None:
    """The consumer keeps the rules between batches; every change reaches it at once."""
    inbox = await create_api_inbox(admin)
    tag = {"name": "Tag", "event": "message.received"}
    rule = await create_rule(admin, **tag, actions=[{"type": "add_label", "label": "first"}])
    await settle(running.ctx)

    async def labels_of_a_new_conversation(sender: str) -> list[str]:
        stored = await post_incoming(running.client, inbox, external_id=sender, sender=sender)
        await settle(running.ctx)
        conversation_id = stored.json()["conversation_id"]
        found: list[str] = (await admin.get(f"/api/v1/conversations/{conversation_id}")).json()[
            "labels"
        ]
        return found

    assert await labels_of_a_new_conversation("a") == ["first"]
    changed = await admin.patch(
        f"/api/v1/automations/{rule['id']}",
        json={"rule": {**tag, "actions": [{"type": "add_label", "label": "second"}]}},
    )
    assert changed.status_code == 200, changed.text
    assert await labels_of_a_new_conversation("b") == ["second"]
    switched = await admin.patch(f"/api/v1/automations/{rule['id']}", json={"enabled": False})
    assert switched.status_code == 200, switched.text
    assert await labels_of_a_new_conversation("c") == []
    await create_rule(admin, **tag, actions=[{"type": "add_label", "label": "third"}])
    assert await labels_of_a_new_conversation("d") == ["third"]
