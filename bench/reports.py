"""The reports at size: how long each `GET /api/v1/reports/…` takes for the last 30 and 365
days, next to a plain `SELECT count(*)` over the same rows (the floor).

    .venv/bin/python bench/reports.py [--conversations 100000] [--messages 10]
                                      [--requests 20] [--postgres]

What it does, all on loopback, and then it stops by itself (it prints figures, it never
asserts a time):

1. Starts a real `panjereh serve` on a fresh SQLite database (with `--postgres`, on a
   PostgreSQL cluster it starts, as the tests do), creates four `api` inboxes and ten
   agents, and stops it.
2. Fills the database with the conversation-list benchmark's generator (bench/harness.py):
   by default 100,000 conversations with 10 messages each, a million messages spread over
   the past year, each conversation with its first response and first resolution; and
   surveys: a CSAT at each first resolution (3 in 5 answered), an NPS on every fourth
   conversation (2 in 3 answered), one answer in 50 with a comment. Then recounts the
   message roll-up from the messages, as a first start does, and times that.
3. Starts the server again, sets the account's timezone to Asia/Tehran, and for each
   report (volume, speed, agents, satisfaction), for the last 30 and the last 365 days,
   with no filter, a channel filter and an agent filter (which counts messages from the
   messages, not the roll-up), sends `--requests` requests one after another after a
   warm-up and prints p50 and p95 latency, and how many cores the whole machine kept busy
   meanwhile (other jobs included: the figures are only as good as the machine is idle).
4. Prints the floor: `SELECT count(*)` of the conversations that arrived and of the
   messages written in each range, timed on a connection of its own.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness import (  # bench/ is not a package: run as a script, its folder is on the path
    database,
    database_label,
    fill,
    machine,
    machine_busy_seconds,
    panjereh_env,
    percentile,
    serving,
    set_up,
)

from app.db import sync_url
from app.reports.rollup import rebuild_statements

TIMEZONE = "Asia/Tehran"
REPORTS = ("volume", "speed", "agents", "satisfaction")
RANGES = (30, 365)


# A CSAT when first resolved, an NPS on every fourth conversation; scores spread by id.
SURVEYS = """
INSERT INTO surveys (kind, conversation_id, contact_id, inbox_id, channel, agent_id, trigger,
                     score, comment, sent_at, answered_at)
SELECT 'csat', id, contact_id, inbox_id, 'api', assignee_id, 'resolved',
       CASE WHEN id % 5 < 3 THEN 1 + (id * 7) % 5 END,
       CASE WHEN id % 5 < 3 AND id % 50 = 0 THEN 'bench comment' END,
       first_resolved_at, CASE WHEN id % 5 < 3 THEN first_resolved_at END
FROM conversations WHERE first_resolved_at IS NOT NULL;
INSERT INTO surveys (kind, conversation_id, contact_id, inbox_id, channel, agent_id, trigger,
                     score, comment, sent_at, answered_at)
SELECT 'nps', id, contact_id, inbox_id, 'api', assignee_id, 'resolved',
       CASE WHEN id % 3 <> 0 THEN (id * 3) % 11 END, NULL,
       last_activity_at, CASE WHEN id % 3 <> 0 THEN last_activity_at END
