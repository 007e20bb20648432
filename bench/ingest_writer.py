"""The ingest writer's CPU: what one group-commit batch costs the server process on PostgreSQL.

    .venv/bin/python bench/ingest_writer.py [--batches 1500] [--sizes 1,2,8] [--senders 200]

Starts a throwaway PostgreSQL (the Debian package, as the tests do), migrates it, creates
an `api` inbox and `--senders` contacts with a conversation each, then for each batch size
stores `--batches` batches one after another, each as the group-commit writer does: one
write transaction (`Database.write()`, the event log numbered at commit) running
`ingest_many` on messages from known senders into their open conversations. It prints the
process CPU time per batch and per message (PostgreSQL's own work is in another process and
not counted), and the statements a batch runs.

To tell the fixed costs apart, it also prints the CPU of one single-row SELECT through
SQLAlchemy's AsyncSession and through asyncpg (the server's driver) alone, and of a write
transaction holding that one SELECT. The live path's figures (bench/live_latency.py) depend
on these: under load, the writer is about half of a server's CPU. It prints figures; it
asserts nothing.
"""

from __future__ import annotations

import argparse
import functools
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import uvloop
from sqlalchemy import event, insert, select

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness import database  # bench/ is not a package: run as a script, its folder is on the path

from app import migrate
from app.contacts.models import Contact
from app.db import Database, sync_url, table, utcnow
from app.events import log as event_log
from app.inbound.ingest import InboxRef, IngestPolicy, ingest_many
from app.inboxes.models import Inbox
from app.tickets.storage import FileStore
from connectors.base import Address, AddressKind, InboundMessage, Party


class Messages:
    """Messages from `senders` known customers, each with a new external id."""

    def __init__(self, inbox_id: int, senders: int) -> None:
        self.inbox_id = inbox_id
        self.senders = senders
        self.count = 0

    def next(self) -> InboundMessage:
        self.count += 1
        sender = self.count % self.senders
        return InboundMessage(
            external_id=f"m-{self.count}",
            sender=Party(
                Address(AddressKind.api, f"{self.inbox_id}:customer-{sender}"),
                name=f"Customer {sender}",
                identifies=True,
            ),
            sent_at=datetime.now(UTC),
            text=f"Message {self.count}: my order has not arrived yet, could you look?",
            raw={"external_id": f"m-{self.count}", "text": "…"},
        )


async def cpu_per_call(calls: int, call: Callable[[], Awaitable[Any]]) -> float:
    """Microseconds of this process's CPU per call, after a warm-up."""
    for _ in range(min(200, calls)):
        await call()
    started = time.process_time()
    for _ in range(calls):
        await call()
    return (time.process_time() - started) / calls * 1e6


async def run(url: str, files: Path, args: argparse.Namespace) -> None:
    db = Database(url)
    db.before_commit = event_log.finalize
    async with db.write() as session:
        now = utcnow()
        inbox_id = (
            await session.execute(
                insert(Inbox)
                .values(kind="api", name="bench", config={}, enabled=True, public_token="bench")
                .values(created_at=now, updated_at=now)
                .returning(Inbox.id)
            )
        ).scalar_one()
    inbox = InboxRef(inbox_id, "api")
    policy = IngestPolicy(timedelta(days=7), 10_000_000, FileStore(files))
    messages = Messages(inbox_id, args.senders)

    async def store(size: int) -> None:
        async with db.write() as session:
            await ingest_many(session, [(inbox, messages.next()) for _ in range(size)], policy)

    for _ in range(args.senders):  # every sender known, with an open conversation
        await store(1)

    print(f"ingest writer on PostgreSQL: {args.senders} known senders, open conversations")
    statements: list[str] = []

    def count(*fired: Any) -> None:
        statements.append(fired[2])

    for size in args.sizes:
        statements.clear()
        event.listen(db.engine.sync_engine, "before_cursor_execute", count)
        await store(size)
        event.remove(db.engine.sync_engine, "before_cursor_execute", count)
        per_batch = await cpu_per_call(args.batches, functools.partial(store, size))
        print(
            f"  batch of {size}: {per_batch / 1000:.2f} ms of CPU per batch, "
            f"{per_batch / size / 1000:.2f} ms per message; BEGIN, "
            f"{len(statements)} statements, COMMIT"
        )

    one_row = select(table(Contact).c.id).where(table(Contact).c.id == 1)
    async with db.write() as session:
        via_session = await cpu_per_call(3000, lambda: session.execute(one_row))

    async def transaction() -> None:
        async with db.write() as session:
            await session.execute(one_row)

    in_transaction = await cpu_per_call(3000, transaction)
    await db.dispose()
    conn = await asyncpg.connect(sync_url(url).replace("+psycopg", ""))
    try:
        via_asyncpg = await cpu_per_call(
            3000, lambda: conn.fetch("SELECT id FROM contacts WHERE id = $1", 1)
        )
    finally:
        await conn.close()
    print("one single-row SELECT, CPU per call:")
    print(f"  SQLAlchemy AsyncSession.execute  {via_session:.0f} µs")
    print(f"  asyncpg alone                    {via_asyncpg:.0f} µs")
    print(f"  a write transaction around it    {in_transaction:.0f} µs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=1500)
    parser.add_argument("--sizes", default="1,2,8")
    parser.add_argument("--senders", type=int, default=200)
    args = parser.parse_args()
    args.sizes = [int(size) for size in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as tmp, database(Path(tmp), postgres=True) as url:
        migrate.upgrade(url)
        uvloop.run(run(url, Path(tmp) / "files", args))


if __name__ == "__main__":
    main()
