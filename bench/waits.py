"""Delayed actions at scale: what 100,000 pending waits cost a server that has nothing to do,
and how close to its time a wait fires.

    .venv/bin/python bench/waits.py [--waits 100000] [--fire 200] [--idle-seconds 20]
                                    [--postgres]

What it does, all on loopback, and then it stops by itself (it prints figures, it never
asserts a time):

1. Starts a real `panjereh serve` (every background worker embedded, as in `make run`) on a
   fresh SQLite database in a temporary directory (`--postgres`: a throwaway PostgreSQL),
   creates an `api` inbox and one rule: on a conversation's first message, wait a day,
   then label it.
2. `--fire` customers write (through the API), so that many real waits are pending.
3. Measures the server's CPU while idle for `--idle-seconds`, with only those waits.
4. Adds `--waits` more pending waits of the same rule, due over the next 30 days (inserted
   into the database directly: the engine would take a while), and measures the idle CPU
   again the same way. The two figures side by side are what the waits cost at rest.
5. Moves the first waits' due times to the next seconds, spread over `--spread` seconds
   (directly in the database, as a restart would find them), waits until they have run,
   and prints how late each fired: the rule run's finish time minus its due time.

The server's own idle loops (the live hub, pollers, workers) cost some CPU whatever the
waits; the other processes' share of the machine is printed with the figures, which mean
little on a busy machine.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import httpx
from harness import (  # bench/ is not a package: run as a script, its folder is on the path
    Server,
    database_label,
    free_port,
    login,
    machine,
    machine_busy_seconds,
    panjereh_cmd,
    panjereh_env,
    percentile,
    server,
    setup_inbox,
)
from sqlalchemy import create_engine, insert, select, update

from app.automations.models import RuleRun, ScheduledStep
from app.db import make_sync_engine, sync_url, table, utcnow
from tests.support.servers import start_postgres

FILLER_DAYS = 30
INSERT_BATCH = 5_000
FIRE_TIMEOUT = 120.0  # seconds for the moved waits to run


def idle_cpu(srv: Server, seconds: float) -> tuple[float, float, float]:
    """(server CPU seconds, machine busy core-seconds, wall seconds) over `seconds` idle."""
    cpu0, busy0, wall0 = srv.cpu_seconds(), machine_busy_seconds(), time.monotonic()
    time.sleep(seconds)
    cpu1, busy1, wall1 = srv.cpu_seconds(), machine_busy_seconds(), time.monotonic()
    return (
        (cpu1 or 0.0) - (cpu0 or 0.0),
        (busy1 or 0.0) - (busy0 or 0.0),
        wall1 - wall0,
    )


def print_idle(label: str, figures: tuple[float, float, float]) -> None:
    cpu, busy, wall = figures
    cores = os.cpu_count() or 1
    print(
        f"  {label:28} server CPU {cpu * 1000:7.0f} ms in {wall:.1f} s ({cpu / wall:.2%} of a "
        f"core); machine {busy:.1f} of {cores * wall:.1f} core-seconds busy"
    )


def count(database_url: str, stmt: select) -> int:  # type: ignore[type-arg]
    engine = create_engine(sync_url(database_url))
    try:
        with engine.connect() as conn:
            return len(conn.execute(stmt).all())
    finally:
        engine.dispose()


def wait_for_steps(database_url: str, n: int, timeout: float = 60.0) -> None:
    steps = select(table(ScheduledStep).c.id)
    deadline = time.monotonic() + timeout
    while count(database_url, steps) < n:
        if time.monotonic() > deadline:
            raise RuntimeError(f"fewer than {n} waits were scheduled after {timeout:.0f} s")
        time.sleep(0.2)


def add_filler(database_url: str, waits: int) -> None:
    """`waits` more pending waits, copies of a real one, due over the next FILLER_DAYS."""
    steps = table(ScheduledStep)
    engine = make_sync_engine(database_url)
    try:
        with engine.begin() as conn:
            model = conn.execute(select(steps).limit(1)).mappings().one()
            now = utcnow()
            start = now + timedelta(days=1)
            step = timedelta(days=FILLER_DAYS) / waits
            rows = [
                {
                    "kind": model["kind"],
                    "rule_id": model["rule_id"],
                    "run_id": model["run_id"],
                    "conversation_id": model["conversation_id"],
                    "next_action": model["next_action"],
                    "context": model["context"],
                    "due_at": start + step * n,
                    "created_at": now,
                }
                for n in range(waits)
            ]
            for first in range(0, waits, INSERT_BATCH):
                conn.execute(insert(steps), rows[first : first + INSERT_BATCH])
    finally:
        engine.dispose()


def move_due(database_url: str, fire: int, lead: float, spread: float) -> dict[int, float]:
    """The real waits due in `lead` seconds and after, `spread` seconds apart in all:
    {run id: due time (epoch seconds)}."""
    steps = table(ScheduledStep)
    engine = make_sync_engine(database_url)
    due: dict[int, float] = {}
    try:
        with engine.begin() as conn:
            rows = conn.execute(
                select(steps.c.id, steps.c.run_id).order_by(steps.c.id).limit(fire)
            ).all()
            start = utcnow() + timedelta(seconds=lead)
            for n, (step_id, run_id) in enumerate(rows):
                at = start + timedelta(seconds=spread * n / max(1, len(rows)))
                conn.execute(update(steps).where(steps.c.id == step_id).values(due_at=at))
                due[int(run_id)] = at.timestamp()
    finally:
        engine.dispose()
    return due


def fired(database_url: str, due: dict[int, float]) -> dict[int, float]:
    """{run id: finish time} of the runs among `due` that are done."""
    runs = table(RuleRun)
    engine = make_sync_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(runs.c.id, runs.c.updated_at).where(
                    runs.c.id.in_(list(due)), runs.c.status == "done"
                )
            ).all()
    finally:
        engine.dispose()
    return {int(run_id): at.timestamp() for run_id, at in rows}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--waits", type=int, default=100_000, help="pending waits added")
    parser.add_argument("--fire", type=int, default=200, help="waits made due during the run")
    parser.add_argument("--spread", type=float, default=10.0, help="seconds they come due over")
    parser.add_argument("--idle-seconds", type=float, default=20.0, help="each idle measurement")
    parser.add_argument("--postgres", action="store_true", help="a throwaway PostgreSQL")
    args = parser.parse_args(argv)
    if not (1 <= args.waits <= 10_000_000 and 1 <= args.fire <= 10_000 and args.spread >= 0):
        parser.error("out of range: 1 <= waits <= 10,000,000, 1 <= fire <= 10,000")

    print(f"machine   {machine()}, load average {os.getloadavg()[0]:.2f} at start")
    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="panjereh-waits-")))
        if args.postgres:
            pg = start_postgres(workdir / "pg")
            stack.callback(pg.stop)
            database_url = pg.create_database("waits")
        else:
            database_url = f"sqlite:///{workdir / 'waits.db'}"
        print(f"database  {database_label(database_url)}")
        env = panjereh_env(workdir, database_url)
        srv = stack.enter_context(
            server("panjereh", panjereh_cmd(free_port()), env, workdir, workdir / "panjereh.log")
        )
        inbox_id, api_key = setup_inbox(srv)
        with httpx.Client(base_url=srv.base_url, timeout=30.0) as client:
            created = client.post(
                "/api/v1/automations",
                json={
                    "name": "Follow up a day later",
                    "event": "message.first_received",
                    "actions": [
                        {"type": "wait", "minutes": 24 * 60, "cancel_on_reply": False},
                        {"type": "add_label", "label": "followed-up"},
                    ],
                },
                headers={"Authorization": f"Bearer {login(srv)}"},
            )
            created.raise_for_status()
            for n in range(args.fire):
                posted = client.post(
                    f"/api/v1/inboxes/{inbox_id}/incoming",
                    json={"external_id": f"w{n}", "sender": {"id": f"c{n}"}, "text": "Hello"},
                    headers={"X-Api-Key": api_key},
                )
                posted.raise_for_status()
        wait_for_steps(database_url, args.fire)

        print(f"\nIdle, {args.idle_seconds:g} s each (the server's own idle loops included)")
        time.sleep(2.0)  # the last requests' after-work
        small = idle_cpu(srv, args.idle_seconds)
        print_idle(f"{args.fire:,} pending waits", small)
        t0 = time.monotonic()
        add_filler(database_url, args.waits)
        inserted = time.monotonic() - t0
        wait_for_steps(database_url, args.fire + args.waits)
        time.sleep(6.0)  # past the worker's next poll, which now finds them
        big = idle_cpu(srv, args.idle_seconds)
        print_idle(f"{args.fire + args.waits:,} pending waits", big)
        extra = (big[0] - small[0]) / big[2]
        print(
            f"  the {args.waits:,} more waits cost {extra * 1000:+.1f} ms of CPU per second "
            f"idle ({extra:+.2%} of a core); inserted in {inserted:.1f} s"
        )

        lead = 6.0  # past the worker's poll (5 s): a wait is scheduled at least a minute ahead
        print(f"\nFiring: {args.fire} waits due from {lead:g} s on, over {args.spread:g} s")
        due = move_due(database_url, args.fire, lead, args.spread)
        deadline = time.monotonic() + lead + args.spread + FIRE_TIMEOUT
        done: dict[int, float] = {}
        while time.monotonic() < deadline:
            done = fired(database_url, due)
            if len(done) == len(due):
                break
            time.sleep(0.5)
        late = sorted(done[run] - due[run] for run in done)
        print(f"  fired         {len(done)} of {len(due)}")
        if late:
            print(
                f"  late by       p50 {percentile(late, 0.5) * 1000:.0f} ms, "
                f"p99 {percentile(late, 0.99) * 1000:.0f} ms, max {late[-1] * 1000:.0f} ms, "
                f"earliest {late[0] * 1000:.0f} ms"
            )
        left = count(database_url, select(table(ScheduledStep).c.id))
        print(f"  still pending {left:,} (the {args.waits:,} due in 1 to {FILLER_DAYS} days)")
        complaints = srv.complaints()
        print(
            f"  server log    {len(complaints)} warning/error lines"
            if complaints
            else "  server log    nothing at WARNING or above"
        )
        for line in complaints[:10]:
            print(f"    {line[:200]}")
        print(f"\nload average {os.getloadavg()[0]:.2f} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
