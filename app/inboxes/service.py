from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.models import Agent
from app.channels import CHANNELS, webhook_url
from app.crypto import SecretBox, digests_equal, new_token, token_digest
from app.db import utcnow
from app.errors import Invalid, NotFound, Unauthorized, validation_message
from app.inboxes.models import Inbox, InboxKind, inbox_agents
from app.inboxes.schemas import InboxOut
from connectors.api.config import ApiConfig
from connectors.config import ChannelConfig, ConfigError

PUBLIC_KINDS = (InboxKind.webchat, InboxKind.callback)


def _nul_at(value: Any, where: str) -> str | None:
    """Where a NUL character is in these settings, if anywhere (PostgreSQL stores none)."""
    if isinstance(value, str):
        return where if "\x00" in value else None
    if isinstance(value, dict):
        items: Iterable[tuple[object, Any]] = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        if found := _nul_at(item, f"{where}.{key}"):
            return found
    return None


def validated_config(kind: InboxKind, values: dict[str, Any]) -> ChannelConfig:
    """The settings as the channel's model reads them (secrets generated where absent);
    422 with the first problem otherwise."""
    model: type[ChannelConfig] = CHANNELS[kind].config
    if where := _nul_at(values, "config"):
        raise Invalid(f"{where}: must not contain NUL characters", code="invalid_config")
    try:
        return model.model_validate(model.generate_missing(values))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        message = validation_message(first)
        raise Invalid(f"config.{where}: {message}", code="invalid_config") from exc


def _split(config: ChannelConfig) -> tuple[dict[str, Any], dict[str, Any]]:
    values = config.model_dump(mode="json")
    secrets = {k: v for k, v in values.items() if k in config.SECRET_FIELDS and v}
    public = {k: v for k, v in values.items() if k not in config.SECRET_FIELDS}
    return public, secrets


def channel_config(inbox: Inbox, box: SecretBox) -> ChannelConfig:
    """The inbox's full settings, secrets included, for its connector."""
    model: type[ChannelConfig] = CHANNELS[inbox.kind].config
    return model.model_validate({**inbox.config, **box.open(inbox.secrets_encrypted)})


def changed_config(inbox: Inbox, box: SecretBox, changes: dict[str, Any]) -> ChannelConfig:
    """The inbox's settings with `changes` applied: settings left out keep their value
    (a secret the admin did not retype), a null one goes back to its default (an
    emptied field in the settings form). A generated secret tied to a changed setting
    (`RENEWED_WITH`: a Telegram webhook's secret to its bot token) is generated anew."""
    current = {**inbox.config, **box.open(inbox.secrets_encrypted)}
    merged = {k: v for k, v in {**current, **changes}.items() if v is not None}
    for secret, setting in CHANNELS[inbox.kind].config.RENEWED_WITH.items():
        if merged.get(setting) != current.get(setting) and secret not in changes:
            merged[secret] = ""  # generated anew by validated_config
    return validated_config(inbox.kind, merged)


async def _set_agents(session: AsyncSession, inbox_id: int, agent_ids: list[int]) -> None:
    known = set((await session.scalars(select(Agent.id).where(Agent.id.in_(agent_ids)))).all())
    if missing := set(agent_ids) - known:
        raise Invalid(f"unknown agent ids: {sorted(missing)}", code="unknown_agent")
    await session.execute(delete(inbox_agents).where(inbox_agents.c.inbox_id == inbox_id))
    if known:
        await session.execute(
            insert(inbox_agents), [{"inbox_id": inbox_id, "agent_id": a} for a in sorted(known)]
        )


async def _check_against_setup(
    session: AsyncSession, kind: InboxKind, config: ChannelConfig
) -> None:
    """The channel's own check of settings against the rest of the setup; 422 if it fails."""
    check = CHANNELS[kind].check
    if check is None:
        return

    async def kind_of(inbox_id: int) -> str | None:
        return await session.scalar(select(Inbox.kind).where(Inbox.id == inbox_id))

    try:
        await check(config, kind_of)
    except ConfigError as exc:
        raise Invalid(f"config.{exc}", code="invalid_config") from exc


@dataclass(frozen=True, slots=True)
class ShownOnce:
    """What an admin sees once, in the answer that made it: an `api` inbox's API key, and
    the secret its replies are signed with when the server generated it (one the admin
    typed is never echoed)."""

    api_key: str | None = None
    signing_secret: str | None = None


def generated_signing_secret(config: ChannelConfig, given: dict[str, Any]) -> str | None:
    """The `api` channel's signing secret, if the server made it up (it was not `given`)."""
    if isinstance(config, ApiConfig) and not given.get("hmac_secret"):
        return config.hmac_secret
    return None


async def create_inbox(
    session: AsyncSession,
    box: SecretBox,
    *,
    kind: InboxKind,
    name: str,
    config: ChannelConfig,
    agent_ids: list[int],
) -> tuple[Inbox, str | None]:
    """The new inbox, and its API key (for the `api` kind) in plain text, shown once."""
    await _check_against_setup(session, kind, config)
    public, secrets = _split(config)
    api_key = new_token() if kind == InboxKind.api else None
    inbox = Inbox(
        kind=kind,
        name=name,
        config=public,
        secrets_encrypted=box.seal(secrets) if secrets else None,
        public_token=new_token(24),
        api_key_hash=token_digest(api_key) if api_key else None,
        enabled=True,
    )
    session.add(inbox)
    await session.flush()
    await _set_agents(session, inbox.id, agent_ids)
    return inbox, api_key


