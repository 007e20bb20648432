"""The bus across processes: Redis pub/sub (`PANJEREH_REDIS_URL`).

A notice goes to this process's own subscribers at once (as with `MemoryBus`) and to Redis
for the others; a process ignores its own messages coming back. Publishing happens in a
background task fed by a bounded queue, so a slow or absent Redis never delays or fails the
request that committed: a failure is logged and counted
(`panjereh_bus_publish_failures_total`), and the other processes' hubs still find the events
by polling the log. Messages that queued up while a write awaited Redis's answer go out
together in the next (one pipeline). The listener reconnects by itself; after a (re)connect
it tells the local subscribers to read the log, since messages sent meanwhile are gone.

The bus has a Redis client of its own (`RedisBus.connect`), without redis-py's
`socket_timeout`: on Python 3.11 that timeout wraps every write in `asyncio.wait_for`, a new
task and two extra turns of the event loop, which under load kept a notice ~2.5 ms (p50) from
leaving the process (bench/live_latency.py). Each exchange is bounded here instead, by
`REDIS_TIMEOUT` around it, which costs no turn of the loop.

Messages carry committed events, so they are signed with a key derived from
PANJEREH_SECRET_KEY (the same in every process): a message with a wrong signature is
dropped, and one without a signature is believed only about sequence numbers.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import hmac
import json
import logging
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from prometheus_client import Counter
from redis.asyncio import Redis
from redis.exceptions import RedisError

from app.events.log import Logged, Published, Scope
from app.realtime.bus import Listener, MemoryBus, Notice, Signal

log = logging.getLogger(__name__)

CHANNEL = "panjereh:bus"
SIGNED = b"s1:"
OUTBOX_SIZE = 10_000
PUBLISH_BATCH = 100  # messages at most in one write to Redis
RECONNECT_DELAY_MAX = 2.0  # seconds between attempts to re-subscribe
LISTEN_TIMEOUT = 5.0  # seconds; each wake-up also lets redis-py health-check the connection
CLOSE_TIMEOUT = 2.0  # seconds for the background tasks to end on close
CONNECT_TIMEOUT = 2.0  # seconds to open a connection to Redis
REDIS_TIMEOUT = 2.0  # seconds for one exchange: a pipeline's write and answers, a subscription

PUBLISH_FAILURES = Counter(
    "panjereh_bus_publish_failures_total",
    "Bus messages that could not be sent to Redis (the hubs catch up from the event log)",
    ["reason"],
)


def encode(origin: str, notice: Notice, key: bytes) -> bytes:
    """The message for `notice`, signed: `s1:<HMAC-SHA256 hex>:<JSON>`."""
    body: dict[str, Any] = {"o": origin}
    if isinstance(notice, Signal):
        body["s"] = [notice.kind, dataclasses.asdict(notice.scope), notice.data]
    else:
        body["e"] = [[p.seq, dataclasses.asdict(p.scope), _carried(p.event)] for p in notice]
    raw = json.dumps(body, separators=(",", ":")).encode()
    return SIGNED + _mac(key, raw) + b":" + raw


def decode(message: bytes, key: bytes) -> tuple[str, Notice]:
    """The sender and notice of a message; ValueError for a forged one. Events travel only
    in a signed message: whoever can write to Redis cannot put words on agents' screens or
    into webhooks. An unsigned one (a process of an older version) still announces seqs."""
    signed = message.startswith(SIGNED)
    raw = message
    if signed:
        mac, _, raw = message[len(SIGNED) :].partition(b":")
        if not hmac.compare_digest(mac, _mac(key, raw)):
            raise ValueError("a bus message with a wrong signature")
    body = json.loads(raw)
    if "s" in body:
        kind, scope, data = body["s"]
        return body["o"], Signal(kind, Scope(**scope), data)
    items = []
    for seq, fields, *carried in body["e"]:
        scope = Scope(**fields)
        event = _logged(seq, scope, carried[0]) if signed and carried and carried[0] else None
        items.append(Published(seq, scope, event))
    return body["o"], tuple(items)


def _mac(key: bytes, raw: bytes) -> bytes:
    return hmac.new(key, raw, hashlib.sha256).hexdigest().encode()


def _carried(event: Logged | None) -> list[Any] | None:
    """The event itself travels too (its scope already does), so the other processes' hubs
    need not read it back from the log."""
    if event is None:
        return None
    return [event.type, event.data, event.created_at.isoformat(), event.origin]


def _logged(seq: int, scope: Scope, carried: list[Any]) -> Logged:
    type_, data, at, origin = carried
    return Logged(
        seq,
        type_,
        scope.inbox_id,
        scope.conversation_id,
        scope.agent_id,
        scope.public,
        data,
        datetime.fromisoformat(at),
        origin,
    )


class RedisBus:
    def __init__(self, client: Redis, key: bytes, *, owns_client: bool = False) -> None:
        self._redis = client
        self._owns_client = owns_client  # closed with the bus
        self._key = key  # signs and checks messages (crypto.bus_key)
        self._local = MemoryBus()
        self._origin = uuid.uuid4().hex
        self._outbox: asyncio.Queue[bytes] = asyncio.Queue(OUTBOX_SIZE)
        self._sender: asyncio.Task[None] | None = None
        self._listener: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()  # set while the listener is subscribed
        self._closed = False

    @classmethod
    def connect(cls, url: str, key: bytes) -> RedisBus:
        """A bus on the Redis at `url`, with a client of its own (see the module's doc)."""
        client = Redis.from_url(
            url,
            socket_connect_timeout=CONNECT_TIMEOUT,
            socket_timeout=None,  # not redis-py's default (5 s): REDIS_TIMEOUT bounds each call
            health_check_interval=10,
        )
        return cls(client, key, owns_client=True)

    async def publish(self, items: Sequence[Published]) -> None:
        notice = tuple(items)
        self._send(notice)  # first: the sender task then runs before this process's sockets'
        self._local.deliver(notice)

    async def signal(self, signal: Signal) -> None:
        self._local.deliver(signal)
        self._send(signal)

    def _send(self, notice: Notice) -> None:
        if self._sender is None:
            self._sender = asyncio.create_task(self._send_loop(), name="bus-redis-publish")
        try:
            self._outbox.put_nowait(encode(self._origin, notice, self._key))
        except asyncio.QueueFull:
            PUBLISH_FAILURES.labels("outbox_full").inc()

    async def _send_loop(self) -> None:
        failing = False
        while True:
            # What queued up while the previous write awaited Redis's answer goes in one
            # write: under load, a round trip per message made notices wait their turn.
            messages = [await self._outbox.get()]
            while len(messages) < PUBLISH_BATCH and not self._outbox.empty():
                messages.append(self._outbox.get_nowait())
            try:
                async with (
                    asyncio.timeout(REDIS_TIMEOUT),
                    self._redis.pipeline(transaction=False) as pipeline,
                ):
                    for message in messages:
                        pipeline.publish(CHANNEL, message)
                    await pipeline.execute()
            except (RedisError, OSError) as exc:  # OSError includes TimeoutError
                PUBLISH_FAILURES.labels("redis_error").inc(len(messages))
                if not failing:  # one line per outage, not one per message
                    log.warning("cannot publish to Redis (%s); hubs fall back to polling", exc)
                failing = True
            else:
                if failing:
                    log.info("publishing to Redis again")
                failing = False

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[Notice]]:
        self._start_listening()
        async with self._local.subscribe() as queue:
            yield queue

    def listen(self, listener: Listener) -> AbstractContextManager[None]:
        self._start_listening()
        return self._local.listen(listener)

    def _start_listening(self) -> None:
        if self._listener is None:
            self._listener = asyncio.create_task(self._listen_loop(), name="bus-redis-listen")

    async def _listen_loop(self) -> None:
        delay = 0.05
        # Not `while True`: redis-py can turn the cancellation of a read into a
        # ConnectionError, which this loop would otherwise treat as an outage.
        while not self._closed:
            try:
                async with self._redis.pubsub() as pubsub:
                    async with asyncio.timeout(REDIS_TIMEOUT):
                        await pubsub.subscribe(CHANNEL)
                    self.connected.set()
                    delay = 0.05
                    self._local.deliver(())  # whatever was sent while we were away is gone
                    while True:
                        message = await pubsub.get_message(
                            ignore_subscribe_messages=True, timeout=LISTEN_TIMEOUT
                        )
                        if message is None or message["type"] != "message":
                            continue
                        try:
                            origin, notice = decode(message["data"], self._key)
                        except (ValueError, KeyError, TypeError):
                            log.warning("ignored a malformed or forged bus message")
                            continue
                        if origin != self._origin:
                            self._local.deliver(notice)
            except (RedisError, OSError) as exc:
                if self.connected.is_set():
                    log.warning("lost the Redis subscription (%s); reconnecting", exc)
                self.connected.clear()
                await asyncio.sleep(delay)
                delay = min(delay * 2, RECONNECT_DELAY_MAX)

    async def aclose(self) -> None:
        self._closed = True
        tasks = [t for t in (self._sender, self._listener) if t is not None]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=CLOSE_TIMEOUT)
        self._sender = self._listener = None
        await self._local.aclose()
        if self._owns_client:
            with contextlib.suppress(RedisError, OSError):
                await self._redis.aclose()
