"""The loop that runs round robin and auto-resolve in the background.

A round runs after a commit announced on the bus (a new or unassigned conversation, a
resolved one freeing capacity) and at least every ROUND_SECONDS, which is how soon an agent
who comes online gets the oldest waiting conversation; under load, the commits of a
consumer's round gap (app.events.consumers.ROUND_SECONDS) share one round. Who is online
comes from presence (Redis when configured, so a separate worker process sees every
server's agents)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from app.assignment import service
from app.context import Context
from app.db import log_failed_round, utcnow
from app.events.consumers import drain, next_commit, spaced

log = logging.getLogger(__name__)

ROUND_SECONDS = 1.0
AUTO_RESOLVE_SECONDS = 60.0  # about once a minute, however many rounds commits start


async def assign_round(ctx: Context) -> int:
    """Give waiting conversations to online agents; the number assigned."""
    async with ctx.db.read() as session:
        if not await service.anyone_waiting(session):
            return 0
    online = {p.agent_id for p in (await ctx.presence.snapshot()).values() if p.status == "online"}
    if not online:
        return 0
    async with ctx.db.write() as session:
        return await service.assign_waiting(session, online, now=utcnow())


async def auto_resolve_round(ctx: Context) -> int:
    async with ctx.db.write() as session:
        return await service.auto_resolve(session, now=utcnow())


async def run_assignment(ctx: Context, stop: asyncio.Event) -> None:
    resolve_at = time.monotonic()  # the first round auto-resolves
    async with ctx.bus.subscribe() as notices:
        while not stop.is_set():
            drain(notices)
            started = time.monotonic()
            try:
                await assign_round(ctx)
                if started >= resolve_at:
                    resolve_at = started + AUTO_RESOLVE_SECONDS
                    await auto_resolve_round(ctx)
            except Exception as exc:
                log_failed_round(log, "assignment", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(next_commit(notices, stop), ROUND_SECONDS)
            await spaced(started, stop)
