"""The message roll-up (`report_message_counts`): messages in and out per inbox and UTC
quarter hour, kept by a durable reader of the event log.

It is built from the messages table the first time the reader starts (in the same
transaction that places the reader at the end of the log, with the log's sequence row
locked so that no message commits in between), then follows `message.created` events,
exactly once each (app/events/consumers.py). Notes and activity lines are not messages
here. A message deleted or moved to another conversation later keeps its count."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Integer, case, cast, delete, func, insert, literal_column, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Executable

from app.context import Context
from app.db import log_failed_round, table, utcnow
from app.events import log as event_log
from app.events.consumers import consume_once, run_consumer
from app.events.models import EventSequence, LogConsumer
from app.reports.clock import floor_quarter
from app.reports.models import MessageCount
from app.tickets.models import Direction, Message

log = logging.getLogger(__name__)

CONSUMER = "reports.message_counts"
COUNTED = (Direction.inbound.value, Direction.outbound.value)


def _quarter(dialect: str) -> object:
    """The UTC quarter hour of `messages.created_at`, as the column stores it."""
    created = Message.created_at
    if dialect == "sqlite":
        minute = cast(func.strftime("%M", created), Integer) // 15 * 15
        return func.strftime("%Y-%m-%d %H:", created).op("||")(
            func.printf("%02d:00.000000", minute)
        )
    epoch = func.floor(func.extract("epoch", created) / 900) * 900
    return func.to_timestamp(epoch)


def rebuild_statements(dialect: str) -> list[Executable]:
    """Statements that recount the roll-up from the messages table (any transaction that
    also settles the reader's position runs them: first start, the benchmark's fill)."""
    messages = table(Message)
    grouped = (
        select(
            _quarter(dialect).label("bucket"),  # type: ignore[attr-defined]
            messages.c.inbox_id,
            func.sum(case((messages.c.direction == Direction.inbound.value, 1), else_=0)),
            func.sum(case((messages.c.direction == Direction.outbound.value, 1), else_=0)),
        )
        .where(messages.c.direction.in_(COUNTED))
        .group_by(literal_column("bucket"), messages.c.inbox_id)
    )
    target = table(MessageCount)
    return [
        delete(target),
        insert(target).from_select(["bucket", "inbox_id", "inbound", "outbound"], grouped),
    ]


async def _build(session: AsyncSession) -> None:
    """Count every stored message and place the reader at the end of the log."""
    last = (
        await session.execute(
            select(EventSequence.last_seq).where(EventSequence.id == 1).with_for_update()
        )
    ).scalar_one()
    for statement in rebuild_statements(session.get_bind().dialect.name):
        await session.execute(statement)
    session.add(LogConsumer(name=CONSUMER, position=int(last), updated_at=utcnow()))
    await session.flush()


async def ensure_built(ctx: Context) -> None:
    async with ctx.db.write() as session:
        if await session.get(LogConsumer, CONSUMER) is None:
            await _build(session)


async def count_messages(session: AsyncSession, events: Sequence[event_log.Logged]) -> None:
    """The handler: add each new message to its quarter hour."""
    added: dict[tuple[datetime, int], list[int]] = defaultdict(lambda: [0, 0])
    for event in events:
        message = event.data.get("message") if event.type == "message.created" else None
        if not message or message["direction"] not in COUNTED:
            continue
        key = (floor_quarter(datetime.fromisoformat(message["created_at"])), message["inbox_id"])
        added[key][0 if message["direction"] == Direction.inbound.value else 1] += 1
    if not added:
        return
    rows = [
        {"bucket": bucket, "inbox_id": inbox_id, "inbound": i, "outbound": o}
        for (bucket, inbox_id), (i, o) in sorted(added.items())
    ]
    make = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = make(table(MessageCount))
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["bucket", "inbox_id"],
            set_={
                "inbound": stmt.table.c.inbound + stmt.excluded.inbound,
                "outbound": stmt.table.c.outbound + stmt.excluded.outbound,
            },
        ),
        rows,
    )


async def follow_once(ctx: Context) -> int:
    """Build if needed, then count the next batch of events (tests step it this way)."""
    await ensure_built(ctx)
    return await consume_once(ctx, CONSUMER, count_messages)


async def run(ctx: Context, stop: asyncio.Event) -> None:
    """The background reader (app.main.background_workers)."""
    while not stop.is_set():
        try:
            await ensure_built(ctx)
            break
        except Exception as exc:
            log_failed_round(log, "building the report roll-up", exc)
            await asyncio.sleep(1)
    await run_consumer(ctx, CONSUMER, count_messages, stop)
