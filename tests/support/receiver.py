"""A real HTTP server on loopback that records what it receives and answers as told."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.support.servers import loopback_socket, serving, url_of


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """`answers` are popped per request (status codes); when empty, it answers 200. While
    `gate` is cleared, requests are received (and recorded) but not answered."""

    answers: deque[int] = field(default_factory=deque)
    received: list[Received] = field(default_factory=list)
    url: str = ""
    gate: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.gate.set()

    async def _handle(self, request: Request) -> JSONResponse:
        self.received.append(Received(dict(request.headers), await request.body()))
        await self.gate.wait()
        status = self.answers.popleft() if self.answers else 200
        headers = {"Retry-After": "0"} if status == 429 else None
        return JSONResponse({"id": f"r{len(self.received)}"}, status_code=status, headers=headers)


@contextlib.asynccontextmanager
async def receiving() -> AsyncIterator[Receiver]:
    """A receiver listening at `receiver.url` for the length of the block."""
    receiver = Receiver()
    listening = loopback_socket()
    receiver.url = f"{url_of(listening)}/hook"
    app = Starlette(routes=[Route("/hook", receiver._handle, methods=["GET", "POST"])])
    async with serving(app, listening):
        yield receiver
