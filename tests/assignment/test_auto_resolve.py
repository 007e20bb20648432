"""Auto-resolve: conversations waiting on the customer longer than the inbox allows are
resolved by a periodic job; the settings are the administrator's."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from app.assignment.worker import auto_resolve_round
from app.db import utcnow
from app.tickets.models import Conversation
from tests.support.api import Api, assert_error, create_agent, create_api_inbox
from tests.support.app import Running
from tests.support.assignment import activity_lines, customer_writes, set_policy
from tests.support.delivery import reply

OUTBOUND = "http://127.0.0.1:9/replies"


async def _quiet_for(running: Running, conversation_id: int, days: float) -> None:
    """As if nothing had been written in the conversation for `days`."""
    async with running.ctx.db.write() as session:
        await session.execute(
            update(Conversation)
            .where(Conversation.id == conversation_id)
            .values(last_message_at=utcnow() - timedelta(days=days))
        )


async def _status(admin: Api, conversation_id: int) -> str:
    status: str = (await admin.get(f"/api/v1/conversations/{conversation_id}")).json()["status"]
    return status


async def test_conversations_waiting_on_the_customer_too_long_are_resolved(
    running: Running, admin: Api
) -> None:
    inbox = await create_api_inbox(admin, outbound_url=OUTBOUND)
    other = await create_api_inbox(admin, outbound_url=OUTBOUND)
    policy = await set_policy(admin, inbox.id, mode="manual", auto_resolve_days="۳")
    assert policy["auto_resolve_days"] == 3

    answered_long_ago = await customer_writes(running, inbox)
    pending_long_ago = await customer_writes(running, inbox)
    answered_lately = await customer_writes(running, inbox)
    customer_waits = await customer_writes(running, inbox)
    customer_wrote_back = await customer_writes(running, inbox, sender="back")
    other_inbox = await customer_writes(running, other)
    for conversation_id in (
        answered_long_ago,
        pending_long_ago,
        answered_lately,
        customer_wrote_back,
        other_inbox,
    ):
        await reply(admin, conversation_id, "Anything else?")
    await customer_writes(running, inbox, sender="back")  # the customer answers
    pending = await admin.patch(
        f"/api/v1/conversations/{pending_long_ago}", json={"status": "pending"}
    )
    assert pending.status_code == 200, pending.text
    for conversation_id in (
        answered_long_ago,
        pending_long_ago,
        customer_waits,
        customer_wrote_back,
        other_inbox,
    ):
        await _quiet_for(running, conversation_id, days=3.1)
    await _quiet_for(running, answered_lately, days=2.9)

    assert await auto_resolve_round(running.ctx) == 2
    assert await _status(admin, answered_long_ago) == "resolved"
    assert await _status(admin, pending_long_ago) == "resolved"
    assert "Auto-resolve resolved the conversation" in await activity_lines(
        admin, answered_long_ago
    )
    for conversation_id in (answered_lately, customer_waits, customer_wrote_back, other_inbox):
        assert await _status(admin, conversation_id) == "open"
    assert await auto_resolve_round(running.ctx) == 0


async def test_only_administrators_change_assignment_settings(running: Running, admin: Api) -> None:
    inbox = await create_api_inbox(admin, outbound_url=OUTBOUND)
    agent = await create_agent(admin, "maryam@example.com")
    path = f"/api/v1/inboxes/{inbox.id}/assignment"
    assert_error(await agent.put(path, json={"mode": "round_robin"}), 403)
    assert_error(
        await agent.put(f"/api/v1/assignment/capacities/{agent.agent['id']}", json={"max_open": 3}),
        403,
    )
    bad_team = await admin.put(path, json={"mode": "round_robin", "team_id": 999})
    assert_error(bad_team, 422, "invalid_team")
    assert_error(
        await admin.put(path, json={"mode": "manual", "auto_resolve_days": 0}),
        422,
    )
    assert_error(await admin.get("/api/v1/inboxes/999/assignment"), 404)
    assert (await admin.get(path)).json()["mode"] == "manual"
