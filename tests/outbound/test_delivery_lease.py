"""Two delivery workers on PostgreSQL: a send that outlasts the claim's lease is not taken by
the other worker, and a crashed worker's reply is sent again within one lease, under the same
delivery id."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from app.outbound.worker import DeliveryWorker
from app.tickets.models import DeliveryStatus, Message
from tests.support.api import Api
from tests.support.app import Running
from tests.support.delivery import reply, start_conversation
from tests.support.receiver import Receiver, receiving

LEASE = timedelta(seconds=1.5)


@pytest.fixture
def backend() -> str:
    return "postgresql"


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with receiving() as r:
        yield r


async def first_send(worker: DeliveryWorker, receiver: Receiver) -> asyncio.Task[int]:
    """`worker` claims the queued reply and is sending it: the receiver has it, unanswered."""
    receiver.gate.clear()
    sending = asyncio.create_task(worker.run_once())
    for _ in range(500):
        if receiver.received:
            return sending
        await asyncio.sleep(0.01)
    raise AssertionError("the reply never reached the receiver")


async def test_a_send_longer_than_the_lease_is_not_taken_over(
    running: Running, admin: Api, receiver: Receiver
) -> None:
    conversation_id = await start_conversation(running, admin, receiver.url)
    sent = await reply(admin, conversation_id, "on its way")
    first, second = (DeliveryWorker(running.ctx, lease=LEASE) for _ in range(2))

    sending = await first_send(first, receiver)
    # The receiver takes three leases to answer; the claim is renewed meanwhile.
    deadline = time.monotonic() + 3 * LEASE.total_seconds()
    while time.monotonic() < deadline:
        assert await second.run_once() == 0
        await asyncio.sleep(0.05)
    receiver.gate.set()
    assert await sending == 1

    assert len(receiver.received) == 1
    async with running.ctx.db.read() as session:
        message = await session.get(Message, sent["id"])
        assert message is not None
        assert message.delivery_status == DeliveryStatus.sent
        assert message.attempts == 1
        assert message.claimed_until is None


async def test_a_crashed_workers_reply_is_sent_again_within_a_lease_under_the_same_id(
    running: Running, admin: Api, receiver: Receiver
) -> None:
    conversation_id = await start_conversation(running, admin, receiver.url)
    sent = await reply(admin, conversation_id, "on its way")
    crashing, survivor = (DeliveryWorker(running.ctx, lease=LEASE) for _ in range(2))

    sending = await first_send(crashing, receiver)
    sending.cancel()  # killed mid-send: it neither renews nor records anything again
    crashed = time.monotonic()
    receiver.gate.set()
    assert await survivor.run_once() == 0  # still claimed

    while not await survivor.run_once():
        assert time.monotonic() - crashed < LEASE.total_seconds() + 2
        await asyncio.sleep(0.05)

    first, again = receiver.received
    assert first.headers["x-panjereh-delivery"] == again.headers["x-panjereh-delivery"]
    assert again.headers["x-panjereh-delivery"] == str(sent["id"])
    assert first.body == again.body
    async with running.ctx.db.read() as session:
        message = await session.get(Message, sent["id"])
        assert message is not None
        assert message.delivery_status == DeliveryStatus.sent
