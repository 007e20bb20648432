"""Webhooks as a receiver gets them: signed with the secret the administrator was shown
(checked here by an independent implementation), retried across the receiver's outage
under one delivery id, in order per webhook, final on a 4xx, signed with both secrets
during a rotation's grace, redelivered on request, disabled after days of failures."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from app.db import utcnow
from app.events.consumers import consume_once
from app.events.models import EventRow
from app.webhooks.models import WebhookDelivery, WebhookSubscription
from app.webhooks.worker import CONSUMER
from tests.support.api import Api, post_incoming
from tests.support.app import Running
from tests.support.automations import api_token
from tests.support.pacing import core_in_use, pressed_after_serving, quiet, request_in_flight
from tests.support.receiver import Received, Receiver
from tests.support.webhooks import create_webhook, customer_writes, drain, shop, started

README = Path(__file__).resolve().parents[2] / "README.md"


def verified(secret: str, received: Received) -> list[bool]:
    """What a receiver does: each listed signature checked against HMAC-SHA256 of
    `timestamp.body` under the secret it was given."""
    timestamp = received.headers["x-panjereh-timestamp"]
    expected = hmac.new(
        secret.encode(), f"{timestamp}.".encode() + received.body, hashlib.sha256
    ).hexdigest()
    return [
        hmac.compare_digest(part, f"sha256={expected}")
        for part in received.headers["x-panjereh-signature"].split(",")
    ]


def readme_verify() -> Callable[..., bool]:
    """The receiver's check the README shows, as a reader would paste it."""
    section = README.read_text(encoding="utf-8").split("## Outgoing webhooks", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict[str, Any] = {}
    exec(code, namespace)  # noqa: S102 - the README's own example
    verify: Callable[..., bool] = namespace["verify"]
    return verify


def body(received: Received) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(received.body)
    return parsed


def texts(receiver: Receiver) -> list[str]:
    return [body(r)["data"]["message"]["body_text"] for r in receiver.received]


async def test_events_arrive_signed_with_the_secret_the_admin_was_shown(
    running: Running, admin: Api, receiver: Receiver
) -> None:
    hooks = await started(running)
    webhook = await create_webhook(admin, receiver.url, ["conversation.created", "message.created"])
    inbox = await shop(admin)
    await customer_writes(running, inbox, "where is my order?")
    await drain(hooks)

    created, message = receiver.received
    assert [r.headers["x-panjereh-event"] for r in receiver.received] == [
        "conversation.created",
        "message.created",
    ]
    for received in receiver.received:
        assert verified(webhook["secret"], received) == [True]
        assert verified("whsec_another-secret", received) == [False]
        assert abs(int(received.headers["x-panjereh-timestamp"]) - time.time()) < 60
    payload = body(message)
    assert payload["version"] == 1
    assert payload["type"] == "message.created"
    assert payload["data"]["message"]["body_text"] == "where is my order?"
    assert (
        payload["data"]["message"]["conversation_id"] == body(created)["data"]["conversation"]["id"]
    )
    assert payload["id"].startswith("evt_")
    # The secret is shown again only on an explicit request, and is the same.
    listed = await admin.get("/api/v1/webhooks")
    assert webhook["secret"] not in listed.text
    assert webhook["secret"] not in (await admin.get(f"/api/v1/webhooks/{webhook['id']}")).text
    revealed = await admin.post(f"/api/v1/webhooks/{webhook['id']}/secret")
    assert revealed.json()["secret"] == webhook["secret"]


async def test_a_new_customer_is_announced_once_as_contact_created(
    running: Running, admin: Api, receiver: Receiver
) -> None:
    """A person's first message makes their contact: `contact.created` carries it with the
    addresses it came with (a message from a known sender makes none), for a sender seen
    alone and for one who brings another address."""
    hooks = await started(running)
    await create_webhook(admin, receiver.url, ["contact.created"])
    inbox = await shop(admin)
    await customer_writes(running, inbox, "where is my order?", "hello again")
    with_email = await post_incoming(
        running.client,
        inbox,
        external_id="m-sara",
        sender="cust-2",
        name="Sara",
        email="sara@example.com",
        text="سلام",
    )
    assert with_email.status_code == 201, with_email.text
    await drain(hooks)

    assert [r.headers["x-panjereh-event"] for r in receiver.received] == ["contact.created"] * 2
    first, second = (body(r)["data"]["contact"] for r in receiver.received)
    assert [(i["channel"], i["address"]) for i in first["identities"]] == [
        ("api", f"{inbox.id}:cust-1")
    ]
    assert second["name"] == "Sara"
    assert sorted((i["channel"], i["address"]) for i in second["identities"]) == [
        ("api", f"{inbox.id}:cust-2"),
        ("email", "sara@example.com"),
    ]
    shown = (await admin.get(f"/api/v1/contacts/{first['id']}")).json()
    assert shown["identities"] == first["identities"]


async def test_a_customer_event_reaches_the_webhooks_that_take_it(
    running: Running, admin: Api, receiver: Receiver
) -> None:
    hooks = await started(running)
    await create_webhook(admin, receiver.url, ["contact.event"])
    await create_webhook(admin, receiver.url, ["conversation.created"])  # not this one
    token = await api_token(admin)
    told = await running.client.post(
        "/api/v1/contacts/events",
        json={
            "identity": {"channel": "email", "address": "sara@example.com"},
            "name": "order.placed",
            "payload": {"order_id": "A-9"},
        },
        headers={"Authorization": f"Bearer {token}"},
    )
    assert told.status_code == 201, told.text
    await drain(hooks)

    (received,) = receiver.received
    assert received.headers["x-panjereh-event"] == "contact.event"
    event = body(received)["data"]["event"]
    assert (event["name"], event["payload"], event["contact_id"]) == (
        "order.placed",
        {"order_id": "A-9"},
        told.json()["contact_id"],
    )


async def test_a_receivers_outage_is_retried_under_one_delivery_id(
    running: Running, admin: Api, receiver: Receiver
) -> None:
    hooks = await started(running)
    webhook = await create_webhook(admin, receiver.url, ["message.created"])
    inbox = await shop(admin)
    receiver.answers.extend([503, 500, 429])  # down, then asks to slow down, then up
    await customer_writes(running, inbox, "hello")
    await drain(hooks)

    assert len(receiver.received) == 4
    assert len({r.headers["x-panjereh-delivery"] for r in receiver.received}) == 1
    assert len({r.body for r in receiver.received}) == 1
    assert all(verified(webhook["secret"], r) == [True] for r in receiver.received)
    (delivery,) = (await admin.get(f"/api/v1/webhooks/{webhook['id']}/deliveries")).json()
    assert delivery["state"] == "delivered"
    assert delivery["attempts"] == 4
    assert delivery["response_status"] == 200
    assert delivery["delivery_id"] == receiver.received[0].headers["x-panjereh-delivery"]
    assert delivery["latency_ms"] is not None
    assert '"id"' in delivery["response_snippet"]


async def test_a_webhooks_next_event_waits_for_the_previous_ones_success(
    running: Running, admin: Api, receiver: Receiver
) -> None:
    hooks = await started(running)
    await create_webhook(admin, receiver.url, ["message.created"])
    inbox = await shop(admin)
    receiver.answers.extend([500, 500])
    await customer_writes(running, inbox, "one", "two", "three")
    await drain(hooks)

    assert texts(receiver) == ["one", "one", "one", "two", "three"]


async def test_a_round_begun_with_time_to_spare_stops_when_requests_turn_short_of_it(
    running: Running, admin: Api, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    hooks = await started(running)
    webhook = await create_webhook(admin, receiver.url, ["message.created"])
    inbox = await shop(admin)
    await customer_writes(running, inbox, "one", "two", "three")
    await consume_once(hooks.ctx, CONSUMER, hooks.fan_out)

    with core_in_use(monkeypatch):
        async with request_in_flight():
            assert await pressed_after_serving()
            assert await hooks.run_once(busy=False) == 1
    assert texts(receiver) == ["one"]
    log = (await admin.get(f"/api/v1/webhooks/{webhook['id']}/deliveries")).json()
    assert [d["state"] for d in log] == ["pending", "pending", "delivered"]

    await quiet()
    await drain(hooks)  # the rest, handed back unclaimed, go at once
    assert texts(receiver) == ["one", "two", "three"]


async def test_a_4xx_answer_is_final_and_the_next_event_goes_on(
    running: Running, admin: Api, receiver: Receiver
) -> None:
    hooks = await started(running)
    webhook = await create_webhook(admin, receiver.url, ["message.created"])
    inbox = await shop(admin)
    receiver.answers.append(404)
    await customer_writes(running, inbox, "one", "two")
    await drain(hooks)

    assert texts(receiver) == ["one", "two"]
    second, first = (await admin.get(f"/api/v1/webhooks/{webhook['id']}/deliveries")).json()
    assert (first["state"], first["attempts"], first["response_status"]) == ("failed", 1, 404)
    assert first["error"] == "the receiver answered 404"
    assert second["state"] == "delivered"

    # Redelivered by hand: the same body under the same id.
    again = await admin.post(f"/api/v1/webhooks/{webhook['id']}/deliveries/{first['id']}/redeliver")
    assert again.status_code == 200, again.text
    await drain(hooks)
    assert texts(receiver) == ["one", "two", "one"]
    assert receiver.received[2].headers["x-panjereh-delivery"] == first["delivery_id"]
    assert receiver.received[2].body == receiver.received[0].body


async def test_a_rotated_secret_signs_alongside_the_old_one_during_the_grace(
    running: Running, admin: Api, receiver: Receiver
) -> None:
    hooks = await started(running)
    webhook = await create_webhook(admin, receiver.url, ["message.created"])
    old = webhook["secret"]
    rotated = await admin.post(f"/api/v1/webhooks/{webhook['id']}/secret/rotate")
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["secret"]
    assert new != old
    assert rotated.json()["previous_secret_until"] is not None
    inbox = await shop(admin)
    await customer_writes(running, inbox, "during")
    await drain(hooks)
    assert verified(new, receiver.received[0]) == [True, False]
    assert verified(old, receiver.received[0]) == [False, True]
    verify = readme_verify()
    headers = httpx.Headers(receiver.received[0].headers)
    assert verify(new, headers, receiver.received[0].body)
    assert verify(old, headers, receiver.received[0].body)
    assert not verify("whsec_wrong", headers, receiver.received[0].body)

    async with running.ctx.db.write() as session:  # the grace is over
        await session.execute(
            update(WebhookSubscription).values(
                previous_secret_until=utcnow() - timedelta(seconds=1)
            )
        )
    await customer_writes(running, inbox, "after")
    await drain(hooks)
    assert verified(new, receiver.received[1]) == [True]
    assert verified(old, receiver.received[1]) == [False]


async def test_a_webhook_failing_for_three_days_is_disabled_and_admins_are_told(
    running: Running, admin: Api, receiver: Receiver
) -> None:
    hooks = await started(running)
    webhook = await create_webhook(admin, receiver.url, ["message.created"], description="CRM")
    async with running.ctx.db.write() as session:
        await session.execute(
            update(WebhookSubscription).values(
                failing_since=utcnow() - timedelta(days=3, minutes=1)
            )
        )
    inbox = await shop(admin)
    receiver.answers.append(500)
    await customer_writes(running, inbox, "lost?")
    await consume_once(running.ctx, CONSUMER, hooks.fan_out)
    await hooks.run_once()

    shown = (await admin.get(f"/api/v1/webhooks/{webhook['id']}")).json()
    assert shown["enabled"] is False
    assert "failed for 72 hours" in shown["disabled_reason"]
    async with running.ctx.db.read() as session:
        notice = (
            await session.scalars(select(EventRow).where(EventRow.type == "webhook.disabled"))
        ).one()
    assert notice.data["webhook_id"] == webhook["id"]
    assert notice.data["description"] == "CRM"
    # Nothing more is sent until an administrator enables it again; then what waited is.
    assert await hooks.run_once() == 0
    enabled = await admin.patch(f"/api/v1/webhooks/{webhook['id']}", json={"enabled": True})
    assert enabled.json()["failing_since"] is None
    await drain(hooks)
    assert texts(receiver) == ["lost?", "lost?"]


async def test_the_delivery_log_forgets_finished_deliveries_after_its_retention(
    running: Running, admin: Api, receiver: Receiver
) -> None:
    hooks = await started(running)
    webhook = await create_webhook(admin, receiver.url, ["message.created"])
    inbox = await shop(admin)
    await customer_writes(running, inbox, "old")
    await drain(hooks)
    async with running.ctx.db.write() as session:
        await session.execute(
            update(WebhookDelivery).values(created_at=utcnow() - timedelta(days=31))
        )
    await customer_writes(running, inbox, "new")
    await drain(hooks)

    assert await hooks.trim() == 1
    (kept,) = (await admin.get(f"/api/v1/webhooks/{webhook['id']}/deliveries")).json()
    assert json.loads(kept["body"])["data"]["message"]["body_text"] == "new"
