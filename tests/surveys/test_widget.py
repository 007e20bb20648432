"""Web chat: the survey is a rating card in the widget's thread, answered with the visitor's
token; the card shows the answer afterwards."""

from __future__ import annotations

from typing import Any

from app.outbound.worker import DeliveryWorker
from tests.support.api import Api, assert_error
from tests.support.app import Running
from tests.support.delivery import drain
from tests.support.surveys import answer_and_resolve, follow, set_policy, surveys
from tests.support.widget import Visitor, create_webchat_inbox, say, start_visitor


async def cards(running: Running, visitor: Visitor) -> list[dict[str, Any]]:
    response = await running.client.get("/api/v1/widget/messages", headers=visitor.headers)
    assert response.status_code == 200, response.text
    return [m["survey"] for m in response.json()["items"] if m["survey"]]


async def test_rating_card_answered_by_the_visitor(
    running: Running, admin: Api, worker: DeliveryWorker
) -> None:
    inbox = await create_webchat_inbox(admin)
    await set_policy(admin, csat_inbox_ids=[inbox["id"]], cooldown_days=0)
    await follow(running)
    visitor = await start_visitor(running.client, inbox["public_token"], name="Sara")
    said = await say(running.client, visitor, "Do you ship to Shiraz?")
    await answer_and_resolve(admin, said["conversation_id"], "Yes, in two days.")
    await follow(running)
    await drain(worker)

    (card,) = await cards(running, visitor)
    assert {k: card[k] for k in ("kind", "low", "high", "score")} == {
        "kind": "csat",
        "low": 1,
        "high": 5,
        "score": None,
    }
    # Another visitor cannot answer this one's card.
    stranger = await start_visitor(running.client, inbox["public_token"], name="Other")
    url = f"/api/v1/widget/surveys/{card['id']}"
    assert_error(
        await running.client.post(url, json={"score": 1}, headers=stranger.headers),
        404,
        "survey_not_found",
    )
    assert_error(
        await running.client.post(url, json={"score": 7}, headers=visitor.headers),
        422,
        "invalid_score",
    )
    response = await running.client.post(
        url, json={"score": 5, "comment": "Great"}, headers=visitor.headers
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"score": 5, "comment": "Great", "recorded": True}
    assert response.headers["access-control-allow-origin"] == visitor.origin

    (card,) = await cards(running, visitor)
    assert (card["score"], card["comment"]) == (5, "Great")
    (survey,) = await surveys(admin, conversation_id=said["conversation_id"])
    assert (survey["score"], survey["channel"], survey["agent_id"]) == (
        5,
        "webchat",
        admin.agent["id"],
    )
    # The agent's thread shows the answer on the asking message too.
    page = await admin.get(f"/api/v1/conversations/{said['conversation_id']}/messages")
    (asked,) = [m for m in page.json()["items"] if "survey" in m["metadata"]]
    assert asked["metadata"]["survey"]["score"] == 5
