"""The audit log: who changed what, when, from where. `record` is the one function every
service or router that changes settings or data calls, in the transaction of the change.

Secrets never reach a row: a value under a name that looks like one (password, token,
secret, key, signature, credential…) is replaced by `REDACTED` at any depth, and callers
record an inbox's settings by the names of the fields changed, never their values."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel
from sqlalchemy import and_, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.models import AuditEntry
from app.db import utcnow

REDACTED = "[redacted]"
_SECRET_NAME = re.compile(
    r"secret|token|passw|pwd|api_?key|private_?key|^key$|_key$|signature|credential|auth",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Who:
    """Who acts and from where: an agent (id and name) or nobody yet (a failed login), or
    an automation (`name` only), and the client's address."""

    agent_id: int | None
    name: str | None
    ip: str | None


def redact(value: Any) -> Any:
    """`value` with everything under a secret-looking name replaced, at any depth, and a
    URL's user, password and query left out (a webhook's URL may carry a token)."""
    if isinstance(value, Mapping):
        return {
            str(k): REDACTED
            if _SECRET_NAME.search(str(k))
            else _bare_url(v)
            if str(k) == "url" and isinstance(v, str)
            else redact(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _bare_url(url: str) -> str:
    parts = urlsplit(url)
    if not (parts.username or parts.password or parts.query):
        return url
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def record(
    session: AsyncSession,
    who: Who,
    action: str,
    target: tuple[str, int | str] | None = None,
    changes: Mapping[str, Any] | BaseModel | None = None,
) -> None:
    """Add an audit entry to the caller's transaction: it is kept only if the change is.
    `changes` given as a request body records the fields it set (see `requested`)."""
    if isinstance(changes, BaseModel):
        changes = requested(changes)
    session.add(
        AuditEntry(
            at=utcnow(),
            actor_id=who.agent_id,
            actor_name=who.name,
            ip=who.ip,
            action=action,
            target_type=target[0] if target else None,
            target_id=str(target[1]) if target else None,
            changes=redact(dict(changes or {})),
        )
    )


@dataclass(frozen=True, slots=True)
class AuditFilter:
    actor_id: int | None = None
    action: str | None = None  # exact, or a prefix ending in "." ("inbox.")
    target_type: str | None = None
    target_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


async def list_entries(
    session: AsyncSession, f: AuditFilter, *, before: tuple[datetime, int] | None, limit: int
) -> tuple[list[AuditEntry], bool]:
    """Newest first, keyset-paginated on (at, id); and whether more are left."""
    stmt = select(AuditEntry)
    if f.actor_id is not None:
        stmt = stmt.where(AuditEntry.actor_id == f.actor_id)
    if f.action:
        stmt = stmt.where(
            AuditEntry.action.startswith(f.action, autoescape=True)
            if f.action.endswith(".")
            else AuditEntry.action == f.action
        )
    if f.target_type is not None:
        stmt = stmt.where(AuditEntry.target_type == f.target_type)
    if f.target_id is not None:
        stmt = stmt.where(AuditEntry.target_id == f.target_id)
    if f.since is not None:
        stmt = stmt.where(AuditEntry.at >= f.since)
    if f.until is not None:
        stmt = stmt.where(AuditEntry.at < f.until)
    if before is not None:
        at, id_ = before
        stmt = stmt.where(or_(AuditEntry.at < at, and_(AuditEntry.at == at, AuditEntry.id < id_)))
    rows = list(
        (
            await session.scalars(
                stmt.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit + 1)
            )
        ).all()
    )
    return rows[:limit], len(rows) > limit


async def delete_older_than(session: AsyncSession, days: float) -> int:
    result = await session.execute(
        delete(AuditEntry).where(AuditEntry.at < utcnow() - timedelta(days=days))
    )
    return int(getattr(result, "rowcount", 0) or 0)


def requested(body: BaseModel, *, names_only: Collection[str] = ("config",)) -> dict[str, Any]:
    """What a request asked to change: the fields it set. Of a `names_only` field (an
    inbox's settings, which hold credentials) only the names of the keys it set."""
    data: dict[str, Any] = body.model_dump(mode="json", exclude_unset=True)
    for name in names_only:
        if isinstance(data.get(name), dict):
            data[name] = sorted(data[name])
    return data


def diff(before: BaseModel, after: BaseModel) -> dict[str, Any]:
    """What a change did: each field whose value changed, as `{"before": …, "after": …}`."""
    old, new = before.model_dump(mode="json"), after.model_dump(mode="json")
    return {
        k: {"before": old.get(k), "after": v}
        for k, v in new.items()
        if old.get(k) != v and k != "updated_at"  # the change's own time is `at`
    }
