"""The bus, the same tests for every backend: in memory (one process) and Redis (two
processes, here two buses on one real Redis)."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
from collections.abc import AsyncIterator, Awaitable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from redis.asyncio import Redis

from app.crypto import bus_key
from app.events.log import Logged, Published, Scope
from app.realtime import redis_bus
from app.realtime.bus import Bus, MemoryBus, Notice, Signal
from app.realtime.redis_bus import PUBLISH_FAILURES, RedisBus, decode, encode
from tests.support.servers import RedisServer, start_redis

_db = itertools.count(1)
KEY = bus_key("test-secret-key-that-is-long-enough-for-tests")


async def next_notice(queue: asyncio.Queue[Notice]) -> Notice:
    return await asyncio.wait_for(queue.get(), 5)


async def settled(bus: Bus, queue: asyncio.Queue[Notice]) -> None:
    """Until a Redis bus's listener is subscribed; drops its first notice (an empty
    wake-up: "read the log, you may have missed something")."""
    if isinstance(bus, RedisBus):
        await asyncio.wait_for(bus.connected.wait(), 5)
        assert queue.get_nowait() == ()


@pytest.fixture(params=["memory", "redis"])
async def pair(
    request: pytest.FixtureRequest,
) -> AsyncIterator[tuple[Bus, Bus]]:
    """(publisher's bus, another process's bus); one shared bus in memory mode."""
    if request.param == "memory":
        bus = MemoryBus()
        yield bus, bus
        return
    server: RedisServer = request.getfixturevalue("redis_server")
    clients = [Redis.from_url(server.url_for(next(_db) % 16)) for _ in range(2)]
    a, b = RedisBus(clients[0], KEY), RedisBus(clients[1], KEY)
    yield a, b
    for bus, client in ((a, clients[0]), (b, clients[1])):
        await bus.aclose()
        await client.aclose()


async def test_committed_events_reach_every_subscriber_once(pair: tuple[Bus, Bus]) -> None:
    publisher, other = pair
    items = [Published(7, Scope(inbox_id=1, conversation_id=2, public=True)), Published(8, Scope())]
    async with publisher.subscribe() as mine, other.subscribe() as theirs:
        await settled(publisher, mine)
        if other is not publisher:
            await settled(other, theirs)
        await publisher.publish(items)
        for queue in {id(mine): mine, id(theirs): theirs}.values():
            assert await next_notice(queue) == tuple(items)
        await asyncio.sleep(0.1)
        assert mine.empty()
        assert theirs.empty()  # nobody gets it twice (a process ignores its own echo)


async def test_a_burst_of_commits_arrives_whole_and_in_order(pair: tuple[Bus, Bus]) -> None:
    """Notices queued behind a write to Redis go together (several to a write): none is
    lost, doubled or reordered on the way."""
    publisher, other = pair
    async with other.subscribe() as theirs:
        await settled(other, theirs)
        for seq in range(1, 301):  # faster than Redis answers: the outbox fills meanwhile
            await publisher.publish([Published(seq, Scope(inbox_id=1))])
        received = [await next_notice(theirs) for _ in range(300)]
    assert [n[0].seq for n in received if isinstance(n, tuple)] == list(range(1, 301))


async def test_a_committed_event_travels_with_its_notice(pair: tuple[Bus, Bus]) -> None:
    publisher, other = pair
    scope = Scope(inbox_id=1, conversation_id=2, public=True)
    at = datetime(2026, 3, 20, 9, 30, tzinfo=UTC)
    event = Logged(9, "message.created", 1, 2, None, True, {"text": "سلام"}, at, "rule:4")
    heard: list[Notice] = []
    with other.listen(heard.append):
        async with other.subscribe() as theirs:
            await settled(other, theirs)
            await publisher.publish([Published(9, scope, event)])
            (received,) = await next_notice(theirs)
    assert isinstance(received, Published)
    assert received.event == event  # all of it: another process's hub sends it as it is
    assert heard[-1] == (received,)  # a listener hears it too, as it is delivered


async def test_a_listener_held_twice_hears_each_notice_once() -> None:
    bus = MemoryBus()
    heard: list[Notice] = []
    with bus.listen(heard.append):  # every log consumer of a process hands in one tail
        with bus.listen(heard.append):
            await bus.publish([Published(1, Scope())])
        await bus.publish([Published(2, Scope())])
    await bus.publish([Published(3, Scope())])
    assert [n[0].seq for n in heard if isinstance(n, tuple)] == [1, 2]


def test_events_travel_only_in_a_message_signed_with_the_key() -> None:
    scope = Scope(inbox_id=1, conversation_id=2, public=True)
    event = Logged(5, "message.created", 1, 2, None, True, {"text": "hi"}, datetime.now(UTC))
    message = encode("a", (Published(5, scope, event),), KEY)
    origin, (received,) = decode(message, KEY)
    assert isinstance(received, Published)
    assert (origin, received.event) == ("a", event)
    # Whoever can write to Redis but has not the key: a forged message is refused...
    with pytest.raises(ValueError, match="signature"):
        decode(encode("a", (Published(5, scope, event),), bus_key("another key")), KEY)
    # ... and an unsigned one (an older process's) announces its seqs, never its events.
    unsigned = message[message.index(b"{") :]
    _origin, (announced,) = decode(unsigned, KEY)
    assert isinstance(announced, Published)
    assert (announced.seq, announced.scope, announced.event) == (5, scope, None)


async def test_signals_travel_with_their_scope_and_data(pair: tuple[Bus, Bus]) -> None:
    publisher, other = pair
    signal = Signal("typing", Scope(inbox_id=3, conversation_id=4, public=True), {"name": "Sara"})
    async with other.subscribe() as theirs:
        await settled(other, theirs)
        await publisher.signal(signal)
        assert await next_notice(theirs) == signal


async def publish_fails(bus: RedisBus, mine: asyncio.Queue[Notice], seq: int) -> None:
    """Publish `seq` while Redis cannot take it: the call returns at once and raises
    nothing, this process still hears it, and the failure is counted."""
    failures = PUBLISH_FAILURES.labels("redis_error")
    before = failures._value.get()
    await bus.publish([Published(seq, Scope())])
    assert await next_notice(mine) == (Published(seq, Scope()),)
    async with asyncio.timeout(5):
        while failures._value.get() == before:  # noqa: ASYNC110 - a metric has no event to wait on
            await asyncio.sleep(0.02)


async def test_a_redis_outage_fails_nothing_and_the_bus_comes_back(tmp_path: Path) -> None:
    server = start_redis(tmp_path / "r1")
    a_client, b_client = Redis.from_url(server.url), Redis.from_url(server.url)
    a, b = RedisBus(a_client, KEY), RedisBus(b_client, KEY)
    try:
        async with a.subscribe() as mine, b.subscribe() as theirs:
            await settled(a, mine)
            await settled(b, theirs)
            server.stop()
            await publish_fails(a, mine, 1)
            server = start_redis(tmp_path / "r2", port=server.port)
            # The other process re-subscribes and is told to read the log (it missed seq 1).
            assert await next_notice(theirs) == ()
            await a.publish([Published(2, Scope())])
            assert await next_notice(theirs) == (Published(2, Scope()),)
    finally:
        for bus, client in ((a, a_client), (b, b_client)):
            await bus.aclose()
            await client.aclose()
        server.stop()


async def test_a_redis_that_stops_answering_is_given_up_on_then_used_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Redis that hangs (here: stopped with SIGSTOP, its port still open) costs failed
    publishes, counted, never a sender stuck waiting for answers: once Redis answers again,
    the next commit reaches the other process."""
    monkeypatch.setattr(redis_bus, "REDIS_TIMEOUT", 0.3)
    server = start_redis(tmp_path / "r")
    a, b = RedisBus.connect(server.url, KEY), RedisBus.connect(server.url, KEY)
    pid = int(server.pidfile.read_text())
    try:
        async with a.subscribe() as mine, b.subscribe() as theirs:
            await settled(a, mine)
            await settled(b, theirs)
            os.kill(pid, signal.SIGSTOP)
            try:
                await publish_fails(a, mine, 1)
            finally:
                os.kill(pid, signal.SIGCONT)
            await a.publish([Published(2, Scope())])
            # Seq 1 may arrive too (its write was in Redis's socket when it stopped).
            async with asyncio.timeout(5):
                while (notice := await theirs.get()) != (Published(2, Scope()),):
                    assert notice in ((), (Published(1, Scope()),))
    finally:
        await a.aclose()
        await b.aclose()
        server.stop()


async def test_a_publish_leaves_without_a_timeout_task(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """redis-py bounds a write by its socket timeout with asyncio.wait_for: on Python 3.11 a
    new task and two more turns of the event loop per write, which under load kept notices
    ~2.5 ms (p50) from leaving the process. The bus bounds its exchanges itself."""
    url = redis_server.url_for(next(_db) % 16)
    a, b = RedisBus.connect(url, KEY), RedisBus.connect(url, KEY)
    timed: list[object] = []
    wait_for = asyncio.wait_for

    async def spy(awaitable: Awaitable[object], timeout: float | None) -> object:  # noqa: ASYNC109 - asyncio.wait_for's own signature
        timed.append(awaitable)
        return await wait_for(awaitable, timeout)

    try:
        async with b.subscribe() as theirs:
            await settled(b, theirs)
            monkeypatch.setattr(asyncio, "wait_for", spy)
            await a.publish([Published(1, Scope())])
            async with asyncio.timeout(5):
                notice = await theirs.get()
    finally:
        await a.aclose()
        await b.aclose()
    assert notice == (Published(1, Scope()),)
    assert timed == []
