"""Durable readers of the event log: work that follows every committed change, exactly once.

A consumer has a name and a position (the last seq it has handled) in `log_consumers`. Each
round that has work runs in one write transaction: lock the consumer's row (another process
holding it skips the round), let the handler write whatever the events after the position
lead to, and move the position. The handler's writes and the new position commit together,
so after a crash the same events are handled again by whoever comes next, and nothing they
wrote exists twice. Work that leaves the database (an HTTP call) is therefore never done in
the handler: the handler stores it as a row for a worker that leases it.

What a round costs matters because every commit wakes every consumer, and on SQLite a write
transaction holds the one writer lock that ingest waits for. So a round first reads the new
events in a read transaction, with no lock (events never change once committed, and this
process decodes each one once for all its consumers: `_Tail`, which also keeps the events
that notices carry, so this process's own commits are not read back at all); it takes the
write lock only when there are events and the consumer's `interest` says it would do
something with them.
Events it has no interest in are passed over without a write; the stored position catches up
with the next write (at the latest after PERSIST_SECONDS), and a restart reads them again,
which costs a read. Under load, a consumer's rounds are at least ROUND_SECONDS apart, so a
round handles the batch that arrived meanwhile instead of one commit's events.

A new consumer starts at the end of the log: it follows what happens from now on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
import weakref
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app import pacing
from app.context import Context
from app.db import Database, log_failed_round, utcnow
from app.events import log as event_log
from app.events.models import LogConsumer
from app.realtime.bus import Bus, Notice

log = logging.getLogger(__name__)

Handler = Callable[[AsyncSession, Sequence[event_log.Logged]], Awaitable[None]]
# Whether the handler would write anything for these events, asked in a read transaction;
# False lets the round pass them over without taking the write lock. It must never say
# False for events the handler acts on.
Interest = Callable[[AsyncSession, Sequence[event_log.Logged]], Awaitable[bool]]

BATCH = 500
IDLE_SECONDS = 1.0  # how late a consumer notices events when no notice reached it
# Under load, a consumer's rounds start at least this far apart. Every round is a transaction
# or two in each process that runs the consumer: at 0.05 s, the consumers of two servers took
# ~170 transactions a second beside ingest's ~30 (200 messages a second), a machine's worth
# of waiting for everyone else. A quarter second still answers a customer "at once".
ROUND_SECONDS = 0.25
PERSIST_SECONDS = 10.0  # how long passed-over events may stay ahead of the stored position
TAIL_SIZE = 4096  # decoded events kept per database for the process's consumers


class _Tail:
    """The newest events, decoded once for every consumer of this process. Sequence
    numbers are dense (a rolled-back transaction takes none), so a run of cached seqs
    after a position is exactly what the log holds there; and when that run reaches the
    newest seq any notice named, the log has nothing newer that a notice told of, so it is
    not read (at most IDLE_SECONDS apart all the same, for a notice that never came)."""

    def __init__(self) -> None:
        self._events: dict[int, event_log.Logged] = {}
        self._announced = 0  # the highest seq a notice named
        self._read_at = -math.inf  # when the log was last read (monotonic)
        self._listening = 0  # run_consumer rounds hearing the notices (tests call rounds bare)

    @contextlib.contextmanager
    def listening(self, bus: Bus) -> Iterator[None]:
        """Hear every notice while the block runs, and only then trust `_announced`."""
        with bus.listen(self.take):
            self._listening += 1
            try:
                yield
            finally:
                self._listening -= 1

    def take(self, notice: Notice) -> None:
        """A bus listener: keep the events a notice carries (this process's commits, or
        another's through Redis), so that the consumers need not read them back."""
        if not isinstance(notice, tuple):
            return
        if not notice:  # notices may have been lost: the next round reads the log
            self._read_at = -math.inf
        for published in notice:
            self._announced = max(self._announced, published.seq)
            if published.event is not None:
                self._events[published.seq] = published.event
        self._trim()

    def _holds_all_through(self, seq: int) -> bool:
        recent = time.monotonic() - self._read_at < IDLE_SECONDS
        return self._listening > 0 and recent and seq >= self._announced

    def _trim(self) -> None:
        while len(self._events) > TAIL_SIZE:  # the first kept, roughly the oldest
            del self._events[next(iter(self._events))]

    async def read_after(
        self, session: AsyncSession, after: int, limit: int
    ) -> list[event_log.Logged]:
        found: list[event_log.Logged] = []
        seq = after + 1
        while len(found) < limit and (cached := self._events.get(seq)) is not None:
            found.append(cached)
            seq += 1
        if len(found) < limit and not self._holds_all_through(seq - 1):
            self._read_at = time.monotonic()
            newer = await event_log.read_after(session, seq - 1, limit=limit - len(found))
            for event in newer:
                self._events[event.seq] = event
            found.extend(newer)
            self._trim()
        return found


@dataclass
class _Follower:
    """What this process knows of one consumer: every event up to `known` is handled or of
    no interest to it (None: not read yet)."""

    known: int | None = None
    stored_at: float = field(default_factory=time.monotonic)  # when the position was written


@dataclass
class _Followers:
    tail: _Tail = field(default_factory=_Tail)
    by_name: dict[str, _Follower] = field(default_factory=dict)


_followers: weakref.WeakKeyDictionary[Database, _Followers] = weakref.WeakKeyDictionary()


def _state(db: Database) -> _Followers:
    if (state := _followers.get(db)) is None:
        state = _followers[db] = _Followers()
    return state


async def _stored_position(ctx: Context, name: str) -> int:
    """The consumer's stored position, its row created at the end of the log if new."""
    async with ctx.db.read() as session:
        position = await session.scalar(
            select(LogConsumer.position).where(LogConsumer.name == name)
        )
    if position is not None:
        return int(position)
    async with ctx.db.write() as session:
        if (row := await session.get(LogConsumer, name)) is not None:
            return int(row.position)  # another process created it meanwhile
        start = await event_log.last_seq(session)
        session.add(LogConsumer(name=name, position=start, updated_at=utcnow()))
        return start


async def _locked_position(session: AsyncSession, name: str) -> int | None:
    """Lock the consumer's row and return its position; None if another process has it."""
    stmt = select(LogConsumer.position).where(LogConsumer.name == name)
    position = (await session.execute(stmt.with_for_update(skip_locked=True))).scalar()
    return None if position is None else int(position)


async def _store(session: AsyncSession, name: str, position: int) -> None:
    await session.execute(
        update(LogConsumer)
        .where(LogConsumer.name == name, LogConsumer.position < position)
        .values(position=position, updated_at=utcnow())
    )


async def consume_once(
    ctx: Context, name: str, handler: Handler, interest: Interest | None = None
) -> int:
    """Handle the next batch of events; the number read (0: none, or another process holds
    the consumer). Without `interest`, every batch is handled."""
    return len(await _consume(ctx, name, handler, interest, BATCH))


async def _consume(
    ctx: Context, name: str, handler: Handler, interest: Interest | None, batch: int
) -> Sequence[event_log.Logged]:
    """A round of at most `batch` events: those it read."""
    state = _state(ctx.db)
    follower = state.by_name.setdefault(name, _Follower())
    if follower.known is None:
        follower.known = await _stored_position(ctx, name)
    after = follower.known
    async with ctx.db.read() as session:
        events = await state.tail.read_after(session, after, batch)
        wanted = bool(events) and (interest is None or await interest(session, events))
    if events and events[0].seq > after + 1:
        log.warning("%s: events after %d were trimmed before it read them", name, after)
    if not events:
        return events
    if not wanted:
        follower.known = events[-1].seq
        if time.monotonic() - follower.stored_at > PERSIST_SECONDS:
            async with ctx.db.write() as session:
                await _store(session, name, follower.known)
            follower.stored_at = time.monotonic()
        return events
    async with ctx.db.write() as session:
        position = await _locked_position(session, name)
        if position is None:
            return []
        if position > after:
            # Another process moved on meanwhile: go on from where it stopped.
            events = await state.tail.read_after(session, position, batch)
            if not events:
                follower.known = position
                return events
        await handler(session, events)
        await _store(session, name, events[-1].seq)
    follower.known = events[-1].seq
    follower.stored_at = time.monotonic()
    return events


async def run_consumer(
    ctx: Context,
    name: str,
    handler: Handler,
    stop: asyncio.Event,
    *,
    interest: Interest | None = None,
    paced: bool = False,
) -> None:
    """Follow the log until `stop`: a batch as soon as a commit is announced on the bus (in
    any process), else every IDLE_SECONDS; under load, a round every ROUND_SECONDS. A `paced`
    consumer's work may wait: it takes short rounds and gives way to requests that are short
    of time (app.pacing)."""
    batch = pacing.ROUND_EVENTS if paced else BATCH
    async with contextlib.AsyncExitStack() as stack:
        # The events notices carry fill the tail: the rounds then read nothing back.
        stack.enter_context(_state(ctx.db).tail.listening(ctx.bus))
        notices = await stack.enter_async_context(ctx.bus.subscribe())
        while not stop.is_set():
            drain(notices)
            started = time.monotonic()
            handled: Sequence[event_log.Logged] = []
            try:
                handled = await _consume(ctx, name, handler, interest, batch)
            except Exception as exc:
                log_failed_round(log, f"log consumer {name}", exc)
            if handled and paced:
                waited = (utcnow() - handled[0].created_at).total_seconds()
                await pacing.step_aside(time.monotonic() - started, waited, stop)
            if len(handled) == batch:
                continue  # behind: read on without waiting
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(next_commit(notices, stop), IDLE_SECONDS)
            if handled:
                await spaced(started, stop)


async def spaced(started: float, stop: asyncio.Event) -> None:
    """Busy: wait until ROUND_SECONDS after a round that `started` (monotonic), so that the
    commits of that moment make one round."""
    pause = started + ROUND_SECONDS - time.monotonic()
    if pause <= 0:
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), pause)


async def next_commit(notices: asyncio.Queue[Notice], stop: asyncio.Event) -> None:
    """Wait for a notice of committed events (signals such as typing do not count)."""
    while not stop.is_set():
        if isinstance(await notices.get(), tuple):
            return


def drain(notices: asyncio.Queue[Notice]) -> None:
    """Spend the notices announced so far: called as a round starts, which reads whatever
    they announced. A consumer that stays behind (full batches, one after the other) thus
    keeps no backlog of notices that it would never look at: each holds its events, and
    a queue of up to 10,000 was young objects for every garbage collection to walk."""
    while not notices.empty():
        notices.get_nowait()
