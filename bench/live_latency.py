"""Live-event latency: from a webhook's 2xx to the event's arrival at every agent socket.

    .venv/bin/python bench/live_latency.py [--seconds 30] [--agents 100] [--rate 200]
                                           [--idle 1000] [--modes embedded,redis]
                                           [--protocol 2] [--max-rate] [--no-ceiling]
                                           [--ceiling-load 0.9]

For each mode it starts real servers as subprocesses (the CLI, as in production), opens
`--agents` agent sockets, then posts `--rate` inbound messages per second (open loop: on a
fixed schedule, whatever the answers do) to an `api` inbox for `--seconds`, and prints:

- p50/p95/p99/max of the time from reading a POST's 2xx to the arrival of its
  `message.created` frame, over every (message, socket) pair; a frame that arrives before
  its 2xx counts as 0;
- the same from writing the POST (what a customer's message takes to reach the agents'
  screens: storing it included);
- in redis mode, the first figures for the sockets of the other process alone (`across`:
  the notice went through Redis);
- frames delivered per second (all types) and whether any socket missed a message;
- the CPU the servers and this client used, and the machine's other load.

Modes: `embedded` is one `panjereh serve` on SQLite with the in-process bus; `redis` is two
`panjereh serve` processes on one PostgreSQL and a Redis (started here from the Debian
packages, as the tests do), the sockets split between them and the posts alternating.

With `--max-rate`, each mode then looks for the highest rate it holds with `--agents`
sockets: p99 from the post ≤ 100 ms, nothing lost, the posts answered on schedule (steps of
`--step-seconds`, doubling from `--rate` and then halving the gap, within `--search-seconds`).

Then, in embedded mode, `--idle` agent sockets are opened and left idle, and the server's
resident memory is printed before and after.

Last, the ceiling (unless `--no-ceiling`): the same load, sockets and client against
bench/bare_server.py, which stores nothing and broadcasts each POST to the sockets as two
frames of the size Panjereh's were in this run, in the same websocket messages (`--protocol`).
A line beginning `ceiling` gives its p50/p95/p99, and one per mode its p99 against it.
When the redis mode ran, a second ceiling (`ceiling redis`): two bare servers that publish
each POST to the other through a Redis as Panjereh's bus does, with the posts and sockets
split the same way (the hop between processes, nothing stored).

With `--ceiling-load CORES`, the ceilings are measured a second time while processes that
spin 1 ms and sleep 1 ms (about half a core each) keep CORES of the machine busy: roughly
what storing the messages (the servers beyond the bare ones' share, PostgreSQL) takes from
the live path's cores in the redis mode. Lines beginning `loaded` give those p99s, and each
mode's p99 against them: how far the live path is from a bare broadcast on an equally busy
machine. The target stays the idle ceiling.

Sockets announce `--protocol` (default 2: frames come in JSON arrays, as the console and
the widget ask for; 1 is the one-frame-per-message protocol of older clients).

The client must not steal the servers' CPU on a small machine, so sockets are read by a
minimal RFC 6455 client (asyncio protocol, no compression, one parse per frame, only
`message.created` frames are decoded), and posts go over the keep-alive raw HTTP client of
bench/harness.py. It prints figures; it asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness import (  # bench/ is not a package: run as a script, its folder is on the path
    TEXTS,
    Arrivals,
    RawConnection,
    Server,
    free_port,
    login,
    machine,
    machine_busy_seconds,
    open_sockets,
    panjereh_cmd,
    panjereh_env,
    percentile,
    rss_kib,
    server,
    setup_inbox,
)

from tests.support.servers import start_postgres, start_redis

ROOT = Path(__file__).resolve().parent.parent
CONNECTIONS = 16  # keep-alive connections the posts are spread over
CEILING_LAG_MS = 2.0  # the target: p99 at most this many times the ceiling's
MAX_RATE_P99_MS = 100.0  # --max-rate: the highest rate whose p99 stays under this


# --------------------------------------------------------------------------- the load


@dataclass
class Posts:
    """When each external id was written and its 2xx read; how long after the schedule's
    end the last answer came (the server fell behind)."""

    sent: dict[bytes, float] = field(default_factory=dict)
    acked: dict[bytes, float] = field(default_factory=dict)
    port: dict[bytes, int] = field(default_factory=dict)  # of the server that took it
    statuses: Counter[int] = field(default_factory=Counter)
    behind: float = 0.0


async def post_at_rate(
    ports: list[int], inbox: tuple[int, str], rate: float, seconds: float, tag: str
) -> Posts:
    """POST `rate` messages per second for `seconds`."""
    inbox_id, api_key = inbox
    path = f"/api/v1/inboxes/{inbox_id}/incoming"
    pool: asyncio.Queue[RawConnection] = asyncio.Queue()
    for i in range(CONNECTIONS):
        pool.put_nowait(RawConnection(ports[i % len(ports)], path, api_key))
    posts = Posts()
    total = int(rate * seconds)
    start = time.monotonic() + 0.5

    async def send(n: int) -> None:
        external_id = f"{tag}-{n}"
        body = json.dumps(
            {
                "external_id": external_id,
                "sender": {"id": f"cust-{n % 500}", "name": f"Customer {n % 500}"},
                "text": TEXTS[n % len(TEXTS)],
            },
            ensure_ascii=False,
        ).encode()
        connection = await pool.get()
        posts.sent[external_id.encode()] = time.monotonic()
        posts.port[external_id.encode()] = connection.port
        try:
            status = await connection.post(body)
        finally:
            pool.put_nowait(connection)
        posts.statuses[status] += 1
        if 200 <= status < 300:
            posts.acked[external_id.encode()] = time.monotonic()

    tasks = []
    for n in range(total):
        delay = start + n / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(send(n)))
    await asyncio.gather(*tasks)
    posts.behind = time.monotonic() - (start + total / rate)
    while not pool.empty():
        await pool.get_nowait().close()
    return posts


@dataclass
class Result:
    mode: str
    agents: int
    rate: float
    seconds: float
    posted: int
    acked: int
    expected: int
    delivered: int
    lost_sockets: int
    p50: float
    p95: float
    p99: float
    worst: float
    sent_p50: float  # from writing the POST
    sent_p95: float
    sent_p99: float
    across: tuple[float, float, float] | None  # 2xx → sockets of the other process: p50/95/99
    frames_per_s: float
    messages_per_s: float  # websocket messages
    chars_per_frame: float
    behind: float  # seconds: the last POST's answer came this long after the schedule ended
    server_cpu: float
    backing_cpu: float  # PostgreSQL and Redis
    client_cpu: float
    machine_busy: float | None
    wall: float

    def sent_figures(self) -> str:
        return f"p50 {self.sent_p50:.1f} ms, p95 {self.sent_p95:.1f} ms, p99 {self.sent_p99:.1f} ms"

    def held(self) -> bool:
        """Every message reached every socket, p99 from the post (the stricter figure: the
        2xx can come after the frames) within MAX_RATE_P99_MS, and the server answered the
        posts on schedule."""
        complete = self.acked == self.posted and self.delivered == self.expected
        return complete and self.sent_p99 <= MAX_RATE_P99_MS and self.behind < 1.0


RUNS = itertools.count()  # external ids are unique per run: a repeated one is a duplicate


async def measure(
    mode: str,
    stack: Stack,
    token: str,
    inbox: tuple[int, str],
    args: argparse.Namespace,
    rate: float | None = None,
    seconds: float | None = None,
) -> Result:
    rate = rate or args.rate
    seconds = seconds or args.seconds
    servers = stack.servers
    ports = [s.port for s in servers]
    arrivals = Arrivals()
    sockets = await open_sockets(ports, token, args.agents, arrivals, args.protocol)
    await asyncio.sleep(1.0)  # presence frames of the connects settle
    arrivals.frames = arrivals.messages = arrivals.chars = 0
    cpu0 = [s.cpu_seconds() or 0.0 for s in servers]
    backing0 = sum(tree_cpu(pid) for pid in stack.backing)
    busy0, client0, wall0 = machine_busy_seconds(), time.process_time(), time.monotonic()
    tag = f"{mode}-{next(RUNS)}"
    posts = await post_at_rate(ports, inbox, rate, seconds, tag)
    acked, statuses = posts.acked, posts.statuses
    await asyncio.sleep(2.0)  # stragglers
    wall = time.monotonic() - wall0
    server_cpu = sum((s.cpu_seconds() or 0.0) - c for s, c in zip(servers, cpu0, strict=True))
    backing_cpu = sum(tree_cpu(pid) for pid in stack.backing) - backing0
    busy1 = machine_busy_seconds()
    client_cpu = time.process_time() - client0
    for s in sockets:
        s.close()
    latencies = sorted(max(0.0, at - acked[eid]) for eid, at, _ in arrivals.seen if eid in acked)
    from_sent = sorted(at - posts.sent[eid] for eid, at, _ in arrivals.seen if eid in acked)
    across = sorted(  # sockets on another process than the post's: the notice went through Redis
        max(0.0, at - acked[eid])
        for eid, at, i in arrivals.seen
        if eid in acked and ports[i % len(ports)] != posts.port[eid]
    )
    expected = len(acked) * args.agents
    delivered = len(latencies)
    lost = sum(1 for i in range(args.agents) if arrivals.per_socket[i] < len(acked))
    if sum(statuses.values()) != len(acked):
        print(f"  non-2xx answers: {dict(statuses)}")
    return Result(
        mode=mode,
        agents=args.agents,
        rate=rate,
        seconds=seconds,
        posted=sum(statuses.values()),
        acked=len(acked),
        expected=expected,
        delivered=delivered,
        lost_sockets=lost,
        p50=percentile(latencies, 0.50) * 1000,
        p95=percentile(latencies, 0.95) * 1000,
        p99=percentile(latencies, 0.99) * 1000,
        worst=(latencies[-1] if latencies else float("nan")) * 1000,
        sent_p50=percentile(from_sent, 0.50) * 1000,
        sent_p95=percentile(from_sent, 0.95) * 1000,
        sent_p99=percentile(from_sent, 0.99) * 1000,
        across=percentiles_ms(across) if across else None,
        frames_per_s=arrivals.frames / wall,
        messages_per_s=arrivals.messages / wall,
        chars_per_frame=arrivals.chars / max(1, arrivals.frames),
        behind=posts.behind,
        server_cpu=server_cpu,
        backing_cpu=backing_cpu,
        client_cpu=client_cpu,
        machine_busy=None if busy0 is None or busy1 is None else busy1 - busy0,
        wall=wall,
    )


def percentiles_ms(latencies: list[float]) -> tuple[float, float, float]:
    """p50, p95 and p99 in milliseconds."""
    p50, p95, p99 = (percentile(latencies, q) * 1000 for q in (0.50, 0.95, 0.99))
    return p50, p95, p99


def print_result(r: Result) -> None:
    load = f"{r.posted} messages at {r.rate:.0f}/s for {r.seconds:.0f} s"
    print(f"  posted        {load}, {r.acked} × 2xx")
    print(
        f"  delivered     {r.delivered:,} of {r.expected:,} (message, socket) pairs; "
        f"{r.lost_sockets} sockets missed something"
    )
    tail = f"p99 {r.p99:.1f} ms, max {r.worst:.1f} ms"
    print(f"  2xx → socket  p50 {r.p50:.1f} ms, p95 {r.p95:.1f} ms, {tail}")
    print(f"  post → socket {r.sent_figures()}")
    if r.across:
        p50, p95, p99 = r.across
        print(
            f"  across        p50 {p50:.1f} ms, p95 {p95:.1f} ms, p99 {p99:.1f} ms "
            "(2xx → the sockets of the other process, through Redis)"
        )
    print(
        f"  frames        {r.frames_per_s:,.0f} frames/s delivered (all types, all sockets) "
        f"in {r.messages_per_s:,.0f} websocket messages/s, ~{r.chars_per_frame:,.0f} chars each"
    )
    others = (r.machine_busy or 0.0) - r.server_cpu - r.backing_cpu - r.client_cpu
    backing = f", PostgreSQL+Redis {r.backing_cpu / r.wall:.0%}" if r.backing_cpu else ""
    print(
        f"  CPU           serve {r.server_cpu / r.wall:.0%}{backing}, "
        f"client {r.client_cpu / r.wall:.0%}, other processes {max(0.0, others) / r.wall:.0%} "
        f"(% of one core; {os.cpu_count()} cores)"
    )


def tree_cpu(pid: int) -> float:
    """CPU seconds of a process and its children (PostgreSQL forks one per connection)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(stat.parent.name) == pid or int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


