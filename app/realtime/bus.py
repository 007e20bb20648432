"""The bus carries only `{seq, scope}` of committed events; the database is the truth.

This is the in-process backend of the embedded mode. Subscribers get bounded queues: a
subscriber that falls behind loses notifications, never memory, and catches up from the
event log by sequence number.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence

from app.events.log import Published


class MemoryBus:
    def __init__(self, queue_size: int = 10_000) -> None:
        self._subscribers: set[asyncio.Queue[Published]] = set()
        self._queue_size = queue_size

    async def publish(self, items: Sequence[Published]) -> None:
        for queue in self._subscribers:
            for item in items:
                with contextlib.suppress(asyncio.QueueFull):
                    queue.put_nowait(item)

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[Published]]:
        queue: asyncio.Queue[Published] = asyncio.Queue(self._queue_size)
        self._subscribers.add(queue)
        try:
            yield queue
        finally:
            self._subscribers.discard(queue)

    async def aclose(self) -> None:
        self._subscribers.clear()
