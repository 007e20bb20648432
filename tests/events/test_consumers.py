"""A durable log consumer handles each committed event exactly once: its writes and its
position commit together, a new consumer starts at the end of the log, and while one
process holds a consumer another skips the round."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession

from app import pacing
from app.context import Context
from app.db import utcnow
from app.events import consumers
from app.events import log as event_log
from app.events.consumers import consume_once, run_consumer
from app.events.log import Logged, Published, Scope
from app.events.models import LogConsumer
from app.events.types import ConversationUpdated
from app.realtime.bus import Notice
from tests.support.app import Running
from tests.support.pacing import core_in_use, pressed_after_serving, request_in_flight


async def _emit(ctx: Context, *labels: str) -> None:
    async with ctx.db.write() as session:
        for label in labels:
            event = ConversationUpdated.model_construct(changes=[label])
            event_log.record(session, event, Scope(inbox_id=1))


def _labels(events: Sequence[Logged]) -> list[str]:
    return [e.data["changes"][0] for e in events]


async def test_a_new_consumer_follows_only_what_happens_after_it_starts(
    running: Running,
) -> None:
    ctx = running.ctx
    await _emit(ctx, "before")
    seen: list[str] = []

    async def handler(session: AsyncSession, events: Sequence[Logged]) -> None:
        seen.extend(_labels(events))

    assert await consume_once(ctx, "test", handler) == 0
    await _emit(ctx, "a", "b")
    await _emit(ctx, "c")
    assert await consume_once(ctx, "test", handler) == 3
    assert await consume_once(ctx, "test", handler) == 0
    assert seen == ["a", "b", "c"]


async def test_a_failed_round_is_handled_again_and_leaves_nothing_behind(
    running: Running,
) -> None:
    ctx = running.ctx
    calls: list[list[str]] = []

    async def noop(session: AsyncSession, events: Sequence[Logged]) -> None:
        pass

    await consume_once(ctx, "flaky", noop)  # starts the consumer at the end of the log
    await _emit(ctx, "x")

    async def failing(session: AsyncSession, events: Sequence[Logged]) -> None:
        calls.append(_labels(events))
        await _emit_in(session, "written by the failed round")
        raise RuntimeError("handler broke")

    with pytest.raises(RuntimeError, match="handler broke"):
        await consume_once(ctx, "flaky", failing)

    async def recording(session: AsyncSession, events: Sequence[Logged]) -> None:
        calls.append(_labels(events))

    assert await consume_once(ctx, "flaky", recording) == 1
    # The event is read again, and the failed round's own event was never committed.
    assert calls == [["x"], ["x"]]


async def _emit_in(session: AsyncSession, label: str) -> None:
    event_log.record(session, ConversationUpdated.model_construct(changes=[label]), Scope())


@dataclass
class Following:
    """A consumer run by `run_consumer` in the background: the labels it has handled."""

    seen: list[str] = field(default_factory=list)
    rounds: int = 0
    got: asyncio.Event = field(default_factory=asyncio.Event)

    async def handler(self, session: AsyncSession, events: Sequence[Logged]) -> None:
        self.seen.extend(_labels(events))
        self.rounds += 1
        self.got.set()

    async def handled(self) -> list[str]:
        await asyncio.wait_for(self.got.wait(), 5)
        return self.seen


@contextlib.asynccontextmanager
async def following(ctx: Context, name: str, *, paced: bool = False) -> AsyncIterator[Following]:
    """`run_consumer` running, once its consumer exists (it starts at the log's end)."""
    consumer = Following()
    stop = asyncio.Event()
    task = asyncio.create_task(run_consumer(ctx, name, consumer.handler, stop, paced=paced))
    try:
        while True:
            async with ctx.db.read() as session:
                if await session.get(LogConsumer, name) is not None:
                    break
            await asyncio.sleep(0.02)
        yield consumer
    finally:
        stop.set()
        await task


async def test_a_paced_consumer_gives_way_to_requests_short_of_time(
    running: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = running.ctx
    monkeypatch.setattr(pacing, "SHARE_WHEN_BUSY", 0.0001)  # a round leaves them ~10,000×
    labels = [f"e{n}" for n in range(pacing.ROUND_EVENTS * 2 + 5)]
    with core_in_use(monkeypatch):
        async with following(ctx, "paced", paced=True) as consumer:
            async with request_in_flight():
                assert await pressed_after_serving()
                await _emit(ctx, *labels)
                assert await consumer.handled() == labels[: pacing.ROUND_EVENTS]  # one short round
                await asyncio.sleep(0.3)
                assert len(consumer.seen) == pacing.ROUND_EVENTS  # and then it waits
            deadline = asyncio.get_running_loop().time() + 5
            while len(consumer.seen) < len(labels):  # the requests ended: it catches up
                assert asyncio.get_running_loop().time() < deadline, consumer.seen[-1]
                await asyncio.sleep(0.02)
    assert consumer.seen == labels


async def test_run_consumer_reacts_to_a_commit_and_moves_its_position(running: Running) -> None:
    ctx = running.ctx
    async with following(ctx, "live") as consumer:
        await _emit(ctx, "now")
        assert await consumer.handled() == ["now"]
    async with ctx.db.read() as session:
        position = (
            await session.execute(select(LogConsumer.position).where(LogConsumer.name == "live"))
        ).scalar_one()
        assert position == await event_log.last_seq(session)


async def test_commits_in_quick_succession_share_a_round(running: Running) -> None:
    """Each round is a transaction or two in every process: under load, the commits of a
    fraction of a second are handled together (the first at once)."""
    ctx = running.ctx
    labels: list[str] = []
    async with following(ctx, "coalescing") as consumer:
        loop = asyncio.get_running_loop()
        start = loop.time()
        while loop.time() < start + 0.3:
            labels.append(f"c{len(labels)}")
            await _emit(ctx, labels[-1])
            await asyncio.sleep(0.01)
        deadline = loop.time() + 5
        while [label for label in consumer.seen if label.startswith("c")] != labels:
            assert loop.time() < deadline, consumer.seen
            await asyncio.sleep(0.02)
        elapsed = loop.time() - start
    # One round at the first commit, then one per quarter second at most (one more for
    # anything else's events just before); a round every 50 ms before.
    assert len(labels) >= 10
    assert consumer.rounds <= 2 + elapsed * 4, (consumer.rounds, elapsed)


async def test_a_consumer_that_stays_behind_keeps_no_backlog_of_notices(
    running: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A round reads everything announced before it started (up to its batch; after a full
    batch it reads on at once), so it spends those notices: held, each with its events,
    they piled up to the queue's 10,000 in a consumer reading full batches one after the
    other, while the rest of the application went on committing."""
    ctx = running.ctx
    queues: list[asyncio.Queue[Notice]] = []
    subscribe = ctx.bus.subscribe

    @contextlib.asynccontextmanager
    async def kept() -> AsyncIterator[asyncio.Queue[Notice]]:
        async with subscribe() as queue:
            queues.append(queue)
            yield queue

    monkeypatch.setattr(ctx.bus, "subscribe", kept)
    async with ctx.db.write() as session:  # the consumer is twenty rounds behind
        start = await event_log.last_seq(session)
        session.add(LogConsumer(name="behind", position=start, updated_at=utcnow()))
    labels = [f"b{n}" for n in range(pacing.ROUND_EVENTS * 20)]
    await _emit(ctx, *labels)
    seen: list[str] = []
    waiting: list[int] = []  # notices queued as each round handles its events

    async def handler(session: AsyncSession, events: Sequence[Logged]) -> None:
        waiting.append(queues[0].qsize())
        seen.extend(_labels(events))
        if len(seen) < len(labels):  # meanwhile, the application commits (one per round)
            await _emit_in(session, "elsewhere")

    stop = asyncio.Event()
    task = asyncio.create_task(run_consumer(ctx, "behind", handler, stop, paced=True))
    try:
        deadline = asyncio.get_running_loop().time() + 10
        while len(seen) < len(labels):
            assert asyncio.get_running_loop().time() < deadline, len(seen)
            await asyncio.sleep(0.02)
    finally:
        stop.set()
        await task
    assert [label for label in seen if label != "elsewhere"][: len(labels)] == labels
    assert len(waiting) >= 20
    assert max(waiting) <= 1, waiting


async def test_a_running_consumer_takes_the_events_a_notice_carries(running: Running) -> None:
    ctx = running.ctx
    async with following(ctx, "carried") as consumer:
        async with ctx.db.read() as session:
            seq = await event_log.last_seq(session) + 1
        # An event only its notice holds: a consumer that read the log would not see it.
        data = {"changes": ["carried"]}
        event = Logged(seq, "conversation.updated", 1, None, None, False, data, utcnow())
        await ctx.bus.publish([Published(seq, Scope(inbox_id=1), event)])
        assert await consumer.handled() == ["carried"]


async def test_rounds_whose_events_came_with_their_notices_read_no_log(
    running: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every commit wakes every consumer of every process: a round that found all it was
    told of among the events the notices carried reads nothing back from the database."""
    ctx = running.ctx
    monkeypatch.setattr(consumers, "IDLE_SECONDS", 30.0)  # no safety-net read meanwhile
    reads: list[str] = []

    def count(*args: Any) -> None:
        if "FROM events" in args[2]:
            reads.append(args[2])

    async with following(ctx, "told") as consumer:
        await _emit(ctx, "first")
        assert await consumer.handled() == ["first"]  # (its first round reads the log)
        engine = ctx.db.engine.sync_engine
        event.listen(engine, "before_cursor_execute", count)
        try:
            for n in range(5):
                consumer.got.clear()
                await _emit(ctx, f"told {n}")
                await consumer.handled()
        finally:
            event.remove(engine, "before_cursor_execute", count)
    assert consumer.seen == ["first", *(f"told {n}" for n in range(5))]
    assert reads == []


async def test_an_event_no_notice_told_of_is_read_within_a_second(running: Running) -> None:
    ctx = running.ctx
    async with following(ctx, "untold") as consumer:
        await _emit(ctx, "told")
        assert await consumer.handled() == ["told"]
        consumer.got.clear()
        publish, ctx.db.after_commit = ctx.db.after_commit, None  # the notice is lost
        try:
            await _emit(ctx, "untold")
        finally:
            ctx.db.after_commit = publish
        assert await consumer.handled() == ["told", "untold"]


async def test_events_of_no_interest_are_passed_over_without_a_write(running: Running) -> None:
    ctx = running.ctx
    seen: list[list[str]] = []

    async def handler(session: AsyncSession, events: Sequence[Logged]) -> None:
        seen.append(_labels(events))

    async def interest(session: AsyncSession, events: Sequence[Logged]) -> bool:
        return "wanted" in _labels(events)

    async def stored() -> int:
        async with ctx.db.read() as session:
            return int(
                (
                    await session.execute(
                        select(LogConsumer.position).where(LogConsumer.name == "picky")
                    )
                ).scalar_one()
            )

    assert await consume_once(ctx, "picky", handler, interest) == 0  # starts at the end
    start = await stored()
    await _emit(ctx, "skip", "skip")
    assert await consume_once(ctx, "picky", handler, interest) == 2
    assert seen == []
    assert await stored() == start  # no write for them
    await _emit(ctx, "skip", "wanted")
    assert await consume_once(ctx, "picky", handler, interest) == 2
    # The handler gets the batch after what was passed over, in order, and the position
    # moves past everything.
    assert seen == [["skip", "wanted"]]
    assert await stored() == start + 4
    assert await consume_once(ctx, "picky", handler, interest) == 0
