"""Assignment as the tests drive it: an inbox's policy and an agent's capacity set through
the API, an agent online (an open console socket), conversations opened by customers, and
waiting until a conversation has an assignee."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import AsyncIterator
from typing import Any

from tests.support.api import Api, ApiInbox, post_incoming
from tests.support.app import Running
from tests.support.mail import eventually
from tests.support.sockets import agent_socket, ready

_ids = itertools.count()


async def set_policy(admin: Api, inbox_id: int, **body: Any) -> dict[str, Any]:
    response = await admin.put(f"/api/v1/inboxes/{inbox_id}/assignment", json=body)
    assert response.status_code == 200, response.text
    policy: dict[str, Any] = response.json()
    return policy


async def set_capacity(admin: Api, agent_id: int, max_open: int | str | None) -> None:
    response = await admin.put(
        f"/api/v1/assignment/capacities/{agent_id}", json={"max_open": max_open}
    )
    assert response.status_code == 200, response.text


async def add_members(admin: Api, inbox_id: int, agents: list[Api]) -> None:
    response = await admin.patch(
        f"/api/v1/inboxes/{inbox_id}", json={"agent_ids": [a.agent["id"] for a in agents]}
    )
    assert response.status_code == 200, response.text


@contextlib.asynccontextmanager
async def online(running: Running, agent: Api) -> AsyncIterator[None]:
    """The agent has the console open (presence: online) for the length of the block."""
    ws = await agent_socket(running.url, agent.token)
    try:
        await ready(ws)
        yield
    finally:
        await ws.close()


async def customer_writes(running: Running, inbox: ApiInbox, sender: str | None = None) -> int:
    """A new customer's first message; the id of the conversation it opens."""
    n = next(_ids)
    response = await post_incoming(
        running.client, inbox, external_id=f"arrival-{n}", sender=sender or f"cust-{n}"
    )
    assert response.status_code in (200, 201, 202), response.text
    conversation_id: int = response.json()["conversation_id"]
    return conversation_id


async def assignee(admin: Api, conversation_id: int) -> int | None:
    body = (await admin.get(f"/api/v1/conversations/{conversation_id}")).json()
    return body["assignee"]["id"] if body["assignee"] else None


async def assigned_within(admin: Api, conversation_id: int, seconds: float) -> int:
    """Wait until the conversation has an assignee; who it is."""
    return await eventually(lambda: assignee(admin, conversation_id), seconds)


async def activity_lines(admin: Api, conversation_id: int) -> list[str]:
    page = (await admin.get(f"/api/v1/conversations/{conversation_id}/messages")).json()
    return [m["body_text"] for m in page["items"] if m["direction"] == "activity"]
