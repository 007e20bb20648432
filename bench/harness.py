"""What the benchmarks share: a real `panjereh serve` (or the bare ceiling endpoint) as a
subprocess on loopback with its CPU, memory and complaints, an administrator's token and an
`api` inbox on it, a cheap keep-alive HTTP client, realistic customer texts, percentiles,
the machine's description and load, the database's, and a py-spy profile of a server.

bench/ is not a package: each benchmark runs as a script with this folder on its path, and
imports this module as `harness`."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import platform
import random
import secrets
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the repository's app and tests/support, from any directory

# Importable once ROOT is on the path:
from app.db import sync_url, table  # noqa: E402
from app.models import (  # noqa: E402
    Contact,
    ContactIdentity,
    Conversation,
    ConversationLabel,
    Message,
)
from tests.support.servers import free_port, start_postgres  # noqa: E402

BIN = Path(sys.executable).parent
HOST = "127.0.0.1"
ADMIN_EMAIL = "bench@example.com"
ADMIN_PASSWORD = "bench-password-123"  # noqa: S105 - a throwaway server

MARKER = b'"type":"message.created"'
EXTERNAL_ID = b'"external_id":"'
FRAME_END = b'},"at":'  # once per frame: `data` is an object, and `at` follows it

READY_TIMEOUT = 90.0  # seconds for a server to answer /readyz (it migrates first)
STOP_TIMEOUT = 10.0  # seconds for a server to exit on SIGTERM before it is killed

TEXTS = (
    "سلام، سفارش من هنوز نرسیده است. کد پیگیری ۴۵۸۱۲۳ است.",
    "سلام وقت بخیر، چطور می‌توانم رمز عبورم را تغییر دهم؟",
    "مبلغ از حساب من کم شده ولی سفارش ثبت نشده. لطفاً بررسی کنید.",
    "ممنون از پاسخ سریع‌تان، مشکل حل شد.",
    "آیا امکان تعویض سایز کفش وجود دارد؟ سایز ۴۲ سفارش دادم ولی کوچک است.",
    "Hi, my order #58213 still hasn't arrived. It's been over a week.",
    "Can I change the delivery address for order 77120? I moved last month.",
    "The invoice I received shows the wrong VAT number, could you reissue it?",
    "Thanks, that fixed it!",
    "Hello — the app crashes every time I open the payment page (Android 14, v3.2.1).",
    "Is there a discount for annual plans? We are a team of 12.",
    "I was charged twice for the same subscription this month. Please refund one.",
)


# --------------------------------------------------------------------------- the client


class RawConnection:
    """A minimal HTTP/1.1 keep-alive client connection: just enough for these answers."""

    def __init__(self, port: int, path: str, api_key: str) -> None:
        self.port = port
        self._head = (
            f"POST {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
            f"Content-Type: application/json\r\nX-Api-Key: {api_key}\r\n"
        ).encode()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def post(self, body: bytes) -> int:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(HOST, self.port)
        reader, writer = self._reader, self._writer
        assert reader is not None
        writer.write(self._head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
        status_line = await reader.readline()
        if not status_line:
            raise ConnectionResetError("server closed the connection")
        status = int(status_line.split(b" ", 2)[1])
        length, chunked, close = 0, False, False
        while True:
            line = await reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif name == b"connection":
                close = b"close" in value.lower()
        if chunked:
            while size := int((await reader.readline()).split(b";")[0], 16):
                await reader.readexactly(size + 2)
            await reader.readline()
        elif length:
            await reader.readexactly(length)
        if close:
            await self.close()
        return status

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(Exception):
                await self._writer.wait_closed()
        self._reader = self._writer = None


# --------------------------------------------------------------------------- servers


@dataclass
class Server:
    name: str
    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def cpu_seconds(self) -> float | None:
        """User + system CPU of the server process (all its threads), from /proc."""
        try:
            stat = Path(f"/proc/{self.proc.pid}/stat").read_text()
        except OSError:
            return None
        fields = stat.rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def peak_rss_mib(self) -> float | None:
        """The server process's peak resident memory so far (VmHWM), from /proc."""
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return None

    def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        with httpx.Client(timeout=5.0) as client:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(
                        f"{self.name} exited with {self.proc.returncode}:\n{self.tail()}"
                    )
                with contextlib.suppress(httpx.HTTPError):
                    if client.get(f"{self.base_url}/readyz").status_code == 200:
                        return
                time.sleep(0.2)
        raise RuntimeError(f"{self.name} not ready after {READY_TIMEOUT:.0f} s:\n{self.tail()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(STOP_TIMEOUT)

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def complaints(self) -> list[str]:
        """Log lines at WARNING or above, tracebacks, and SQLite lock errors."""
        try:
            text_ = self.log.read_text(errors="replace")
        except OSError:
            return []
        markers = ("WARNING", "ERROR", "CRITICAL", "Traceback", "locked", "Exception")
        return [line for line in text_.splitlines() if any(m in line for m in markers)]


@contextlib.contextmanager
def server(
    name: str, cmd: list[str], env: dict[str, str], cwd: Path, log: Path
) -> Iterator[Server]:
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
    srv = Server(name=name, proc=proc, port=int(cmd[cmd.index("--port") + 1]), log=log)
    try:
        srv.wait_ready()
        yield srv
    finally:
        srv.stop()


@contextlib.contextmanager
def worker_process(name: str, env: dict[str, str], cwd: Path, log: Path) -> Iterator[Server]:
    """`panjereh worker` beside a server started with PANJEREH_RUN_WORKERS=false (it has no
    port: `Server.port` is 0)."""
    cmd = [*panjereh_prefix(), "--log-level", "warning", "worker"]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
    srv = Server(name=name, proc=proc, port=0, log=log)
    try:
        yield srv
    finally:
        srv.stop()


def panjereh_env(workdir: Path, database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PANJEREH_")}
    env.update(
        PANJEREH_DATABASE_URL=database_url,
        PANJEREH_DATA_DIR=str(workdir / "data"),
        PANJEREH_ADMIN_EMAIL=ADMIN_EMAIL,
        PANJEREH_ADMIN_PASSWORD=ADMIN_PASSWORD,
    )
    return env


def panjereh_prefix() -> list[str]:
    """How to run the `panjereh` CLI: the venv's script, else the module."""
    exe = BIN / "panjereh"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "app.cli"]


def panjereh_cmd(port: int) -> list[str]:
    return [*panjereh_prefix(), "--log-level", "warning", "serve", "--port", str(port)]


@contextlib.contextmanager
def bare_server(workdir: Path) -> Iterator[Server]:
    """bench/bare_server.py: Panjereh's ingest route that only parses the body, under the
    same uvicorn settings (the ceiling for this client on this machine)."""
    cmd = [sys.executable, str(ROOT / "bench" / "bare_server.py")]
    cmd += ["--port", str(free_port()), "--log-level", "warning"]
    with server("bare", cmd, dict(os.environ), workdir, workdir / "bare.log") as srv:
        yield srv


def login(srv: Server) -> str:
    """The administrator's bearer token."""
    response = httpx.post(
        f"{srv.base_url}/api/v1/auth/login",
        json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
        timeout=30,
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


def setup_inbox(srv: Server) -> tuple[int, str]:
    """Log in as the administrator and create an `api` inbox: (inbox id, api key)."""
    with httpx.Client(base_url=srv.base_url, timeout=30.0) as client:
        created = client.post(
            "/api/v1/inboxes",
            json={"kind": "api", "name": "Bench", "config": {}},
            headers={"Authorization": f"Bearer {login(srv)}"},
        )
        if created.status_code != 201:
            raise RuntimeError(f"creating the inbox: {created.status_code} {created.text}")
        inbox = created.json()
        return int(inbox["id"]), str(inbox["api_key"])


# --------------------------------------------------------------------------- the database


def scalar(database_url: str, sql: str, **params: Any) -> Any:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        with contextlib.closing(sqlite3.connect(url.database or ":memory:")) as conn:
            return conn.execute(sql, params).fetchone()[0]  # sqlite3 takes :name too
    engine = create_engine(sync_url(database_url))
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()
    finally:
        engine.dispose()


def database_label(database_url: str) -> str:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return f"SQLite {sqlite3.sqlite_version} (WAL, synchronous=NORMAL)"
    version = str(scalar(database_url, "SHOW server_version"))
    return f"PostgreSQL {version.split()[0]}"


# --------------------------------------------------------------------------- a data set at size
# The conversation list's and the reports' benchmarks fill the database with these.

INBOXES = 4
AGENTS = 10
RARE_WORD = "zanzibar"  # in one conversation in a thousand
STATUSES = ["open"] * 30 + ["pending"] * 10 + ["snoozed"] * 5 + ["resolved"] * 55
NAMES = ("Sara Rahimi", "مریم احمدی", "John Smith", "Reza Karimi", "Ana García", "علی رضایی")
BATCH = 5_000  # rows per INSERT
CHUNK = 20_000  # customers generated at a time


def contact_name(n: int) -> str:
    return f"{NAMES[n % len(NAMES)]} {n}"


def set_up(client: httpx.Client) -> tuple[list[int], list[int]]:
    """Inboxes and agents through the API: (inbox ids, agent ids)."""
    inboxes = []
    for n in range(INBOXES):
        created = client.post(
            "/api/v1/inboxes", json={"kind": "api", "name": f"Shop {n}", "config": {}}
        )
        created.raise_for_status()
        inboxes.append(int(created.json()["id"]))
    agents = []
    for n in range(AGENTS):
        created = client.post(
            "/api/v1/agents",
            json={"email": f"agent{n}@example.com", "name": f"Agent {n}", "password": "x" * 12},
        )
        created.raise_for_status()
        agents.append(int(created.json()["id"]))
    return inboxes, agents


@dataclass
class Rows:
    """What `fill` inserts, table by table."""

    contacts: list[dict[str, Any]] = field(default_factory=list)
    identities: list[dict[str, Any]] = field(default_factory=list)
    conversations: list[dict[str, Any]] = field(default_factory=list)
    labels: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)

    def add(self, n: int, rng: random.Random, per: int, inbox_id: int, agents: list[int]) -> None:
        """Customer n: a contact, an identity, one conversation and its `per` messages."""
        now = datetime.now(UTC)
        last = now - timedelta(seconds=rng.randrange(365 * 24 * 3600))
        status = rng.choice(STATUSES)
        texts = [rng.choice(TEXTS) for _ in range(per)]
        if n % 1000 == 500:
            texts[-1] += f" I am writing from {RARE_WORD}."
        self.contacts.append(
            {"id": n, "name": contact_name(n), "attributes": {}, "created_at": last,
             "updated_at": last}
        )  # fmt: skip
        self.identities.append(
            {"contact_id": n, "kind": "api", "address": f"{inbox_id}:c{n}", "reachable": True,
             "created_at": last}
        )  # fmt: skip
        self.conversations.append(
            {
                "id": n, "inbox_id": inbox_id, "contact_id": n, "status": status,
                "priority": "none",
                "assignee_id": rng.choice(agents) if rng.random() < 0.6 else None,
                "last_message_preview": texts[-1][:300], "last_message_at": last,
                "last_activity_at": last, "unread_count": 0,
                "resolved_at": last if status == "resolved" else None,
                "first_resolved_at": last if status == "resolved" else None,
                # The first reply (message 1) an hour after the customer's first message.
                "first_response_at": last - timedelta(hours=per - 1) if per > 1 else None,
                "snoozed_until": now + timedelta(days=1) if status == "snoozed" else None,
                "created_at": last - timedelta(hours=per), "updated_at": last,
            }
        )  # fmt: skip
        if rng.random() < 0.2:
            label = rng.choice(("vip", "refund", "bug"))
            self.labels.append({"conversation_id": n, "label": label})
        for k, body in enumerate(texts):
            at = last - timedelta(hours=per - k)
            inbound = k % 2 == 0
            self.messages.append(
                {
                    "conversation_id": n, "inbox_id": inbox_id,
                    "direction": "inbound" if inbound else "outbound",
                    "sender_contact_id": n if inbound else None, "body_text": body,
                    "external_id": f"bench-{n}-{k}", "is_auto": False, "attempts": 0,
                    "metadata": {}, "delivery_status": None if inbound else "sent",
                    "created_at": at, "updated_at": at,
                }
            )  # fmt: skip


def fill(
    database_url: str, conversations: int, per: int, inboxes: list[int], agents: list[int]
) -> None:
    """Customers 1..conversations (the database has none yet), in multi-row INSERTs, a
    chunk of customers at a time (a million messages need not sit in memory at once)."""
    rng = random.Random(7)
    engine = create_engine(sync_url(database_url))
    try:
        with engine.begin() as conn:
            for first in range(1, conversations + 1, CHUNK):
                rows = Rows()
                for n in range(first, min(first + CHUNK, conversations + 1)):
                    rows.add(n, rng, per, inboxes[n % len(inboxes)], agents)
                for model, values in (
                    (Contact, rows.contacts),
                    (ContactIdentity, rows.identities),
                    (Conversation, rows.conversations),
                    (ConversationLabel, rows.labels),
                    (Message, rows.messages),
                ):
                    for start in range(0, len(values), BATCH):
                        conn.execute(insert(table(model)), values[start : start + BATCH])
            conn.execute(text("ANALYZE"))
    finally:
        engine.dispose()


@contextlib.contextmanager
def serving(env: dict[str, str], workdir: Path, name: str) -> Iterator[httpx.Client]:
    """A `panjereh serve` and a client logged in as the administrator; on the way out, the
    server's complaints (log lines at WARNING or above), if any."""
    cmd = panjereh_cmd(free_port())
    with server(name, cmd, env, workdir, workdir / f"{name}.log") as srv:
        with httpx.Client(base_url=srv.base_url, timeout=60.0) as client:
            client.headers["Authorization"] = f"Bearer {login(srv)}"
            yield client
        for line in srv.complaints()[:20]:
            print(f"  server ({name}): {line}")


@contextlib.contextmanager
def database(workdir: Path, postgres: bool) -> Iterator[str]:
    if not postgres:
        yield f"sqlite:///{workdir}/bench.db"
        return
    pg = start_postgres(workdir / "pg")
    try:
        yield pg.create_database("bench")
    finally:
        pg.stop()


# --------------------------------------------------------------------------- the machine, profiles


def machine_busy_seconds() -> float | None:
    """CPU seconds all cores have spent not idle since boot, from /proc/stat."""
    try:
        first = Path("/proc/stat").read_text().splitlines()[0].split()
    except (OSError, IndexError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in first[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def start_profiler(pid: int, seconds: float, out: Path) -> subprocess.Popen[bytes] | None:
    """py-spy sampling the server into collapsed stacks, if installed: 100 Hz, only the thread
    holding the GIL (Python CPU; idle worker threads and SQLite's own C work, which releases the
    GIL, are left out)."""
    exe = BIN / "py-spy"
    if not exe.exists():
        print("  (no py-spy in the venv: `pip install py-spy` to profile)")
        return None
    cmd = [str(exe), "record", "--pid", str(pid), "--duration", str(max(1, int(seconds)))]
    cmd += ["--rate", "100", "--gil", "--format", "raw", "--output", str(out)]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def finish_profiler(
    spy: subprocess.Popen[bytes], path: Path, seconds: float, name: str = "the server"
) -> list[str]:
    """Wait for py-spy (started for `seconds`) to write its profile; what it found, or why
    it failed."""
    try:
        _, err = spy.communicate(timeout=seconds + 30)
    except subprocess.TimeoutExpired:
        spy.kill()
        _, err = spy.communicate()
    if spy.returncode:
        return [f"py-spy failed ({spy.returncode}): {err.decode(errors='replace')[-500:]}"]
    return [f"profile of {name} written to {path}", *summarize_profile(path)]


def summarize_profile(path: Path, top: int = 12) -> list[str]:
    """Where the samples are: by package at the top of the stack, by the deepest frame in the
    project's own code (app/, connectors/), and the hottest functions."""
    by_package: Counter[str] = Counter()
    by_project_frame: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    with contextlib.suppress(OSError):
        for line in path.read_text(errors="replace").splitlines():
            stack, _, count_text = line.rpartition(" ")
            if not count_text.isdigit():
                continue
            frames = [_short_frame(f) for f in stack.split(";") if ".py:" in f]
            if not frames:
                continue
            count = int(count_text)
            total += count
            own[frames[-1]] += count
            by_package[_frame_package(frames[-1])] += count
            project = [f for f in frames if _frame_package(f) in ("app", "connectors")]
            # SQLAlchemy runs the ORM in greenlets, whose stacks py-spy shows without the caller.
            by_project_frame[project[-1] if project else "(no project frame on the stack)"] += count
    if not total:
        return ["(no samples)"]

    def share(counter: Counter[str], n: int) -> list[str]:
        return [f"  {v / total:6.1%}  {k}" for k, v in counter.most_common(n)]

    return [
        f"{total} samples of the thread holding the GIL",
        "by package (top of the stack):",
        *share(by_package, 8),
        "by deepest frame of the project's own code:",
        *share(by_project_frame, top),
        "hottest functions (self):",
        *share(own, top),
    ]


def _short_frame(frame: str) -> str:
    """`func (…/site-packages/pkg/mod.py:12)` → `func (pkg/mod.py:12)`."""
    name, _, where = frame.partition(" (")
    where = where.rstrip(")")
    for marker in ("site-packages/", str(ROOT) + "/", "/lib/python3."):
        if marker in where:
            where = where.split(marker, 1)[1]
            if marker == "/lib/python3.":
                where = where.split("/", 1)[-1]
            break
    return f"{name.strip()} ({where})"


def _frame_package(frame: str) -> str:
    where = frame.rpartition(" (")[2]
    return where.split("/", 1)[0] if "/" in where else where.split(".py", 1)[0]


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q * len(sorted_values)) - 1))
    return sorted_values[index]


