"""What one running process shares: settings, database, bus, file store, secret box."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta

from app.crypto import Passwords, SecretBox
from app.db import Database
from app.events import log as event_log
from app.inbound.ingest import IngestPolicy
from app.inbound.queue import IngestQueue
from app.inboxes.service import VerifiedKeys
from app.ratelimit import RateLimiter
from app.realtime.bus import MemoryBus
from app.settings import Settings
from app.tickets.storage import FileStore


@dataclass
class Context:
    settings: Settings
    db: Database
    bus: MemoryBus
    files: FileStore
    secret_box: SecretBox
    passwords: Passwords
    rate_limiter: RateLimiter = field(default_factory=RateLimiter)
    verified_keys: VerifiedKeys = field(default_factory=VerifiedKeys)
    # Set when a reply is queued in this process, so the embedded worker sends at once.
    outbox_ready: asyncio.Event = field(default_factory=asyncio.Event)
    inbound: IngestQueue = field(init=False)

    def __post_init__(self) -> None:
        self.inbound = IngestQueue(self.db, lambda: self.ingest_policy)

    @property
    def ingest_policy(self) -> IngestPolicy:
        return IngestPolicy(
            reopen_window=timedelta(hours=self.settings.reopen_window_hours),
            max_attachment_bytes=self.settings.max_attachment_bytes,
            files=self.files,
        )


def build_context(settings: Settings) -> Context:
    db = Database(settings.database_url)
    bus = MemoryBus()
    db.before_commit = event_log.finalize
    db.after_commit = bus.publish
    return Context(
        settings=settings,
        db=db,
        bus=bus,
        files=FileStore(settings.attachments_dir),
        secret_box=SecretBox(settings.secret_key),
        passwords=Passwords(
            time_cost=settings.password_hash_time_cost,
            memory_kib=settings.password_hash_memory_kib,
        ),
    )
