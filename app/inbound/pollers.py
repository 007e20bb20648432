"""Pulling connectors (IMAP, Telegram getUpdates): one loop per inbox, in one process at a
time, storing each poll's items and the new cursor in one transaction.

The supervisor looks at the enabled inboxes every few seconds: it starts a loop for each
inbox whose connector polls, restarts it when the inbox's settings change and stops it when
the inbox is disabled. A loop takes a lease on the inbox's `PollerState` row and renews it
with every save, so with several worker processes exactly one pulls each inbox, and another
takes over when its holder dies. Errors never end a loop: it backs off and reconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from app.context import Context
from app.db import log_failed_round, unavailable, utcnow
from app.inbound.ingest import InboxRef, ingest, ingest_many
from app.inbound.models import PollerState
from app.inbound.receive import apply_updates, fresh_ids, messages_of
from app.inboxes.models import Inbox
from app.surveys import inbound as surveys
from connectors.base import ButtonPress, InboundItem, InboundMessage, PollingConnector

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=120)  # several polls long: a poll returns within ~30 s
SCAN_SECONDS = 5.0
BACKOFF_START_SECONDS = 1.0
BACKOFF_CAP_SECONDS = 60.0


async def stored_cursor(session: AsyncSession, inbox_id: int) -> str | None:
    return await session.scalar(select(PollerState.cursor).where(PollerState.inbox_id == inbox_id))


async def save_start(session: AsyncSession, inbox_id: int, cursor: str | None) -> None:
    """Where the inbox's poller is to start (`PollingConnector.start`, at the inbox's save),
    in the row it reads its cursor from, whether or not a poller made that row yet."""
    now = utcnow()
    await _ensure_state(session, inbox_id, now)
    await session.execute(
        update(PollerState)
        .where(PollerState.inbox_id == inbox_id)
        .values(cursor=cursor, updated_at=now)
    )


async def _ensure_state(session: AsyncSession, inbox_id: int, now: datetime) -> None:
    """The inbox's PollerState row exists (another process may be adding it too)."""
    if await session.get(PollerState, inbox_id) is None:
        with contextlib.suppress(IntegrityError):
            async with session.begin_nested():
                session.add(PollerState(inbox_id=inbox_id, updated_at=now))


class LeaseLost(Exception):
    """Another process holds this inbox now (ours expired): stop pulling it."""


@dataclass
class _Loop:
    version: datetime  # the inbox's updated_at the loop was started with
    task: asyncio.Task[None]


