"""`panjereh serve` on its own, facing hostile clients on raw sockets: oversized request heads
are refused without being read, slow ones are cut off, and ordinary traffic (a large body, a
websocket, keep-alive) goes on as before."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
from uvicorn import Config
from uvicorn._types import ASGIReceiveCallable, ASGISendCallable, Scope
from uvicorn.server import ServerState
from websockets.sync.client import connect

from app.httpserver import HEADER_LIMIT, HEADER_TIMEOUT, GuardedHttpToolsProtocol
from tests.support.servers import free_port

EMAIL, PASSWORD = "lead@example.com", "long enough"


@contextlib.contextmanager
def served(tmp_path: Path) -> Iterator[tuple[int, int]]:
    """A migrated `panjereh serve` with an admin; yields its port and pid."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PANJEREH_")},
        "PANJEREH_DATABASE_URL": f"sqlite:///{tmp_path}/limits.db",
        "PANJEREH_DATA_DIR": str(tmp_path / "data"),
        "PANJEREH_PASSWORD_HASH_TIME_COST": "1",
        "PANJEREH_PASSWORD_HASH_MEMORY_KIB": "64",
    }
    cli = [sys.executable, "-m", "app.cli"]
    subprocess.run([*cli, "migrate"], env=env, check=True, capture_output=True, timeout=60)
    subprocess.run(
        [*cli, "create-agent", "--email", EMAIL, "--password", PASSWORD, "--role", "admin"],
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    port = free_port()
    server = subprocess.Popen(
        [*cli, "--log-level", "warning", "serve", "--no-migrate", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.05)
        yield port, server.pid
    finally:
        server.terminate()
        server.wait(timeout=10)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def answer(sock: socket.socket) -> bytes:
    """What the server says until it closes the connection (or 10 s pass)."""
    sock.settimeout(10)
    chunks = []
    with contextlib.suppress(ConnectionResetError):
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def send_huge_head(port: int, size: int) -> bytes:
    """A request whose one header is `size` bytes, sent until the server stops reading."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ")
        block = b"a" * 65536
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            for _ in range(size // len(block)):
                sock.sendall(block)
        return answer(sock)


def test_oversized_heads_are_refused_without_being_held(tmp_path: Path) -> None:
    with served(tmp_path) as (port, pid):
        base = f"http://127.0.0.1:{port}"
        # A head under the cap is served.
        ok = httpx.get(f"{base}/healthz", headers={"X-Pad": "a" * (HEADER_LIMIT // 2)})
        assert ok.status_code == 200

        before = rss_kib(pid)
        refused: list[bytes] = []
        threads = [
            threading.Thread(target=lambda: refused.append(send_huge_head(port, 16 << 20)))
            for _ in range(4)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert len(refused) == 4
        for reply in refused:
            assert reply.startswith(b"HTTP/1.1 431 "), reply[:100]
        # Four 16 MiB heads at once grew the server by ~600 MiB when it read them whole.
        assert rss_kib(pid) - before < 32 * 1024
        assert send_huge_head(port, 1 << 20).startswith(b"HTTP/1.1 431 ")
        # Over the cap but small enough to come in one read: refused all the same, in the
        # API's error shape.
        over = httpx.get(f"{base}/healthz", headers={"X-Pad": "a" * (HEADER_LIMIT + 1024)})
        assert over.status_code == 431
        assert over.json()["code"] == "headers_too_large"

        # A body is not a head: a large one (within the body limit) is read and answered.
        body = json.dumps({"email": EMAIL, "password": "x" * 900_000}).encode()
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(
                b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
            )
            sock.sendall(body)
            reply = answer(sock)
        assert reply.startswith(b"HTTP/1.1 422 "), reply[:200]  # the password is too long
        assert httpx.get(f"{base}/healthz").status_code == 200


def test_slow_heads_are_cut_off_and_live_connections_are_not(tmp_path: Path) -> None:
    with served(tmp_path) as (port, _pid):
        base = f"http://127.0.0.1:{port}"
        token = httpx.post(
            f"{base}/api/v1/auth/login", json={"email": EMAIL, "password": PASSWORD}
        ).json()["access_token"]
        with connect(f"ws://127.0.0.1:{port}/ws/agent?token={token}", open_timeout=10) as ws:
            lorises = [socket.create_connection(("127.0.0.1", port)) for _ in range(20)]
            silent = socket.create_connection(("127.0.0.1", port))
            started = time.monotonic()
            give_up = started + 3 * HEADER_TIMEOUT
            head = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: " + b"a" * 1000
            replies: dict[int, bytes] = {}
            closed_at: dict[int, float] = {}
            for sock in lorises:
                sock.setblocking(False)
            for byte in head:
                for n, sock in enumerate(lorises):
                    if n in closed_at:
                        continue
                    try:
                        replies[n] = sock.recv(4096)
                        closed_at[n] = time.monotonic() - started
                    except BlockingIOError:
                        sock.sendall(bytes([byte]))
                if len(closed_at) == len(lorises) or time.monotonic() > give_up:
                    break
                time.sleep(0.3)
            for sock in lorises:
                sock.close()
            # Each one is answered 408 once its head has taken too long.
            assert len(closed_at) == len(lorises)
            waited = sorted(closed_at.values())
            assert HEADER_TIMEOUT - 1 < waited[0] <= waited[-1] < HEADER_TIMEOUT + 3
            assert all(reply.startswith(b"HTTP/1.1 408 ") for reply in replies.values())
            assert all(b'"code": "request_timeout"' in reply for reply in replies.values())
            # A connection that never says anything is closed too.
            assert answer(silent) == b""
            silent.close()

            # The websocket, open all along, still works.
            ws.send(json.dumps({"type": "presence", "status": "away"}))
            assert ws.ping().wait(5)
        assert httpx.get(f"{base}/healthz").status_code == 200


class _Transport(asyncio.Transport):
    """What the protocol writes, for driving it with chunks of a chosen size (the kernel
    decides them on a real socket)."""

    def __init__(self) -> None:
        super().__init__()
        self.written = bytearray()
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += data

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def get_extra_info(self, name: str, default: object = None) -> object:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 50000)}.get(
            name, default
        )


async def test_the_chunk_that_ends_a_large_body_is_not_held_against_the_next_head() -> None:
    """A read can hold the last 100 KB of an upload: it is body, not the next request's
    head (it was counted as head, and the connection answered 431 after the upload)."""
    bodies: asyncio.Queue[int] = asyncio.Queue()  # each request's body size, as it is answered

    async def app(scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
        size = 0
        while True:
            message = await receive()
            size += len(message.get("body", b""))  # type: ignore[arg-type]
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok", "more_body": False})
        bodies.put_nowait(size)

    config = Config(app, lifespan="off", log_level="warning")
    protocol = GuardedHttpToolsProtocol(config, ServerState(), {}, asyncio.get_running_loop())
    transport = _Transport()
    protocol.connection_made(transport)
    body = b"x" * 300_000
    head = b"POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % len(body)
    for chunk in (head + body[:100_000], body[100_000:200_000], body[200_000:]):
        assert len(chunk) > HEADER_LIMIT
        protocol.data_received(chunk)
    assert await asyncio.wait_for(bodies.get(), 5) == len(body)
    protocol.data_received(b"GET /next HTTP/1.1\r\nHost: t\r\n\r\n")
    assert await asyncio.wait_for(bodies.get(), 5) == 0
    assert transport.written.count(b"HTTP/1.1 200 OK") == 2
    assert b"431" not in transport.written
    assert not transport.closed
    protocol.connection_lost(None)
