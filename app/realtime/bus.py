"""The bus: how every process's hub learns that events were committed, in any process.

A notice carries `{seq, scope}` of each committed event, and the event itself when the
sender has it (it committed it); the database is the truth, and a hub that missed a notice,
or got one without its events, reads the rows itself. Ephemeral signals (typing, presence
changes) travel here too: they are never stored, and losing one costs a typing indicator,
not data.

Backends, chosen by configuration (`PANJEREH_REDIS_URL`): `MemoryBus` (embedded, one
process) and `app.realtime.redis_bus.RedisBus` (several processes). Subscribers get bounded
queues: a subscriber that falls behind loses notifications, never memory, and catches up
from the event log by sequence number. A listener (the hub) is called at once instead, in
the task that delivers: for this process's own commits, before the transaction's caller
goes on, so the sockets hear of a message before its sender hears "stored".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from app.events.log import Published, Scope

log = logging.getLogger(__name__)

SignalKind = Literal["typing", "presence"]


@dataclass(frozen=True, slots=True)
class Signal:
    """An ephemeral notice for the sockets in `scope`; `data` is JSON-safe and not stored."""

    kind: SignalKind
    scope: Scope
    data: dict[str, Any] = field(default_factory=dict)


# What a subscriber receives: the events of one commit, or one signal. An empty tuple means
# "notifications may have been lost": read the log.
Notice = tuple[Published, ...] | Signal
Listener = Callable[[Notice], None]


class Bus(Protocol):
    async def publish(self, items: Sequence[Published]) -> None:
        """Announce committed events. Never raises and never waits on the network."""

    async def signal(self, signal: Signal) -> None:
        """Send an ephemeral signal to every process. Never raises."""

    def subscribe(self) -> AbstractAsyncContextManager[asyncio.Queue[Notice]]:
        """A bounded queue of notices from every process, this one included."""

    def listen(self, listener: Listener) -> AbstractContextManager[None]:
        """Call `listener` with every notice, as it is delivered; it must not block."""

    async def aclose(self) -> None: ...


class MemoryBus:
    """One process: notices go straight to the local subscribers' queues."""

    def __init__(self, queue_size: int = 10_000) -> None:
        self._subscribers: set[asyncio.Queue[Notice]] = set()
        # Each listener with how many `listen` blocks hold it: one that several hold (every log
        # consumer of a process hands in its shared tail) is called once per notice.
        self._listeners: Counter[Listener] = Counter()
        self._queue_size = queue_size

    def deliver(self, notice: Notice) -> None:
        for listener in list(self._listeners):
            try:
                listener(notice)
            except Exception:  # the commit stands; the listener catches up from the log
                log.exception("a bus listener failed")
        for queue in self._subscribers:
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(notice)

    async def publish(self, items: Sequence[Published]) -> None:
        self.deliver(tuple(items))

    async def signal(self, signal: Signal) -> None:
        self.deliver(signal)

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[Notice]]:
        queue: asyncio.Queue[Notice] = asyncio.Queue(self._queue_size)
        self._subscribers.add(queue)
        try:
            yield queue
        finally:
            self._subscribers.discard(queue)

    @contextlib.contextmanager
    def listen(self, listener: Listener) -> Iterator[None]:
        self._listeners[listener] += 1
        try:
            yield
        finally:
            self._listeners[listener] -= 1
            if self._listeners[listener] <= 0:
                del self._listeners[listener]

    async def aclose(self) -> None:
        self._subscribers.clear()
        self._listeners.clear()
