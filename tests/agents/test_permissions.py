"""Who may do what: administrators, and agents limited to the inboxes they work in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tests.support.api import (
    AGENT_PASSWORD,
    Api,
    ApiInbox,
    assert_error,
    create_agent,
    create_api_inbox,
    login,
    post_incoming,
)
from tests.support.app import Running


async def set_members(admin: Api, inbox_id: int, agent_ids: list[int]) -> None:
    response = await admin.patch(f"/api/v1/inboxes/{inbox_id}", json={"agent_ids": agent_ids})
    assert response.status_code == 200, response.text
    assert response.json()["agent_ids"] == sorted(agent_ids)


@dataclass
class TwoInboxes:
    mine: ApiInbox
    other: ApiInbox
    mine_conversation: dict[str, Any]
    other_conversation: dict[str, Any]
    agent: Api


@pytest.fixture
async def two_inboxes(running: Running, admin: Api) -> TwoInboxes:
    """An agent who works in inbox `mine` but not in `other`, each with one conversation."""
    agent = await create_agent(admin, "sara@example.com")
    mine = await create_api_inbox(admin)
    other = await create_api_inbox(admin)
    await set_members(admin, mine.id, [agent.agent["id"]])
    first = await post_incoming(running.client, mine, external_id="a1", sender="ali", name="Ali")
    second = await post_incoming(
        running.client, other, external_id="b1", sender="bita", name="Bita", text="private stuff"
    )
    assert first.status_code == 201, first.text
    assert second.status_code == 201, second.text
    mine_conv = await admin.get(f"/api/v1/conversations/{first.json()['conversation_id']}")
    other_conv = await admin.get(f"/api/v1/conversations/{second.json()['conversation_id']}")
    assert mine_conv.status_code == 200, mine_conv.text
    assert other_conv.status_code == 200, other_conv.text
    return TwoInboxes(mine, other, mine_conv.json(), other_conv.json(), agent)


async def test_agent_cannot_create_or_change_inboxes_agents_or_teams(
    admin: Api, two_inboxes: TwoInboxes
) -> None:
    agent = two_inboxes.agent
    inbox_id = two_inboxes.mine.id
    attempts = [
        agent.post("/api/v1/inboxes", json={"kind": "api", "name": "Mine now", "config": {}}),
        agent.patch(f"/api/v1/inboxes/{inbox_id}", json={"name": "Renamed"}),
        agent.patch(f"/api/v1/inboxes/{inbox_id}", json={"rotate_api_key": True}),
        agent.delete(f"/api/v1/inboxes/{inbox_id}"),
        agent.post(
            "/api/v1/agents",
            json={"email": "x@example.com", "name": "X", "password": "long password 1"},
        ),
        agent.post("/api/v1/teams", json={"name": "Mine"}),
    ]
    for attempt in attempts:
        response = await attempt
        assert_error(response, 403)
        assert "api_key" not in response.json()

    inboxes = (await admin.get("/api/v1/inboxes")).json()
    assert [(i["name"], i["enabled"]) for i in inboxes] == [("Shop", True), ("Shop", True)]
    agents = (await admin.get("/api/v1/agents")).json()
    assert "x@example.com" not in {a["email"] for a in agents}
    assert (await admin.get("/api/v1/teams")).json() == []
    # The inbox's key was not rotated: the integration still gets in.
    response = await post_incoming(admin.client, two_inboxes.mine, external_id="a2")
    assert response.status_code == 201, response.text


async def test_agent_sees_only_conversations_of_their_inboxes(
    admin: Api, two_inboxes: TwoInboxes
) -> None:
    agent = two_inboxes.agent
    mine, other = two_inboxes.mine_conversation, two_inboxes.other_conversation

    listed = await agent.get("/api/v1/conversations")
    assert listed.status_code == 200, listed.text
    assert [c["id"] for c in listed.json()["items"]] == [mine["id"]]
    assert "private stuff" not in listed.text

    by_inbox = await agent.get("/api/v1/conversations", params={"inbox_id": other["inbox_id"]})
    assert by_inbox.status_code == 200, by_inbox.text
    assert by_inbox.json()["items"] == []
    searched = await agent.get("/api/v1/conversations", params={"q": "private"})
    assert searched.json()["items"] == []

    assert (await agent.get(f"/api/v1/conversations/{mine['id']}")).status_code == 200
    messages = await agent.get(f"/api/v1/conversations/{mine['id']}/messages")
    assert messages.status_code == 200, messages.text
    assert [m["body_text"] for m in messages.json()["items"]] == ["hello"]

    inboxes = await agent.get("/api/v1/inboxes")
    assert [i["id"] for i in inboxes.json()] == [two_inboxes.mine.id]
    assert_error(await agent.get(f"/api/v1/inboxes/{two_inboxes.other.id}"), 404)

    # The administrator sees everything.
    everything = await admin.get("/api/v1/conversations")
    assert {c["id"] for c in everything.json()["items"]} == {mine["id"], other["id"]}
    assert len((await admin.get("/api/v1/inboxes")).json()) == 2


async def test_conversation_in_another_inbox_is_404_for_every_call(
    admin: Api, two_inboxes: TwoInboxes
) -> None:
    agent = two_inboxes.agent
    other_id = two_inboxes.other_conversation["id"]
    missing_id = other_id + 1000
    for conversation_id in (other_id, missing_id):
        calls = [
            agent.get(f"/api/v1/conversations/{conversation_id}"),
            agent.get(f"/api/v1/conversations/{conversation_id}/messages"),
            agent.post(f"/api/v1/conversations/{conversation_id}/messages", json={"body": "hi"}),
            agent.post(
                f"/api/v1/conversations/{conversation_id}/messages",
                json={"body": "note", "private": True},
            ),
            agent.patch(f"/api/v1/conversations/{conversation_id}", json={"status": "resolved"}),
            agent.patch(
                f"/api/v1/conversations/{conversation_id}",
                json={"assignee_id": agent.agent["id"]},
            ),
            agent.post(f"/api/v1/conversations/{conversation_id}/read"),
        ]
        bodies = [assert_error(await call, 404) for call in calls]
        assert "private stuff" not in str(bodies)
    # A hidden conversation answers exactly like one that does not exist.
    hidden = await agent.get(f"/api/v1/conversations/{other_id}")
    absent = await agent.get(f"/api/v1/conversations/{missing_id}")
    assert hidden.json() == absent.json()

    # Nothing was changed or stored by those calls.
    conversation = (await admin.get(f"/api/v1/conversations/{other_id}")).json()
    assert conversation["status"] == "open"
    assert conversation["assignee"] is None
    assert conversation["unread_count"] == 1
    messages = (await admin.get(f"/api/v1/conversations/{other_id}/messages")).json()["items"]
    assert [(m["direction"], m["body_text"]) for m in messages] == [("inbound", "private stuff")]


async def test_agent_cannot_see_contacts_of_other_inboxes(
    admin: Api, two_inboxes: TwoInboxes
) -> None:
    agent = two_inboxes.agent
    mine_contact = two_inboxes.mine_conversation["contact"]["id"]
    other_contact = two_inboxes.other_conversation["contact"]["id"]

    listed = await agent.get("/api/v1/contacts")
    assert listed.status_code == 200, listed.text
    assert [c["id"] for c in listed.json()["items"]] == [mine_contact]
    searched = await agent.get("/api/v1/contacts", params={"q": "Bita"})
    assert searched.json()["items"] == []
    assert "Bita" not in listed.text + searched.text

    assert (await agent.get(f"/api/v1/contacts/{mine_contact}")).status_code == 200
    assert_error(await agent.get(f"/api/v1/contacts/{other_contact}"), 404)
    assert_error(
        await agent.patch(f"/api/v1/contacts/{other_contact}", json={"name": "Renamed"}), 404
    )
    merge = await agent.post(
        f"/api/v1/contacts/{mine_contact}/merge", json={"other_id": other_contact}
    )
    assert_error(merge, 404)

    everyone = await admin.get("/api/v1/contacts")
    assert {c["id"] for c in everyone.json()["items"]} == {mine_contact, other_contact}
    other = await admin.get(f"/api/v1/contacts/{other_contact}")
    assert other.status_code == 200, other.text
    assert other.json()["name"] == "Bita"


async def test_membership_change_takes_effect_at_once(admin: Api, two_inboxes: TwoInboxes) -> None:
    agent = two_inboxes.agent
    other_id = two_inboxes.other_conversation["id"]
    await set_members(admin, two_inboxes.other.id, [agent.agent["id"]])
    assert (await agent.get(f"/api/v1/conversations/{other_id}")).status_code == 200
    listed = (await agent.get("/api/v1/conversations")).json()["items"]
    assert len(listed) == 2

    await set_members(admin, two_inboxes.mine.id, [])
    listed = (await agent.get("/api/v1/conversations")).json()["items"]
    assert [c["id"] for c in listed] == [other_id]
    mine_id = two_inboxes.mine_conversation["id"]
    assert_error(await agent.get(f"/api/v1/conversations/{mine_id}"), 404)


async def test_agent_changes_own_name_and_password_but_not_role(
    running: Running, admin: Api, two_inboxes: TwoInboxes
) -> None:
    agent = two_inboxes.agent
    me = f"/api/v1/agents/{agent.agent['id']}"

    renamed = await agent.patch(me, json={"name": "Sara K."})
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["name"] == "Sara K."
    assert renamed.json()["role"] == "agent"

    for change in ({"role": "admin"}, {"name": "Boss", "role": "admin"}, {"is_active": False}):
        assert_error(await agent.patch(me, json=change), 403)
    assert_error(await agent.patch(f"/api/v1/agents/{admin.agent['id']}", json={"name": "X"}), 403)

    state = (await agent.get("/api/v1/auth/me")).json()
    assert (state["name"], state["role"], state["is_active"]) == ("Sara K.", "agent", True)
    # Still only the one inbox: no admin powers were gained.
    assert_error(
        await agent.post("/api/v1/inboxes", json={"kind": "api", "name": "X", "config": {}}), 403
    )
    admins_view = {a["id"]: a for a in (await admin.get("/api/v1/agents")).json()}
    assert admins_view[admin.agent["id"]]["name"] == admin.agent["name"]

    changed = await agent.patch(me, json={"password": "a brand new password"})
    assert changed.status_code == 200, changed.text
    assert "a brand new password" not in changed.text
    old = await running.client.post(
        "/api/v1/auth/login", json={"email": "sara@example.com", "password": AGENT_PASSWORD}
    )
    assert_error(old, 401)
    fresh = await login(running.client, "sara@example.com", "a brand new password")
    assert fresh.agent["name"] == "Sara K."


async def test_admin_cannot_demote_or_deactivate_self(admin: Api) -> None:
    me = f"/api/v1/agents/{admin.agent['id']}"
    assert_error(await admin.patch(me, json={"role": "agent"}), 422)
    assert_error(await admin.patch(me, json={"is_active": False}), 422)
    state = (await admin.get("/api/v1/auth/me")).json()
    assert (state["role"], state["is_active"]) == ("admin", True)


async def test_admin_changes_another_agents_role(admin: Api, two_inboxes: TwoInboxes) -> None:
    agent = two_inboxes.agent
    response = await admin.patch(f"/api/v1/agents/{agent.agent['id']}", json={"role": "admin"})
    assert response.status_code == 200, response.text
    assert response.json()["role"] == "admin"
    # Now an administrator, the agent sees every inbox's conversations.
    listed = (await agent.get("/api/v1/conversations")).json()["items"]
    assert len(listed) == 2


async def test_cannot_assign_to_an_agent_outside_the_inbox(
    admin: Api, two_inboxes: TwoInboxes
) -> None:
    outsider = await create_agent(admin, "reza@example.com")
    conversation = two_inboxes.mine_conversation
    path = f"/api/v1/conversations/{conversation['id']}"

    for assigner in (admin, two_inboxes.agent):
        refused = await assigner.patch(path, json={"assignee_id": outsider.agent["id"]})
        assert_error(refused, 422, "invalid_assignee")
        missing = await assigner.patch(path, json={"assignee_id": 999_999})
        assert_error(missing, 422, "invalid_assignee")
    assert (await admin.get(path)).json()["assignee"] is None

    member = two_inboxes.agent.agent["id"]
    assigned = await admin.patch(path, json={"assignee_id": member})
    assert assigned.status_code == 200, assigned.text
    assert assigned.json()["assignee"]["id"] == member
    mine = await two_inboxes.agent.get("/api/v1/conversations", params={"assignee": "me"})
    assert [c["id"] for c in mine.json()["items"]] == [conversation["id"]]

    # The outsider can't be given the conversation, and can't see it either.
    assert_error(await outsider.get(path), 404)
