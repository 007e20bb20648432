from __future__ import annotations

import logging
from dataclasses import dataclass

from fastapi import APIRouter, status

from app.audit import service as audit
from app.audit.api import Auditor
from app.channels import webhook_url
from app.context import Context
from app.deps import AdminAgent, ContextDep, CurrentAgent, ReadSession, visible_inbox_ids
from app.errors import Invalid, NotFound
from app.fields import DbId
from app.inbound.pollers import save_start, stored_cursor
from app.inboxes import service
from app.inboxes.models import Inbox, InboxKind
from app.inboxes.schemas import (
    InboxCreate,
    InboxOut,
    InboxTest,
    InboxTestResult,
    InboxUpdate,
)
from connectors.base import ManagedConnector, PollingConnector, SetupError
from connectors.config import ChannelConfig

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1/inboxes", tags=["inboxes"])

# The provider is called outside any transaction (a slow provider must not hold the
# database), before saving for a credentials check and after commit to register webhooks.


def _setup_failed(exc: SetupError) -> Invalid:
    return Invalid(str(exc), code="channel_setup_failed")


@dataclass(frozen=True, slots=True)
class _Start:
    """Where the worker is to pull an inbox from, decided as its settings are saved."""

    cursor: str | None


async def _check(
    ctx: Context, kind: InboxKind, config: ChannelConfig, *, cursor: str | None = None
) -> _Start | None:
    """Checks the settings with the provider (422 if refused). For a channel the worker
    pulls, also where it starts (`PollingConnector.start`, given the stored `cursor`): so
    what arrives from now on is pulled, however late a worker first gets to it."""
    connector = ctx.channel_connector(kind, config, inbox_id=0)
    if connector is None:
        return None
    try:
        if isinstance(connector, ManagedConnector):
            await connector.check()
        if isinstance(connector, PollingConnector):
            return _Start(await connector.start(cursor))
        return None
    except SetupError as exc:
        raise _setup_failed(exc) from exc
    finally:
        await connector.aclose()


async def _switch(ctx: Context, inbox: Inbox, *, on: bool) -> None:
    """Register (on) or unregister (off) the inbox with its provider; SetupError on failure."""
    connector = ctx.connector(inbox)
    if not isinstance(connector, ManagedConnector):
        return
    try:
        if on:
            await connector.activate(webhook_url(inbox.kind, inbox.id, ctx.settings.public_url))
        else:
            await connector.deactivate()
    finally:
        await connector.aclose()


async def _disable(ctx: Context, inbox_id: int, who: audit.Who, why: str) -> Inbox:
    async with ctx.db.write() as session:
        inbox = await service.get_inbox(session, inbox_id)
        await service.update_inbox(
            session,
            ctx.secret_box,
            inbox,
            name=None,
            config=None,
            enabled=False,
            agent_ids=None,
            rotate_api_key=False,
        )
        audit.record(
            session, who, "inbox.disabled", target=("inbox", inbox_id), changes={"why": why}
        )
    ctx.verified_keys.forget(inbox_id)
    return inbox


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_inbox(
    body: InboxCreate, _admin: AdminAgent, who: Auditor, ctx: ContextDep
) -> InboxOut:
    """Channels with credentials (a bot token, a mail login) are checked before the inbox is
    saved, and registered with their provider (a webhook) right after: 422
    `channel_setup_failed` with the provider's reason if either fails, and nothing saved."""
    config = service.validated_config(body.kind, body.config)
    start = await _check(ctx, body.kind, config)
    async with ctx.db.write() as session:
        inbox, api_key = await service.create_inbox(
            session,
            ctx.secret_box,
            kind=body.kind,
            name=body.name,
            config=config,
            agent_ids=body.agent_ids,
        )
        if start is not None:
            await save_start(session, inbox.id, start.cursor)
        audit.record(
            session,
            who,
            "inbox.created",
            target=("inbox", inbox.id),
            changes=audit.requested(body),
        )
    try:
        await _switch(ctx, inbox, on=True)
    except SetupError as exc:
        async with ctx.db.write() as session:
            await service.delete_unused_inbox(session, inbox.id)
        raise _setup_failed(exc) from exc
    shown = service.ShownOnce(
        api_key=api_key, signing_secret=service.generated_signing_secret(config, body.config)
    )
    return service.inbox_out(
        inbox,
        ctx.secret_box,
        public_url=ctx.settings.public_url,
        agent_ids=body.agent_ids,
        shown=shown,
    )


@router.post("/test")
async def try_inbox_settings(
    body: InboxTest, _admin: AdminAgent, ctx: ContextDep
) -> InboxTestResult:
    """Tries settings without saving them: the channel's credentials check (a bot token,
    a mail login), where the channel has one. `ok: false` carries the provider's reason.
    With `inbox_id`, `config` is a change to that inbox's settings (404 if there is none)."""
    inbox = None
    if body.inbox_id is not None:
        async with ctx.db.read() as session:
            inbox = await service.get_inbox(session, body.inbox_id)
    try:
        if inbox is None:
            config = service.validated_config(body.kind, body.config)
        elif inbox.kind != body.kind:
            raise Invalid(f"inbox {inbox.id} is a {inbox.kind} inbox", code="invalid_config")
        else:
            config = service.changed_config(inbox, ctx.secret_box, body.config)
        await _check(ctx, body.kind, config)
    except Invalid as exc:
        return InboxTestResult(ok=False, detail=exc.detail)
    connector = ctx.channel_connector(body.kind, config, inbox_id=0)
    managed = isinstance(connector, ManagedConnector)
    if connector is not None:
        await connector.aclose()
    detail = "connected" if managed else "settings are valid (this channel has nothing to call)"
    return InboxTestResult(ok=True, detail=detail)


