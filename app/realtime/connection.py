"""One websocket's life after it is authenticated: resume, go live, read client frames.

Resuming without gaps or duplicates: the socket replays the log after `last_event_id` page
by page (only then registering with the hub, so a long backlog never overflows its queue),
registers, replays once more what was committed meanwhile, and only then starts its sender.
Live frames queued during that last read with an id it already sent are dropped by id.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from app.realtime.frames import frame
from app.realtime.hub import CLOSE_RESYNC, Hub, Socket

log = logging.getLogger(__name__)

MAX_CLIENT_FRAME = 4096  # bytes; clients send only small control frames
ClientFrameHandler = Callable[[dict[str, Any]], Awaitable[None]]


async def reject(websocket: WebSocket, code: int, reason: str) -> None:
    """End a socket before it sees anything. The handshake completes first: a browser
    cannot read the HTTP status of a refused handshake, only a close code."""
    await websocket.accept()
    await websocket.close(code, reason)


async def serve_socket(
    websocket: WebSocket,
    hub: Hub,
    socket: Socket,
    last_event_id: int | None,
    on_frame: ClientFrameHandler,
    *,
    on_live: Callable[[], Awaitable[None]] | None = None,
    on_end: Callable[[], Awaitable[None]] | None = None,
) -> None:
    await websocket.accept()
    start = await hub.resume_point(last_event_id)
    if start is None:
        await socket.send_frames([frame("resync_required", {"last_event_id": last_event_id})])
        await websocket.close(CLOSE_RESYNC, "resync_required")
        return
    try:
        after = await hub.replay(socket, start)
        hub.add(socket)
        try:
            socket.last_id = await hub.replay(socket, after)
            # The client now has everything up to here, and nothing live will be missed.
            await socket.send_frames([frame("ready", {"last_event_id": socket.last_id})])
            socket.start()
            try:
                if on_live is not None:
                    await on_live()
                await _read_client(websocket, on_frame)
            finally:
                await socket.stop()
        finally:
            hub.remove(socket)
            if on_end is not None:
                await on_end()
    except WebSocketDisconnect:
        return  # the client left while it was replaying


async def _read_client(websocket: WebSocket, on_frame: ClientFrameHandler) -> None:
    """Until the client leaves (or the sender closed the socket): malformed frames are
    ignored, a client frame never ends the socket by itself."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        text = message.get("text")
        if not text or len(text) > MAX_CLIENT_FRAME:
            continue
        try:
            body = json.loads(text)
        except (ValueError, RecursionError):  # RecursionError: nested too deep to read
            continue
        if isinstance(body, dict):
            try:
                await on_frame(body)
            except Exception:
                log.warning("a client frame failed", exc_info=True)
