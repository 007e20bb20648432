"""Rate limits for public endpoints (the `limits` library, moving windows)."""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter

from app.errors import AppError


class RateLimited(AppError):
    status_code = 429
    code = "rate_limited"


class RateLimiter:
    """In-process counters. Behind several `serve` processes each keeps its own, so the
    effective limit is per process; that still stops a brute force from one client."""

    def __init__(self) -> None:
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    async def hit(self, limit: RateLimitItem, *key: str) -> None:
        """Count one request; raise 429 with Retry-After when over the limit."""
        if await self._limiter.hit(limit, *key):
            return
        stats = await self._limiter.get_window_stats(limit, *key)
        wait = max(1, math.ceil(stats.reset_time - time.time()))
        raise RateLimited(
            f"too many requests; try again in {wait} s", headers={"Retry-After": str(wait)}
        )


LOGIN_PER_IP = parse("20/minute")
LOGIN_PER_EMAIL = parse("10/minute")
# A callback form is filled in once, maybe twice: more is a bot or a prank.
CALLBACK_PER_IP = parse("10/hour")
CALLBACK_PER_PHONE = parse("3/hour")
# The widget: a person opens a chat a few times a day and types at human speed.
WIDGET_SESSION_PER_IP = parse("20/hour")
WIDGET_PER_VISITOR = parse("30/minute")
WIDGET_PER_IP = parse("120/minute")
