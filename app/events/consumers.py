"""Durable readers of the event log: work that follows every committed change, exactly once.

A consumer has a name and a position (the last seq it has handled) in `log_consumers`. Each
round runs in one write transaction: lock the consumer's row (another process holding it
skips the round), read the events after the position, let the handler write whatever they
lead to, and move the position. The handler's writes and the new position commit together,
so after a crash the same events are handled again by whoever comes next, and nothing they
wrote exists twice. Work that leaves the database (an HTTP call) is therefore never done in
the handler: the handler stores it as a row for a worker that leases it.

A new consumer starts at the end of the log: it follows what happens from now on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.context import Context
from app.db import log_failed_round, utcnow
from app.events import log as event_log
from app.events.models import LogConsumer
from app.realtime.bus import Notice

log = logging.getLogger(__name__)

Handler = Callable[[AsyncSession, Sequence[event_log.Logged]], Awaitable[None]]

BATCH = 500
IDLE_SECONDS = 1.0  # how late a consumer notices events when no notice reached it


async def _position(session: AsyncSession, name: str) -> int | None:
    """Lock the consumer's row and return its position; None if another process has it."""
    stmt = select(LogConsumer.position).where(LogConsumer.name == name)
    position = (await session.execute(stmt.with_for_update(skip_locked=True))).scalar()
    if position is not None:
        return int(position)
    if await session.get(LogConsumer, name) is not None:
        return None  # locked by another process
    start = await event_log.last_seq(session)
    session.add(LogConsumer(name=name, position=start, updated_at=utcnow()))
    await session.flush()
    return start


async def consume_once(ctx: Context, name: str, handler: Handler) -> int:
    """Handle the next batch of events; the number handled (0: none, or another process
    holds the consumer)."""
    async with ctx.db.write() as session:
        position = await _position(session, name)
        if position is None:
            return 0
        if position + 1 < await event_log.retained_from(session):
            log.warning("%s: events after %d were trimmed before it read them", name, position)
        events = await event_log.read_after(session, position, limit=BATCH)
        if not events:
            return 0
        await handler(session, events)
        await session.execute(
            update(LogConsumer)
            .where(LogConsumer.name == name)
            .values(position=events[-1].seq, updated_at=utcnow())
        )
        return len(events)


async def run_consumer(ctx: Context, name: str, handler: Handler, stop: asyncio.Event) -> None:
    """Follow the log until `stop`: a batch as soon as a commit is announced on the bus (in
    any process), else every IDLE_SECONDS."""
    async with ctx.bus.subscribe() as notices:
        while not stop.is_set():
            try:
                if await consume_once(ctx, name, handler) == BATCH:
                    continue  # behind: read on without waiting
            except Exception as exc:
                log_failed_round(log, f"log consumer {name}", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(next_commit(notices, stop), IDLE_SECONDS)


async def next_commit(notices: asyncio.Queue[Notice], stop: asyncio.Event) -> None:
    """Wait for a notice of committed events (signals such as typing do not count)."""
    while not stop.is_set():
        if isinstance(await notices.get(), tuple):
            while not notices.empty():  # one round reads everything announced so far
                notices.get_nowait()
            return
