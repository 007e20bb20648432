"""`panjereh serve` on its own, facing hostile clients on raw sockets: oversized request heads
are refused without being read, slow ones are cut off, and ordinary traffic (a large body, a
websocket, keep-alive) goes on as before."""

from __future__ import annotations

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
from websockets.sync.client import connect

from app.httpserver import HEADER_LIMIT, HEADER_TIMEOUT
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
            # A connection that never says anything is closed too.
            assert answer(silent) == b""
            silent.close()

            # The websocket, open all along, still works.
            ws.send(json.dumps({"type": "presence", "status": "away"}))
            assert ws.ping().wait(5)
        assert httpx.get(f"{base}/healthz").status_code == 200
