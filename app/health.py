"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import asyncio
import functools
import json
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.deps import ContextDep
from app.responses import JSONResponse

router = APIRouter(tags=["health"])

REQUESTS = Counter("panjereh_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "panjereh_http_request_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "a dependency is unreachable"}})
async def readyz(ctx: ContextDep) -> JSONResponse:
    """The database (and Redis, when configured) answer."""
    checks: dict[str, str] = {}
    try:
        await ctx.db.ping()
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"error: {type(exc).__name__}"
    if ctx.redis is not None:
        try:
            await asyncio.wait_for(ctx.redis.ping(), 2.0)
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = f"error: {type(exc).__name__}"
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks},
        status_code=200 if ready else 503,
    )


@router.get("/metrics", response_class=Response)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


# Clients that send their next request as soon as they have an answer leave a gap in
# between that is not a quiet moment: an answer this recent still counts as serving.
QUIET_SECONDS = 0.02
# Serving this share of the last window, with this share of a core used meanwhile: requests
# are short of the process's time. Half a core, not most of one: beside PostgreSQL on the
# same cores a saturated process spends much of its time waiting for the database, and
# ~85% of a core on average. A short window: the first one of a burst passes at full speed.
PRESSED_SHARE = 0.8
PRESSED_CPU_SHARE = 0.5
WINDOW_SECONDS = 0.1

_in_flight = 0
# A serving period: from a request that found the process quiet until QUIET_SECONDS after
# the last answer while none is in flight.
_period_start = 0.0
_quiet_from = 0.0  # when the current (or last) period ends, if no request comes before
_served_seconds = 0.0  # in the periods before the current one


def serving() -> bool:
    """Whether this process is answering HTTP requests: one is in flight, or one was answered
    in the last QUIET_SECONDS."""
    return _in_flight > 0 or time.monotonic() < _quiet_from


def seconds_serving() -> float:
    """How long this process has been serving, in all."""
    now = time.monotonic()
    end = now if _in_flight or now < _quiet_from else _quiet_from
    return _served_seconds + end - _period_start


def _request_started(now: float) -> None:
    global _in_flight, _period_start, _served_seconds
    if not _in_flight and now >= _quiet_from:
        _served_seconds += _quiet_from - _period_start
        _period_start = now
    _in_flight += 1


def _request_ended(now: float) -> None:
    global _in_flight, _quiet_from
    _in_flight -= 1
    if not _in_flight:
        _quiet_from = now + QUIET_SECONDS


class Share:
    """How fast a running total of seconds (`used`) grew against the clock over the last
    whole window of `window` seconds or more (0 until the first one ends): cheap enough to
    ask after every round of work."""

    def __init__(
        self,
        used: Callable[[], float],
        window: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.used = used
        self.window = window
        self.clock = clock
        self._at = clock()
        self._used = used()
        self._share = 0.0

    def __call__(self) -> float:
        now = self.clock()
        if now - self._at >= self.window:
            used = self.used()
            self._share = (used - self._used) / (now - self._at)
            self._at, self._used = now, used
        return self._share


serving_share = Share(seconds_serving)
cpu_share = Share(time.process_time)


def pressed() -> bool:
    """Whether requests are short of this process's time: it is serving, was nearly all of
    the last window, and used at least half a core meanwhile. Background work that may wait
    yields then (app.pacing); otherwise it need not. Either sign alone misleads: fifty
    requests a second keep a process serving while its core is mostly idle, and work that
    may wait can fill the core by itself while a request comes now and then."""
    crowded = serving_share() >= PRESSED_SHARE  # both windows asked every time: kept current
    busy = cpu_share() >= PRESSED_CPU_SHARE
    return serving() and crowded and busy


class MetricsMiddleware:
    """Counts requests by route template (never by raw path: ids would explode the labels),
    and those in flight."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        _request_started(time.monotonic())
        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            _request_ended(time.monotonic())
            route = getattr(scope.get("route"), "path", "unmatched")
            _request_counter(scope["method"], route, status).inc()
            _latency_histogram(scope["method"], route).observe(time.perf_counter() - start)


# The labelled children, looked up once per (method, route[, status]): `labels()` takes a
# lock and builds its key on every call, and there are only so many routes.
@functools.lru_cache(maxsize=1024)
def _request_counter(method: str, route: str, status: int) -> Counter:
    return REQUESTS.labels(method, route, str(status))


@functools.lru_cache(maxsize=1024)
def _latency_histogram(method: str, route: str) -> Histogram:
    return LATENCY.labels(method, route)


class BodySizeLimitMiddleware:
    """Refuses request bodies over the limit with 413, declared or streamed. File uploads
    (a path ending in `/attachments`) may be as large as an attachment may be."""

    def __init__(self, app: ASGIApp, max_bytes: int, upload_max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        # The file plus its multipart envelope.
        self.upload_max_bytes = upload_max_bytes + 64 * 1024

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = (
            self.upload_max_bytes
            if scope.get("path", "").endswith("/attachments")
            else self.max_bytes
        )
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                await _too_large(send, limit)
                return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyTooLargeError(limit)
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _BodyTooLargeError:
            await _too_large(send, limit)


class _BodyTooLargeError(StarletteHTTPException):
    """An HTTP error, so that FastAPI, which turns any other exception raised while it reads
    a body into a 400, lets it through to the error handlers as a 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, _limit_detail(limit))


def _limit_detail(limit: int) -> str:
    return f"request body is over the {limit}-byte limit"


async def _too_large(send: Send, limit: int) -> None:
    body = json.dumps({"detail": _limit_detail(limit), "code": "payload_too_large"}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