async def update_inbox(
    session: AsyncSession,
    box: SecretBox,
    inbox: Inbox,
    *,
    name: str | None,
    config: ChannelConfig | None,
    enabled: bool | None,
    agent_ids: list[int] | None,
    rotate_api_key: bool,
) -> str | None:
    """Apply a change; returns a new API key when one was rotated."""
    if name is not None:
        inbox.name = name
    if enabled is not None:
        inbox.enabled = enabled
    if config is not None:
        await _check_against_setup(session, inbox.kind, config)
        public, secrets = _split(config)
        inbox.config = public
        inbox.secrets_encrypted = box.seal(secrets) if secrets else None
    if agent_ids is not None:
        await _set_agents(session, inbox.id, agent_ids)
    api_key = None
    if rotate_api_key:
        if inbox.kind != InboxKind.api:
            raise Invalid("only api inboxes have an API key", code="no_api_key")
        api_key = new_token()
        inbox.api_key_hash = token_digest(api_key)
    inbox.updated_at = utcnow()
    await session.flush()
    return api_key


async def delete_unused_inbox(session: AsyncSession, inbox_id: int) -> None:
    """Remove an inbox that was just created and never used (its setup failed)."""
    await session.execute(delete(inbox_agents).where(inbox_agents.c.inbox_id == inbox_id))
    await session.execute(delete(Inbox).where(Inbox.id == inbox_id))


async def get_inbox(session: AsyncSession, inbox_id: int) -> Inbox:
    inbox = await session.get(Inbox, inbox_id)
    if inbox is None:
        raise NotFound("inbox not found")
    return inbox


async def list_inboxes(session: AsyncSession, visible: set[int] | None) -> list[Inbox]:
    stmt = select(Inbox).order_by(Inbox.id)
    if visible is not None:
        stmt = stmt.where(Inbox.id.in_(visible))
    return list((await session.scalars(stmt)).all())


async def authenticate_api_inbox(session: AsyncSession, inbox_id: int, api_key: str | None) -> int:
    """The id of the enabled `api` inbox this key opens; the same 401 whatever is wrong.
    (A column query, not an ORM load: this runs on every inbound API message.)"""
    row = (
        await session.execute(
            select(Inbox.api_key_hash).where(
                Inbox.id == inbox_id, Inbox.kind == InboxKind.api, Inbox.enabled.is_(True)
            )
        )
    ).first()
    if (
        not api_key
        or row is None
        or row[0] is None
        or not digests_equal(row[0], token_digest(api_key))
    ):
        raise Unauthorized(
            "invalid API key for this inbox", code="invalid_api_key", scheme="X-Api-Key"
        )
    return inbox_id


async def agent_ids_by_inbox(session: AsyncSession, inbox_ids: list[int]) -> dict[int, list[int]]:
    members: dict[int, list[int]] = {i: [] for i in inbox_ids}
    rows = await session.execute(
        select(inbox_agents.c.inbox_id, inbox_agents.c.agent_id).where(
            inbox_agents.c.inbox_id.in_(inbox_ids)
        )
    )
    for inbox_id, agent_id in rows:
        members[inbox_id].append(agent_id)
    return members


def inbox_out(
    inbox: Inbox,
    box: SecretBox,
    *,
    public_url: str,
    agent_ids: list[int],
    shown: ShownOnce = ShownOnce(),
) -> InboxOut:
    model: type[ChannelConfig] = CHANNELS[inbox.kind].config
    secrets_set = sorted(box.open(inbox.secrets_encrypted))
    return InboxOut(
        id=inbox.id,
        kind=inbox.kind,
        name=inbox.name,
        enabled=inbox.enabled,
        public_token=inbox.public_token if inbox.kind in PUBLIC_KINDS else None,
        webhook_url=webhook_url(inbox.kind, inbox.id, public_url),
        config={k: v for k, v in inbox.config.items() if k not in model.SECRET_FIELDS},
        secrets_set=secrets_set,
        agent_ids=sorted(agent_ids),
        created_at=inbox.created_at,
        api_key=shown.api_key,
        signing_secret=shown.signing_secret,
    )


class VerifiedKeys:
    """API keys verified in the last few seconds, so a busy integration is not looked up in
    the database on every message. Changing an inbox in this process forgets its keys at
    once; in other processes a disabled inbox or rotated key stops working within `ttl`."""

    def __init__(self, ttl: float = 5.0) -> None:
        self._ttl = ttl
        self._until: dict[tuple[int, str], float] = {}

    def fresh(self, inbox_id: int, digest: str) -> bool:
        until = self._until.get((inbox_id, digest))
        return until is not None and until > time.monotonic()

    def remember(self, inbox_id: int, digest: str) -> None:
        if len(self._until) > 10_000:  # bounded: expired entries are dropped wholesale
            now = time.monotonic()
            self._until = {k: v for k, v in self._until.items() if v > now}
        self._until[(inbox_id, digest)] = time.monotonic() + self._ttl

    def forget(self, inbox_id: int) -> None:
        self._until = {k: v for k, v in self._until.items() if k[0] != inbox_id}
