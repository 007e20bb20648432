"""The survey never overtakes the agent's reply on the customer's channel: the reply and the
survey are two outbound messages, and an automatic one waits while an earlier message of its
conversation is still to be sent (queued, in flight, or waiting for a retry)."""

from __future__ import annotations

import asyncio
import json

from app.outbound.worker import DeliveryWorker
from tests.support.api import Api, create_api_inbox, post_incoming
from tests.support.app import Running
from tests.support.delivery import drain
from tests.support.receiver import Receiver
from tests.support.surveys import answer_and_resolve, follow, set_policy


def said(receiver: Receiver) -> list[str]:
    """What reached the customer's channel, in order: the reply, or the survey."""
    return [
        "survey" if json.loads(r.body)["message"].get("payload") else "reply"
        for r in receiver.received
    ]


async def _reply_and_survey_queued(running: Running, admin: Api, receiver: Receiver) -> None:
    inbox = await create_api_inbox(admin, outbound_url=receiver.url)
    await set_policy(admin, csat_inbox_ids=[inbox.id], cooldown_days=0)
    await follow(running)
    posted = await post_incoming(running.client, inbox, external_id="q1", text="help?")
    await answer_and_resolve(admin, posted.json()["conversation_id"])
    assert await follow(running) > 0  # the survey is queued behind the reply


async def test_the_survey_waits_for_a_reply_being_retried(
    running: Running, admin: Api, worker: DeliveryWorker, receiver: Receiver
) -> None:
    await _reply_and_survey_queued(running, admin, receiver)
    receiver.answers.extend([503, 503])  # the reply's first two tries fail
    await drain(worker)
    assert said(receiver) == ["reply", "reply", "reply", "survey"]


async def test_the_survey_waits_for_a_reply_in_flight_with_another_worker(
    running: Running, admin: Api, worker: DeliveryWorker, receiver: Receiver
) -> None:
    await _reply_and_survey_queued(running, admin, receiver)
    receiver.gate.clear()  # the receiver holds the reply's request unanswered
    one_at_a_time = DeliveryWorker(running.ctx, batch_size=1)  # claims the reply alone
    sending = asyncio.create_task(one_at_a_time.run_once())
    try:
        for _ in range(1000):
            if receiver.received:
                break
            await asyncio.sleep(0.01)
        claimed = await DeliveryWorker(running.ctx).run_once()
    finally:
        receiver.gate.set()
        await sending
    assert claimed == 0  # nothing else went while the reply was in flight
    await drain(worker)
    assert said(receiver) == ["reply", "survey"]


async def test_a_reply_that_finally_fails_lets_the_survey_go(
    running: Running, admin: Api, worker: DeliveryWorker, receiver: Receiver
) -> None:
    await _reply_and_survey_queued(running, admin, receiver)
    receiver.answers.append(400)  # refused for good
    await drain(worker)
    assert said(receiver) == ["reply", "survey"]
    messages = (await admin.get("/api/v1/surveys")).json()
    assert len(messages) == 1