async def idle_memory(srv: Server, token: str, count: int) -> tuple[int, int]:
    before = rss_kib(srv.proc.pid)
    sockets = await open_sockets([srv.port], token, count, Arrivals())
    await asyncio.sleep(2.0)
    after = rss_kib(srv.proc.pid)
    for s in sockets:
        s.close()
    return before, after


# --------------------------------------------------------------------------- servers


@dataclass
class Stack:
    servers: list[Server]
    backing: list[int] = field(default_factory=list)  # PostgreSQL and Redis server pids


@contextlib.contextmanager
def embedded(workdir: Path) -> Iterator[Stack]:
    env = panjereh_env(workdir, f"sqlite:///{workdir}/bench.db")
    port = free_port()
    with server("embedded", panjereh_cmd(port), env, workdir, workdir / "embedded.log") as srv:
        yield Stack([srv])


@contextlib.contextmanager
def scaled_out(workdir: Path) -> Iterator[Stack]:
    pg = start_postgres(workdir / "pg")
    redis = start_redis(workdir / "redis")
    try:
        url = pg.create_database("bench")
        env = panjereh_env(workdir, url) | {"PANJEREH_REDIS_URL": redis.url}
        with contextlib.ExitStack() as stack:
            servers = []
            for name in ("a", "b"):
                cmd = panjereh_cmd(free_port())
                if name == "b":  # A migrated the database; B must not race it
                    cmd.append("--no-migrate")
                servers.append(
                    stack.enter_context(server(name, cmd, env, workdir, workdir / f"{name}.log"))
                )
            postmaster = int((pg.datadir / "postmaster.pid").read_text().split()[0])
            yield Stack(servers, [postmaster, int(redis.pidfile.read_text().strip())])
    finally:
        redis.stop()
        pg.stop()


