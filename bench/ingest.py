"""Inbound throughput: how many `api`-channel messages per second one `panjereh serve` stores.

    .venv/bin/python bench/ingest.py [--seconds 10] [--concurrency 32] [--senders 1000]
                                     [--database-url postgresql://...] [--client-procs 1]

What it does, all on loopback, and then it stops by itself (it prints figures, it never
asserts a time):

1. Starts a real server, `panjereh --log-level warning serve --port P`, as a subprocess
   with a fresh SQLite database and data directory in a temporary directory (or the
   database given by `--database-url`, e.g. PostgreSQL), an administrator from
   PANJEREH_ADMIN_EMAIL / PANJEREH_ADMIN_PASSWORD and otherwise the defaults (so the
   delivery worker and the periodic jobs run embedded, as in `make run`). Inherited
   PANJEREH_* variables are dropped and the server runs in the temporary directory (no
   stray `.env`), so runs are comparable. It waits for `GET /readyz` = 200.
2. Logs in and creates an `api` inbox.
3. Warms up, then for `--seconds` runs a closed-loop load: `--concurrency` keep-alive
   connections, each sending `POST /api/v1/inboxes/{id}/incoming` (header `X-Api-Key`)
   one after another, with a unique `external_id`, a sender drawn uniformly from
   `--senders` ids (so the mix has first messages, which create a contact and a
   conversation, and continuing conversations) and a realistic text, English or Persian.
   It records every request's latency (from writing the request to reading the whole
   answer) and every status. Afterwards it counts the messages stored in the bench inbox
   with SQL directly on the database (sqlite3 on the file; SQLAlchemy for PostgreSQL)
   and checks the count against the 201s.
4. Runs the same load against `bench/bare_server.py`: the same route, header and pydantic
   body model, no middleware and no database, under the same uvicorn settings. That is
   the ceiling for this client on this machine; the ratio Panjereh/bare is what storing
   a message costs.
5. Prints requests/s, stored messages/s, p50/p99 latency, 5xx and transport errors, the
   CPU seconds the server and the client used (and how much other processes took: the
   figures mean little on a busy machine), the server's peak resident memory, anything
   the server logged at WARNING or above, and a markdown table for the README.

The client. It shares the machine (2 cores where this was written) with the server, so it
must be cheap. By default it is a minimal HTTP/1.1 keep-alive client on asyncio streams
(uvloop when installed), one connection per task, costing ~60 µs of CPU per request.
`--client httpx` uses `httpx.AsyncClient` with a pool of `--concurrency` connections
instead, but httpx is far too slow to measure a server with: against the bare endpoint it
saturated its own core at ~300 req/s in one process and ~850 req/s in two. Measured on the
2-core machine against the bare endpoint (32 connections, 5 s runs):

    raw,   1 process:  ~6,000 req/s  (bare server 100% of a core, client ~36%)
    raw,   2 processes: ~6,000 req/s  (no gain: uvicorn's one process is the bottleneck)
    httpx, 1 process:    ~300 req/s  (client 100% of a core)
    httpx, 2 processes:  ~850 req/s  (clients 170%)

so the default is the raw client in ONE process (a second process only takes CPU from the
server); `--client-procs N` splits the connections over N processes and sums the results.

Profiling: `--profile FILE` records Panjereh's measured phase with py-spy (`pip install
py-spy` into the venv) and prints where the samples are.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import multiprocessing
import os
import platform
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
HOST = "127.0.0.1"
ADMIN_EMAIL = "bench@example.com"
ADMIN_PASSWORD = "bench-password-123"  # noqa: S105 - a throwaway server
INGEST_PATH = "/api/v1/inboxes/{inbox_id}/incoming"

REQUEST_TIMEOUT = 30.0  # seconds for one request; a stuck request is an error, not a hang
READY_TIMEOUT = 90.0  # seconds for a server to answer /readyz (it migrates first)
DRAIN_GRACE = 60.0  # seconds after the deadline for in-flight requests to finish
STOP_TIMEOUT = 10.0  # seconds for a server to exit on SIGTERM before it is killed

ClientKind = Literal["raw", "httpx"]

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


# --------------------------------------------------------------------------- the load


@dataclass(frozen=True)
class LoadSpec:
    """One client process's share of the load (picklable, for multiprocessing)."""

    port: int
    path: str
    api_key: str
    connections: int
    start_at: float  # time.monotonic() (system-wide on Linux) at which to start sending
    seconds: float
    senders: int
    tag: str  # makes external ids unique across phases, processes and runs
    client: ClientKind
    seed: str


