"""The conversation list and the changes agents make to conversations."""

from __future__ import annotations

from datetime import datetime, timedelta

from app.db import utcnow
from tests.support.api import Api, create_agent, create_api_inbox, post_incoming
from tests.support.app import Running


async def new_conversation(running: Running, admin: Api, sender: str, **extra: object) -> int:
    inbox = extra.pop("inbox", None) or await create_api_inbox(admin)
    stored = await post_incoming(
        running.client, inbox, external_id=f"{sender}-1", sender=sender, **extra
    )  # type: ignore[arg-type]
    conversation_id: int = stored.json()["conversation_id"]
    return conversation_id


async def activity(admin: Api, conversation_id: int) -> list[str]:
    items = (await admin.get(f"/api/v1/conversations/{conversation_id}/messages")).json()["items"]
    return [m["body_text"] for m in items if m["direction"] == "activity"]


async def test_status_transitions_and_their_activity_lines(running: Running, admin: Api) -> None:
    cid = await new_conversation(running, admin, "a")
    url = f"/api/v1/conversations/{cid}"

    pending = (await admin.patch(url, json={"status": "pending"})).json()
    assert pending["status"] == "pending"
    resolved = (await admin.patch(url, json={"status": "resolved"})).json()
    assert resolved["status"] == "resolved"
    assert resolved["resolved_at"] is not None
    assert resolved["waiting_since"] is None
    reopened = (await admin.patch(url, json={"status": "open"})).json()
    assert reopened["status"] == "open"
    assert reopened["resolved_at"] is None

    past = await admin.patch(
        url,
        json={"status": "snoozed", "snoozed_until": (utcnow() - timedelta(hours=1)).isoformat()},
    )
    assert past.status_code == 422
    no_time = await admin.patch(url, json={"status": "snoozed"})
    assert no_time.status_code == 422
    naive = await admin.patch(url, json={"snoozed_until": "2030-01-01T10:00:00"})
    assert naive.status_code == 422
    until = utcnow() + timedelta(hours=3)
    snoozed = (
        await admin.patch(url, json={"status": "snoozed", "snoozed_until": until.isoformat()})
    ).json()
    assert snoozed["status"] == "snoozed"
    assert snoozed["snoozed_until"] is not None

    bogus = await admin.patch(url, json={"status": "closed"})
    assert bogus.status_code == 422
    lines = await activity(admin, cid)
    assert len(lines) == 4
    assert "resolved the conversation" in lines[1]
    assert "snoozed" in lines[3]
    items = (await admin.get(f"{url}/messages")).json()["items"]
    said = [m["metadata"]["activity"] for m in items if m["direction"] == "activity"]
    assert said[:3] == [
        {"action": "status", "status": "pending"},
        {"action": "status", "status": "resolved"},
        {"action": "status", "status": "open"},
    ]
    assert said[3]["status"] == "snoozed"
    assert datetime.fromisoformat(said[3]["until"]) == until


async def test_assign_priority_labels(running: Running, admin: Api) -> None:
    cid = await new_conversation(running, admin, "a")
    url = f"/api/v1/conversations/{cid}"
    me = admin.agent["id"]
    assigned = (
        await admin.patch(
            url, json={"assignee_id": me, "priority": "high", "labels": ["refund", "vip"]}
        )
    ).json()
    assert assigned["assignee"]["id"] == me
    assert assigned["priority"] == "high"
    assert assigned["labels"] == ["refund", "vip"]

    relabelled = (await admin.patch(url, json={"labels": ["vip", "شکایت"]})).json()
    assert relabelled["labels"] == ["vip", "شکایت"]
    unassigned = (await admin.patch(url, json={"assignee_id": None})).json()
    assert unassigned["assignee"] is None
    nobody = await admin.patch(url, json={"assignee_id": 987654})
    assert nobody.status_code == 422
    items = (await admin.get(f"{url}/messages")).json()["items"]
    lines = [
        (m["body_text"], m["metadata"]["activity"]) for m in items if m["direction"] == "activity"
    ]
    name = admin.agent["name"]
    # Each change: an English sentence, and what happened for a console in another language.
    assert lines == [
        (
            f"{name} assigned the conversation to themselves",
            {"action": "assignee", "assignee": {"id": me, "name": name}},
        ),
        (f"{name} set priority to high", {"action": "priority", "priority": "high"}),
        (
            f"{name} added labels: refund, vip",
            {"action": "labels", "added": ["refund", "vip"], "removed": []},
        ),
        (
            f"{name} added labels: شکایت; removed labels: refund",
            {"action": "labels", "added": ["شکایت"], "removed": ["refund"]},
        ),
        (f"{name} unassigned the conversation", {"action": "assignee", "assignee": None}),
    ]


