"""The event log: every change a screen must see, recorded in the changing transaction.

Service code calls `record()`. `Database.write()` calls `finalize()` just before commit: it
takes the next sequence numbers from the one-row counter (which holds that row's lock until
commit) and inserts the rows. Sequence order is therefore commit order, and a reader that
has seen event N has seen every event below N.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, bindparam, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import table, utcnow
from app.events.models import EventRow, EventSequence
from app.events.types import Event

_PENDING = "panjereh.pending_events"
_ORIGIN = "panjereh.events_origin"


@dataclass(frozen=True, slots=True)
class Scope:
    """Who may see an event: agents of the inbox; the conversation's visitor if public."""

    inbox_id: int | None = None
    conversation_id: int | None = None
    public: bool = False
    agent_id: int | None = None


@dataclass(frozen=True, slots=True)
class Logged:
    """A committed event: as read back from the log, or as its transaction wrote it."""

    seq: int
    type: str
    inbox_id: int | None
    conversation_id: int | None
    agent_id: int | None
    public: bool
    data: dict[str, Any]
    created_at: datetime
    origin: str | None = None


@dataclass(frozen=True, slots=True)
class Published:
    """A committed event as announced on the bus. `event` is the event itself when it was
    committed in this process (or carried by the bus): a hub can send it without reading
    it back from the log."""

    seq: int
    scope: Scope
    event: Logged | None = field(default=None, compare=False)


def record(session: AsyncSession, event: Event, scope: Scope) -> None:
    session.info.setdefault(_PENDING, []).append((event, scope))


def mark_origin(session: AsyncSession, origin: str) -> None:
    """Every event this transaction records was caused by `origin` (not by a person)."""
    session.info[_ORIGIN] = origin


@asynccontextmanager
async def savepoint(session: AsyncSession) -> AsyncIterator[None]:
    """A nested transaction whose events are forgotten with its writes if it fails."""
    pending = list(session.info.get(_PENDING, []))
    try:
        async with session.begin_nested():
            yield
    except BaseException:
        session.info[_PENDING] = pending
        raise


_SEQUENCE = table(EventSequence)
# Built once: every write transaction that records events runs these two (see app.inbound.ingest).
_TAKE_SEQS = (
    update(_SEQUENCE)
    .where(_SEQUENCE.c.id == 1)
    .values(last_seq=_SEQUENCE.c.last_seq + bindparam("count"))
    .returning(_SEQUENCE.c.last_seq)
)
_INSERT_EVENTS = insert(table(EventRow))


async def finalize(session: AsyncSession) -> list[Published]:
    pending: list[tuple[Event, Scope]] = session.info.pop(_PENDING, [])
    if not pending:
        return []
    last = (await session.execute(_TAKE_SEQS, {"count": len(pending)})).scalar_one()
    first = last - len(pending) + 1
    now = utcnow()
    origin = session.info.pop(_ORIGIN, None)
    rows: list[dict[str, Any]] = [
        {
            "seq": first + i,
            "type": event.type,
            "inbox_id": scope.inbox_id,
            "conversation_id": scope.conversation_id,
            "agent_id": scope.agent_id,
            "public": scope.public,
            "data": event.model_dump(mode="json", exclude={"type"}),
            "origin": origin,
            "created_at": now,
        }
        for i, (event, scope) in enumerate(pending)
    ]
    await session.execute(_INSERT_EVENTS, rows)
    return [
        Published(seq=row["seq"], scope=scope, event=Logged(**row))
        for row, (_event, scope) in zip(rows, pending, strict=True)
    ]


async def delete_older_than(session: AsyncSession, days: float) -> int:
    cutoff = utcnow() - timedelta(days=days)
    result = await session.execute(delete(EventRow).where(EventRow.created_at < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)


async def read_after(
    session: AsyncSession,
    after: int,
    *,
    limit: int,
    where: ColumnElement[bool] | None = None,
) -> list[Logged]:
    """Events with seq > `after` (and matching `where`), oldest first."""
    t = table(EventRow)
    stmt = select(
        t.c.seq,
        t.c.type,
        t.c.inbox_id,
        t.c.conversation_id,
        t.c.agent_id,
        t.c.public,
        t.c.data,
        t.c.created_at,
        t.c.origin,
    ).where(t.c.seq > after)
    if where is not None:
        stmt = stmt.where(where)
    rows = await session.execute(stmt.order_by(t.c.seq).limit(limit))
    return [Logged(*row) for row in rows]


async def last_seq(session: AsyncSession) -> int:
    """The newest committed event's seq (0 before the first)."""
    return int(
        (
            await session.execute(select(EventSequence.last_seq).where(EventSequence.id == 1))
        ).scalar_one()
    )


async def retained_from(session: AsyncSession) -> int:
    """The oldest seq still in the log; past the newest one when the log is empty."""
    oldest = (await session.execute(select(func.min(EventRow.seq)))).scalar_one_or_none()
    return int(oldest) if oldest is not None else await last_seq(session) + 1
