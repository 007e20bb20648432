"""Presence: whether each agent is online, away or offline, across every process.

Every agent socket is one entry (status and last activity) in a store: Redis when
configured, so that all processes see all sockets, else this process's memory. An entry
expires unless its process refreshes it (every heartbeat), so a process that dies takes its
agents offline within `ttl`. An agent is online if any of its sockets is, away if it has
sockets that all say away, offline without sockets. The last activity of each agent is kept
after its sockets are gone.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal, Protocol

from app.db import utcnow

if TYPE_CHECKING:
    from redis.asyncio import Redis

Status = Literal["online", "away", "offline"]
SocketStatus = Literal["online", "away"]


@dataclass(frozen=True, slots=True)
class AgentPresence:
    agent_id: int
    status: Status
    last_active_at: datetime | None


@dataclass(frozen=True, slots=True)
class Entry:
    """One socket's presence."""

    agent_id: int
    status: SocketStatus
    active_at: datetime
    expires: float  # time.time() after which the entry no longer counts

    def dumps(self) -> str:
        return json.dumps(
            [self.agent_id, self.status, self.active_at.isoformat(), self.expires],
            separators=(",", ":"),
        )

    @classmethod
    def loads(cls, raw: str | bytes) -> Entry:
        agent_id, status, active_at, expires = json.loads(raw)
        return cls(int(agent_id), status, datetime.fromisoformat(active_at), float(expires))


class PresenceStore(Protocol):
    async def put(self, entries: dict[str, Entry]) -> None:
        """Write socket entries (by socket id) and advance their agents' last activity."""

    async def remove(self, socket_ids: Iterable[str]) -> None: ...

    async def load(self) -> tuple[dict[str, Entry], dict[int, datetime]]:
        """Every socket entry, and every agent's last activity."""


class MemoryPresenceStore:
    def __init__(self) -> None:
        self._entries: dict[str, Entry] = {}
        self._last_active: dict[int, datetime] = {}

    async def put(self, entries: dict[str, Entry]) -> None:
        self._entries.update(entries)
        for entry in entries.values():
            known = self._last_active.get(entry.agent_id)
            self._last_active[entry.agent_id] = max(known or entry.active_at, entry.active_at)

    async def remove(self, socket_ids: Iterable[str]) -> None:
        for socket_id in socket_ids:
            self._entries.pop(socket_id, None)

    async def load(self) -> tuple[dict[str, Entry], dict[int, datetime]]:
        return dict(self._entries), dict(self._last_active)


class RedisPresenceStore:
    """Two hashes: socket id → entry, and agent id → last activity (ISO 8601)."""

    SOCKETS = "panjereh:presence:sockets"
    LAST_ACTIVE = "panjereh:presence:last_active"

    def __init__(self, client: Redis) -> None:
        self._redis = client

    async def put(self, entries: dict[str, Entry]) -> None:
        if not entries:
            return
        last: dict[int, datetime] = {}
        for entry in entries.values():
            last[entry.agent_id] = max(last.get(entry.agent_id, entry.active_at), entry.active_at)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hset(self.SOCKETS, mapping={k: e.dumps() for k, e in entries.items()})
            pipe.hset(self.LAST_ACTIVE, mapping={str(a): t.isoformat() for a, t in last.items()})
            await pipe.execute()

    async def remove(self, socket_ids: Iterable[str]) -> None:
        ids = list(socket_ids)
        if ids:
            await self._redis.hdel(self.SOCKETS, *ids)

    async def load(self) -> tuple[dict[str, Entry], dict[int, datetime]]:
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(self.SOCKETS)
            pipe.hgetall(self.LAST_ACTIVE)
            raw_entries, raw_last = await pipe.execute()
        entries = {_text(k): Entry.loads(v) for k, v in raw_entries.items()}
        last = {int(k): datetime.fromisoformat(_text(v)) for k, v in raw_last.items()}
        return entries, last


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


class Presence:
    """This process's sockets' presence, written through to the shared store."""

    def __init__(self, store: PresenceStore, *, ttl_seconds: float) -> None:
        self.store = store
        self._ttl = ttl_seconds
        self._local: dict[str, Entry] = {}

    async def update(
        self, socket_id: str, agent_id: int, status: SocketStatus | None = None
    ) -> None:
        """The socket is (still) there and active now; `status` changes what it reports."""
        previous = self._local.get(socket_id)
        entry = Entry(
            agent_id,
            status or (previous.status if previous else "online"),
            utcnow(),
            time.time() + self._ttl,
        )
        self._local[socket_id] = entry
        await self.store.put({socket_id: entry})

    async def drop(self, socket_id: str) -> None:
        self._local.pop(socket_id, None)
        await self.store.remove([socket_id])

    async def refresh(self) -> None:
        """Push this process's entries' expiry forward (called every heartbeat)."""
        expires = time.time() + self._ttl
        self._local = {k: replace(e, expires=expires) for k, e in self._local.items()}
        await self.store.put(self._local)

    async def snapshot(self) -> dict[int, AgentPresence]:
        """Every agent with sockets or a known last activity; expired entries are removed."""
        entries, last_active = await self.store.load()
        now = time.time()
        expired = [k for k, e in entries.items() if e.expires < now]
        if expired:
            await self.store.remove(expired)
        statuses: dict[int, Status] = {}
        for entry in entries.values():
            if entry.expires < now:
                continue
            if statuses.get(entry.agent_id) != "online":
                statuses[entry.agent_id] = entry.status
            known = last_active.get(entry.agent_id)
            last_active[entry.agent_id] = max(known or entry.active_at, entry.active_at)
        return {
            agent_id: AgentPresence(agent_id, statuses.get(agent_id, "offline"), at)
            for agent_id, at in last_active.items()
        }


def presence_out(p: AgentPresence) -> dict[str, object]:
    """The `data` of a presence frame, and an item of the bootstrap's `presence`."""
    at = p.last_active_at.astimezone(UTC).isoformat() if p.last_active_at else None
    return {"agent_id": p.agent_id, "status": p.status, "last_active_at": at}