# A busy process for --ceiling-load: ~1 ms of CPU, then ~1 ms asleep, until killed.
SPIN = """
import time
while True:
    end = time.perf_counter() + 0.001
    while time.perf_counter() < end:
        pass
    time.sleep(0.001)
"""


@contextlib.contextmanager
def busy_cores(cores: float) -> Iterator[None]:
    """Processes that keep about `cores` of the machine busy (each about half a core)."""
    procs = [
        subprocess.Popen([sys.executable, "-c", SPIN]) for _ in range(max(1, round(cores / 0.5)))
    ]
    try:
        yield
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()


def bare_cmd(frame_chars: int, redis_url: str | None = None) -> list[str]:
    cmd = [sys.executable, str(ROOT / "bench" / "bare_server.py"), "--port", str(free_port())]
    cmd += ["--frames", "2", "--frame-chars", str(frame_chars)]
    return cmd + (["--redis", redis_url] if redis_url else [])


@contextlib.contextmanager
def bare(workdir: Path, frame_chars: int) -> Iterator[Stack]:
    """bench/bare_server.py: the same route, broadcasting each POST to its sockets as the
    same number of frames (and websocket messages) of the same size, storing nothing."""
    cmd = bare_cmd(frame_chars)
    with server("bare", cmd, dict(os.environ), workdir, workdir / "bare.log") as srv:
        yield Stack([srv])


