"""Replies through the API and the delivery worker that sends them: a conversation to
answer, a reply (or the reason it is refused), the reply as the agent sees it, and rounds
of the worker until nothing is queued."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from app.outbound.worker import DeliveryWorker
from app.tickets.models import DeliveryStatus, Direction, Message
from tests.support.api import Api, create_api_inbox, post_incoming
from tests.support.app import Running

SECRET = "hmac-secret-for-tests"


async def start_conversation(running: Running, admin: Api, outbound_url: str) -> int:
    inbox = await create_api_inbox(admin, outbound_url=outbound_url, hmac_secret=SECRET)
    stored = await post_incoming(
        running.client, inbox, external_id="in-1", sender="cust-7", text="where is my order?"
    )
    conversation_id: int = stored.json()["conversation_id"]
    return conversation_id


async def reply(
    admin: Api, conversation_id: int, body: str, *, private: bool = False
) -> dict[str, object]:
    response = await admin.post(
        f"/api/v1/conversations/{conversation_id}/messages", json={"body": body, "private": private}
    )
    assert response.status_code == 201, response.text
    message: dict[str, object] = response.json()
    return message


async def refused_reply(admin: Api, conversation_id: int, body: str) -> str:
    """A reply the API refuses because it could never be sent: the reason it gives."""
    response = await admin.post(
        f"/api/v1/conversations/{conversation_id}/messages", json={"body": body}
    )
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "reply_not_possible"
    detail: str = response.json()["detail"]
    return detail


async def message(admin: Api, conversation_id: int, message_id: object) -> dict[str, object]:
    page = (await admin.get(f"/api/v1/conversations/{conversation_id}/messages")).json()
    (found,) = [m for m in page["items"] if m["id"] == message_id]
    return dict(found)


async def drain(worker: DeliveryWorker, rounds: int = 250) -> None:
    """Run delivery rounds until no reply is queued, waiting out the (tiny) test backoff."""
    for _ in range(rounds):
        await worker.run_once()
        async with worker.ctx.db.read() as session:
            queued = await session.scalar(
                select(func.count()).where(
                    Message.direction == Direction.outbound,
                    Message.delivery_status == DeliveryStatus.queued,
                )
            )
        if not queued:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("replies still queued after every round")