@router.get("")
async def list_inboxes(
    agent: CurrentAgent, session: ReadSession, ctx: ContextDep
) -> list[InboxOut]:
    inboxes = await service.list_inboxes(session, await visible_inbox_ids(session, agent))
    members = await service.agent_ids_by_inbox(session, [i.id for i in inboxes])
    return [
        service.inbox_out(
            i, ctx.secret_box, public_url=ctx.settings.public_url, agent_ids=members[i.id]
        )
        for i in inboxes
    ]


@router.get("/{inbox_id}")
async def get_inbox(
    inbox_id: DbId, agent: CurrentAgent, session: ReadSession, ctx: ContextDep
) -> InboxOut:
    visible = await visible_inbox_ids(session, agent)
    if visible is not None and inbox_id not in visible:
        raise NotFound("inbox not found")
    inbox = await service.get_inbox(session, inbox_id)
    members = await service.agent_ids_by_inbox(session, [inbox_id])
    return service.inbox_out(
        inbox, ctx.secret_box, public_url=ctx.settings.public_url, agent_ids=members[inbox_id]
    )


@router.patch("/{inbox_id}")
async def update_inbox(
    inbox_id: DbId, body: InboxUpdate, _admin: AdminAgent, who: Auditor, ctx: ContextDep
) -> InboxOut:
    """`config` is merged into the stored settings: a setting left out keeps its value
    (secrets included), a null one returns to its default. New credentials are checked
    before they are saved. Enabling registers the inbox with its provider again; if the
    provider refuses, the inbox is left disabled (422)."""
    async with ctx.db.read() as session:
        before = await service.get_inbox(session, inbox_id)
        cursor = await stored_cursor(session, inbox_id)
    was_enabled = before.enabled
    config = None
    start = None
    changes = body.config
    signing_secret = None
    if body.rotate_signing_secret:
        if before.kind != InboxKind.api:
            raise Invalid("only api inboxes sign their replies", code="no_signing_secret")
        changes = {**(changes or {}), "hmac_secret": ""}  # empty: generated anew
    if changes is not None:
        config = service.changed_config(before, ctx.secret_box, changes)
        if body.rotate_signing_secret:
            signing_secret = service.generated_signing_secret(config, {})
        if body.enabled is not False:
            start = await _check(ctx, before.kind, config, cursor=cursor)
    async with ctx.db.write() as session:
        inbox = await service.get_inbox(session, inbox_id)
        api_key = await service.update_inbox(
            session,
            ctx.secret_box,
            inbox,
            name=body.name,
            config=config,
            enabled=body.enabled,
            agent_ids=body.agent_ids,
            rotate_api_key=body.rotate_api_key,
        )
        if start is not None and start.cursor != cursor:  # another folder, another bot
            await save_start(session, inbox_id, start.cursor)
        audit.record(
            session,
            who,
            "inbox.updated",
            target=("inbox", inbox_id),
            changes=audit.requested(body),
        )
        members = await service.agent_ids_by_inbox(session, [inbox_id])
    ctx.verified_keys.forget(inbox_id)
    if was_enabled and config is not None:
        # Unregister what the old settings registered (an old bot token's webhook would
        # otherwise keep delivering here); the new settings register themselves below.
        try:
            await _switch(ctx, before, on=False)
        except SetupError as exc:
            log.warning("inbox %d: unregistering the old settings failed: %s", inbox_id, exc)
    try:
        if inbox.enabled and (not was_enabled or config is not None):
            await _switch(ctx, inbox, on=True)
        elif was_enabled and not inbox.enabled:
            await _switch(ctx, before, on=False)
    except SetupError as exc:
        if inbox.enabled:
            await _disable(ctx, inbox_id, who, f"the provider refused: {exc}")
            raise Invalid(
                f"{exc} (the inbox was left disabled)", code="channel_setup_failed"
            ) from exc
        log.warning("inbox %d: unregistering from the provider failed: %s", inbox_id, exc)
    return service.inbox_out(
        inbox,
        ctx.secret_box,
        public_url=ctx.settings.public_url,
        agent_ids=members[inbox_id],
        shown=service.ShownOnce(api_key=api_key, signing_secret=signing_secret),
    )


@router.delete("/{inbox_id}", status_code=status.HTTP_204_NO_CONTENT)
async def disable_inbox(inbox_id: DbId, _admin: AdminAgent, who: Auditor, ctx: ContextDep) -> None:
    """Disables the inbox (and unregisters its webhook); its conversations and history stay."""
    inbox = await _disable(ctx, inbox_id, who, "disabled by an administrator")
    try:
        await _switch(ctx, inbox, on=False)
    except SetupError as exc:
        log.warning("inbox %d: unregistering from the provider failed: %s", inbox_id, exc)
