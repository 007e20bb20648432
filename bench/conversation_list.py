"""The conversation list at size: how long `GET /api/v1/conversations` takes under each filter.

    .venv/bin/python bench/conversation_list.py [--conversations 100000] [--messages 5]
                                                [--requests 50] [--postgres]

What it does, all on loopback, and then it stops by itself (it prints figures, it never
asserts a time):

1. Starts a real `panjereh serve` on a fresh SQLite database in a temporary directory (with
   `--postgres`, on a PostgreSQL cluster it starts from the Debian packages, as the tests
   do), logs in as the administrator, creates four `api` inboxes and ten agents, and stops.
2. Fills the database directly (multi-row INSERTs, far faster than the API) with
   `--conversations` contacts, each with one identity and one conversation in one of the
   inboxes, and `--messages` messages per conversation drawn from realistic English and
   Persian texts, spread over the past year. A realistic mix: 30% open, 10% pending, 5%
   snoozed, 55% resolved; 60% assigned to one of the agents; 20% labelled; one conversation
   in a thousand mentions a rare word that search must find. Then `ANALYZE`, and starts
   the server again.
3. For each filter the console uses (the default view, each status, mine, unassigned, one
   inbox, one channel, a label, a search on a contact's name, on a rare word and on a common
   word, the 20th page through a cursor, `updated_since`, and the bootstrap with its
   counts), sends `--requests` requests one after another after a warm-up and prints p50
   and p99 latency and the rows returned.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness import (  # bench/ is not a package: run as a script, its folder is on the path
    RARE_WORD,
    contact_name,
    database,
    database_label,
    fill,
    machine,
    panjereh_env,
    percentile,
    serving,
    set_up,
)


def timed(
    client: httpx.Client, path: str, params: dict[str, Any], requests: int
) -> tuple[float, float, int]:
    """(p50 ms, p99 ms, items in the answer) over `requests` sequential calls."""
    for _ in range(3):
        client.get(path, params=params).raise_for_status()
    latencies = []
    items = 0
    for _ in range(requests):
        start = time.perf_counter()
        response = client.get(path, params=params)
        latencies.append(time.perf_counter() - start)
        response.raise_for_status()
        body = response.json()
        items = len(body.get("items", body.get("conversations", {}).get("items", [])))
    latencies.sort()
    return percentile(latencies, 0.5) * 1000, percentile(latencies, 0.99) * 1000, items


def cursor_of_page(client: httpx.Client, page: int) -> str:
    cursor: str | None = None
    for _ in range(page - 1):
        params: dict[str, Any] = {"limit": 25} | ({"cursor": cursor} if cursor else {})
        cursor = client.get("/api/v1/conversations", params=params).json()["next_cursor"]
    assert cursor, "not enough conversations for that page"
    return cursor


def cases(
    client: httpx.Client, inboxes: list[int], agents: list[int]
) -> list[tuple[str, str, dict[str, Any]]]:
    """(what, path, query) for each request the console makes."""
    day_ago = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    conversations = "/api/v1/conversations"
    return [
        ("newest first (the default view)", conversations, {}),
        ("status=open", conversations, {"status": "open"}),
        ("status=snoozed", conversations, {"status": "snoozed"}),
        ("assignee=me", conversations, {"assignee": "me"}),
        ("assignee=unassigned", conversations, {"assignee": "unassigned"}),
        ("assignee=<agent>&status=open", conversations, {"assignee": agents[3], "status": "open"}),
        ("inbox_id", conversations, {"inbox_id": inboxes[1]}),
        ("channel=api", conversations, {"channel": "api"}),
        ("label=vip", conversations, {"label": "vip"}),
        ("q=<a contact's full name>", conversations, {"q": contact_name(4242)}),
        (f"q={RARE_WORD} (1 conversation in 1,000)", conversations, {"q": RARE_WORD}),
        ("q=refund (a common word)", conversations, {"q": "refund"}),
        ("20th page (cursor)", conversations, {"cursor": cursor_of_page(client, 20), "limit": 25}),
        ("updated_since=1 day ago", conversations, {"updated_since": day_ago}),
        ("bootstrap (with counts)", "/api/v1/bootstrap", {}),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=5, help="messages per conversation")
    parser.add_argument("--requests", type=int, default=50, help="requests per filter")
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL instead of SQLite")
    args = parser.parse_args(argv)
    size = f"{args.conversations:,} conversations, {args.conversations * args.messages:,} messages"

    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="panjereh-list-")))
        url = stack.enter_context(database(workdir, args.postgres))
        env = panjereh_env(workdir, url)
        # Inboxes and agents through the API; then the bulk of the data behind the stopped
        # server's back (one long transaction that its background jobs need not wait for).
        with serving(env, workdir, "setup") as client:
            inboxes, agents = set_up(client)
        started = time.perf_counter()
        fill(url, args.conversations, args.messages, inboxes, agents)
        print(f"filled {size} in {time.perf_counter() - started:.0f} s")
        client = stack.enter_context(serving(env, workdir, "measured"))
        print(f"\n{machine()}; {database_label(url)}; {size};")
        print(f"{args.requests} sequential requests each, after a warm-up, one client\n")
        print("| request | p50 ms | p99 ms | rows |")
        print("| --- | ---: | ---: | ---: |")
        for label, path, params in cases(client, inboxes, agents):
            p50, p99, rows = timed(client, path, params, args.requests)
            print(f"| {label} | {p50:.1f} | {p99:.1f} | {rows} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
