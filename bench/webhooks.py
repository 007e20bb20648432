"""Outgoing webhooks: events per second delivered to a local receiver with 1 and with 10
webhooks, and the lag from an event's commit to its arrival (p50/p99).

    .venv/bin/python bench/webhooks.py [--events 1000] [--paced 200] [--rate 20]
                                       [--database-url postgresql://...]

For each webhook count, all on loopback, and then it stops by itself (figures, no asserts):

1. Starts a fresh `panjereh serve` (embedded workers, SQLite in a temporary directory or
   `--database-url`, PANJEREH_WEBHOOK_ALLOW_PRIVATE_URLS=true for the loopback receiver)
   and `bench/webhook_receiver.py`, which answers 200 at once and keeps each arrival's lag
   behind its event's `created_at` (stamped just before the commit).
2. Subscribes N webhooks to `message.created`, each to its own path on the receiver.
3. Burst: posts `--events` customer messages through the `api` inbox as fast as 8
   connections go, then waits for N × events deliveries: delivered/s is counted from the
   first post to the last arrival (the queue the burst builds is part of it).
4. Paced: posts `--paced` messages at `--rate` per second, an idle system otherwise: the
   lag from commit to arrival, p50 and p99, is what webhooks add to an event's journey.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import httpx
from harness import (
    TEXTS,
    RawConnection,
    free_port,
    machine,
    panjereh_cmd,
    panjereh_env,
    percentile,
    server,
    setup_inbox,
    subscribe_webhooks,
    webhook_receiver,
)

WAIT_LIMIT = 300.0  # seconds to wait for the deliveries of one phase


def body(tag: str, n: int) -> bytes:
    return json.dumps(
        {
            "external_id": f"{tag}-{n}",
            "sender": {"id": f"cust-{n % 50}"},
            "text": TEXTS[n % len(TEXTS)],
        }
    ).encode()


async def post_all(
    port: int, path: str, key: str, tag: str, count: int, rate: float | None
) -> None:
    """`count` messages over 8 connections, as fast as they go or at `rate` per second."""
    connections = [RawConnection(port, path, key) for _ in range(8 if rate is None else 1)]
    numbers = iter(range(count))
    start = time.monotonic()

    async def sender(raw: RawConnection) -> None:
        for n in numbers:
            if rate is not None:
                await asyncio.sleep(max(0.0, start + n / rate - time.monotonic()))
            status = await raw.post(body(tag, n))
            if status != 201:
                raise RuntimeError(f"posting a message: {status}")
        await raw.close()

    await asyncio.gather(*(sender(raw) for raw in connections))


def wait_for(receiver_url: str, expected: int) -> dict[str, object]:
    deadline = time.monotonic() + WAIT_LIMIT
    with httpx.Client(base_url=receiver_url, timeout=30) as client:
        while True:
            stats: dict[str, object] = client.get("/stats").json()
            if int(str(stats["count"])) >= expected or time.monotonic() > deadline:
                return stats
            time.sleep(0.1)


def phase(
    srv_port: int,
    path: str,
    key: str,
    receiver_url: str,
    tag: str,
    count: int,
    webhooks: int,
    rate: float | None,
) -> tuple[float, list[float], int, int]:
    """(deliveries per second, sorted lags in ms, delivered, duplicates)."""
    httpx.post(f"{receiver_url}/reset", timeout=10)
    started = time.time()
    asyncio.run(post_all(srv_port, path, key, tag, count, rate))
    stats = wait_for(receiver_url, count * webhooks)
    delivered = int(str(stats["count"]))
    last = float(str(stats["last"] or started))
    lags = sorted(1000 * float(lag) for lag in stats["latencies"])  # type: ignore[attr-defined]
    per_second = delivered / (last - started) if last > started else 0.0
    return per_second, lags, delivered, int(str(stats["duplicates"]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1000, help="messages in the burst")
    parser.add_argument("--paced", type=int, default=200, help="messages in the paced phase")
    parser.add_argument("--rate", type=float, default=20.0, help="paced messages per second")
    parser.add_argument("--webhooks", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--database-url", help="default: SQLite in a temporary directory")
    args = parser.parse_args(argv)
    print(f"machine   {machine()}, load average {os.getloadavg()[0]:.2f} at start")
    rows = []
    with tempfile.TemporaryDirectory(prefix="panjereh-bench-") as tmp:
        workdir = Path(tmp)
        with webhook_receiver(workdir) as receiver:
            for count in args.webhooks:
                run_dir = workdir / f"w{count}"
                run_dir.mkdir()
                database_url = args.database_url or f"sqlite:///{run_dir / 'bench.db'}"
                env = panjereh_env(run_dir, database_url)
                env["PANJEREH_WEBHOOK_ALLOW_PRIVATE_URLS"] = "true"
                port = free_port()
                with server("panjereh", panjereh_cmd(port), env, run_dir, run_dir / "log") as srv:
                    inbox_id, key = setup_inbox(srv)
                    subscribe_webhooks(srv, receiver, count, ["message.created"])
                    path = f"/api/v1/inboxes/{inbox_id}/incoming"
                    tag = f"{count}-{time.time_ns()}"
                    burst = phase(
                        port, path, key, receiver.base_url, f"b{tag}", args.events, count, None
                    )
                    paced = phase(
                        port, path, key, receiver.base_url, f"p{tag}", args.paced, count, args.rate
                    )
                    complaints = srv.complaints()
                rows.append((count, burst, paced))
                print(f"\n{count} webhook(s), database {database_url.split(':')[0]}")
                print(
                    f"  burst     {burst[2]} of {args.events * count} delivered, "
                    f"{burst[0]:,.0f} deliveries/s, {burst[3]} duplicates"
                )
                print(
                    f"            lag p50 {percentile(burst[1], 0.5):.0f} ms, "
                    f"p99 {percentile(burst[1], 0.99):.0f} ms (queued behind the burst)"
                )
                print(
                    f"  paced     {paced[2]} of {args.paced * count} delivered at "
                    f"{args.rate:g} events/s, lag p50 {percentile(paced[1], 0.5):.1f} ms, "
                    f"p99 {percentile(paced[1], 0.99):.1f} ms"
                )
                if complaints:
                    print(
                        f"  server log {len(complaints)} warning/error lines, first: "
                        f"{complaints[0][:200]}"
                    )
    print("\n| webhooks | deliveries/s (burst) | commit→arrival p50 ms | p99 ms |")
    print("| ---: | ---: | ---: | ---: |")
    for count, burst, paced in rows:
        print(
            f"| {count} | {burst[0]:,.0f} | {percentile(paced[1], 0.5):.1f} | "
            f"{percentile(paced[1], 0.99):.1f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