def machine() -> str:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = " × " + line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} cores{model}, Python {platform.python_version()}"


# --------------------------------------------------------------------------- webhooks


@contextlib.contextmanager
def webhook_receiver(workdir: Path) -> Iterator[Server]:
    """bench/webhook_receiver.py: answers webhooks 200 and keeps their commit→arrival lag."""
    cmd = [sys.executable, str(ROOT / "bench" / "webhook_receiver.py")]
    cmd += ["--port", str(free_port()), "--log-level", "warning"]
    with server("receiver", cmd, dict(os.environ), workdir, workdir / "receiver.log") as srv:
        yield srv


def subscribe_webhooks(srv: Server, receiver: Server, count: int, events: list[str]) -> None:
    """`count` webhooks on `srv`, each to its own path on the receiver."""
    with httpx.Client(base_url=srv.base_url, timeout=30.0) as client:
        headers = {"Authorization": f"Bearer {login(srv)}"}
        for n in range(count):
            created = client.post(
                "/api/v1/webhooks",
                json={"url": f"{receiver.base_url}/hook/{n}", "events": events},
                headers=headers,
            )
            if created.status_code != 201:
                raise RuntimeError(f"creating a webhook: {created.status_code} {created.text}")


# --------------------------------------------------------------------------- sockets


