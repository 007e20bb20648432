"""Work that may wait gives way to requests.

Answering a customer's or an agent's request is what the process is for; the log consumers
whose work can come a little later (webhooks, rules) step aside after each round while
requests are short of time (`app.health.pressed`): they take at most SHARE_WHEN_BUSY of it,
in short rounds, and catch up in a quieter moment. Not for ever: work that has waited
DEFER_AT_MOST_SECONDS takes half, so sustained load delays it without starving it. With
time to spare they go as fast as they can. `bench/ingest.py --rules 20 --webhooks 10` shows
both sides: the requests per second beside the figure without, and how long the work took
to catch up after each burst.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from app.health import pressed

SHARE_WHEN_BUSY = 0.02
DEFER_AT_MOST_SECONDS = 30.0
SHARE_WHEN_LATE = 0.5
# Events a round of paced work takes at most, so that no round holds requests up for long.
ROUND_EVENTS = 100


def pause_after(took: float, waited: float) -> float:
    """How long, at most, requests have the process to themselves after a round of work that
    may wait took `took` seconds, its oldest item having waited `waited` seconds."""
    share = SHARE_WHEN_BUSY if waited < DEFER_AT_MOST_SECONDS else SHARE_WHEN_LATE
    return took * (1 / share - 1)


async def step_aside(took: float, waited: float, stop: asyncio.Event) -> None:
    """After a round of `took` seconds, while requests are short of time: leave them the
    process for the rest of the share (`pause_after`), or until they are not."""
    until = time.monotonic() + pause_after(took, waited)
    while not stop.is_set() and time.monotonic() < until and pressed():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), min(0.05, until - time.monotonic()))
