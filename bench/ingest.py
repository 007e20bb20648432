"""Inbound throughput: how many `api`-channel messages per second one `panjereh serve` stores.

    .venv/bin/python bench/ingest.py [--seconds 10] [--concurrency 32] [--senders 1000]
                                     [--database-url postgresql://...] [--client-procs 1]
                                     [--rules 20] [--webhooks 10] [--rounds 3] [--postgres]

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

Side by side: `--rules N` and `--webhooks N` each add a configuration of Panjereh, on its
own server and fresh database (`--postgres`: its own database of a throwaway PostgreSQL),
measured in the same run as the one without: N enabled rules of typical conditions
(channel, message text contains / matches, a contact attribute; the refund rules match one
text in 12 and label the conversation), which the server's embedded rules consumer
evaluates from the event log while the load runs; N webhooks subscribed to every event,
delivered by the server's embedded worker to a local receiver (~25 deliveries a message).
All servers run at once and are measured in turns, `--seconds` each split into `--rounds`
slices (3 by default) taken in a rotating order, so that the machine's load, which drifts,
falls on all of them alike; after each slice the bench waits until that server has
finished what the slice left it (its rules, its webhook deliveries) and says how long that
took. It prints each configuration's figures, then requests/s and the server's CPU per
request of each, as a ratio to the figures without: on a busy machine the CPU per request
is the steadier of the two.

`--worker` runs each server with PANJEREH_RUN_WORKERS=false and one `panjereh worker` process
beside it on the same database (the scaled-out setup on one machine): the rules, the webhook
fan-out and the deliveries then run there; the worker's CPU is printed beside the server's,
and a slice has settled when both are idle.

Profiling: `--profile FILE` records each Panjereh server's first slice with py-spy into
FILE.<configuration> (`pip install py-spy` into the venv) and prints where the samples are.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import multiprocessing
import os
import random
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import httpx
from harness import (  # bench/ is not a package: run as a script, its folder is on the path
    HOST,
    TEXTS,
    RawConnection,
    Server,
    bare_server,
    database_label,
    finish_profiler,
    free_port,
    login,
    machine,
    machine_busy_seconds,
    panjereh_cmd,
    panjereh_env,
    percentile,
    scalar,
    server,
    setup_inbox,
    start_profiler,
    subscribe_webhooks,
    webhook_receiver,
    worker_process,
)

from tests.support.servers import (  # importable once harness set the path
    PostgresServer,
    start_postgres,
)

INGEST_PATH = "/api/v1/inboxes/{inbox_id}/incoming"

REQUEST_TIMEOUT = 30.0  # seconds for one request; a stuck request is an error, not a hang
DRAIN_GRACE = 60.0  # seconds after the deadline for in-flight requests to finish

ClientKind = Literal["raw", "httpx"]


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


# --------------------------------------------------------------------------- the database


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
    worker_cpu: float | None = None  # --worker: the `panjereh worker` beside the server
    machine_busy: float | None = None  # CPU seconds all cores were busy around the load
    machine_wall: float = 0.0  # ... in this many seconds (client processes' start included)
    stored: int | None = None
    peak_rss_mib: float | None = None  # the server's, at the end of the load
    latencies_ms: list[float] = field(default_factory=list, repr=False)  # sorted

    @property
    def rps(self) -> float:
        return self.ok / self.elapsed if self.elapsed else 0.0

    @property
    def stored_per_s(self) -> float | None:
        return None if self.stored is None else self.stored / self.elapsed


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
        latencies_ms=[x * 1000 for x in lat],
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
    worker = "" if f.worker_cpu is None else f", worker {f.worker_cpu:.1f} s"
    print(
        f"  CPU           server {cpu}{worker}, client {f.client_cpu:.1f} s "
        f"({f.client_cpu / f.elapsed:.0%})"
    )
    if f.machine_busy is not None and f.server_cpu is not None:
        others = max(0.0, f.machine_busy - f.server_cpu - f.client_cpu - (f.worker_cpu or 0.0))
        print(
            f"  machine       {f.machine_busy:.1f} of {(os.cpu_count() or 1) * f.machine_wall:.1f} "
            f"core-seconds busy; other processes used ~{others:.1f} s"
            + ("  (!! the machine was not quiet)" if others > 0.1 * f.machine_wall else "")
        )
    if f.peak_rss_mib is not None:
        print(f"  memory        server peak RSS {f.peak_rss_mib:,.0f} MiB")


def measured(
    srv: Server,
    name: str,
    seconds: float,
    profile: Path | None,
    run: Callable[[], LoadResult],
    worker: Server | None = None,
) -> Figures:
    """Run the load and take the CPU figures around it (and a py-spy profile if asked)."""
    spy = start_profiler(srv.proc.pid, seconds, profile) if profile else None
    cpu0, busy0, wall0 = srv.cpu_seconds(), machine_busy_seconds(), time.monotonic()
    worker0 = worker.cpu_seconds() if worker else None
    result = run()
    cpu1, busy1, wall1 = srv.cpu_seconds(), machine_busy_seconds(), time.monotonic()
    worker1 = worker.cpu_seconds() if worker else None
    server_cpu = None if cpu0 is None or cpu1 is None else cpu1 - cpu0
    f = figures(name, result, server_cpu)
    if worker0 is not None and worker1 is not None:
        f.worker_cpu = worker1 - worker0
    if busy0 is not None and busy1 is not None:
        f.machine_busy, f.machine_wall = busy1 - busy0, wall1 - wall0
    f.peak_rss_mib = srv.peak_rss_mib()
    if spy is not None and profile is not None:
        first, *rest = finish_profiler(spy, profile, seconds, name)
        print(f"  {first}")
        for line in rest:
            print(f"    {line}")
    return f


# --------------------------------------------------------------------------- main


# Typical rules, each for its own case: most test the channel, a contact attribute or a
# word and do not match most messages; the refund and invoice ones match one text in 12
# and label the conversation.
_CHANNELS = ("email", "telegram", "sms", "webchat", "callback")
_WORDS = ("refund", "invoice", "warranty", "unsubscribe", "partnership", "گارانتی", "لغو", "cancel")


def rule_shapes(count: int) -> list[dict[str, object]]:
    """`count` rules: an event, typical conditions, an action."""
    shapes: list[dict[str, object]] = []
    for n in range(count):
        word = _WORDS[n % len(_WORDS)]
        conditions: list[dict[str, str]] = [
            {"field": "message.text", "op": "contains", "value": word},
        ]
        if n % 4 == 1:
            conditions.insert(0, {"field": "channel", "op": "equals", "value": _CHANNELS[n % 5]})
        if n % 4 == 2:
            conditions.append({"field": "contact.attributes.plan", "op": "equals", "value": "vip"})
        if n % 4 == 3:
            conditions = [{"field": "message.text", "op": "matches", "value": rf"\b{word}\w*"}]
        shapes.append(
            {
                "name": f"Rule {n + 1}",
                "event": "message.first_received" if n % 3 == 0 else "message.received",
                "conditions": conditions,
                "actions": [{"type": "add_label", "label": word}],
            }
        )
    return shapes


def add_rules(srv: Server, count: int) -> None:
    headers = {"Authorization": f"Bearer {login(srv)}"}
    with httpx.Client(base_url=srv.base_url, timeout=30.0, headers=headers) as client:
        for rule in rule_shapes(count):
            created = client.post("/api/v1/automations", json=rule)
            if created.status_code != 201:
                raise RuntimeError(f"creating a rule: {created.status_code} {created.text}")


@dataclass
class Variant:
    """One configuration of Panjereh under the same load: its own server and database."""

    name: str
    rules: int = 0
    webhooks: int = 0
    srv: Server | None = None
    worker: Server | None = None  # --worker
    database_url: str = ""
    inbox_id: int = 0
    api_key: str = ""
    receiver: Server | None = None
    slices: list[Figures] = field(default_factory=list)
    settle_seconds: list[float] = field(default_factory=list)
    stored: int = 0


def total(name: str, slices: list[Figures]) -> Figures:
    """The slices of one variant as one measurement."""
    lat = sorted(x for f in slices for x in f.latencies_ms)
    return Figures(
        name=name,
        requests=sum(f.requests for f in slices),
        ok=sum(f.ok for f in slices),
        elapsed=sum(f.elapsed for f in slices),
        p50_ms=percentile(lat, 0.50),
        p99_ms=percentile(lat, 0.99),
        max_ms=max(f.max_ms for f in slices),
        non_2xx=dict(sum((Counter(f.non_2xx) for f in slices), Counter())),
        errors=dict(sum((Counter(f.errors) for f in slices), Counter())),
        server_cpu=(
            None
            if any(f.server_cpu is None for f in slices)
            else sum(f.server_cpu or 0.0 for f in slices)
        ),
        client_cpu=sum(f.client_cpu for f in slices),
        worker_cpu=(
            None
            if any(f.worker_cpu is None for f in slices)
            else sum(f.worker_cpu or 0.0 for f in slices)
        ),
        machine_busy=(
            None
            if any(f.machine_busy is None for f in slices)
            else sum(f.machine_busy or 0.0 for f in slices)
        ),
        machine_wall=sum(f.machine_wall for f in slices),
        peak_rss_mib=max((f.peak_rss_mib or 0.0) for f in slices) or None,
        latencies_ms=lat,
    )


SETTLE_LIMIT = 300.0  # seconds a server may take to finish the work a slice left it


def settle(variant: Variant) -> float:
    """Wait until the server is idle again (its rules and webhook deliveries caught up), so
    its leftover work does not take the CPU from the next slice; how long that took."""
    assert variant.srv is not None
    processes = [p for p in (variant.srv, variant.worker) if p is not None]
    started = time.monotonic()
    while time.monotonic() - started < SETTLE_LIMIT:
        cpu0 = [p.cpu_seconds() for p in processes]
        time.sleep(0.5)
        cpu1 = [p.cpu_seconds() for p in processes]
        idle = all(  # each under 10% of a core
            a is None or b is None or b - a < 0.05 for a, b in zip(cpu0, cpu1, strict=True)
        )
        if idle and not (variant.webhooks and pending_deliveries(variant.database_url)):
            break
    return time.monotonic() - started


def pending_deliveries(database_url: str) -> int:
    return int(
        scalar(database_url, "SELECT count(*) FROM webhook_deliveries WHERE state = 'pending'")
    )


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
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="run every server on its own database of a throwaway PostgreSQL",
    )
    parser.add_argument(
        "--webhooks",
        type=int,
        default=0,
        metavar="N",
        help="also measure with N webhooks subscribed to every event (a local receiver), "
        "interleaved with the figures without",
    )
    parser.add_argument("--skip-bare", action="store_true", help="measure Panjereh only")
    parser.add_argument(
        "--worker",
        action="store_true",
        help="run every server with PANJEREH_RUN_WORKERS=false and a `panjereh worker` "
        "process beside it (rules, webhooks and deliveries leave the server's process)",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="FILE",
        help="record each server's first measured slice with py-spy into FILE.<variant> "
        "(collapsed stacks) and print the hottest functions; sampling slows the server a little",
    )
    parser.add_argument(
        "--rules",
        type=int,
        default=0,
        help="also measure with this many enabled automation rules, interleaved",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=0,
        help="slices per server when comparing (default: 3 with --rules or --webhooks, else 1)",
    )
    args = parser.parse_args(argv)
    rounds = args.rounds or (3 if args.rules or args.webhooks else 1)
    if not (
        0 < args.seconds <= 3600
        and 0 <= args.warmup <= 600
        and 1 <= args.concurrency <= 1024
        and args.senders >= 1
        and 1 <= args.client_procs <= 16
        and 0 <= args.rules <= 500
        and 0 <= args.webhooks <= 100
        and 1 <= rounds <= 20
    ):
        parser.error("out of range: 0<seconds<=3600, warmup<=600, 1<=concurrency<=1024, ...")
    variants = [Variant("without")]
    if args.rules:
        variants.append(Variant(f"{args.rules} rules", rules=args.rules))
    if args.webhooks:
        variants.append(Variant(f"{args.webhooks} webhooks", webhooks=args.webhooks))
    if args.database_url and len(variants) > 1:
        parser.error("--rules/--webhooks give each server its own database: use --postgres")

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
        f"load      {args.concurrency} connections, {args.seconds:g} s per server"
        f"{f' in {rounds} interleaved slices' if rounds > 1 else ''} "
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

    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="panjereh-bench-")))
        pg = stack.enter_context(postgres(workdir)) if args.postgres else None
        for n, variant in enumerate(variants):
            if pg is not None:
                variant.database_url = pg.create_database(f"bench{n}")
            else:
                variant.database_url = args.database_url or f"sqlite:///{workdir / f'bench{n}.db'}"
        db_label = database_label(variants[0].database_url)
        print(f"database  {db_label}")

        # Every server runs at once, idle but for its slices.
        for n, variant in enumerate(variants):
            env = panjereh_env(workdir, variants[0].database_url)
            env["PANJEREH_DATABASE_URL"] = variant.database_url
            env["PANJEREH_DATA_DIR"] = str(workdir / f"data{n}")
            env["PANJEREH_WEBHOOK_ALLOW_PRIVATE_URLS"] = "true"  # the receiver is on loopback
            if args.worker:
                env["PANJEREH_RUN_WORKERS"] = "false"
            log = workdir / f"panjereh-{n}.log"
            variant.srv = stack.enter_context(
                server(f"panjereh {variant.name}", panjereh_cmd(free_port()), env, workdir, log)
            )
            if args.worker:  # after the server: it has migrated the database
                worker_log = workdir / f"worker-{n}.log"
                variant.worker = stack.enter_context(
                    worker_process(f"worker {variant.name}", env, workdir, worker_log)
                )
            variant.inbox_id, variant.api_key = setup_inbox(variant.srv)
            if variant.rules:
                add_rules(variant.srv, variant.rules)
            if variant.webhooks:
                variant.receiver = stack.enter_context(webhook_receiver(workdir))
                subscribe_webhooks(variant.srv, variant.receiver, variant.webhooks, ["*"])

        def path_of(variant: Variant) -> str:
            return INGEST_PATH.format(inbox_id=variant.inbox_id)

        for variant in variants:
            assert variant.srv is not None
            if args.warmup:
                phase(variant.srv.port, path_of(variant), variant.api_key, "warm", args.warmup)
            settle(variant)
        before = {v.name: stored_counts(v.database_url, v.inbox_id)[0] for v in variants}
        for round_no in range(rounds):
            # Each round in another order, so that a drift of the machine's load over the
            # run does not always favour the same server.
            order = variants[round_no % len(variants) :] + variants[: round_no % len(variants)]
            for variant in order:
                srv = variant.srv
                assert srv is not None
                run = functools.partial(
                    phase,
                    srv.port,
                    path_of(variant),
                    variant.api_key,
                    f"{variant.name}-{round_no}",
                    args.seconds / rounds,
                )
                profile = (
                    args.profile.with_name(f"{args.profile.name}.{variant.name.replace(' ', '-')}")
                    if args.profile and round_no == 0
                    else None
                )
                if profile is not None:
                    print(f"\nprofile of Panjereh, {variant.name}")
                variant.slices.append(
                    measured(srv, variant.name, args.seconds / rounds, profile, run, variant.worker)
                )
                variant.settle_seconds.append(settle(variant))
        for variant in variants:
            variant.stored = (
                stored_counts(variant.database_url, variant.inbox_id)[0] - before[variant.name]
            )

        results: list[Figures] = []
        for variant in variants:
            srv = variant.srv
            assert srv is not None
            f = total(variant.name, variant.slices)
            f.stored = variant.stored
            print(f"\nPanjereh, {variant.name}  POST /api/v1/inboxes/{{id}}/incoming")
            print_figures(f)
            if variant.stored != f.ok:
                print(f"  !! stored {variant.stored} messages but counted {f.ok} × 201")
            print(
                "  settled in    "
                + ", ".join(f"{s:.1f}" for s in variant.settle_seconds)
                + " s after each slice (its leftover work: rules, deliveries)"
            )
            if variant.receiver is not None:
                arrived = httpx.get(f"{variant.receiver.base_url}/stats", timeout=30).json()
                print(f"  webhooks      {arrived['count']} deliveries received")
            complaints = srv.complaints()
            if complaints:
                print(f"  server log    {len(complaints)} warning/error lines, first ones:")
                for line in complaints[:10]:
                    print(f"    {line[:200]}")
            else:
                print("  server log    nothing at WARNING or above")
            results.append(f)
        pj = results[0]

        if len(variants) > 1:
            print(
                f"\n{'':16}{'requests/s':>11}{'ratio':>8}{'CPU ms/req':>12}{'ratio':>8}"
                f"{'p50 ms':>9}{'p99 ms':>9}   requests/s per slice"
            )
            for variant, f in zip(variants, results, strict=True):
                per_slice = " ".join(f"{s.rps:,.0f}" for s in variant.slices)
                print(
                    f"{variant.name:16}{f.rps:>11,.0f}{f.rps / pj.rps:>8.0%}"
                    f"{cpu_per_request(f):>12.2f}{cpu_per_request(f) / cpu_per_request(pj):>8.0%}"
                    f"{f.p50_ms:>9.1f}{f.p99_ms:>9.1f}   {per_slice}"
                )
            for variant, f in zip(variants[1:], results[1:], strict=True):
                print(
                    f"with {variant.name} / without: {f.rps / pj.rps:.1%} of the requests/s, "
                    f"{cpu_per_request(f) / cpu_per_request(pj):.1%} of the server's CPU "
                    "per request"
                )

        # The ceiling.
        bare: Figures | None = None
        if not args.skip_bare:
            with bare_server(workdir) as srv:
                port = srv.port
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


def cpu_per_request(f: Figures) -> float:
    """The server's CPU milliseconds per answered request (nan when unknown)."""
    if f.server_cpu is None or not f.requests:
        return float("nan")
    return f.server_cpu * 1000 / f.requests


@contextlib.contextmanager
def postgres(workdir: Path) -> Iterator[PostgresServer]:
    pg = start_postgres(workdir / "pg")
    try:
        yield pg
    finally:
        pg.stop()


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
