"""Helpers for websocket tests: connect, read frames, wait for a close code.

They read frames in either protocol: a protocol-2 message (a JSON array) is read frame by
frame."""

from __future__ import annotations

import asyncio
import json
import socket
import weakref
from collections import deque
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

Frame = dict[str, Any]
EPHEMERAL = {"heartbeat", "presence", "typing", "ready"}

# Frames of a protocol-2 message not read yet, per socket.
_pending: weakref.WeakKeyDictionary[ClientConnection, deque[Frame]] = weakref.WeakKeyDictionary()


async def recv_frame(ws: ClientConnection) -> Frame:
    """The next frame, whether it came alone (protocol 1) or in an array (protocol 2)."""
    pending = _pending.setdefault(ws, deque())
    while not pending:
        body = json.loads(await ws.recv())
        pending.extend(body if isinstance(body, list) else [body])
    return pending.popleft()


async def open_socket(base_url: str, path: str, **params: Any) -> ClientConnection:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    url = base_url.replace("http://", "ws://") + path + (f"?{query}" if query else "")
    return await connect(url, open_timeout=10, max_queue=None)


async def agent_socket(base_url: str, token: str, **params: Any) -> ClientConnection:
    return await open_socket(base_url, "/ws/agent", token=token, **params)


async def next_frame(
    ws: ClientConnection, match: Callable[[Frame], bool] = lambda f: True, within: float = 5.0
) -> Frame:
    """The next frame that matches, skipping the others."""
    async with asyncio.timeout(within):
        while True:
            frame = await recv_frame(ws)
            if match(frame):
                return frame


async def ready(ws: ClientConnection, within: float = 5.0) -> list[Frame]:
    """Read up to the `ready` frame (the socket is live); the frames before it."""
    before: list[Frame] = []
    async with asyncio.timeout(within):
        while (frame := await recv_frame(ws))["type"] != "ready":
            before.append(frame)
    return before


async def next_event(ws: ClientConnection, type_: str | None = None, within: float = 5.0) -> Frame:
    """The next logged event (ephemeral frames skipped), of `type_` if given."""
    return await next_frame(
        ws,
        lambda f: f["type"] not in EPHEMERAL and (type_ is None or f["type"] == type_),
        within,
    )


async def events(ws: ClientConnection, count: int, within: float = 10.0) -> list[Frame]:
    return [await next_event(ws, within=within) for _ in range(count)]


async def quiet(ws: ClientConnection, seconds: float = 0.3) -> list[Frame]:
    """Every logged event that arrives within `seconds` (expected: none)."""
    got: list[Frame] = []
    try:
        async with asyncio.timeout(seconds):
            while True:
                frame = await recv_frame(ws)
                if frame["type"] not in EPHEMERAL:
                    got.append(frame)
    except TimeoutError:
        pass
    return got


async def close_code(ws: ClientConnection, within: float = 10.0) -> tuple[int | None, list[Frame]]:
    """Read until the server closes; its close code and every frame read before it."""
    frames: list[Frame] = []
    try:
        async with asyncio.timeout(within):
            while True:
                frames.append(await recv_frame(ws))
    except ConnectionClosed as exc:
        return (exc.rcvd.code if exc.rcvd else None), frames


async def stalled_socket(base_url: str, token: str) -> ClientConnection:
    """An agent socket whose client stops reading: a small receive buffer, reading paused
    (`ws.transport.resume_reading()` reads again). The server's send buffer then fills."""
    host, port = base_url.removeprefix("http://").split(":")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, (host, int(port)))
    url = f"ws://{host}:{port}/ws/agent?{urlencode({'token': token})}"
    ws = await connect(url, sock=sock, max_queue=1, compression=None)  # every byte on the wire
    ws.transport.pause_reading()
    return ws
