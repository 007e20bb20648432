"""Surveys under test: the policy set through the API, the survey consumer run a round at a
time (as the worker runs it), a conversation taken to "resolved" by an agent, and the
surveys the API lists."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from app.events.consumers import consume_once
from app.events.log import read_after
from app.surveys.follow import CONSUMER, handler
from app.surveys.models import Survey
from tests.support.api import Api
from tests.support.app import Running


async def set_policy(admin: Api, **changes: Any) -> dict[str, Any]:
    response = await admin.patch("/api/v1/surveys/settings", json=changes)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def follow(running: Running) -> int:
    """One round of the survey consumer (the first one only takes its place in the log)."""
    return await consume_once(running.ctx, CONSUMER, handler(running.ctx))


async def answer_and_resolve(admin: Api, conversation_id: int, reply: str = "Done!") -> None:
    """An agent takes the conversation, answers the customer and resolves it."""
    for body in (
        {"assignee_id": admin.agent["id"]},
        None,
        {"status": "resolved"},
    ):
        if body is None:
            response = await admin.post(
                f"/api/v1/conversations/{conversation_id}/messages", json={"body": reply}
            )
            assert response.status_code == 201, response.text
            continue
        response = await admin.patch(f"/api/v1/conversations/{conversation_id}", json=body)
        assert response.status_code == 200, response.text


async def surveys(admin: Api, **params: int) -> list[dict[str, Any]]:
    response = await admin.get("/api/v1/surveys", params=params)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()
    return found


async def answered_events(running: Running) -> list[dict[str, Any]]:
    async with running.ctx.db.read() as session:
        events = await read_after(session, 0, limit=10_000)
    return [e.data["survey"] for e in events if e.type == "survey.answered"]


async def age_surveys(running: Running, hours: float) -> None:
    """As if the surveys had been sent `hours` earlier (their reply windows too)."""
    async with running.ctx.db.write() as session:
        for survey in (await session.scalars(select(Survey))).all():
            await session.execute(
                update(Survey)
                .where(Survey.id == survey.id)
                .values(
                    sent_at=survey.sent_at - timedelta(hours=hours),
                    reply_until=None
                    if survey.reply_until is None
                    else survey.reply_until - timedelta(hours=hours),
                )
            )
