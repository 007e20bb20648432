"""Who is asked and when, through the `api` channel (the survey is an outbound message with a
structured payload; the answer is the documented `survey_answer` field of an inbound post)."""

from __future__ import annotations

import json
from typing import Any

from app.outbound.worker import DeliveryWorker
from tests.support.api import (
    Api,
    ApiInbox,
    assert_error,
    create_agent,
    create_api_inbox,
    post_incoming,
)
from tests.support.app import Running
from tests.support.delivery import drain
from tests.support.receiver import Receiver
from tests.support.surveys import (
    answer_and_resolve,
    answered_events,
    follow,
    set_policy,
    surveys,
)


async def customer_writes(
    running: Running, inbox: ApiInbox, external_id: str, *, thread: str = "t1", sender: str = "c1"
) -> int:
    response = await post_incoming(
        running.client,
        inbox,
        external_id=external_id,
        sender=sender,
        text=f"question {external_id}",
        thread_key=thread,
    )
    assert response.status_code == 201, response.text
    conversation_id: int = response.json()["conversation_id"]
    return conversation_id


def surveys_received(receiver: Receiver) -> list[dict[str, Any]]:
    payloads = [json.loads(r.body)["message"] for r in receiver.received]
    return [m for m in payloads if m.get("payload")]


async def test_csat_after_resolve_asked_and_answered_through_the_api_channel(
    running: Running, admin: Api, worker: DeliveryWorker, receiver: Receiver
) -> None:
    inbox = await create_api_inbox(admin, outbound_url=receiver.url)
    await set_policy(admin, csat_inbox_ids=[inbox.id], cooldown_days=0)
    await follow(running)
    conversation_id = await customer_writes(running, inbox, "m1")
    await answer_and_resolve(admin, conversation_id)
    assert await follow(running) > 0
    await drain(worker)

    (asked,) = surveys_received(receiver)
    (survey,) = await surveys(admin, conversation_id=conversation_id)
    assert asked["payload"] == {"survey": {"id": survey["id"], "kind": "csat", "min": 1, "max": 5}}
    assert "How would you rate" in asked["text"]
    assert survey["score"] is None
    assert (survey["channel"], survey["agent_id"]) == ("api", admin.agent["id"])

    answer = {"survey_id": survey["id"], "score": 4, "comment": "quick and kind"}
    response = await post_incoming(
        running.client, inbox, external_id="a1", sender="c1", text="", survey_answer=answer
    )
    assert response.status_code == 201, response.text
    assert response.json() == {
        "message_id": None,
        "conversation_id": conversation_id,
        "duplicate": False,
        "survey_id": survey["id"],
    }
    again = await post_incoming(
        running.client,
        inbox,
        external_id="a2",
        sender="c1",
        text="",
        survey_answer={**answer, "score": 1},
    )
    assert again.status_code == 200, again.text
    assert again.json()["duplicate"] is True

    (answered,) = await surveys(admin, conversation_id=conversation_id)
    assert (answered["score"], answered["comment"]) == (4, "quick and kind")
    assert answered["answered_at"] is not None
    (event,) = await answered_events(running)
    assert (event["id"], event["score"], event["agent_id"]) == (survey["id"], 4, admin.agent["id"])
    # The asking message in the thread shows the answer.
    page = (await admin.get(f"/api/v1/conversations/{conversation_id}/messages")).json()
    (shown,) = [m for m in page["items"] if "survey" in m["metadata"]]
    assert shown["metadata"]["survey"]["score"] == 4
    # Not stored as a message.
    assert [m["body_text"] for m in page["items"] if m["direction"] == "inbound"] == ["question m1"]
    # Someone else cannot answer it.
    other = await post_incoming(
        running.client, inbox, external_id="a3", sender="c2", text="", survey_answer=answer
    )
    assert_error(other, 404, "survey_not_found")
    # Words sent beside a score are the customer's message; the first score stands.
    said = await post_incoming(
        running.client,
        inbox,
        external_id="a4",
        sender="c1",
        text="also, where is my refund?",
        survey_answer={**answer, "score": 2},
    )
    assert said.status_code == 201, said.text
    assert said.json()["message_id"] is not None
    page = (await admin.get(f"/api/v1/conversations/{conversation_id}/messages")).json()
    assert [m["body_text"] for m in page["items"] if m["direction"] == "inbound"] == [
        "question m1",
        "also, where is my refund?",
    ]
    assert (await surveys(admin, conversation_id=conversation_id))[0]["score"] == 4