@dataclass
class LoadResult:
    latencies: list[float] = field(default_factory=list)  # seconds, every answered request
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)  # transport errors, by type
    started: float = 0.0
    finished: float = 0.0
    cpu_seconds: float = 0.0  # this client process's CPU time during the load

    def merge(self, other: LoadResult) -> None:
        self.latencies.extend(other.latencies)
        self.statuses.update(other.statuses)
        self.errors.update(other.errors)
        self.started = min(self.started, other.started) if self.started else other.started
        self.finished = max(self.finished, other.finished)
        self.cpu_seconds += other.cpu_seconds


class Bodies:
    """Request bodies: unique external ids, senders drawn uniformly, realistic texts."""

    def __init__(self, spec: LoadSpec) -> None:
        self._rng = random.Random(spec.seed)
        self._tag = spec.tag
        self._senders = spec.senders
        self._seq = 0

    def next(self) -> bytes:
        self._seq += 1
        n = self._rng.randrange(self._senders)
        payload = {
            "external_id": f"{self._tag}-{self._seq}",
            "sender": {"id": f"cust-{n}", "name": f"Customer {n}"},
            "text": self._rng.choice(TEXTS),
        }
        return json.dumps(payload, ensure_ascii=False).encode()


class RawConnection:
    """A minimal HTTP/1.1 keep-alive client connection: just enough for these answers."""

    def __init__(self, port: int, path: str, api_key: str) -> None:
        self._port = port
        self._head = (
            f"POST {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
            f"Content-Type: application/json\r\nX-Api-Key: {api_key}\r\n"
        ).encode()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def post(self, body: bytes) -> int:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(HOST, self._port)
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


async def _load(spec: LoadSpec) -> LoadResult:
    result = LoadResult()
    bodies = Bodies(spec)
    url = f"http://{HOST}:{spec.port}{spec.path}"
    headers = {"Content-Type": "application/json", "X-Api-Key": spec.api_key}
    limits = httpx.Limits(
        max_connections=spec.connections, max_keepalive_connections=spec.connections
    )
    pool = httpx.AsyncClient(limits=limits, timeout=REQUEST_TIMEOUT)
    raws = [RawConnection(spec.port, spec.path, spec.api_key) for _ in range(spec.connections)]
    deadline = spec.start_at + spec.seconds

    async def post(raw: RawConnection, body: bytes) -> int:
        if spec.client == "raw":
            return await raw.post(body)
        response = await pool.post(url, content=body, headers=headers)
        return response.status_code

    async def worker(raw: RawConnection) -> None:
        while time.monotonic() < deadline:
            body = bodies.next()
            t0 = time.perf_counter()
            try:
                status = await asyncio.wait_for(post(raw, body), REQUEST_TIMEOUT)
            except (
                OSError,  # refused, reset
                EOFError,  # asyncio.IncompleteReadError: closed mid-answer
                TimeoutError,
                ValueError,  # a malformed status line or header
                IndexError,
                asyncio.LimitOverrunError,
                httpx.HTTPError,
            ) as exc:
                result.errors[type(exc).__name__] += 1
                await raw.close()
                await asyncio.sleep(0.05)  # a refused connection must not spin
                continue
            result.latencies.append(time.perf_counter() - t0)
            result.statuses[status] += 1

    await asyncio.sleep(max(0.0, spec.start_at - time.monotonic()))
    cpu0 = time.process_time()
    result.started = time.monotonic()
    try:
        tasks = [asyncio.create_task(worker(raw)) for raw in raws]
        done, pending = await asyncio.wait(
            tasks, timeout=max(0.0, deadline - time.monotonic()) + DRAIN_GRACE
        )
        for task in pending:
            task.cancel()
            result.errors["not_drained"] += 1
        for task in done:
            task.result()
        result.finished = time.monotonic()
        result.cpu_seconds = time.process_time() - cpu0
    finally:
        await pool.aclose()
        for raw in raws:
            await raw.close()
    return result