@contextlib.contextmanager
def bare_scaled_out(workdir: Path, frame_chars: int) -> Iterator[Stack]:
    """Two bare servers that tell each other of every POST through a Redis, as the redis
    mode's servers do: the same broadcast, plus the hop between processes."""
    redis = start_redis(workdir / "redis")
    try:
        with contextlib.ExitStack() as stack:
            servers = [
                stack.enter_context(
                    server(
                        f"bare {name}",
                        bare_cmd(frame_chars, redis.url),
                        dict(os.environ),
                        workdir,
                        workdir / f"bare-{name}.log",
                    )
                )
                for name in ("a", "b")
            ]
            yield Stack(servers, [int(redis.pidfile.read_text().strip())])
    finally:
        redis.stop()


async def max_rate(
    mode: str, stack: Stack, token: str, inbox: tuple[int, str], args: argparse.Namespace
) -> Result | None:
    """The highest rate held (`Result.held`) with `--agents` sockets: double from `--rate`
    until one fails, then halve the gap, in `--step-seconds` steps within `--search-seconds`."""
    held: Result | None = None
    failed: Result | None = None
    rate = args.rate
    deadline = time.monotonic() + args.search_seconds
    while time.monotonic() + args.step_seconds * 1.5 + 5 < deadline:
        r = await measure(mode, stack, token, inbox, args, rate, args.step_seconds)
        verdict = "held" if r.held() else "not held"
        lost = r.expected - r.delivered
        print(
            f"  step          {rate:.0f} msg/s: p99 {r.p99:.1f} ms (from the post "
            f"{r.sent_p99:.1f} ms), {lost} lost, "
            f"answers {max(0.0, r.behind):.1f} s behind: {verdict}"
        )
        if r.held():
            held = r
        else:
            failed = r
        if failed is None:
            rate *= 2
            continue
        low = held.rate if held else 0.0
        if failed.rate - low <= max(10.0, failed.rate * 0.1):
            break
        rate = round((low + failed.rate) / 2)
    return held


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--agents", type=int, default=100, help="agent sockets (K)")
    parser.add_argument("--rate", type=float, default=200.0, help="inbound messages per second")
    parser.add_argument("--idle", type=int, default=1000, help="idle sockets for the RSS figure")
    parser.add_argument("--modes", default="embedded,redis")
    parser.add_argument("--protocol", type=int, choices=(1, 2), default=2)
    parser.add_argument("--no-ceiling", action="store_true", help="skip the bare broadcast")
    parser.add_argument(
        "--ceiling-load",
        type=float,
        default=0.0,
        metavar="CORES",
        help="also measure the ceilings while this many cores are kept busy",
    )
    parser.add_argument(
        "--max-rate",
        action="store_true",
        help=f"find the highest rate at p99 (from the post) ≤ {MAX_RATE_P99_MS:.0f} ms",
    )
    parser.add_argument("--step-seconds", type=float, default=10.0)
    parser.add_argument("--search-seconds", type=float, default=150.0, help="per mode")
    args = parser.parse_args(argv)
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # servers inherit it
    load = f"K={args.agents} sockets, R={args.rate:.0f} msg/s, {args.seconds:.0f} s"
    print(f"live latency: {machine()}; {load}; protocol {args.protocol}")
    results: list[Result] = []
    for mode in args.modes.split(","):
        with tempfile.TemporaryDirectory(prefix=f"live-{mode}-") as tmp:
            workdir = Path(tmp)
            with (embedded if mode == "embedded" else scaled_out)(workdir) as stack:
                servers = stack.servers
                token = login(servers[0])
                inbox = setup_inbox(servers[0])
                print(f"\n{mode}: {len(servers)} × panjereh serve")
                result = asyncio.run(measure(mode, stack, token, inbox, args))
                results.append(result)
                print_result(result)
                if args.max_rate:
                    best = asyncio.run(max_rate(mode, stack, token, inbox, args))
                    held = (
                        f"{best.rate:.0f} msg/s (p99 from the post {best.sent_p99:.1f} ms)"
                        if best
                        else "none"
                    )
                    print(f"  max rate      {held} with {args.agents} agents")
                if mode == "embedded" and args.idle:
                    before, after = asyncio.run(idle_memory(servers[0], token, args.idle))
                    print(
                        f"  memory        RSS {before / 1024:.0f} MiB before, "
                        f"{after / 1024:.0f} MiB "
                        f"with {args.idle:,} idle agent sockets "
                        f"(~{(after - before) / args.idle:.0f} KiB per socket)"
                    )
                for srv in servers:
                    if complaints := srv.complaints():
                        print(f"  {srv.name} logged: " + " | ".join(complaints[:5]))
    if not args.no_ceiling:
        print_ceilings(results, args)
    return 0


