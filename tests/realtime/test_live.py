"""Live events in one process: bootstrap, the agent and widget sockets, against a real
server on loopback (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection

from app.settings import Settings
from app.tickets.models import Conversation
from app.widget import service as widget
from tests.support.api import Api, create_agent, create_api_inbox, login, post_incoming
from tests.support.app import Running, serve
from tests.support.sockets import (
    agent_socket,
    close_code,
    events,
    next_event,
    next_frame,
    open_socket,
    quiet,
    ready,
    stalled_socket,
)


async def test_bootstrap_then_socket_gets_every_change_after_it(
    running: Running, admin: Api
) -> None:
    inbox = await create_api_inbox(admin)
    assert (await post_incoming(running.client, inbox, external_id="b-1")).status_code == 201
    boot = (await admin.get("/api/v1/bootstrap")).json()
    assert boot["agent"]["id"] == admin.agent["id"]
    assert [i["id"] for i in boot["inboxes"]] == [inbox.id]
    assert len(boot["conversations"]["items"]) == 1
    assert boot["counts"] == {"open": 1, "mine": 0, "unassigned": 1}
    # Counts follow assignment and status: two more open, one of them mine; one resolved.
    for n in (2, 3, 4):
        stored = await post_incoming(
            running.client, inbox, external_id=f"counted-{n}", sender=f"counted-{n}"
        )
        assert stored.status_code == 201
        conversation = f"/api/v1/conversations/{stored.json()['conversation_id']}"
        change = {2: {"assignee_id": admin.agent["id"]}, 3: {}, 4: {"status": "resolved"}}[n]
        assert (await admin.patch(conversation, json=change)).status_code == 200
    counts = (await admin.get("/api/v1/bootstrap")).json()["counts"]
    assert counts == {"open": 3, "mine": 1, "unassigned": 2}
    boot = (await admin.get("/api/v1/bootstrap")).json()
    last = boot["last_event_id"]
    assert last >= 2

    ws = await agent_socket(running.url, admin.token, last_event_id=last)
    assert await quiet(ws) == []  # nothing after the bootstrap yet
    assert (await post_incoming(running.client, inbox, external_id="b-2")).status_code == 201
    updated, created = await events(ws, 2)
    assert updated["type"] == "conversation.updated"
    assert created["type"] == "message.created"
    assert created["data"]["message"]["external_id"] == "b-2"
    assert created["id"] == updated["id"] + 1 == last + 2
    assert set(created) == {"id", "type", "data", "at"}

    conversation_id = created["data"]["message"]["conversation_id"]
    patched = await admin.patch(
        f"/api/v1/conversations/{conversation_id}", json={"status": "resolved"}
    )
    assert patched.status_code == 200
    frames = await events(ws, 2)
    assert [f["type"] for f in frames] == ["message.created", "conversation.updated"]
    assert frames[0]["data"]["message"]["direction"] == "activity"
    assert frames[1]["data"]["conversation"]["status"] == "resolved"
    await ws.close()


async def test_a_socket_without_last_event_id_starts_live(running: Running, admin: Api) -> None:
    inbox = await create_api_inbox(admin)
    await post_incoming(running.client, inbox, external_id="old")
    ws = await agent_socket(running.url, admin.token)
    assert await quiet(ws) == []
    await post_incoming(running.client, inbox, external_id="new")
    created = await next_event(ws, "message.created")
    assert created["data"]["message"]["external_id"] == "new"
    await ws.close()


async def raw_messages(ws: ClientConnection, events_wanted: int | None = None) -> list[Any]:
    """Websocket messages as sent, parsed: until `events_wanted` logged events have come, or
    (None) up to the `ready` frame."""
    got: list[Any] = []
    seen = 0
    async with asyncio.timeout(10):
        while events_wanted is None or seen < events_wanted:
            got.append(json.loads(await ws.recv()))
            frames = got[-1] if isinstance(got[-1], list) else [got[-1]]
            seen += sum(1 for f in frames if f["id"] is not None)
            if events_wanted is None and any(f["type"] == "ready" for f in frames):
                break
    return got


async def test_protocol_2_sends_arrays_and_old_clients_single_frames(
    running: Running, admin: Api
) -> None:
    inbox = await create_api_inbox(admin)
    start = (await admin.get("/api/v1/bootstrap")).json()["last_event_id"]
    for n in (1, 2):
        await post_incoming(running.client, inbox, external_id=f"p-{n}", sender=f"p-{n}")
    old = await agent_socket(running.url, admin.token, last_event_id=start)
    new = await agent_socket(running.url, admin.token, last_event_id=start, protocol=2)
    replayed = {"old": await raw_messages(old), "new": await raw_messages(new)}
    live = [1, 2, 3]
    for n in live:
        stored = await post_incoming(running.client, inbox, external_id=f"q-{n}", sender="p-1")
        assert stored.status_code == 201
    got = {
        who: replayed[who] + await raw_messages(ws, 2 * len(live))
        for who, ws in (("old", old), ("new", new))
    }

    assert all(isinstance(m, dict) for m in got["old"])  # one frame per message, as ever
    assert all(isinstance(m, list) and m for m in got["new"])
    assert len(got["new"]) < len(got["old"])
    logged = {
        who: [f for m in messages for f in (m if who == "new" else [m]) if f["id"] is not None]
        for who, messages in got.items()
    }
    # Every event exactly once, in order, the same frames in both protocols.
    ids = [f["id"] for f in logged["new"]]
    assert ids == sorted(set(ids))
    assert ids[0] == start + 1
    assert logged["new"] == logged["old"]
    created = [
        f["data"]["message"]["external_id"] for f in logged["new"] if f["type"] == "message.created"
    ]
    assert created == ["p-1", "p-2", "q-1", "q-2", "q-3"]
    # A live message's two events were queued together: one websocket message carries both.
    for n in live:
        (carrier,) = [
            m
            for m in got["new"]
            if any(
                f["type"] == "message.created" and f["data"]["message"]["external_id"] == f"q-{n}"
                for f in m
            )
        ]
        assert {f["type"] for f in carrier if f["id"] is not None} == {
            "message.created",
            "conversation.updated",
        }
    # Resuming from a protocol-2 client's last id replays the rest, in arrays.
    resumed = await agent_socket(running.url, admin.token, last_event_id=ids[-3], protocol=2)
    again = await raw_messages(resumed, 2)
    assert [f["id"] for m in again for f in m if f["id"] is not None] == ids[-2:]
    for ws in (old, new, resumed):
        await ws.close()


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({}, 4401),
        ({"token": "not-a-token"}, 4401),
        ({"token": "TOKEN", "last_event_id": "abc"}, 4400),
        ({"token": "TOKEN", "last_event_id": "-1"}, 4400),
        ({"token": "TOKEN", "protocol": "3"}, 4400),
    ],
)
async def test_agent_socket_refused(
    running: Running, admin: Api, params: dict[str, str], code: int
) -> None:
    params = {k: admin.token if v == "TOKEN" else v for k, v in params.items()}
    ws = await open_socket(running.url, "/ws/agent", **params)
    assert await close_code(ws) == (code, [])


async def test_foreign_origin_and_logged_out_tokens_are_refused(
    running: Running, admin: Api
) -> None:
    from websockets.asyncio.client import connect

    url = running.url.replace("http", "ws") + f"/ws/agent?token={admin.token}"
    ws = await connect(url, origin="https://evil.example")  # type: ignore[arg-type]
    assert await close_code(ws) == (4403, [])
    agent = await create_agent(admin, "gone@example.com")
    assert (await agent.post("/api/v1/auth/logout")).status_code in (200, 204)
    ws = await agent_socket(running.url, agent.token)
    assert await close_code(ws) == (4401, [])
    ws = await open_socket(running.url, "/ws/widget", token="nope")
    assert await close_code(ws) == (4401, [])


async def test_logout_closes_an_open_socket(settings: Settings, tmp_path: Path) -> None:
    quick = settings.model_copy(update={"socket_recheck_seconds": 0.1})
    async with serve(quick) as live:
        admin = await login(live.client, "admin@example.com", "correct horse battery staple")
        agent = await create_agent(admin, "leaving@example.com")
        ws = await agent_socket(live.url, agent.token)
        await agent.post("/api/v1/auth/logout")
        code, _frames = await close_code(ws, within=5)
        assert code == 4401


@pytest.mark.parametrize("protocol", [None, 2])
async def test_agents_see_only_their_inboxes(
    running: Running, admin: Api, protocol: int | None
) -> None:
    mine = await create_api_inbox(admin)
    other = await create_api_inbox(admin)
    agent = await create_agent(admin, "sara@example.com")
    added = await admin.patch(f"/api/v1/inboxes/{mine.id}", json={"agent_ids": [agent.agent["id"]]})
    assert added.status_code == 200, added.text
    agent_ws = await agent_socket(running.url, agent.token, last_event_id=0, protocol=protocol)
    admin_ws = await agent_socket(running.url, admin.token, last_event_id=0, protocol=protocol)
    stranger = await post_incoming(running.client, other, external_id="o-1", sender="o")
    await post_incoming(running.client, mine, external_id="m-1")
    seen = [
        f["data"]["message"]["external_id"]
        for f in await events(agent_ws, 2)
        if f["type"] == "message.created"
    ]
    assert seen == ["m-1"]
    assert await quiet(agent_ws) == []
    by_admin = await events(admin_ws, 6)
    seen_by_admin = [
        f["data"]["message"]["external_id"] for f in by_admin if f["type"] == "message.created"
    ]
    assert seen_by_admin == ["o-1", "m-1"]
    # Each sender's first message made their contact: administrators hear of both.
    assert [f["type"] for f in by_admin].count("contact.created") == 2
    # A contact is in no inbox: its changes go to administrators only, live and replayed.
    conversation_id = stranger.json()["conversation_id"]
    contact = (await admin.get(f"/api/v1/conversations/{conversation_id}")).json()["contact"]
    renamed = await admin.patch(f"/api/v1/contacts/{contact['id']}", json={"name": "Renamed"})
    assert renamed.status_code == 200, renamed.text
    (update,) = await events(admin_ws, 1)
    assert (update["type"], update["data"]["contact"]["name"]) == ("contact.updated", "Renamed")
    assert await quiet(agent_ws) == []
    replayed = await agent_socket(running.url, agent.token, last_event_id=0, protocol=protocol)
    assert "contact.updated" not in [f["type"] for f in await quiet(replayed)]
    await replayed.close()
    boot = (await agent.get("/api/v1/bootstrap")).json()
    assert [i["id"] for i in boot["inboxes"]] == [mine.id]
    assert boot["counts"]["open"] == 1
    await agent_ws.close()
    await admin_ws.close()


async def _conversation_of(running: Running, external_id: str) -> Conversation:
    from sqlalchemy import select

    from app.tickets.models import Message

    async with running.ctx.db.read() as session:
        message = (
            await session.scalars(select(Message).where(Message.external_id == external_id))
        ).one()
        conversation = await session.get(Conversation, message.conversation_id)
        assert conversation is not None
        return conversation


async def visitor_token(running: Running, conversation: Conversation) -> str:
    from datetime import timedelta

    async with running.ctx.db.write() as session:
        token, _visitor = await widget.open_visitor_session(
            session,
            inbox_id=conversation.inbox_id,
            contact_id=conversation.contact_id,
            ttl=timedelta(hours=1),
        )
    return token


@pytest.mark.parametrize("protocol", [None, 2])
async def test_a_visitor_sees_only_public_messages_of_their_own_conversation(
    running: Running, admin: Api, protocol: int | None
) -> None:
    inbox = await create_api_inbox(admin)
    await post_incoming(running.client, inbox, external_id="x-1", sender="visitor-x")
    await post_incoming(running.client, inbox, external_id="y-1", sender="visitor-y")
    x = await _conversation_of(running, "x-1")
    y = await _conversation_of(running, "y-1")
    x_ws, y_ws = [
        await open_socket(
            running.url,
            "/ws/widget",
            token=await visitor_token(running, c),
            last_event_id=0,
            protocol=protocol,
        )
        for c in (x, y)
    ]
    # Replay: each sees only their own first message, in the visitor's view.
    (x_first,) = await events(x_ws, 1)
    assert x_first["data"]["message"]["body_text"] == "hello"
    assert x_first["data"]["message"]["conversation_id"] == x.id
    assert "external_id" not in x_first["data"]["message"]
    (y_first,) = await events(y_ws, 1)
    assert y_first["data"]["message"]["conversation_id"] == y.id

    note = await admin.post(
        f"/api/v1/conversations/{x.id}/messages", json={"body": "internal", "private": True}
    )
    assert note.status_code == 201
    await admin.patch(f"/api/v1/conversations/{x.id}", json={"priority": "high"})
    reply = await admin.post(
        f"/api/v1/conversations/{x.id}/messages", json={"body": "We are on it"}
    )
    assert reply.status_code == 201
    got = await next_event(x_ws)
    assert got["type"] == "message.created"
    message: dict[str, Any] = got["data"]["message"]
    assert message["body_text"] == "We are on it"
    assert message["direction"] == "outbound"
    assert message["sender_name"] == admin.agent["name"]
    assert message["delivery_status"] == "queued"
    assert set(message) == {
        "id",
        "conversation_id",
        "direction",
        "body_text",
        "body_html",
        "sender_type",
        "delivery_status",
        "created_at",
        "sent_at",
        "sender_name",
        "attachments",
        "survey",
    }
    assert await quiet(x_ws) == []  # no note, no activity line, no conversation.updated
    assert await quiet(y_ws) == []  # nothing of X's
    # A new message from Y reaches Y only.
    await post_incoming(running.client, inbox, external_id="y-2", sender="visitor-y", text="again")
    assert (await next_event(y_ws))["data"]["message"]["body_text"] == "again"
    assert await quiet(x_ws) == []
    await x_ws.close()
    await y_ws.close()


async def test_typing_is_relayed_to_the_other_agents_of_the_inbox_and_the_visitor(
    running: Running, admin: Api
) -> None:
    inbox = await create_api_inbox(admin)
    outsider_inbox = await create_api_inbox(admin)
    sara = await create_agent(admin, "sara@example.com")
    omid = await create_agent(admin, "omid@example.com")
    await admin.patch(f"/api/v1/inboxes/{inbox.id}", json={"agent_ids": [sara.agent["id"]]})
    await admin.patch(
        f"/api/v1/inboxes/{outsider_inbox.id}", json={"agent_ids": [omid.agent["id"]]}
    )
    await post_incoming(running.client, inbox, external_id="t-1", sender="typist")
    conversation = await _conversation_of(running, "t-1")
    admin_ws = await agent_socket(running.url, admin.token)
    sara_ws = await agent_socket(running.url, sara.token)
    omid_ws = await agent_socket(running.url, omid.token)
    visitor_ws = await open_socket(
        running.url, "/ws/widget", token=await visitor_token(running, conversation)
    )
    for ws in (admin_ws, sara_ws, omid_ws, visitor_ws):
        await ready(ws)

    def is_typing(f: dict[str, Any]) -> bool:
        return f["type"] == "typing"

    await sara_ws.send(json.dumps({"type": "typing", "conversation_id": conversation.id}))
    seen = await next_frame(admin_ws, is_typing)
    assert seen["id"] is None
    assert seen["data"] == {
        "conversation_id": conversation.id,
        "sender_type": "agent",
        "agent_id": sara.agent["id"],
        "name": "sara",
    }
    assert (await next_frame(visitor_ws, is_typing))["data"] == {
        "conversation_id": conversation.id,
        "sender_type": "agent",
        "name": "sara",
    }
    # A private note being written: the other agents are told, the visitor is not.
    await asyncio.sleep(1.1)  # one relayed signal per conversation and second
    await sara_ws.send(
        json.dumps({"type": "typing", "conversation_id": conversation.id, "private": True})
    )
    assert (await next_frame(admin_ws, is_typing))["data"]["private"] is True
    with pytest.raises(TimeoutError):
        await next_frame(visitor_ws, is_typing, within=0.3)
    await visitor_ws.send('{"type": "typing"}')
    from_visitor = await next_frame(sara_ws, is_typing)
    assert from_visitor["data"] == {"conversation_id": conversation.id, "sender_type": "contact"}
    # Omid works elsewhere and may not even name the conversation.
    await omid_ws.send(json.dumps({"type": "typing", "conversation_id": conversation.id}))
    with pytest.raises(TimeoutError):
        await next_frame(omid_ws, is_typing, within=0.3)
    with pytest.raises(TimeoutError):
        await next_frame(sara_ws, is_typing, within=0.3)
    for ws in (admin_ws, sara_ws, omid_ws, visitor_ws):
        await ws.close()


async def test_frames_a_client_should_not_send_are_ignored_and_the_socket_lives_on(
    running: Running, admin: Api, caplog: pytest.LogCaptureFixture
) -> None:
    inbox = await create_api_inbox(admin)
    sara = await create_agent(admin, "sara@example.com")
    await admin.patch(f"/api/v1/inboxes/{inbox.id}", json={"agent_ids": [sara.agent["id"]]})
    await post_incoming(running.client, inbox, external_id="g-1", sender="typist")
    conversation = await _conversation_of(running, "g-1")
    assert conversation.id == 1  # so that `true` below would read as this conversation
    admin_ws = await agent_socket(running.url, admin.token)
    sara_ws = await agent_socket(running.url, sara.token)
    visitor_ws = await open_socket(
        running.url, "/ws/widget", token=await visitor_token(running, conversation)
    )
    for ws in (admin_ws, sara_ws, visitor_ws):
        await ready(ws)

    def is_typing(f: dict[str, Any]) -> bool:
        return f["type"] == "typing"

    deep = "[" * 2000 + "]" * 2000  # under the frame size limit, too deep for the JSON reader
    for bad in (2**63, 2**70, -1, 0, True, "1", 1.0, None):
        await sara_ws.send(json.dumps({"type": "typing", "conversation_id": bad}))
    for bad in ([1], {"id": 1}, True, 2**70):  # a visitor's too (a list was a traceback)
        await visitor_ws.send(json.dumps({"type": "typing", "conversation_id": bad}))
    for ws in (sara_ws, visitor_ws):
        await ws.send(deep)
        await ws.send(b"\x00\xff")
    with pytest.raises(TimeoutError):
        await next_frame(admin_ws, is_typing, within=0.3)
    # Both sockets are still open and still heard.
    await sara_ws.send(json.dumps({"type": "typing", "conversation_id": conversation.id}))
    assert (await next_frame(admin_ws, is_typing))["data"]["agent_id"] == sara.agent["id"]
    await visitor_ws.send('{"type": "typing"}')
    assert (await next_frame(sara_ws, is_typing))["data"]["sender_type"] == "contact"
    failed = [r for r in caplog.records if r.name.startswith("app.realtime") and r.exc_info]
    assert failed == []
    for ws in (admin_ws, sara_ws, visitor_ws):
        await ws.close()


async def test_presence_online_away_offline(running: Running, admin: Api) -> None:
    sara = await create_agent(admin, "sara@example.com")
    admin_ws = await agent_socket(running.url, admin.token)
    await ready(admin_ws)

    def presence_of(agent_id: int) -> Any:
        return lambda f: f["type"] == "presence" and f["data"]["agent_id"] == agent_id

    sara_ws = await agent_socket(running.url, sara.token)
    online = await next_frame(admin_ws, presence_of(sara.agent["id"]))
    assert online["data"]["status"] == "online"
    assert online["data"]["last_active_at"]
    await sara_ws.send('{"type": "presence", "status": "away"}')
    assert (await next_frame(admin_ws, presence_of(sara.agent["id"])))["data"]["status"] == "away"
    boot = (await admin.get("/api/v1/bootstrap")).json()
    assert {"agent_id": sara.agent["id"], "status": "away"}.items() <= next(
        p for p in boot["presence"] if p["agent_id"] == sara.agent["id"]
    ).items()
    await sara_ws.close()
    offline = await next_frame(admin_ws, presence_of(sara.agent["id"]))
    assert offline["data"]["status"] == "offline"
    assert offline["data"]["last_active_at"] is not None
    await admin_ws.close()


async def test_resync_required_when_the_id_is_older_than_the_log(
    running: Running, admin: Api
) -> None:
    from sqlalchemy import delete

    from app.events.models import EventRow

    inbox = await create_api_inbox(admin)
    for n in range(3):
        await post_incoming(running.client, inbox, external_id=f"r-{n}")
    async with running.ctx.db.write() as session:
        await session.execute(delete(EventRow).where(EventRow.seq <= 3))  # as retention would
    ws = await agent_socket(running.url, admin.token, last_event_id=1)
    code, frames = await close_code(ws)
    assert code == 4000
    assert [f["type"] for f in frames] == ["resync_required"]
    ws = await agent_socket(running.url, admin.token, last_event_id=3)  # nothing missed
    assert len(await events(ws, 3)) == 3
    await ws.close()
    ws = await agent_socket(running.url, admin.token, last_event_id=10_000)  # from the future
    assert (await close_code(ws))[0] == 4000


async def test_a_slow_socket_is_closed_4001_and_the_others_get_everything(
    settings: Settings,
) -> None:
    small = settings.model_copy(update={"socket_queue_frames": 20})
    async with serve(small) as live:
        admin = await login(live.client, "admin@example.com", "correct horse battery staple")
        inbox = await create_api_inbox(admin)
        fast = await agent_socket(live.url, admin.token)
        await ready(fast)
        slow = await stalled_socket(live.url, admin.token)
        # Loopback buffers hold megabytes: big messages fill them quickly (the stalled
        # socket takes them uncompressed; one repeated letter keeps search indexing cheap).
        n = 150
        for i in range(n):
            big = f"{i} " + "x" * 60_000
            response = await post_incoming(live.client, inbox, external_id=f"s-{i}", text=big)
            assert response.status_code == 201
        # Each message's two frames, and the contact its sender's first message made.
        got = [f for f in await events(fast, 2 * n + 1) if f["type"] == "message.created"]
        assert [f["data"]["message"]["external_id"] for f in got] == [f"s-{i}" for i in range(n)]
        # However long the client stalls, the close is behind what it has yet to read (a
        # close given up on would leave it a socket that never sends again).
        await asyncio.sleep(6)
        slow.transport.resume_reading()
        code, frames = await close_code(slow, within=15)
        assert code == 4001
        ids = [f["id"] for f in frames if f["id"] is not None]
        assert ids == sorted(ids)
        assert len(ids) < 2 * n
        await fast.close()


async def test_heartbeats_keep_coming_with_no_id(settings: Settings) -> None:
    quick = settings.model_copy(update={"heartbeat_seconds": 0.1})
    async with serve(quick) as live:
        admin = await login(live.client, "admin@example.com", "correct horse battery staple")
        ws = await agent_socket(live.url, admin.token)
        for _ in range(2):
            beat = await next_frame(ws, lambda f: f["type"] == "heartbeat", within=2)
            assert beat["id"] is None
            assert beat["data"] == {}
        # Presence survives its own refreshes: still online, not flapping.
        boot = (await admin.get("/api/v1/bootstrap")).json()
        assert [p["status"] for p in boot["presence"]] == ["online"]
        await ws.close()
