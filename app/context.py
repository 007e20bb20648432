"""What one running process shares: settings, database, bus, hub, file store, secret box."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

import httpx

from app.channels import CHANNELS, ConnectorDeps
from app.crypto import Passwords, SecretBox, bus_key
from app.db import Database
from app.events import log as event_log
from app.inbound.ingest import IngestPolicy
from app.inbound.queue import IngestQueue
from app.inboxes.models import Inbox, InboxKind
from app.inboxes.service import VerifiedKeys, channel_config
from app.ratelimit import RateLimiter
from app.realtime.bus import Bus, MemoryBus
from app.realtime.hub import Hub
from app.realtime.presence import MemoryPresenceStore, Presence, PresenceStore
from app.settings import Settings
from app.tickets.storage import FileStore
from connectors.base import Connector
from connectors.config import ChannelConfig

if TYPE_CHECKING:
    from redis.asyncio import Redis


@dataclass
class Context:
    settings: Settings
    db: Database
    bus: Bus
    presence: Presence
    redis: Redis | None
    files: FileStore
    secret_box: SecretBox
    passwords: Passwords
    rate_limiter: RateLimiter = field(default_factory=RateLimiter)
    verified_keys: VerifiedKeys = field(default_factory=VerifiedKeys)
    # Set when a reply is queued in this process, so the embedded worker sends at once.
    outbox_ready: asyncio.Event = field(default_factory=asyncio.Event)
    inbound: IngestQueue = field(init=False)
    # Shared by every connector in this process (connection pooling); closed with it.
    http: httpx.AsyncClient = field(init=False)
    # Started only by `serve` (app.main); a worker just publishes.
    hub: Hub = field(init=False)

    def __post_init__(self) -> None:
        self.inbound = IngestQueue(self.db, lambda: self.ingest_policy)
        self.http = httpx.AsyncClient(timeout=self.settings.delivery_timeout_seconds)
        self.hub = Hub(self.db, self.bus, self.presence, self.settings)

    def connector(self, inbox: Inbox) -> Connector | None:
        """The inbox's connector, or None for a kind that has none. ValueError when its
        stored settings cannot be read."""
        return self.channel_connector(
            inbox.kind, channel_config(inbox, self.secret_box), inbox_id=inbox.id
        )

    def channel_connector(
        self, kind: InboxKind, config: ChannelConfig, *, inbox_id: int
    ) -> Connector | None:
        """A connector for these settings (an inbox being set up has no id yet: 0)."""
        factory = CHANNELS[kind].connector
        if factory is None:
            return None
        deps = ConnectorDeps(
            inbox_id=inbox_id,
            http=self.http,
            public_url=self.settings.public_url,
            max_attachment_bytes=self.settings.max_attachment_bytes,
        )
        return factory(config, deps)

    async def aclose(self) -> None:
        await self.http.aclose()
        await self.bus.aclose()
        if self.redis is not None:
            with contextlib.suppress(Exception):
                await self.redis.aclose()
        await self.db.dispose()

    @property
    def ingest_policy(self) -> IngestPolicy:
        return IngestPolicy(
            reopen_window=timedelta(hours=self.settings.reopen_window_hours),
            max_attachment_bytes=self.settings.max_attachment_bytes,
            files=self.files,
        )


def build_context(settings: Settings) -> Context:
    db = Database(settings.database_url)
    redis: Redis | None = None
    bus: Bus
    store: PresenceStore
    if settings.redis_url:
        # Imported only when configured: the embedded default never loads the client (~6 MiB).
        from redis.asyncio import Redis

        from app.realtime.presence import RedisPresenceStore
        from app.realtime.redis_bus import RedisBus

        # Presence's: short timeouts, so a Redis that hangs never holds up the hub or a
        # bootstrap. The bus has a client of its own (RedisBus.connect says why).
        redis = Redis.from_url(
            settings.redis_url,
            socket_connect_timeout=2,
            socket_timeout=2,
            health_check_interval=10,
        )
        bus = RedisBus.connect(settings.redis_url, bus_key(settings.secret_key))
        store = RedisPresenceStore(redis)
    else:
        bus, store = MemoryBus(), MemoryPresenceStore()
    db.before_commit = event_log.finalize
    db.after_commit = bus.publish
    return Context(
        settings=settings,
        db=db,
        bus=bus,
        presence=Presence(store, ttl_seconds=settings.heartbeat_seconds * 2.5),
        redis=redis,
        rate_limiter=RateLimiter(settings.redis_url),
        files=FileStore(settings.attachments_dir),
        secret_box=SecretBox(settings.secret_key),
        passwords=Passwords(
            time_cost=settings.password_hash_time_cost,
            memory_kib=settings.password_hash_memory_kib,
        ),
    )
