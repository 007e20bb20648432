"""Claims with a lease, shared by the workers that send rows out of the database (replies,
outgoing webhooks): a claimed row carries `claimed_until`, renewed while its send runs, so
several workers never send one row twice and a worker that dies mid-send holds its rows for
at most one lease; and the backoff between a failed send and the next try."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import InstrumentedAttribute

from app.db import Database, unavailable, utcnow

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Lease:
    """A claimed batch: the rows not yet recorded, and when their claim ends."""

    until: datetime
    held: set[int] = field(default_factory=set)


def backoff(
    attempt: int, *, base: float, cap: float, factor: float = 2.0, jitter: float = 0.0
) -> float:
    """Seconds before try `attempt + 1`: base × factor^(attempt-1), capped, then spread by
    ±`jitter` (a fraction) so that receivers that failed together are not retried together."""
    delay = min(cap, base * factor ** max(0, attempt - 1))
    spread = random.uniform(1 - jitter, 1 + jitter)  # noqa: S311 - jitter, not a secret
    return float(delay * spread)


async def renew(
    db: Database,
    row_id: InstrumentedAttribute[int],
    claimed_until: InstrumentedAttribute[datetime | None],
    lease: Lease,
    length: timedelta,
) -> None:
    """Extend the claim on the lease's unrecorded rows every third of its length until they
    are all recorded, so no other worker takes one while its send still runs. Only a claim
    still as this worker left it is extended."""
    while lease.held:
        await asyncio.sleep(length.total_seconds() / 3)
        until = utcnow() + length
        try:
            async with db.write() as session:
                await session.execute(
                    update(row_id.class_)
                    .where(row_id.in_(lease.held), claimed_until == lease.until)
                    .values({claimed_until.key: until})
                )
        except OperationalError as exc:
            log.warning("claims not renewed: %s", unavailable(exc))
            continue
        lease.until = until


async def first(*aws: Coroutine[Any, Any, Any]) -> None:
    """Wait until the first of these finishes; cancel the rest."""
    tasks = [asyncio.ensure_future(a) for a in aws]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
