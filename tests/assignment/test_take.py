"""Taking a conversation from the unassigned queue, and the reply that takes it."""

from __future__ import annotations

import asyncio

from tests.support.api import Api, assert_error, create_agent, create_api_inbox
from tests.support.app import Running
from tests.support.assignment import activity_lines, add_members, assignee, customer_writes
from tests.support.delivery import reply


async def test_take_gives_the_conversation_to_one_agent_and_says_who_has_it(
    running: Running, admin: Api
) -> None:
    inbox = await create_api_inbox(admin, outbound_url="http://127.0.0.1:9/replies")
    maryam = await create_agent(admin, "maryam@example.com")
    reza = await create_agent(admin, "reza@example.com")
    await add_members(admin, inbox.id, [maryam, reza])
    conversation_id = await customer_writes(running, inbox)

    taken = await maryam.post(f"/api/v1/conversations/{conversation_id}/take")
    assert taken.status_code == 200, taken.text
    assert taken.json()["assignee"]["id"] == maryam.agent["id"]
    assert "maryam assigned the conversation to themselves" in await activity_lines(
        admin, conversation_id
    )

    again = await maryam.post(f"/api/v1/conversations/{conversation_id}/take")
    assert again.status_code == 200
    assert again.json()["assignee"]["id"] == maryam.agent["id"]
    lost = await reza.post(f"/api/v1/conversations/{conversation_id}/take")
    body = assert_error(lost, 409, "already_assigned")
    assert body["detail"] == "maryam has already taken this conversation"
    assert await assignee(admin, conversation_id) == maryam.agent["id"]


async def test_of_agents_taking_at_once_exactly_one_wins(running: Running, admin: Api) -> None:
    inbox = await create_api_inbox(admin, outbound_url="http://127.0.0.1:9/replies")
    agents = [await create_agent(admin, f"agent{i}@example.com") for i in range(6)]
    await add_members(admin, inbox.id, agents)
    for _ in range(5):
        conversation_id = await customer_writes(running, inbox)
        answers = await asyncio.gather(
            *(a.post(f"/api/v1/conversations/{conversation_id}/take") for a in agents)
        )
        statuses = sorted(r.status_code for r in answers)
        assert statuses == [200] + [409] * 5, [r.text for r in answers]
        (winner,) = [a for a, r in zip(agents, answers, strict=True) if r.status_code == 200]
        assert await assignee(admin, conversation_id) == winner.agent["id"]
        lines = await activity_lines(admin, conversation_id)
        assert lines == [f"{winner.agent['name']} assigned the conversation to themselves"]


async def test_a_conversation_of_another_inbox_cannot_be_taken(
    running: Running, admin: Api
) -> None:
    inbox = await create_api_inbox(admin, outbound_url="http://127.0.0.1:9/replies")
    outsider = await create_agent(admin, "outsider@example.com")
    conversation_id = await customer_writes(running, inbox)
    response = await outsider.post(f"/api/v1/conversations/{conversation_id}/take")
    assert_error(response, 404)
    assert await assignee(admin, conversation_id) is None


async def test_a_reply_to_an_unassigned_conversation_assigns_the_replier(
    running: Running, admin: Api
) -> None:
    inbox = await create_api_inbox(admin, outbound_url="http://127.0.0.1:9/replies")
    maryam = await create_agent(admin, "maryam@example.com")
    reza = await create_agent(admin, "reza@example.com")
    await add_members(admin, inbox.id, [maryam, reza])
    conversation_id = await customer_writes(running, inbox)

    await reply(maryam, conversation_id, "a note first", private=True)
    assert await assignee(admin, conversation_id) is None  # a private note takes nothing

    await reply(maryam, conversation_id, "Your order ships today.")
    assert await assignee(admin, conversation_id) == maryam.agent["id"]
    assert await activity_lines(admin, conversation_id) == [
        "maryam assigned the conversation to themselves"
    ]

    await reply(reza, conversation_id, "And here is the tracking number.")
    assert await assignee(admin, conversation_id) == maryam.agent["id"]  # someone has it
    assert len(await activity_lines(admin, conversation_id)) == 1
