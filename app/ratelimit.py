"""Rate limits for public endpoints (the `limits` library, moving windows).

Embedded, the counters live in the process. With PANJEREH_REDIS_URL they live in Redis, so
a limit holds across every `serve` process behind the proxy. If Redis is away the limits
are not enforced (logged) rather than turning every public request into an error.
"""

from __future__ import annotations

import logging
import math
import time

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from app.errors import AppError

log = logging.getLogger(__name__)


class RateLimited(AppError):
    status_code = 429
    code = "rate_limited"


class RateLimiter:
    def __init__(self, redis_url: str | None = None) -> None:
        storage: Storage = (
            RedisStorage(f"async+{redis_url}", implementation="redispy", key_prefix="panjereh-rl")
            if redis_url
            else MemoryStorage()
        )
        self._limiter = MovingWindowRateLimiter(storage)

    async def hit(self, limit: RateLimitItem, *key: str) -> None:
        """Count one request; raise 429 with Retry-After when over the limit."""
        try:
            if await self._limiter.hit(limit, *key):
                return
            stats = await self._limiter.get_window_stats(limit, *key)
        except Exception as exc:  # the counters' store is down: let the request through
            log.warning("rate limits not enforced: their store failed (%r)", exc)
            return
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
