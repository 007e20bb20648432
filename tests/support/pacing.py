"""Requests that keep the process serving, for tests of work that gives way to them."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Iterator

import pytest

from app import health
from app.health import (
    QUIET_SECONDS,
    WINDOW_SECONDS,
    Message,
    MetricsMiddleware,
    Receive,
    Scope,
    Send,
    pressed,
)


@contextlib.asynccontextmanager
async def request_in_flight() -> AsyncIterator[None]:
    """An HTTP request that the process is answering until the block ends."""
    answered = asyncio.Event()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await answered.wait()

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        pass

    scope: Scope = {"type": "http", "method": "GET", "path": "/slow"}
    answering = asyncio.create_task(MetricsMiddleware(app)(scope, receive, send))
    await asyncio.sleep(0)  # the middleware has it
    try:
        yield
    finally:
        answered.set()
        await answering


async def quiet() -> None:
    await asyncio.sleep(QUIET_SECONDS * 2)


@contextlib.contextmanager
def core_in_use(monkeypatch: pytest.MonkeyPatch, share: float = 1.0) -> Iterator[None]:
    """The process counts as using `share` of a core (a test cannot rely on getting one)."""
    with monkeypatch.context() as patched:
        patched.setattr(health, "cpu_share", lambda: share)
        yield


async def pressed_after_serving() -> bool:
    """Whether requests count as short of time once a whole window of serving has passed
    (windows close when asked, so ask all along)."""
    deadline = time.monotonic() + WINDOW_SECONDS * 2.5
    while time.monotonic() < deadline:
        pressed()
        await asyncio.sleep(0.01)
    return pressed()
