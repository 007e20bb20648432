"""Two `panjereh serve` processes (real subprocesses, started by the CLI) on different ports,
sharing one PostgreSQL database and one real Redis that this module starts (and stops, to
show that an outage loses nothing)."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from app.db import Database, utcnow
from app.events import log as event_log
from app.events.models import EventRow
from app.tickets.models import Conversation, Message
from app.widget import service as widget
from tests.support.api import Api, create_agent, create_api_inbox, post_incoming
from tests.support.app import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.support.servers import PostgresServer, RedisServer, free_port, start_redis
from tests.support.sockets import (
    agent_socket,
    close_code,
    next_event,
    next_frame,
    open_socket,
    quiet,
    ready,
    stalled_socket,
)

QUEUE_FRAMES = 50


@dataclass
class Cluster:
    a: str  # base URLs of the two processes
    b: str
    database_url: str
    redis: RedisServer
    tmp: Path
    # The administrator's login, made once: with Redis, login rate limits hold across both
    # processes, and a test per login would soon meet them.
    login: dict[str, Any]


def _login_once(url: str) -> dict[str, Any]:
    response = httpx.post(
        f"{url}/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _serve(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "app.cli",
            "--log-level",
            "warning",
            "serve",
            "--no-migrate",
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )


def _wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        try:
            if httpx.get(f"{url}/readyz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"{url} not ready:\n{log.read_text()}")


@pytest.fixture(scope="module")
def cluster(
    postgres: PostgresServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    tmp = tmp_path_factory.mktemp("cluster")
    database_url = postgres.create_database(f"cluster_{os.getpid()}", template="panjereh_template")
    redis = start_redis(tmp / "redis")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PANJEREH_")},
        "PANJEREH_ENVIRONMENT": "test",
        "PANJEREH_DATABASE_URL": database_url,
        "PANJEREH_REDIS_URL": redis.url,
        "PANJEREH_DATA_DIR": str(tmp / "data"),
        "PANJEREH_SECRET_KEY": "test-secret-key-that-is-long-enough-for-tests",
        "PANJEREH_ADMIN_EMAIL": ADMIN_EMAIL,
        "PANJEREH_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "PANJEREH_RUN_WORKERS": "false",
        "PANJEREH_PASSWORD_HASH_TIME_COST": "1",
        "PANJEREH_PASSWORD_HASH_MEMORY_KIB": "64",
        "PANJEREH_SOCKET_QUEUE_FRAMES": str(QUEUE_FRAMES),
        "PANJEREH_EVENT_POLL_SECONDS": "0.2",
    }
    procs, urls = [], []
    try:
        for name in ("a", "b"):
            port, log = free_port(), tmp / f"{name}.log"
            proc = _serve(env, port, log)
            procs.append(proc)
            urls.append(f"http://127.0.0.1:{port}")
            _wait_ready(urls[-1], proc, log)
        yield Cluster(urls[0], urls[1], database_url, redis, tmp, _login_once(urls[0]))
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        redis.stop()


@dataclass
class Sides:
    a: Api  # the administrator, through process A
    b: Api  # the same, through process B
    db: Database  # the shared database, for what the API does not offer (visitor sessions)


@pytest.fixture
async def sides(cluster: Cluster) -> AsyncIterator[Sides]:
    async with (
        httpx.AsyncClient(base_url=cluster.a, timeout=10) as ca,
        httpx.AsyncClient(base_url=cluster.b, timeout=10) as cb,
    ):
        db = Database(cluster.database_url, pool_size=2)
        db.before_commit = event_log.finalize
        try:
            token, agent = cluster.login["access_token"], cluster.login["agent"]
            yield Sides(Api(ca, token, agent), Api(cb, token, agent), db)
        finally:
            await db.dispose()


async def test_a_message_ingested_on_a_reaches_an_agent_on_b(
    cluster: Cluster, sides: Sides
) -> None:
    inbox = await create_api_inbox(sides.a)
    on_b = await agent_socket(cluster.b, sides.b.token)
    await ready(on_b)
    started = time.monotonic()
    assert (await post_incoming(sides.a.client, inbox, external_id="cross-1")).status_code == 201
    created = await next_event(on_b, "message.created")
    assert created["data"]["message"]["external_id"] == "cross-1"
    assert time.monotonic() - started < 2  # pushed, not found by a slow poll
    # A status change made through B reaches a socket on A.
    on_a = await agent_socket(cluster.a, sides.a.token)
    await ready(on_a)
    conversation_id = created["data"]["message"]["conversation_id"]
    patched = await sides.b.patch(
        f"/api/v1/conversations/{conversation_id}", json={"status": "pending"}
    )
    assert patched.status_code == 200
    updated = await next_event(on_a, "conversation.updated")
    assert updated["data"]["conversation"]["status"] == "pending"
    await on_a.close()
    await on_b.close()


async def test_typing_and_presence_cross_processes(cluster: Cluster, sides: Sides) -> None:
    inbox = await create_api_inbox(sides.a)
    await post_incoming(sides.a.client, inbox, external_id="tp-1", sender="tp")
    sara = await create_agent(sides.a, f"sara-{secrets.token_hex(3)}@example.com")
    await sides.a.patch(f"/api/v1/inboxes/{inbox.id}", json={"agent_ids": [sara.agent["id"]]})
    admin_on_b = await agent_socket(cluster.b, sides.b.token)
    await ready(admin_on_b)
    sara_on_a = await agent_socket(cluster.a, sara.token)
    await ready(sara_on_a)
    is_sara = lambda f: f["type"] == "presence" and f["data"]["agent_id"] == sara.agent["id"]  # noqa: E731
    assert (await next_frame(admin_on_b, is_sara))["data"]["status"] == "online"
    async with sides.db.read() as session:
        conversation_id = (
            await session.scalars(
                select(Message.conversation_id).where(Message.external_id == "tp-1")
            )
        ).one()
    await sara_on_a.send(json.dumps({"type": "typing", "conversation_id": conversation_id}))
    typing = await next_frame(admin_on_b, lambda f: f["type"] == "typing")
    assert typing["data"]["agent_id"] == sara.agent["id"]
    await sara_on_a.close()
    assert (await next_frame(admin_on_b, is_sara))["data"]["status"] == "offline"
    await admin_on_b.close()


async def test_a_socket_that_missed_20_events_gets_exactly_those_on_reconnect(
    cluster: Cluster, sides: Sides
) -> None:
    inbox = await create_api_inbox(sides.a)
    await post_incoming(sides.a.client, inbox, external_id="miss-0", sender="m")
    boot = (await sides.b.get("/api/v1/bootstrap")).json()
    ws = await agent_socket(cluster.b, sides.b.token, last_event_id=boot["last_event_id"])
    await ready(ws)
    await ws.close()
    last = boot["last_event_id"]
    for n in range(1, 11):  # each message to an open conversation: updated + created
        assert (
            await post_incoming(sides.a.client, inbox, external_id=f"miss-{n}", sender="m")
        ).status_code == 201
    ws = await agent_socket(cluster.a, sides.a.token, last_event_id=last)
    replayed = await ready(ws)
    assert [f["id"] for f in replayed] == list(range(last + 1, last + 21))
    assert [
        f["data"]["message"]["external_id"] for f in replayed if f["type"] == "message.created"
    ] == [f"miss-{n}" for n in range(1, 11)]
    assert await quiet(ws) == []  # and nothing twice
    await ws.close()


async def test_resync_required_past_retention(cluster: Cluster, sides: Sides) -> None:
    inbox = await create_api_inbox(sides.a)
    await post_incoming(sides.a.client, inbox, external_id="old-1", sender="old")
    boot = (await sides.a.get("/api/v1/bootstrap")).json()
    old = boot["last_event_id"] - 1
    async with sides.db.write() as session:  # as if a week passed and the cleanup job ran
        await session.execute(
            update(EventRow)
            .where(EventRow.seq <= boot["last_event_id"])
            .values(created_at=utcnow() - timedelta(days=8))
        )
        assert await event_log.delete_older_than(session, 7) > 0
    ws = await agent_socket(cluster.b, sides.b.token, last_event_id=old)
    code, frames = await close_code(ws)
    assert (code, [f["type"] for f in frames]) == (4000, ["resync_required"])
    ws = await agent_socket(cluster.b, sides.b.token, last_event_id=boot["last_event_id"])
    assert await ready(ws) == []  # the newest id is still good
    await ws.close()


async def _visitor(sides: Sides, external_id: str) -> tuple[str, int]:
    async with sides.db.write() as session:
        message = (
            await session.scalars(select(Message).where(Message.external_id == external_id))
        ).one()
        conversation = await session.get(Conversation, message.conversation_id)
        assert conversation is not None
        token, _ = await widget.open_visitor_session(
            session,
            inbox_id=conversation.inbox_id,
            contact_id=conversation.contact_id,
            ttl=timedelta(hours=1),
        )
    return token, message.conversation_id


async def test_visitors_never_see_each_other_or_notes(cluster: Cluster, sides: Sides) -> None:
    inbox = await create_api_inbox(sides.a)
    await post_incoming(sides.a.client, inbox, external_id="vx-1", sender="vx")
    await post_incoming(sides.a.client, inbox, external_id="vy-1", sender="vy")
    x_token, x_conversation = await _visitor(sides, "vx-1")
    y_token, y_conversation = await _visitor(sides, "vy-1")
    x_ws = await open_socket(cluster.b, "/ws/widget", token=x_token)
    y_ws = await open_socket(cluster.a, "/ws/widget", token=y_token)
    await ready(x_ws)
    await ready(y_ws)
    await sides.b.post(
        f"/api/v1/conversations/{x_conversation}/messages", json={"body": "secret", "private": True}
    )
    await sides.a.patch(f"/api/v1/conversations/{x_conversation}", json={"status": "pending"})
    await sides.a.post(f"/api/v1/conversations/{x_conversation}/messages", json={"body": "for X"})
    await sides.b.post(f"/api/v1/conversations/{y_conversation}/messages", json={"body": "for Y"})
    x_got = await next_event(x_ws)
    y_got = await next_event(y_ws)
    assert x_got["data"]["message"]["body_text"] == "for X"
    assert y_got["data"]["message"]["body_text"] == "for Y"
    assert await quiet(x_ws) == []
    assert await quiet(y_ws) == []
    await x_ws.close()
    await y_ws.close()


@pytest.mark.parametrize("side", ["a", "b"])
async def test_auth_failures_close_4401_before_anything(
    cluster: Cluster, sides: Sides, side: str
) -> None:
    url = getattr(cluster, side)
    for path, params in (
        ("/ws/agent", {}),
        ("/ws/agent", {"token": "forged"}),
        ("/ws/agent", {"token": "forged", "last_event_id": 0}),
        ("/ws/widget", {"token": "forged"}),
        ("/ws/widget", {}),
    ):
        ws = await open_socket(url, path, **params)
        assert await close_code(ws) == (4401, []), (path, params)


async def test_a_slow_socket_is_closed_4001_while_a_normal_one_gets_everything(
    cluster: Cluster, sides: Sides
) -> None:
    inbox = await create_api_inbox(sides.a)
    normal = await agent_socket(cluster.b, sides.b.token)
    await ready(normal)
    slow = await stalled_socket(cluster.b, sides.b.token)
    n = 120
    lags: list[float] = []
    for i in range(n):
        text = secrets.token_urlsafe(45_000)  # incompressible, so buffers fill quickly
        response = await post_incoming(
            sides.a.client, inbox, external_id=f"slow-{i}", text=text, sender="s"
        )
        assert response.status_code == 201
        acknowledged = time.monotonic()
        frame = await next_event(normal, "message.created")
        assert frame["data"]["message"]["external_id"] == f"slow-{i}"
        lags.append(time.monotonic() - acknowledged)
    print(f"normal socket: max lag {max(lags) * 1000:.1f} ms over {n} messages")
    slow.transport.resume_reading()
    code, frames = await close_code(slow, within=20)
    assert code == 4001
    ids = [f["id"] for f in frames if f["id"] is not None]
    assert ids == sorted(ids)
    assert len(ids) < 2 * n
    await normal.close()


async def test_a_redis_outage_stops_neither_ingest_nor_delivery(
    cluster: Cluster, sides: Sides
) -> None:
    inbox = await create_api_inbox(sides.a)
    on_b = await agent_socket(cluster.b, sides.b.token)
    await ready(on_b)
    cluster.redis.stop()
    try:
        assert (await post_incoming(sides.a.client, inbox, external_id="down-1")).status_code == 201
        # B hears nothing from Redis, but finds the event in the log by polling.
        assert (await next_event(on_b, "message.created"))["data"]["message"][
            "external_id"
        ] == "down-1"
        ready_a = await sides.a.client.get("/readyz")
        assert ready_a.status_code == 503
        assert ready_a.json()["checks"]["redis"].startswith("error")
        assert (await sides.b.get("/api/v1/bootstrap")).status_code == 200
    finally:
        cluster.redis = start_redis(cluster.tmp / "redis-again", port=cluster.redis.port)
    async with asyncio.timeout(10):
        while (await sides.a.client.get("/readyz")).status_code != 200:  # noqa: ASYNC110 - polling a server from outside
            await asyncio.sleep(0.05)
    assert (await post_incoming(sides.a.client, inbox, external_id="up-1")).status_code == 201
    assert (await next_event(on_b, "message.created"))["data"]["message"]["external_id"] == "up-1"
    await on_b.close()
