"""The automations' background work: the rules' log consumer, and the worker that runs due
scheduled steps (waits, idle checks).

A due step is claimed with `FOR UPDATE SKIP LOCKED` and deleted in the transaction that does
its work, so across any number of workers each step runs once, and a crash runs it again
whole or not at all. While nothing is due the worker sleeps until the earliest due time (at
most POLL_SECONDS, for steps other processes schedule), woken early when this process
schedules an earlier one: pending waits cost one indexed read per poll, however many, and
the write lock is taken only when a step is due (`bench/waits.py` measures both)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.automations import actions, engine
from app.automations.models import ScheduledStep
from app.context import Context
from app.db import log_failed_round, utcnow
from app.events.consumers import Handler, run_consumer
from app.events.log import Logged
from app.surveys.follow import links

log = logging.getLogger(__name__)

BATCH = 100
POLL_SECONDS = 5.0
LOCKED_PAUSE = 0.05


async def run_due(ctx: Context) -> int:
    """Run the steps due now (a batch); how many."""
    async with ctx.db.write() as session:
        steps = list(
            (
                await session.scalars(
                    select(ScheduledStep)
                    .where(ScheduledStep.due_at <= utcnow())
                    .order_by(ScheduledStep.due_at)
                    .limit(BATCH)
                    .with_for_update(skip_locked=True)
                )
            ).all()
        )
        actions.provide(session, links(ctx))
        for step in steps:
            await engine.run_step(session, step)
        return len(steps)


async def next_due(ctx: Context) -> datetime | None:
    async with ctx.db.read() as session:
        return await session.scalar(select(func.min(ScheduledStep.due_at)))


async def run_steps(ctx: Context, stop: asyncio.Event) -> None:
    woken = asyncio.Event()
    earliest: list[datetime] = []

    def wake(due_at: datetime) -> None:
        earliest.append(due_at)
        woken.set()

    engine.wakers.add(wake)
    try:
        while not stop.is_set():
            try:
                # A read first: most rounds find nothing due, and take no write lock.
                due = await next_due(ctx)
                if due is not None and due <= utcnow():
                    if await run_due(ctx) == BATCH:
                        continue
                    due = await next_due(ctx)
            except Exception as exc:
                log_failed_round(log, "automation steps", exc)
                due = None
            woken.clear()
            if earliest:
                due = min([*earliest, *([due] if due else [])])
                earliest.clear()
            delay = POLL_SECONDS if due is None else (due - utcnow()).total_seconds()
            if delay <= 0:  # due but not run: another worker holds those steps
                delay = LOCKED_PAUSE
            await _sleep(min(delay, POLL_SECONDS), woken, stop)
    finally:
        engine.wakers.discard(wake)


async def _sleep(seconds: float, woken: asyncio.Event, stop: asyncio.Event) -> None:
    """Until `seconds` pass, a step is scheduled in this process, or `stop`."""
    if seconds <= 0:
        return
    waits = [asyncio.ensure_future(woken.wait()), asyncio.ensure_future(stop.wait())]
    with contextlib.suppress(TimeoutError):
        await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    for waiting in waits:
        waiting.cancel()


def handler(ctx: Context) -> Handler:
    """The rules' log consumer, with what their actions need of this process."""

    async def handle(session: AsyncSession, events: Sequence[Logged]) -> None:
        actions.provide(session, links(ctx))
        await engine.handle_events(session, events)

    return handle


async def run_automations(ctx: Context, stop: asyncio.Event) -> None:
    """Both loops, until `stop`."""
    await asyncio.gather(
        run_consumer(
            ctx, engine.CONSUMER, handler(ctx), stop, interest=engine.interested, paced=True
        ),
        run_steps(ctx, stop),
    )