def run_load(spec: LoadSpec) -> LoadResult:
    """One client process's load, on uvloop when it is installed."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(_load(spec))
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(_load(spec))


def drive(
    *,
    port: int,
    path: str,
    api_key: str,
    seconds: float,
    concurrency: int,
    senders: int,
    procs: int,
    client: ClientKind,
    tag: str,
) -> LoadResult:
    """The whole load: `concurrency` connections over `procs` client processes, summed."""
    share = [concurrency // procs + (1 if i < concurrency % procs else 0) for i in range(procs)]
    # Spawned processes need a moment to import; they all start sending at the same instant.
    start_at = time.monotonic() + (0.0 if procs == 1 else 3.0)
    specs = [
        LoadSpec(
            port=port,
            path=path,
            api_key=api_key,
            connections=n,
            start_at=start_at,
            seconds=seconds,
            senders=senders,
            tag=f"{tag}-p{i}",
            client=client,
            seed=f"{tag}-{i}",
        )
        for i, n in enumerate(share)
        if n
    ]
    total = LoadResult()
    if len(specs) == 1:
        total.merge(run_load(specs[0]))
        return total
    with multiprocessing.get_context("spawn").Pool(len(specs)) as pool:
        for part in pool.map(run_load, specs):
            total.merge(part)
    return total


# --------------------------------------------------------------------------- servers


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


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


def panjereh_env(workdir: Path, database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PANJEREH_")}
    env.update(
        PANJEREH_DATABASE_URL=database_url,
        PANJEREH_DATA_DIR=str(workdir / "data"),
        PANJEREH_ADMIN_EMAIL=ADMIN_EMAIL,
        PANJEREH_ADMIN_PASSWORD=ADMIN_PASSWORD,
    )
    return env


def panjereh_cmd(port: int) -> list[str]:
    exe = BIN / "panjereh"
    prefix = [str(exe)] if exe.exists() else [sys.executable, "-m", "app.cli"]
    return [*prefix, "--log-level", "warning", "serve", "--port", str(port)]


def setup_inbox(srv: Server) -> tuple[int, str]:
    """Log in as the administrator and create an `api` inbox: (inbox id, api key)."""
    with httpx.Client(base_url=srv.base_url, timeout=30.0) as client:
        login = client.post(
            "/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        )
        login.raise_for_status()
        token = login.json()["access_token"]
        created = client.post(
            "/api/v1/inboxes",
            json={"kind": "api", "name": "Bench", "config": {}},
            headers={"Authorization": f"Bearer {token}"},
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
    from app.db import sync_url

    engine = create_engine(sync_url(database_url))
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()
    finally:
        engine.dispose()


def stored_counts(database_url: str, inbox_id: int) -> tuple[int, int, int]:
    """(inbound messages, conversations, contacts) of the bench inbox."""
    messages = scalar(
        database_url,
        "SELECT count(*) FROM messages WHERE inbox_id = :i AND direction = 'inbound'",
        i=inbox_id,
    )
    conversations = scalar(
        database_url, "SELECT count(*) FROM conversations WHERE inbox_id = :i", i=inbox_id
    )
    contacts = scalar(
        database_url,
        "SELECT count(DISTINCT contact_id) FROM conversations WHERE inbox_id = :i",
        i=inbox_id,
    )
    return int(messages), int(conversations), int(contacts)


def database_label(database_url: str) -> str:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return f"SQLite {sqlite3.sqlite_version} (WAL, synchronous=NORMAL)"
    version = str(scalar(database_url, "SHOW server_version"))
    return f"PostgreSQL {version.split()[0]}"


# --------------------------------------------------------------------------- CPU and profile


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


# --------------------------------------------------------------------------- report


@dataclass
class Figures:
    name: str
    requests: int
    ok: int  # 201s
    elapsed: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    non_2xx: dict[int, int]
    errors: dict[str, int]
    server_cpu: float | None
    client_cpu: float
    machine_busy: float | None = None  # CPU seconds all cores were busy around the load
    machine_wall: float = 0.0  # ... in this many seconds (client processes' start included)
    stored: int | None = None
    peak_rss_mib: float | None = None  # the server's, at the end of the load

    @property
    def rps(self) -> float:
        return self.ok / self.elapsed if self.elapsed else 0.0

    @property
    def stored_per_s(self) -> float | None:
        return None if self.stored is None else self.stored / self.elapsed


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q * len(sorted_values)) - 1))
    return sorted_values[index]


def figures(name: str, result: LoadResult, server_cpu: float | None) -> Figures:
    lat = sorted(result.latencies)
    return Figures(
        name=name,
        requests=sum(result.statuses.values()),
        ok=result.statuses.get(201, 0),
        elapsed=result.finished - result.started,
        p50_ms=percentile(lat, 0.50) * 1000,
        p99_ms=percentile(lat, 0.99) * 1000,
        max_ms=(lat[-1] if lat else float("nan")) * 1000,
        non_2xx={s: n for s, n in sorted(result.statuses.items()) if not 200 <= s < 300},
        errors=dict(result.errors),
        server_cpu=server_cpu,
        client_cpu=result.cpu_seconds,
    )


def print_figures(f: Figures) -> None:
    cpu = (
        "n/a" if f.server_cpu is None else f"{f.server_cpu:.1f} s ({f.server_cpu / f.elapsed:.0%})"
    )
    print(f"  answered      {f.requests} requests in {f.elapsed:.2f} s, {f.ok} × 201")
    print(f"  requests/s    {f.rps:,.0f} (201s per second)")
    if f.stored_per_s is not None:
        print(f"  stored/s      {f.stored_per_s:,.0f} ({f.stored} messages stored)")
    print(f"  latency       p50 {f.p50_ms:.1f} ms, p99 {f.p99_ms:.1f} ms, max {f.max_ms:.1f} ms")
    print(f"  non-2xx       {f.non_2xx or 'none'}")
    print(f"  transport     {f.errors or 'no errors'}")
    print(
        f"  CPU           server {cpu}, client {f.client_cpu:.1f} s "
        f"({f.client_cpu / f.elapsed:.0%})"
    )
    if f.machine_busy is not None and f.server_cpu is not None:
        others = max(0.0, f.machine_busy - f.server_cpu - f.client_cpu)
        print(
            f"  machine       {f.machine_busy:.1f} of {(os.cpu_count() or 1) * f.machine_wall:.1f} "
            f"core-seconds busy; other processes used ~{others:.1f} s"
            + ("  (!! the machine was not quiet)" if others > 0.1 * f.machine_wall else "")
        )
    if f.peak_rss_mib is not None:
        print(f"  memory        server peak RSS {f.peak_rss_mib:,.0f} MiB")


def measured(
    srv: Server, name: str, seconds: float, profile: Path | None, run: Callable[[], LoadResult]
) -> Figures:
    """Run the load and take the CPU figures around it (and a py-spy profile if asked)."""
    spy = start_profiler(srv.proc.pid, seconds, profile) if profile else None
    cpu0, busy0, wall0 = srv.cpu_seconds(), machine_busy_seconds(), time.monotonic()
    result = run()
    cpu1, busy1, wall1 = srv.cpu_seconds(), machine_busy_seconds(), time.monotonic()
    server_cpu = None if cpu0 is None or cpu1 is None else cpu1 - cpu0
    f = figures(name, result, server_cpu)
    if busy0 is not None and busy1 is not None:
        f.machine_busy, f.machine_wall = busy1 - busy0, wall1 - wall0
    f.peak_rss_mib = srv.peak_rss_mib()
    if spy is not None and profile is not None:
        try:
            _, err = spy.communicate(timeout=seconds + 30)
        except subprocess.TimeoutExpired:
            spy.kill()
            _, err = spy.communicate()
        if spy.returncode:
            print(f"  py-spy failed ({spy.returncode}): {err.decode(errors='replace')[-500:]}")
        else:
            print(f"  profile of {name} written to {profile}")
            for line in summarize_profile(profile):
                print(f"    {line}")
    return f


def machine() -> str:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = " × " + line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} cores{model}, Python {platform.python_version()}"


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measured load, per server")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured load first")
    parser.add_argument("--concurrency", type=int, default=32, help="connections in flight")
    parser.add_argument("--senders", type=int, default=1000, help="distinct sender ids")
    parser.add_argument("--client", choices=["raw", "httpx"], default="raw")
    parser.add_argument("--client-procs", type=int, default=1, help="client processes")
    parser.add_argument(
        "--database-url", help="run Panjereh on this database (default: SQLite in a temp dir)"
    )
    parser.add_argument("--skip-bare", action="store_true", help="measure Panjereh only")
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="FILE",
        help="record Panjereh's measured phase with py-spy into FILE (collapsed stacks) "
        "and print the hottest functions; sampling slows the server a little",
    )
    args = parser.parse_args(argv)
    if not (
        0 < args.seconds <= 3600
        and 0 <= args.warmup <= 600
        and 1 <= args.concurrency <= 1024
        and args.senders >= 1
        and 1 <= args.client_procs <= 16
    ):
        parser.error("out of range: 0<seconds<=3600, warmup<=600, 1<=concurrency<=1024, ...")

    # SIGTERM and SIGHUP end the run like Ctrl-C: the finally blocks stop the servers.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: sys.exit(1))

    run_tag = f"{int(time.time())}-{os.getpid()}"
    client_desc = (
        f"{args.client_procs} client process{'es' if args.client_procs > 1 else ''}, "
        f"{args.client} HTTP/1.1 keep-alive"
    )
    print(f"machine   {machine()}, load average {os.getloadavg()[0]:.2f} at start")
    print(
        f"load      {args.concurrency} connections, {args.seconds:g} s "
        f"(after {args.warmup:g} s warm-up), {args.senders} senders, {client_desc}"
    )

    def phase(port: int, path: str, api_key: str, tag: str, seconds: float) -> LoadResult:
        return drive(
            port=port,
            path=path,
            api_key=api_key,
            seconds=seconds,
            concurrency=args.concurrency,
            senders=args.senders,
            procs=args.client_procs,
            client=args.client,
            tag=f"{run_tag}-{tag}",
        )

    with tempfile.TemporaryDirectory(prefix="panjereh-bench-") as tmp:
        workdir = Path(tmp)
        database_url = args.database_url or f"sqlite:///{workdir / 'bench.db'}"

        # Panjereh.
        port = free_port()
        env = panjereh_env(workdir, database_url)
        log = workdir / "panjereh.log"
        with server("panjereh", panjereh_cmd(port), env, workdir, log) as srv:
            db_label = database_label(database_url)
            print(f"database  {db_label}")
            inbox_id, api_key = setup_inbox(srv)
            path = INGEST_PATH.format(inbox_id=inbox_id)
            if args.warmup:
                phase(port, path, api_key, "warm", args.warmup)
            before = stored_counts(database_url, inbox_id)
            run = functools.partial(phase, port, path, api_key, "pj", args.seconds)
            print("\nPanjereh  POST /api/v1/inboxes/{id}/incoming (stores the message)")
            pj = measured(srv, "Panjereh", args.seconds, args.profile, run)
            after = stored_counts(database_url, inbox_id)
            pj.stored = after[0] - before[0]
        complaints = srv.complaints()

        print_figures(pj)
        print(
            f"  inbox         {after[0]} messages in {after[1]} conversations "
            f"of {after[2]} contacts (warm-up included)"
        )
        if pj.stored != pj.ok:
            print(f"  !! stored {pj.stored} messages but counted {pj.ok} × 201")
        if complaints:
            print(f"  server log    {len(complaints)} warning/error lines, first ones:")
            for line in complaints[:10]:
                print(f"    {line[:200]}")
        else:
            print("  server log    nothing at WARNING or above")

        # The ceiling.
        bare: Figures | None = None
        if not args.skip_bare:
            port = free_port()
            cmd = [sys.executable, str(ROOT / "bench" / "bare_server.py")]
            cmd += ["--port", str(port), "--log-level", "warning"]
            with server("bare", cmd, dict(os.environ), workdir, workdir / "bare.log") as srv:
                path = INGEST_PATH.format(inbox_id=1)
                if args.warmup:
                    phase(port, path, "x", "bare-warm", args.warmup)
                run = functools.partial(phase, port, path, "x", "bare", args.seconds)
                print("\nBare      same route and body model, parse only (the ceiling)")
                bare = measured(srv, "bare", args.seconds, None, run)
            print_figures(bare)
            print(f"\nPanjereh / bare: {pj.rps / bare.rps:.1%} of the ceiling's requests/s")

        print("\n" + markdown(pj, bare, db_label, client_desc, args))
    return 0


def markdown(
    pj: Figures, bare: Figures | None, db_label: str, client_desc: str, args: argparse.Namespace
) -> str:
    rows = [
        "| endpoint | requests/s | stored msg/s | p50 ms | p99 ms | errors |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for f in (pj, bare):
        if f is None:
            continue
        errors = sum(f.non_2xx.values()) + sum(f.errors.values())
        stored = "—" if f.stored_per_s is None else f"{f.stored_per_s:,.0f}"
        label = (
            "Panjereh `POST /api/v1/inboxes/{id}/incoming`"
            if f is pj
            else "bare FastAPI parse-only endpoint"
        )
        rows.append(
            f"| {label} | {f.rps:,.0f} | {stored} | {f.p50_ms:.1f} | {f.p99_ms:.1f} | {errors} |"
        )
    ratio = f" Panjereh reaches {pj.rps / bare.rps:.0%} of the bare endpoint." if bare else ""
    return "\n".join(
        [
            *rows,
            "",
            f"Machine: {machine()}; database: {db_label}; one `panjereh serve` process. "
            f"Load: {args.concurrency} connections for {args.seconds:g} s, "
            f"{args.senders} senders, {client_desc}, on the same machine.{ratio} "
            "(`python bench/ingest.py`)",
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
