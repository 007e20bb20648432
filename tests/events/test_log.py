"""The event log's promise: sequence order is commit order, so a reader that reads "after
the last seq I saw" never skips an event, even with many concurrent writers (PostgreSQL)."""

from __future__ import annotations

import asyncio
import itertools
import os
import random

from app.db import Database
from app.events import log as event_log
from app.events.log import Scope
from app.events.types import ConversationUpdated
from tests.support.servers import PostgresServer

_names = itertools.count()
WRITERS = 16
TRANSACTIONS = 25


async def test_a_reader_never_skips_an_event_under_concurrent_writers(
    postgres: PostgresServer,
) -> None:
    url = postgres.create_database(
        f"seq_{os.getpid()}_{next(_names)}", template="panjereh_template"
    )
    db = Database(url, pool_size=WRITERS + 2)
    db.before_commit = event_log.finalize
    rng = random.Random(7)
    written = 0

    async def writer(n: int) -> None:
        nonlocal written
        for i in range(TRANSACTIONS):
            async with db.write() as session:
                count = rng.randint(1, 3)
                for _ in range(count):
                    # A placeholder payload: the log does not look inside events.
                    event = ConversationUpdated.model_construct(changes=[f"w{n}-{i}"])
                    event_log.record(session, event, Scope(inbox_id=n))
                # Work between recording and commit, so transactions overlap in every order.
                await asyncio.sleep(rng.random() * 0.005)
            written += count

    seen: list[int] = []

    async def reader(done: asyncio.Event) -> None:
        last = 0
        while True:
            finished = done.is_set()
            async with db.read() as session:
                batch = [e.seq for e in await event_log.read_after(session, last, limit=500)]
            # Gapless: the counter has no holes, so any gap would be an event skipped.
            assert batch == list(range(last + 1, last + 1 + len(batch)))
            seen.extend(batch)
            last = batch[-1] if batch else last
            if finished and not batch:
                return
            await asyncio.sleep(0)

    try:
        done = asyncio.Event()
        reading = asyncio.create_task(reader(done))
        await asyncio.gather(*(writer(n) for n in range(WRITERS)))
        done.set()
        await reading
    finally:
        await db.dispose()
    assert seen == list(range(1, written + 1))
    assert written >= WRITERS * TRANSACTIONS
