"""A real HTTP server on loopback that records what it receives and answers as told."""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.servers import free_port


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """`answers` are popped per request (status codes); when empty, it answers 200."""

    answers: deque[int] = field(default_factory=deque)
    received: list[Received] = field(default_factory=list)
    url: str = ""

    async def _handle(self, request: Request) -> JSONResponse:
        self.received.append(Received(dict(request.headers), await request.body()))
        status = self.answers.popleft() if self.answers else 200
        headers = {"Retry-After": "0"} if status == 429 else None
        return JSONResponse({"id": f"r{len(self.received)}"}, status_code=status, headers=headers)


class receiving:  # noqa: N801 - used as `async with receiving() as receiver`
    def __init__(self) -> None:
        self.receiver = Receiver()
        port = free_port()
        self.receiver.url = f"http://127.0.0.1:{port}/hook"
        app = Starlette(routes=[Route("/hook", self.receiver._handle, methods=["POST"])])
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
        )
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Receiver:
        self.task = asyncio.create_task(self.server.serve())
        while not self.server.started:  # noqa: ASYNC110 - uvicorn offers no start event
            await asyncio.sleep(0.005)
        return self.receiver

    async def __aexit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        if self.task is not None:
            await self.task