async def test_list_filters(running: Running, admin: Api) -> None:
    shop = await create_api_inbox(admin)
    other = await create_api_inbox(admin)
    a = await new_conversation(running, admin, "a", inbox=shop, text="my parcel is lost")
    b = await new_conversation(running, admin, "b", inbox=shop, name="Bahar")
    c = await new_conversation(running, admin, "c", inbox=other)
    await admin.patch(f"/api/v1/conversations/{a}", json={"status": "resolved", "labels": ["lost"]})
    await admin.patch(f"/api/v1/conversations/{b}", json={"assignee_id": admin.agent["id"]})

    async def ids(**params: object) -> list[int]:
        response = await admin.get("/api/v1/conversations", params=params)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert await ids() == [b, a, c]  # newest activity first
    assert await ids(status="resolved") == [a]
    assert await ids(status="open") == [b, c]
    assert await ids(inbox_id=other.id) == [c]
    assert await ids(channel="api") == [b, a, c]
    assert await ids(channel="email") == []
    assert await ids(assignee="me") == [b]
    assert await ids(assignee="unassigned") == [a, c]
    assert await ids(assignee=str(admin.agent["id"])) == [b]
    assert await ids(label="lost") == [a]
    assert await ids(q="parcel") == [a]
    assert await ids(q="bahar") == [b]
    for not_an_agent in ("someone", "0", str(2**63), str(2**70)):
        refused = await admin.get("/api/v1/conversations", params={"assignee": not_an_agent})
        assert refused.status_code == 422, refused.text
        assert refused.json()["code"] in ("invalid", "invalid_filter")


async def test_keyset_pagination_walks_every_conversation_once(
    running: Running, admin: Api
) -> None:
    inbox = await create_api_inbox(admin)
    created = [await new_conversation(running, admin, f"s{i}", inbox=inbox) for i in range(7)]
    seen: list[int] = []
    cursor = None
    for _ in range(10):
        params: dict[str, object] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = (await admin.get("/api/v1/conversations", params=params)).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(created))


async def test_updated_since_returns_only_what_changed(running: Running, admin: Api) -> None:
    inbox = await create_api_inbox(admin)
    a = await new_conversation(running, admin, "a", inbox=inbox)
    b = await new_conversation(running, admin, "b", inbox=inbox)
    mark = utcnow()
    await admin.patch(f"/api/v1/conversations/{a}", json={"priority": "urgent"})
    changed = (
        await admin.get("/api/v1/conversations", params={"updated_since": mark.isoformat()})
    ).json()
    assert [item["id"] for item in changed["items"]] == [a]
    assert b != a


async def test_reply_answers_the_customer_and_read_clears_unread(
    running: Running, admin: Api
) -> None:
    inbox = await create_api_inbox(admin)
    cid = await new_conversation(running, admin, "a", inbox=inbox)
    await post_incoming(running.client, inbox, external_id="a-2", sender="a")
    before = (await admin.get(f"/api/v1/conversations/{cid}")).json()
    assert before["unread_count"] == 2
    assert before["waiting_since"] is not None

    assert (await admin.post(f"/api/v1/conversations/{cid}/read")).status_code == 204
    assert (await admin.get(f"/api/v1/conversations/{cid}")).json()["unread_count"] == 0

    note = await admin.post(
        f"/api/v1/conversations/{cid}/messages", json={"body": "internal", "private": True}
    )
    assert note.json()["direction"] == "note"
    still_waiting = (await admin.get(f"/api/v1/conversations/{cid}")).json()
    assert still_waiting["waiting_since"] is not None
    assert still_waiting["first_response_at"] is None

    await admin.post(f"/api/v1/conversations/{cid}/messages", json={"body": "on it"})
    answered = (await admin.get(f"/api/v1/conversations/{cid}")).json()
    assert answered["waiting_since"] is None
    assert answered["first_response_at"] is not None
    assert answered["last_message"]["preview"] == "on it"


async def test_messages_page_backwards(running: Running, admin: Api) -> None:
    inbox = await create_api_inbox(admin)
    cid = await new_conversation(running, admin, "a", inbox=inbox, text="m0")
    for i in range(1, 5):
        await post_incoming(
            running.client, inbox, external_id=f"a-{i + 1}", sender="a", text=f"m{i}"
        )
    last = (await admin.get(f"/api/v1/conversations/{cid}/messages", params={"limit": 2})).json()
    assert [m["body_text"] for m in last["items"]] == ["m3", "m4"]
    assert last["has_more"] is True
    earlier = (
        await admin.get(
            f"/api/v1/conversations/{cid}/messages",
            params={"limit": 10, "before": last["items"][0]["id"]},
        )
    ).json()
    assert [m["body_text"] for m in earlier["items"]] == ["m0", "m1", "m2"]
    assert earlier["has_more"] is False


async def test_assigning_to_a_team_and_an_agent_of_the_inbox(running: Running, admin: Api) -> None:
    inbox = await create_api_inbox(admin)
    cid = await new_conversation(running, admin, "a", inbox=inbox)
    mina = await create_agent(admin, "mina@example.com")
    outsider = await admin.patch(
        f"/api/v1/conversations/{cid}", json={"assignee_id": mina.agent["id"]}
    )
    assert outsider.status_code == 422
    await admin.patch(f"/api/v1/inboxes/{inbox.id}", json={"agent_ids": [mina.agent["id"]]})
    assigned = await admin.patch(
        f"/api/v1/conversations/{cid}", json={"assignee_id": mina.agent["id"]}
    )
    assert assigned.json()["assignee"] == {"id": mina.agent["id"], "name": "mina"}
    team = (
        await admin.post("/api/v1/teams", json={"name": "Billing", "agent_ids": [mina.agent["id"]]})
    ).json()
    with_team = (
        await admin.patch(f"/api/v1/conversations/{cid}", json={"team_id": team["id"]})
    ).json()
    assert with_team["team_id"] == team["id"]
    mine = (await mina.get("/api/v1/conversations", params={"assignee": "me"})).json()["items"]
    assert [c["id"] for c in mine] == [cid]