@dataclass
class Arrivals:
    """What every socket received: (external id, arrival time, socket index) of
    message.created frames."""

    seen: list[tuple[bytes, float, int]] = field(default_factory=list)
    frames: int = 0
    messages: int = 0  # websocket messages (protocol 2: one can hold several frames)
    chars: int = 0
    per_socket: Counter[int] = field(default_factory=Counter)
    closed: Counter[int] = field(default_factory=Counter)  # close codes


class RawSocket(asyncio.Protocol):
    """Just enough of a websocket client: upgrade, read unmasked server frames, answer pings."""

    def __init__(self, index: int, path: str, arrivals: Arrivals) -> None:
        self.index = index
        self.path = path
        self.arrivals = arrivals
        self.buffer = bytearray()
        self.upgraded = False
        self.ready = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        key = base64.b64encode(secrets.token_bytes(16)).decode()
        transport.write(
            f"GET {self.path} HTTP/1.1\r\nHost: {HOST}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.upgraded:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            if b" 101 " not in self.buffer[: self.buffer.find(b"\r\n")]:
                self.ready.set_exception(RuntimeError(bytes(self.buffer[:200]).decode()))
                return
            del self.buffer[: end + 4]
            self.upgraded = True
        self._frames()

    def _frames(self) -> None:
        buf, now = self.buffer, time.monotonic()
        while len(buf) >= 2:
            opcode, length, pos = buf[0] & 0x0F, buf[1] & 0x7F, 2
            if length == 126:
                if len(buf) < 4:
                    return
                length, pos = int.from_bytes(buf[2:4], "big"), 4
            elif length == 127:
                if len(buf) < 10:
                    return
                length, pos = int.from_bytes(buf[2:10], "big"), 10
            if len(buf) < pos + length:
                return
            payload = bytes(buf[pos : pos + length])
            del buf[: pos + length]
            if opcode == 1:
                self._text(payload, now)
            elif opcode == 9:  # ping: answer, or uvicorn drops us after ws_ping_timeout
                self._send(0xA, payload)
            elif opcode == 8:
                code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
                self.arrivals.closed[code] += 1

    def _text(self, payload: bytes, now: float) -> None:
        arrivals = self.arrivals
        arrivals.messages += 1
        arrivals.frames += payload.count(FRAME_END) if payload[:1] == b"[" else 1
        arrivals.chars += len(payload)
        if not self.ready.done() and b'"type":"ready"' in payload:
            self.ready.set_result(None)
        at = payload.find(MARKER)
        while at >= 0:
            start = payload.index(EXTERNAL_ID, at) + len(EXTERNAL_ID)
            arrivals.seen.append((payload[start : payload.index(b'"', start)], now, self.index))
            arrivals.per_socket[self.index] += 1
            at = payload.find(MARKER, start)

    def _send(self, opcode: int, payload: bytes) -> None:
        mask = secrets.token_bytes(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        assert self.transport is not None
        assert len(payload) < 126
        self.transport.write(bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + masked)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def open_sockets(
    ports: list[int], token: str, count: int, arrivals: Arrivals, protocol: int = 2
) -> list[RawSocket]:
    loop = asyncio.get_running_loop()
    sockets: list[RawSocket] = []

    async def one(i: int) -> None:
        path = f"/ws/agent?token={token}&protocol={protocol}"
        _, proto = await loop.create_connection(
            lambda: RawSocket(i, path, arrivals), HOST, ports[i % len(ports)]
        )
        await asyncio.wait_for(proto.ready, 60)
        sockets.append(proto)

    for start in range(0, count, 100):  # in waves: a thousand handshakes at once is a DoS
        await asyncio.gather(*(one(i) for i in range(start, min(count, start + 100))))
    return sockets


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0
