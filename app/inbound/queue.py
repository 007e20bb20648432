"""Group commit for inbound messages.

Webhooks and pollers `submit()` a message and wait until it is stored. One writer task per
process takes everything that arrived while the previous batch was being written and stores
it with `ingest_many` in one transaction, so a burst costs a few statements per batch rather
than a dozen per message. Each caller is answered only after the commit, as before. If a
batch fails, its messages are retried one by one, so one bad message never takes the others
down with it. A caller may add work of its own to the same transaction (`then`: a call's row
beside its call item), run once its message is stored, or found to be a repeat.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from app.db import Database
from app.inbound.ingest import InboxRef, IngestPolicy, IngestResult, ingest, ingest_many
from connectors.base import InboundMessage

log = logging.getLogger(__name__)

_GATHER_TURNS = 3
_STRAGGLER_WAIT = 0.003

Then = Callable[[AsyncSession, IngestResult], Awaitable[None]]
_Item = tuple[InboxRef, InboundMessage, Then | None, "asyncio.Future[IngestResult]"]


class IngestQueue:
    def __init__(
        self, db: Database, policy: Callable[[], IngestPolicy], *, max_batch: int = 200
    ) -> None:
        self._db = db
        self._policy = policy
        self._max_batch = max_batch
        self._waiting: list[_Item] = []
        self._writer: asyncio.Task[None] | None = None
        self._arrived = asyncio.Event()  # a message joined the queue

    async def submit(
        self, inbox: InboxRef, message: InboundMessage, then: Then | None = None
    ) -> IngestResult:
        """Store one message (with whatever else is waiting), then run `then` with its
        result in the same transaction; returns once it is committed."""
        future: asyncio.Future[IngestResult] = asyncio.get_running_loop().create_future()
        self._waiting.append((inbox, message, then, future))
        self._arrived.set()
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_all(), name="ingest-writer")
        # A caller that goes away (a closed connection) cancels only its own future: the
        # writer is its own task, stores the message all the same, and skips answering.
        return await future

    async def _write_all(self) -> None:
        last_batch = 0
        while self._waiting:
            # Let the requests already on the wire join this batch: a few turns of the
            # event loop (no timer, so an idle server answers as fast as before).
            for _ in range(_GATHER_TURNS):
                await asyncio.sleep(0)
            # Under load, the callers just answered are sending their next messages: a
            # moment's wait (a few ms at most) lets them share one transaction instead of
            # a trickle of small ones, each costing the same fixed work.
            if len(self._waiting) * 4 < last_batch * 3:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(_STRAGGLER_WAIT):
                        while len(self._waiting) * 4 < last_batch * 3:
                            self._arrived.clear()
                            await self._arrived.wait()
            batch = self._waiting[: self._max_batch]
            del self._waiting[: self._max_batch]
            last_batch = len(batch)
            await self._write(batch)

    async def _write(self, batch: list[_Item]) -> None:
        policy = self._policy()
        try:
            async with self._db.write() as session:
                results = await ingest_many(session, [(i, m) for i, m, _t, _f in batch], policy)
                for (_inbox, _message, then, _future), result in zip(batch, results, strict=True):
                    if then is not None:
                        await then(session, result)
        except Exception as exc:
            if len(batch) == 1:
                _fail(batch[0], exc)
                return
            log.warning(
                "a batch of %d messages failed (%s); storing them one by one",
                len(batch),
                str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
            )
            for item in batch:
                await self._write_one(item, policy)
            return
        for (_inbox, _message, _then, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)

    async def _write_one(self, item: _Item, policy: IngestPolicy) -> None:
        inbox, message, then, future = item
        try:
            async with self._db.write() as session:
                result = await ingest(session, inbox, message, policy)
                if then is not None:
                    await then(session, result)
        except Exception as exc:
            _fail(item, exc)
            return
        if not future.done():
            future.set_result(result)


def _fail(item: _Item, exc: Exception) -> None:
    inbox, message, _then, future = item
    log.error("inbound message %r of inbox %d not stored: %r", message.external_id, inbox.id, exc)
    if not future.done():
        future.set_exception(exc)