async def test_one_csat_per_conversation_and_only_after_an_agent_answered(
    running: Running, admin: Api, worker: DeliveryWorker, receiver: Receiver
) -> None:
    inbox = await create_api_inbox(admin, outbound_url=receiver.url)
    await set_policy(admin, csat_inbox_ids=[inbox.id], cooldown_days=0)
    await follow(running)
    # Resolved without an agent's answer: no survey.
    unanswered = await customer_writes(running, inbox, "m1", thread="a", sender="c1")
    response = await admin.patch(f"/api/v1/conversations/{unanswered}", json={"status": "resolved"})
    assert response.status_code == 200
    await follow(running)
    assert await surveys(admin, conversation_id=unanswered) == []

    conversation_id = await customer_writes(running, inbox, "m2", thread="b", sender="c2")
    await answer_and_resolve(admin, conversation_id)
    await follow(running)
    # The customer writes again (reopened), is answered, and it is resolved again.
    assert await customer_writes(running, inbox, "m3", thread="b", sender="c2") == conversation_id
    await answer_and_resolve(admin, conversation_id, "Fixed again")
    await follow(running)
    await drain(worker)
    assert len(await surveys(admin, conversation_id=conversation_id)) == 1
    assert len(surveys_received(receiver)) == 1


async def test_cooldown_between_surveys_to_one_contact(
    running: Running, admin: Api, worker: DeliveryWorker, receiver: Receiver
) -> None:
    inbox = await create_api_inbox(admin, outbound_url=receiver.url)
    await set_policy(admin, csat_inbox_ids=[inbox.id], cooldown_days=7)
    await follow(running)
    first = await customer_writes(running, inbox, "m1", thread="a")
    await answer_and_resolve(admin, first)
    await follow(running)
    second = await customer_writes(running, inbox, "m2", thread="b")
    assert second != first
    await answer_and_resolve(admin, second)
    await follow(running)
    assert len(await surveys(admin, conversation_id=first)) == 1
    assert await surveys(admin, conversation_id=second) == []
    # Another contact is not held back by it.
    third = await customer_writes(running, inbox, "m3", thread="c", sender="c9")
    await answer_and_resolve(admin, third)
    await follow(running)
    assert len(await surveys(admin, conversation_id=third)) == 1


async def test_nps_at_most_every_interval_per_contact_and_in_bulk_for_a_segment(
    running: Running, admin: Api, worker: DeliveryWorker, receiver: Receiver
) -> None:
    inbox = await create_api_inbox(admin, outbound_url=receiver.url)
    policy = await set_policy(admin, nps_enabled=True, cooldown_days=0)
    assert (policy["nps_interval_days"], policy["csat_inbox_ids"]) == (90, [])
    await follow(running)
    first = await customer_writes(running, inbox, "m1", thread="a")
    await answer_and_resolve(admin, first)
    await follow(running)
    second = await customer_writes(running, inbox, "m2", thread="b")
    await answer_and_resolve(admin, second)
    await follow(running)
    (survey,) = await surveys(admin, conversation_id=first)
    assert survey["kind"] == "nps"
    assert await surveys(admin, conversation_id=second) == []

    # A segment: contacts with a "vip" conversation. c1 was asked already; c2 is due.
    other = await customer_writes(running, inbox, "m3", thread="c", sender="c2")
    for conversation_id in (second, other):
        labelled = await admin.patch(
            f"/api/v1/conversations/{conversation_id}", json={"labels": ["vip"]}
        )
        assert labelled.status_code == 200, labelled.text
    response = await admin.post("/api/v1/surveys/nps/bulk", json={"label": "vip"})
    assert response.status_code == 200, response.text
    assert response.json() == {"queued": 1, "skipped": 1}
    (bulk,) = await surveys(admin, conversation_id=other)
    assert (bulk["kind"], bulk["trigger"]) == ("nps", "bulk")
    again = await admin.post("/api/v1/surveys/nps/bulk", json={"label": "vip"})
    assert again.json() == {"queued": 0, "skipped": 2}
    await drain(worker)
    kinds = [m["payload"]["survey"]["kind"] for m in surveys_received(receiver)]
    assert kinds == ["nps", "nps"]
    assert_error(await admin.post("/api/v1/surveys/nps/bulk", json={}), 422, "empty_segment")


async def test_policy_is_for_administrators(running: Running, admin: Api) -> None:
    agent = await create_agent(admin, "agent@example.com")
    assert_error(await agent.get("/api/v1/surveys/settings"), 403, "admin_required")
    assert_error(
        await admin.patch("/api/v1/surveys/settings", json={"csat_inbox_ids": [999]}),
        422,
        "invalid_inbox",
    )
    assert (await admin.get("/api/v1/surveys/settings")).json()["cooldown_days"] == 7
