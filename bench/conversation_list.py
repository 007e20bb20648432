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
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, insert, text

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness import (  # bench/ is not a package: run as a script, its folder is on the path
    TEXTS,
    database_label,
    free_port,
    login,
    machine,
    panjereh_cmd,
    panjereh_env,
    percentile,
    server,
)

from app.db import sync_url, table
from app.models import Contact, ContactIdentity, Conversation, ConversationLabel, Message
from tests.support.servers import start_postgres

INBOXES = 4
AGENTS = 10
RARE_WORD = "zanzibar"  # in one conversation in a thousand
STATUSES = ["open"] * 30 + ["pending"] * 10 + ["snoozed"] * 5 + ["resolved"] * 55
NAMES = ("Sara Rahimi", "مریم احمدی", "John Smith", "Reza Karimi", "Ana García", "علی رضایی")
BATCH = 5_000


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
    """Customers 1..conversations (the database has none yet), in multi-row INSERTs."""
    rng = random.Random(7)
    rows = Rows()
    for n in range(1, conversations + 1):
        rows.add(n, rng, per, inboxes[n % len(inboxes)], agents)
    engine = create_engine(sync_url(database_url))
    try:
        with engine.begin() as conn:
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
