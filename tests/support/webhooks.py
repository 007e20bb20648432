"""Outgoing webhooks as an administrator sets them up, and the worker driven a round at a
time: a webhook (with the secret the API showed), customer messages that cause events,
and rounds until nothing waits."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import func, select

from app.events.consumers import consume_once
from app.webhooks.models import DeliveryState, WebhookDelivery
from app.webhooks.worker import CONSUMER, Webhooks
from tests.support.api import Api, ApiInbox, create_api_inbox, post_incoming
from tests.support.app import Running


async def create_webhook(admin: Api, url: str, events: list[str], **extra: Any) -> dict[str, Any]:
    response = await admin.post("/api/v1/webhooks", json={"url": url, "events": events, **extra})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def started(running: Running) -> Webhooks:
    """The webhooks of the running app, its log consumer placed at the end of the log."""
    hooks = Webhooks(running.ctx)
    await consume_once(running.ctx, CONSUMER, hooks.fan_out)
    return hooks


async def customer_writes(running: Running, inbox: ApiInbox, *texts: str) -> None:
    for text in texts:
        response = await post_incoming(
            running.client, inbox, external_id=f"ext-{text}", sender="cust-1", text=text
        )
        assert response.status_code in (200, 201, 202), response.text


async def shop(admin: Api) -> ApiInbox:
    return await create_api_inbox(admin)


async def waiting(hooks: Webhooks) -> int:
    async with hooks.ctx.db.read() as session:
        return int(
            await session.scalar(
                select(func.count()).where(WebhookDelivery.state == DeliveryState.pending)
            )
            or 0
        )


async def drain(hooks: Webhooks, rounds: int = 500) -> None:
    """Fan out what the log holds, then send until nothing waits (the test backoff is tiny)."""
    await consume_once(hooks.ctx, CONSUMER, hooks.fan_out)
    for _ in range(rounds):
        await hooks.run_once()
        if not await waiting(hooks):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("webhook deliveries still waiting after every round")
