"""The event log: every change a screen must see, recorded in the changing transaction.

Service code calls `record()`. `Database.write()` calls `finalize()` just before commit: it
takes the next sequence numbers from the one-row counter (which holds that row's lock until
commit) and inserts the rows. Sequence order is therefore commit order, and a reader that
has seen event N has seen every event below N.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, insert, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import table, utcnow
from app.events.models import EventRow, EventSequence
from app.events.types import Event

_PENDING = "panjereh.pending_events"


@dataclass(frozen=True, slots=True)
class Scope:
    """Who may see an event: agents of the inbox; the conversation's visitor if public."""

    inbox_id: int | None = None
    conversation_id: int | None = None
    public: bool = False
    agent_id: int | None = None


@dataclass(frozen=True, slots=True)
class Published:
    seq: int
    scope: Scope


def record(session: AsyncSession, event: Event, scope: Scope) -> None:
    session.info.setdefault(_PENDING, []).append((event, scope))


async def finalize(session: AsyncSession) -> list[Published]:
    pending: list[tuple[Event, Scope]] = session.info.pop(_PENDING, [])
    if not pending:
        return []
    last = (
        await session.execute(
            update(EventSequence)
            .where(EventSequence.id == 1)
            .values(last_seq=EventSequence.last_seq + len(pending))
            .returning(EventSequence.last_seq)
        )
    ).scalar_one()
    first = last - len(pending) + 1
    now = utcnow()
    rows: list[dict[str, Any]] = [
        {
            "seq": first + i,
            "type": event.type,
            "inbox_id": scope.inbox_id,
            "conversation_id": scope.conversation_id,
            "agent_id": scope.agent_id,
            "public": scope.public,
            "data": event.model_dump(mode="json", exclude={"type"}),
            "created_at": now,
        }
        for i, (event, scope) in enumerate(pending)
    ]
    await session.execute(insert(table(EventRow)), rows)
    return [Published(seq=first + i, scope=scope) for i, (_e, scope) in enumerate(pending)]


async def delete_older_than(session: AsyncSession, days: float) -> int:
    cutoff = utcnow() - timedelta(days=days)
    result = await session.execute(delete(EventRow).where(EventRow.created_at < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)