def print_ceilings(results: list[Result], args: argparse.Namespace) -> None:
    """The bare broadcast of the same frames to the same sockets (one process), and, when
    the redis mode ran, the same through Redis between two bare processes; each mode's p99
    against them."""
    # Frames of the size Panjereh sent in this run (its events' JSON), two per message.
    chars = round(sum(r.chars_per_frame for r in results) / len(results)) if results else 900
    stacks = {"bare": bare}
    if any(r.mode == "redis" for r in results):
        stacks["bare redis"] = bare_scaled_out
    ceilings: dict[str, Result] = {}
    loaded: dict[str, Result] = {}
    for name, stack_of in stacks.items():
        with (
            tempfile.TemporaryDirectory(prefix="live-bare-") as tmp,
            stack_of(Path(tmp), chars) as stack,
        ):
            servers = f"{len(stack.servers)} × bench/bare_server.py"
            print(f"\n{name}: {servers}, 2 frames of ~{chars} chars per message")
            ceilings[name] = asyncio.run(measure(name, stack, "", (1, "bare"), args))
            print_result(ceilings[name])
            if args.ceiling_load:
                print(f"\n{name}, {args.ceiling_load:g} cores kept busy meanwhile:")
                with busy_cores(args.ceiling_load):
                    loaded[name] = asyncio.run(measure(name, stack, "", (1, "bare"), args))
                print_result(loaded[name])
    print()
    for name, ceiling in ceilings.items():
        label = "ceiling" if name == "bare" else "ceiling redis"
        figures = f"p50 {ceiling.p50:.1f} ms, p95 {ceiling.p95:.1f} ms, p99 {ceiling.p99:.1f} ms"
        print(f"{label:<13} {figures}")
        print(f"{label:<13} from the post: {ceiling.sent_figures()}")
    ceiling = ceilings["bare"]
    for r in results:
        verdict = "meets" if r.p99 <= CEILING_LAG_MS * ceiling.p99 else "misses"
        print(
            f"{r.mode:<13} p50 {r.p50:.1f} ms, p95 {r.p95:.1f} ms, p99 {r.p99:.1f} ms: "
            f"{r.p99 / ceiling.p99:.1f}× the ceiling's p99 ({verdict} ≤ {CEILING_LAG_MS:.0f}×)"
        )
        if r.mode == "redis":
            hop = ceilings["bare redis"]
            verdict = "meets" if r.p99 <= CEILING_LAG_MS * hop.p99 else "misses"
            print(
                f"{r.mode:<13} {r.p99 / hop.p99:.1f}× the redis ceiling's p99 "
                f"({verdict} ≤ {CEILING_LAG_MS:.0f}×: the same hop, nothing stored)"
            )
        print(
            f"{r.mode:<13} from the post: {r.sent_figures()}: "
            f"{r.sent_p99 / ceiling.sent_p99:.1f}× the ceiling's"
        )
    for name, busy in loaded.items():
        label = "loaded" if name == "bare" else "loaded redis"
        figures = f"p50 {busy.p50:.1f} ms, p95 {busy.p95:.1f} ms, p99 {busy.p99:.1f} ms"
        print(f"{label:<13} {figures} ({args.ceiling_load:g} cores kept busy)")
        for r in results:
            if name == "bare" or r.mode == "redis":
                print(f"{r.mode:<13} {r.p99 / busy.p99:.1f}× the {label} ceiling's p99")


if __name__ == "__main__":
    sys.exit(main())