FROM conversations WHERE id % 4 = 0
"""


def add_surveys(database_url: str) -> int:
    """The surveys, written next to the generated conversations (how many)."""
    engine = create_engine(sync_url(database_url))
    try:
        with engine.begin() as conn:
            for statement in SURVEYS.split(";"):
                conn.execute(text(statement))
            return int(conn.execute(text("SELECT count(*) FROM surveys")).scalar_one())
    finally:
        engine.dispose()


def recount(database_url: str) -> float:
    """The roll-up recounted from the messages (seconds taken)."""
    engine = create_engine(sync_url(database_url))
    try:
        started = time.perf_counter()
        with engine.begin() as conn:
            for statement in rebuild_statements(engine.dialect.name):
                conn.execute(statement)
            conn.execute(text("ANALYZE"))
        return time.perf_counter() - started
    finally:
        engine.dispose()


def latencies(
    client: httpx.Client, path: str, params: dict[str, Any], n: int
) -> tuple[list[float], float | None]:
    """The sorted latencies, and the cores the machine kept busy meanwhile."""
    for _ in range(2):
        client.get(path, params=params).raise_for_status()
    measured = []
    busy, wall = machine_busy_seconds(), time.perf_counter()
    for _ in range(n):
        started = time.perf_counter()
        client.get(path, params=params).raise_for_status()
        measured.append(time.perf_counter() - started)
    after = machine_busy_seconds()
    cores = None if busy is None or after is None else (after - busy) / (time.perf_counter() - wall)
    return sorted(measured), cores


def floor(database_url: str, since: date, n: int) -> tuple[list[float], list[float]]:
    """Latencies of `SELECT count(*)` over the conversations and the messages of the range."""
    start = datetime.combine(since, datetime.min.time(), tzinfo=ZoneInfo(TIMEZONE)).astimezone(UTC)
    engine = create_engine(sync_url(database_url))
    sqlite = engine.dialect.name == "sqlite"
    bound = start.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else start
    results = []
    try:
        with engine.connect() as conn:
            for table_ in ("conversations", "messages"):
                sql = text(f"SELECT count(*) FROM {table_} WHERE created_at >= :start")  # noqa: S608
                conn.execute(sql, {"start": bound}).scalar()
                measured = []
                for _ in range(n):
                    started = time.perf_counter()
                    conn.execute(sql, {"start": bound}).scalar()
                    measured.append(time.perf_counter() - started)
                results.append(sorted(measured))
    finally:
        engine.dispose()
    return results[0], results[1]


def ms(values: list[float], q: float) -> str:
    return f"{percentile(values, q) * 1000:.0f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=10, help="messages per conversation")
    parser.add_argument("--requests", type=int, default=20, help="requests per case")
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL instead of SQLite")
    args = parser.parse_args(argv)
    size = f"{args.conversations:,} conversations, {args.conversations * args.messages:,} messages"

    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="panjereh-rep-")))
        url = stack.enter_context(database(workdir, args.postgres))
        env = panjereh_env(workdir, url)
        with serving(env, workdir, "setup") as client:
            inboxes, agents = set_up(client)
        started = time.perf_counter()
        fill(url, args.conversations, args.messages, inboxes, agents)
        surveys = add_surveys(url)
        print(f"filled {size} and {surveys:,} surveys in {time.perf_counter() - started:.0f} s")
        print(f"recounted the message roll-up in {recount(url):.1f} s")
        client = stack.enter_context(serving(env, workdir, "measured"))
        client.patch("/api/v1/account", json={"timezone": TIMEZONE}).raise_for_status()
        today = datetime.now(ZoneInfo(TIMEZONE)).date()
        print(f"\n{machine()}; {database_label(url)}; {size}; timezone {TIMEZONE};")
        print(f"{args.requests} sequential requests each, after a warm-up, one client\n")
        print("| report | days | filter | p50 ms | p95 ms | machine busy, cores |")
        print("| --- | ---: | --- | ---: | ---: | ---: |")
        filters: list[tuple[str, dict[str, Any]]] = [
            ("none", {}),
            ("channel=api", {"channel": "api"}),
            ("agent_id", {"agent_id": agents[3]}),
        ]
        for days in RANGES:
            period = {"since": (today - timedelta(days=days - 1)).isoformat()}
            for report in REPORTS:
                for label, params in filters:
                    measured, cores = latencies(
                        client, f"/api/v1/reports/{report}", period | params, args.requests
                    )
                    print(
                        f"| {report} | {days} | {label} | {ms(measured, 0.5)} | "
                        f"{ms(measured, 0.95)} | {'?' if cores is None else f'{cores:.1f}'} |",
                        flush=True,
                    )
        print("\nthe floor: SELECT count(*) over the same rows, on a connection of its own\n")
        print("| rows | days | p50 ms | p95 ms |")
        print("| --- | ---: | ---: | ---: |")
        for days in RANGES:
            conversations, messages = floor(url, today - timedelta(days=days - 1), args.requests)
            print(
                f"| conversations | {days} | {ms(conversations, 0.5)} | {ms(conversations, 0.95)} |"
            )
            print(f"| messages | {days} | {ms(messages, 0.5)} | {ms(messages, 0.95)} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
