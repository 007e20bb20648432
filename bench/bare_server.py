"""The ceilings for `bench/ingest.py` and `bench/live_latency.py`: an endpoint that only
parses the body, stores nothing, and broadcasts it to the sockets open on `/ws/agent`.

It has the same route shape as Panjereh's `POST /api/v1/inboxes/{inbox_id}/incoming`
(path parameter, `X-Api-Key` header, and the very same pydantic body model, so the JSON
is parsed and validated exactly as Panjereh does), answers `201 {"ok": true}`, and is run
by uvicorn with the same settings as `panjereh serve` (one process, uvicorn's defaults:
uvloop and httptools when installed, proxy headers from 127.0.0.1). It has no middleware,
no database and no authentication: whatever Panjereh spends beyond this is the cost of
storing a message.

With sockets open on `/ws/agent` (`live_latency.py`'s ceiling), each POST is also broadcast to
them as the frames Panjereh would send for a message, `--frames` of them of about
`--frame-chars` characters each, the last a `message.created` with the body's `external_id`:
one websocket message each, or one JSON array of them for a client that connects with
`protocol=2`. The text is built once per POST; each socket has a queue and a sender task,
the least a broadcast needs to keep each socket's order without one slow socket holding up
the others. Whatever Panjereh's live path spends beyond this is the cost of its events.

With `--redis URL` (the ceiling of `live_latency.py`'s redis mode, two of these processes),
each POST is also published to Redis, as Panjereh's bus does (a sender task that writes
what queued up in one pipeline; a redis-py subscriber that broadcasts the other processes'
messages to its own sockets): what the hop between processes costs with nothing stored.

It also has `bench/voice.py`'s ceiling, `POST /webhooks/twilio/{inbox_id}/voice`: the form
parsed, its X-Twilio-Signature checked (auth token `BARE_TWILIO_TOKEN`, for the URL it was
called at) and the TwiML a voice inbox answers built, with no database.

    python bench/bare_server.py --port 8123 --log-level warning [--frames 2] [--frame-chars 900]
                                [--redis redis://127.0.0.1:6379/0]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated
from urllib.parse import parse_qsl

import uvicorn
from fastapi import FastAPI, Header, Request, Response, WebSocket, WebSocketDisconnect, status
from redis.asyncio import Redis

# Run as a script from anywhere: make the repository importable for the body model.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from connectors.api.connector import IncomingMessage
from connectors.base import RawRequest
from connectors.voice.client import verify_signature
from connectors.voice.config import VoiceConfig
from connectors.voice.twiml import VoiceUrls, answer

BARE_TWILIO_TOKEN = "bare-twilio-auth-token"  # noqa: S105 - a benchmark's throwaway
_VOICE = VoiceConfig(
    account_sid="AC" + "0" * 32,
    auth_token=BARE_TWILIO_TOKEN,
    number="+14155550143",
    agent_numbers=["+14155550101", "+14155550102", "+14155550103"],
)

frames_per_message = 2
frame_chars = 900
sockets: dict[asyncio.Queue[str], bool] = {}  # each socket's queue: batched (protocol 2)?
sequence = 0
redis_url: str | None = None
outbox: asyncio.Queue[bytes] = asyncio.Queue()  # external ids for the other processes
CHANNEL = "bare:bus"
ORIGIN = uuid.uuid4().hex.encode()


@contextlib.asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    if redis_url is None:
        yield
        return
    # As Panjereh's bus (RedisBus.connect): no socket timeout, which on Python 3.11 costs
    # every write a task of its own (asyncio.wait_for) and two more turns of the event loop.
    client = Redis.from_url(redis_url, socket_timeout=None)
    tasks = [asyncio.create_task(publish(client)), asyncio.create_task(listen(client))]
    yield
    for task in tasks:
        task.cancel()
    await client.aclose()


async def publish(client: Redis) -> None:
    while True:
        ids = [await outbox.get()]
        while not outbox.empty():
            ids.append(outbox.get_nowait())
        async with client.pipeline(transaction=False) as pipeline:
            for external_id in ids:
                pipeline.publish(CHANNEL, ORIGIN + b":" + external_id)
            await pipeline.execute()


async def listen(client: Redis) -> None:
    async with client.pubsub() as pubsub:
        await pubsub.subscribe(CHANNEL)
        while True:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5.0)
            if message is None or message["type"] != "message":
                continue
            origin, _, external_id = message["data"].partition(b":")
            if origin != ORIGIN:
                broadcast(external_id.decode())


app = FastAPI(title="bare ingest ceiling", lifespan=lifespan)


@app.get("/readyz")
async def readyz() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/api/v1/inboxes/{inbox_id}/incoming", status_code=status.HTTP_201_CREATED)
async def incoming(
    inbox_id: int,
    body: IncomingMessage,
    x_api_key: Annotated[str | None, Header()] = None,
) -> dict[str, bool]:
    if redis_url is not None:
        outbox.put_nowait(body.external_id.encode())
    if sockets:
        broadcast(body.external_id)
    return {"ok": True}


@app.post("/webhooks/twilio/{inbox_id}/voice")
async def voice(inbox_id: int, request: Request) -> Response:
    body = await request.body()
    form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    signature = request.headers.get("x-twilio-signature", "")
    url = str(request.url)
    raw = RawRequest(url=url, headers={"x-twilio-signature": signature}, body=body, form=form)
    verify_signature(raw, BARE_TWILIO_TOKEN)
    return Response(answer(_VOICE, VoiceUrls(url), open_now=True), media_type="text/xml")


def broadcast(external_id: str) -> None:
    global sequence
    at = datetime.now(UTC).isoformat()
    texts = []
    for n in range(frames_per_message):
        sequence += 1
        last = n == frames_per_message - 1
        data = {"message": {"external_id": external_id}} if last else {"conversation": {}}
        text = json.dumps(
            {
                "id": sequence,
                "type": "message.created" if last else "conversation.updated",
                "data": data,
                "at": at,
            },
            separators=(",", ":"),
        )
        pad = "x" * max(0, frame_chars - len(text) - len(',"pad":""'))
        texts.append(text[:-1] + f',"pad":"{pad}"}}')
    batch = "[" + ",".join(texts) + "]"
    for queue, batched in sockets.items():
        if batched:
            queue.put_nowait(batch)
        else:
            for text in texts:
                queue.put_nowait(text)


@app.websocket("/ws/agent")
async def agent_socket(websocket: WebSocket) -> None:
    batched = websocket.query_params.get("protocol") == "2"
    await websocket.accept()
    ready = '{"id":null,"type":"ready","data":{},"at":null}'
    await websocket.send_text(f"[{ready}]" if batched else ready)
    queue: asyncio.Queue[str] = asyncio.Queue()
    sockets[queue] = batched

    async def pump() -> None:
        while True:
            await websocket.send_text(await queue.get())

    sender = asyncio.create_task(pump())
    try:
        while True:
            await websocket.receive_text()
    except WebSocketDisconnect:
        pass
    finally:
        del sockets[queue]
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await sender


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument(
        "--log-level", default="warning", choices=["debug", "info", "warning", "error"]
    )
    parser.add_argument("--frames", type=int, default=2, help="frames broadcast per POST")
    parser.add_argument("--frame-chars", type=int, default=900, help="characters per frame")
    parser.add_argument("--redis", help="publish each POST to the other processes through it")
    args = parser.parse_args(argv)
    global frames_per_message, frame_chars, redis_url
    frames_per_message, frame_chars, redis_url = args.frames, args.frame_chars, args.redis
    # The same call as app/cli.py's `cmd_serve`.
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        proxy_headers=True,
        forwarded_allow_ips="127.0.0.1",
        ws_per_message_deflate=False,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