class PollerSupervisor:
    def __init__(self, ctx: Context, *, scan_seconds: float = SCAN_SECONDS) -> None:
        self.ctx = ctx
        self.scan_seconds = scan_seconds
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.loops: dict[int, _Loop] = {}

    async def run(self, stop: asyncio.Event) -> None:
        try:
            while not stop.is_set():
                try:
                    await self.scan()
                except Exception as exc:
                    log_failed_round(log, "poller scan", exc)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.scan_seconds)
        finally:
            await self._stop(list(self.loops))

    async def scan(self) -> None:
        """Bring the running loops in line with the enabled polling inboxes."""
        async with self.ctx.db.read() as session:
            inboxes = (await session.scalars(select(Inbox).where(Inbox.enabled.is_(True)))).all()
        wanted = {i.id: i for i in inboxes if self._polls(i)}
        stale = [
            inbox_id
            for inbox_id, loop in self.loops.items()
            if inbox_id not in wanted
            or loop.version != wanted[inbox_id].updated_at
            or loop.task.done()
        ]
        await self._stop(stale)
        for inbox_id, inbox in wanted.items():
            if inbox_id not in self.loops:
                task = asyncio.create_task(self._pull(inbox), name=f"poller-{inbox_id}")
                self.loops[inbox_id] = _Loop(inbox.updated_at, task)

    def _polls(self, inbox: Inbox) -> bool:
        try:
            return isinstance(self.ctx.connector(inbox), PollingConnector)
        except ValueError:
            log.warning("inbox %d: settings cannot be read; not polling it", inbox.id)
            return False

    async def _stop(self, inbox_ids: Sequence[int]) -> None:
        loops = [self.loops.pop(i) for i in inbox_ids]
        for loop in loops:
            loop.task.cancel()
        await asyncio.gather(*(loop.task for loop in loops), return_exceptions=True)

    async def _pull(self, inbox: Inbox) -> None:
        """Pull one inbox for as long as the supervisor wants it: take the lease, poll and
        store, and after any error back off and start over with a fresh connection."""
        try:
            await self._pull_leased(inbox)
        finally:
            # Stopped (settings changed, shutting down): the next holder need not wait for
            # the lease to run out.
            with contextlib.suppress(Exception):
                await self._release(inbox.id)

    async def _pull_leased(self, inbox: Inbox) -> None:
        ref = InboxRef(inbox.id, inbox.kind)
        delay = BACKOFF_START_SECONDS
        while True:
            try:
                leased = await self._take_lease(inbox.id)
            except OperationalError as exc:
                log.warning(
                    "inbox %d: polling waits for the database: %s", inbox.id, unavailable(exc)
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, BACKOFF_CAP_SECONDS)
                continue
            if not leased:
                await asyncio.sleep(LEASE.total_seconds() / 4)
                continue
            connector = self.ctx.connector(inbox)
            if not isinstance(connector, PollingConnector):  # pragma: no cover - scan checked
                return
            try:
                cursor = await self._cursor(inbox.id)
                while True:
                    items, next_cursor = await connector.poll(cursor)
                    await self._store(ref, items, next_cursor)
                    await connector.committed(next_cursor)
                    cursor = next_cursor
                    delay = BACKOFF_START_SECONDS
            except asyncio.CancelledError:
                raise
            except LeaseLost:
                log.warning("inbox %d: lease lost to another process", inbox.id)
            except Exception as exc:
                log.warning("inbox %d: polling failed (%r); again in %.0f s", inbox.id, exc, delay)
                await self._record_error(inbox.id, repr(exc))
                await asyncio.sleep(delay)
                delay = min(delay * 2, BACKOFF_CAP_SECONDS)
            finally:
                await connector.aclose()

    async def _take_lease(self, inbox_id: int) -> bool:
        now = utcnow()
        async with self.ctx.db.write() as session:
            await _ensure_state(session, inbox_id, now)
            return await self._renew(session, inbox_id, now)

    async def _release(self, inbox_id: int) -> None:
        async with self.ctx.db.write() as session:
            await session.execute(
                update(PollerState)
                .where(PollerState.inbox_id == inbox_id, PollerState.holder == self.holder)
                .values(holder=None, lease_until=None, updated_at=utcnow())
            )

    async def _renew(self, session: AsyncSession, inbox_id: int, now: datetime) -> bool:
        result = await session.execute(
            update(PollerState)
            .where(
                PollerState.inbox_id == inbox_id,
                or_(
                    PollerState.holder == self.holder,
                    PollerState.holder.is_(None),
                    PollerState.lease_until.is_(None),
                    PollerState.lease_until < now,
                ),
            )
            .values(holder=self.holder, lease_until=now + LEASE, updated_at=now)
        )
        return bool(getattr(result, "rowcount", 0))

    async def _cursor(self, inbox_id: int) -> str | None:
        async with self.ctx.db.read() as session:
            return await stored_cursor(session, inbox_id)

    async def _store(self, inbox: InboxRef, items: list[InboundItem], cursor: str | None) -> None:
        """Store one poll's items with the new cursor, in one transaction. If that fails
        for something other than the database being away, the messages are stored one by
        one first, so one that cannot be stored never holds up those behind it."""
        policy = self.ctx.ingest_policy
        messages = await surveys.without_answers(self.ctx, inbox.id, messages_of(items))
        try:
            async with self.ctx.db.write() as session:
                results = await ingest_many(session, [(inbox, m) for m in messages], policy)
                queued = await self._save(session, inbox, items, fresh_ids(messages, results))
                await self._save_cursor(session, inbox.id, cursor)
        except (OperationalError, LeaseLost):
            raise
        except Exception:
            if not messages:
                raise
            log.warning("inbox %d: a batch of %d failed; one by one", inbox.id, len(messages))
            fresh = await self._store_each(inbox, messages)
            async with self.ctx.db.write() as session:
                queued = await self._save(session, inbox, items, fresh)
                await self._save_cursor(session, inbox.id, cursor)
        if queued:
            self.ctx.outbox_ready.set()
        await surveys.answer_presses(
            self.ctx, inbox.id, [i for i in items if isinstance(i, ButtonPress)]
        )

    async def _store_each(self, inbox: InboxRef, messages: list[InboundMessage]) -> set[str]:
        fresh: set[str] = set()
        for message in messages:
            try:
                async with self.ctx.db.write() as session:
                    result = await ingest(session, inbox, message, self.ctx.ingest_policy)
            except OperationalError:
                raise
            except Exception:
                log.exception("inbox %d: message %r not stored", inbox.id, message.external_id)
                continue
            if not result.duplicate:
                fresh.add(message.external_id)
        return fresh

    async def _save(
        self, session: AsyncSession, inbox: InboxRef, items: list[InboundItem], fresh: set[str]
    ) -> bool:
        others = [item for item in items if not isinstance(item, InboundMessage)]
        return await apply_updates(session, inbox, others, fresh) if others else False

    async def _save_cursor(self, session: AsyncSession, inbox_id: int, cursor: str | None) -> None:
        now = utcnow()
        if not await self._renew(session, inbox_id, now):
            raise LeaseLost
        await session.execute(
            update(PollerState)
            .where(PollerState.inbox_id == inbox_id)
            .values(cursor=cursor, last_polled_at=now, last_error=None)
        )

    async def _record_error(self, inbox_id: int, error: str) -> None:
        with contextlib.suppress(Exception):
            async with self.ctx.db.write() as session:
                await session.execute(
                    update(PollerState)
                    .where(PollerState.inbox_id == inbox_id, PollerState.holder == self.holder)
                    .values(last_error=error[:2000], updated_at=utcnow())
                )
