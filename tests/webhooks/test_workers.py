"""Webhook workers in several processes on PostgreSQL: each delivery is sent by exactly one
of them, in order per webhook, and a worker killed mid-send leaves its delivery to another,
sent again under the same delivery id, not lost."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from app.events.consumers import consume_once
from app.webhooks.worker import CONSUMER, Webhooks
from tests.support.api import Api
from tests.support.app import Running
from tests.support.receiver import Receiver, receiving
from tests.support.webhooks import create_webhook, customer_writes, shop, started, waiting

LEASE = timedelta(seconds=1.5)


@pytest.fixture
def backend() -> str:
    return "postgresql"


@pytest.fixture
async def receivers() -> AsyncIterator[tuple[Receiver, Receiver]]:
    async with receiving() as first, receiving() as second:
        yield first, second


def texts(receiver: Receiver) -> list[str]:
    return [json.loads(r.body)["data"]["message"]["body_text"] for r in receiver.received]


async def test_two_workers_send_each_delivery_once_in_order(
    running: Running, admin: Api, receivers: tuple[Receiver, Receiver]
) -> None:
    hooks = await started(running)
    for receiver in receivers:
        await create_webhook(admin, receiver.url, ["message.created"])
    inbox = await shop(admin)
    sent = [f"m{i}" for i in range(25)]
    await customer_writes(running, inbox, *sent)
    await consume_once(running.ctx, CONSUMER, hooks.fan_out)

    stop = asyncio.Event()
    workers = [asyncio.create_task(Webhooks(running.ctx).deliver(stop)) for _ in range(2)]
    deadline = time.monotonic() + 30
    while await waiting(hooks):
        assert time.monotonic() < deadline, "deliveries still waiting"
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.gather(*workers)

    for receiver in receivers:
        assert texts(receiver) == sent
        assert len({r.headers["x-panjereh-delivery"] for r in receiver.received}) == len(sent)


async def test_a_worker_killed_mid_send_leaves_the_delivery_to_another(
    running: Running, admin: Api, receivers: tuple[Receiver, Receiver]
) -> None:
    receiver = receivers[0]
    hooks = await started(running)
    webhook = await create_webhook(admin, receiver.url, ["message.created"])
    inbox = await shop(admin)
    await customer_writes(running, inbox, "one", "two")
    await consume_once(running.ctx, CONSUMER, hooks.fan_out)
    killed, survivor = (Webhooks(running.ctx, lease=LEASE) for _ in range(2))

    receiver.gate.clear()
    sending = asyncio.create_task(killed.run_once())
    for _ in range(500):
        if receiver.received:
            break
        await asyncio.sleep(0.01)
    sending.cancel()  # killed mid-send: it neither renews nor records anything again
    with contextlib.suppress(asyncio.CancelledError):
        await sending
    crashed = time.monotonic()
    receiver.gate.set()
    assert await survivor.run_once() == 0  # still claimed

    while await waiting(survivor):
        assert time.monotonic() - crashed < LEASE.total_seconds() + 5
        await survivor.run_once()
        await asyncio.sleep(0.05)

    assert texts(receiver) == ["one", "one", "two"]
    first, again, _ = receiver.received
    assert first.headers["x-panjereh-delivery"] == again.headers["x-panjereh-delivery"]
    assert first.body == again.body
    deliveries = (await admin.get(f"/api/v1/webhooks/{webhook['id']}/deliveries")).json()
    assert [d["state"] for d in deliveries] == ["delivered", "delivered"]
