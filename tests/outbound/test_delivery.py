"""Replies leave through the delivery worker: signed, retried, failed with a reason, never
for private notes."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from app.outbound.worker import DeliveryWorker
from app.tickets.models import DeliveryAttempt
from tests.support.api import Api, create_api_inbox, login, post_incoming
from tests.support.app import ADMIN_EMAIL, ADMIN_PASSWORD, Running, make_settings, serve
from tests.support.delivery import SECRET, drain, message, reply, start_conversation
from tests.support.receiver import Receiver
from tests.support.servers import free_port


async def test_reply_reaches_the_outbound_url_signed(
    running: Running, admin: Api, receiver: Receiver, worker: DeliveryWorker
) -> None:
    conversation_id = await start_conversation(running, admin, receiver.url)
    sent = await reply(admin, conversation_id, "It ships tomorrow — فردا ارسال می‌شود")
    assert sent["delivery_status"] == "queued"
    assert sent["sent_at"] is None

    await worker.run_once()

    (request,) = receiver.received
    expected = "sha256=" + hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    assert request.headers["x-panjereh-signature"] == expected
    payload = json.loads(request.body)
    assert payload["message"]["text"] == "It ships tomorrow — فردا ارسال می‌شود"
    assert payload["message"]["recipient"] == {"id": "cust-7"}
    assert payload["message"]["in_reply_to"] == "in-1"
    delivered = await message(admin, conversation_id, sent["id"])
    assert delivered["delivery_status"] == "sent"
    assert datetime.fromisoformat(delivered["sent_at"]) >= datetime.fromisoformat(
        sent["created_at"]
    )


async def test_replies_sent_together_reach_the_customer_in_the_order_written(
    running: Running, admin: Api, receiver: Receiver, worker: DeliveryWorker
) -> None:
    conversation_id = await start_conversation(running, admin, receiver.url)
    for text in ("first", "second", "third"):
        await reply(admin, conversation_id, text)
    receiver.gate.clear()  # the customer's channel is slow to answer the first
    sending = asyncio.create_task(worker.run_once())  # one round claims all three
    try:
        for _ in range(500):
            if receiver.received:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.3)
        assert len(receiver.received) == 1  # the next waits for the first's answer
    finally:
        receiver.gate.set()
    assert await sending == 3
    texts = [json.loads(r.body)["message"]["text"] for r in receiver.received]
    assert texts == ["first", "second", "third"]


async def test_private_note_is_never_sent(
    running: Running, admin: Api, receiver: Receiver, worker: DeliveryWorker
) -> None:
    conversation_id = await start_conversation(running, admin, receiver.url)
    note = await reply(admin, conversation_id, "customer is VIP", private=True)
    assert note["direction"] == "note"
    assert note["delivery_status"] is None
    await drain(worker)
    assert receiver.received == []


async def test_transient_failures_are_retried_until_sent(
    running: Running, admin: Api, receiver: Receiver, worker: DeliveryWorker
) -> None:
    receiver.answers.extend([503, 429])
    conversation_id = await start_conversation(running, admin, receiver.url)
    sent = await reply(admin, conversation_id, "hello")
    await drain(worker)

    final = await message(admin, conversation_id, sent["id"])
    assert final["delivery_status"] == "sent"
    assert final["attempts"] == 3
    assert len(receiver.received) == 3
    async with running.ctx.db.read() as session:
        outcomes = (
            await session.scalars(
                select(DeliveryAttempt.outcome)
                .where(DeliveryAttempt.message_id == sent["id"])
                .order_by(DeliveryAttempt.attempt)
            )
        ).all()
    assert outcomes == ["retry", "retry", "sent"]


async def test_a_refusal_fails_at_once_with_the_reason_and_can_be_retried(
    running: Running, admin: Api, receiver: Receiver, worker: DeliveryWorker
) -> None:
    receiver.answers.append(400)
    conversation_id = await start_conversation(running, admin, receiver.url)
    sent = await reply(admin, conversation_id, "hello")
    await drain(worker)

    failed = await message(admin, conversation_id, sent["id"])
    assert failed["delivery_status"] == "failed"
    assert "receiver answered 400" in str(failed["error"])
    assert len(receiver.received) == 1

    retried = await admin.post(f"/api/v1/messages/{sent['id']}/retry")
    assert retried.status_code == 200, retried.text
    assert retried.json()["delivery_status"] == "queued"
    await drain(worker)
    assert (await message(admin, conversation_id, sent["id"]))["delivery_status"] == "sent"

    again = await admin.post(f"/api/v1/messages/{sent['id']}/retry")
    assert again.status_code == 422  # only failed messages can be retried


async def test_unreachable_receiver_ends_failed_after_the_last_attempt(
    running: Running, admin: Api, worker: DeliveryWorker
) -> None:
    closed_port = free_port()
    conversation_id = await start_conversation(running, admin, f"http://127.0.0.1:{closed_port}/x")
    sent = await reply(admin, conversation_id, "hello")
    await drain(worker)

    failed = await message(admin, conversation_id, sent["id"])
    assert failed["delivery_status"] == "failed"
    assert failed["attempts"] == running.ctx.settings.delivery_max_attempts
    assert "could not reach" in str(failed["error"])


async def test_inbox_without_outbound_url_fails_with_a_reason(
    running: Running, admin: Api, worker: DeliveryWorker
) -> None:
    inbox = await create_api_inbox(admin)
    stored = await post_incoming(running.client, inbox, external_id="1")
    sent = await reply(admin, stored.json()["conversation_id"], "hi")
    await worker.run_once()
    failed = await message(admin, stored.json()["conversation_id"], sent["id"])
    assert failed["delivery_status"] == "failed"
    assert "no outbound_url" in str(failed["error"])


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_embedded_worker_delivers_without_being_asked(
    database_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    settings = make_settings(database_url, tmp_path / "data", run_workers=True)
    async with serve(settings) as live:
        admin = await login(live.client, ADMIN_EMAIL, ADMIN_PASSWORD)
        conversation_id = await start_conversation(live, admin, receiver.url)
        await reply(admin, conversation_id, "on its way")
        for _ in range(200):
            if receiver.received:
                break
            await asyncio.sleep(0.01)
        assert json.loads(receiver.received[0].body)["message"]["text"] == "on its way"


async def test_reply_in_a_disabled_inbox_fails_with_the_reason(
    running: Running, admin: Api, receiver: Receiver, worker: DeliveryWorker
) -> None:
    conversation_id = await start_conversation(running, admin, receiver.url)
    inbox_id = (await admin.get(f"/api/v1/conversations/{conversation_id}")).json()["inbox_id"]
    sent = await reply(admin, conversation_id, "hello")
    assert (await admin.delete(f"/api/v1/inboxes/{inbox_id}")).status_code == 204
    await drain(worker)
    failed = await message(admin, conversation_id, sent["id"])
    assert failed["delivery_status"] == "failed"
    assert "disabled" in str(failed["error"])
    assert receiver.received == []
