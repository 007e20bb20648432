"""Outgoing webhooks, for administrators: subscriptions, their secret, their delivery log."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, status

from app.audit import service as audit
from app.audit.api import Auditor
from app.deps import AdminAgent, ContextDep, ReadSession
from app.fields import Count, DbId
from app.webhooks import service
from app.webhooks.events import EVENT_TYPES, FAMILIES
from app.webhooks.schemas import (
    DeliveryOut,
    WebhookCreate,
    WebhookCreated,
    WebhookOut,
    WebhookSecret,
    WebhookUpdate,
)

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])


@router.get("")
async def list_webhooks(_admin: AdminAgent, session: ReadSession) -> list[WebhookOut]:
    return [WebhookOut.model_validate(w) for w in await service.list_webhooks(session)]


@router.get("/event-types")
async def event_types(_admin: AdminAgent) -> list[str]:
    """What a webhook may subscribe to: these names, `call.*`, `conversation.sla_*`
    (or one of their names), or `*` for everything."""
    return [*EVENT_TYPES, *(f"{family}*" for family in FAMILIES), "*"]


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_webhook(
    body: WebhookCreate, admin: AdminAgent, who: Auditor, ctx: ContextDep
) -> WebhookCreated:
    """Subscribe a URL; the answer carries the signing secret (also shown on reveal)."""
    async with ctx.db.write() as session:
        webhook, secret = await service.create_webhook(
            session,
            ctx.secret_box,
            url=body.url,
            events=body.events,
            description=body.description,
            enabled=body.enabled,
            allow_private=ctx.settings.webhooks_may_reach_private,
            created_by_id=admin.id,
        )
        audit.record(session, who, "webhook.created", ("webhook", webhook.id), body)
        return WebhookCreated(**WebhookOut.model_validate(webhook).model_dump(), secret=secret)


@router.get("/{webhook_id}")
async def get_webhook(webhook_id: DbId, _admin: AdminAgent, session: ReadSession) -> WebhookOut:
    return WebhookOut.model_validate(await service.get_webhook(session, webhook_id))


@router.patch("/{webhook_id}")
async def update_webhook(
    webhook_id: DbId, body: WebhookUpdate, _admin: AdminAgent, who: Auditor, ctx: ContextDep
) -> WebhookOut:
    async with ctx.db.write() as session:
        webhook = await service.update_webhook(
            session,
            await service.get_webhook(session, webhook_id),
            url=body.url,
            events=body.events,
            description=body.description,
            enabled=body.enabled,
            allow_private=ctx.settings.webhooks_may_reach_private,
        )
        audit.record(session, who, "webhook.updated", ("webhook", webhook_id), body)
        return WebhookOut.model_validate(webhook)


@router.delete("/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_webhook(
    webhook_id: DbId, _admin: AdminAgent, who: Auditor, ctx: ContextDep
) -> None:
    async with ctx.db.write() as session:
        audit.record(session, who, "webhook.deleted", ("webhook", webhook_id))
        await service.delete_webhook(session, await service.get_webhook(session, webhook_id))


@router.post("/{webhook_id}/secret")
async def reveal_secret(
    webhook_id: DbId, _admin: AdminAgent, who: Auditor, ctx: ContextDep
) -> WebhookSecret:
    """The signing secret, on an administrator's explicit request (a POST: never cached)."""
    async with ctx.db.write() as session:  # who saw it is audited
        webhook = await service.get_webhook(session, webhook_id)
        audit.record(session, who, "webhook.secret_revealed", ("webhook", webhook_id))
    return WebhookSecret(
        secret=service.reveal_secret(ctx.secret_box, webhook),
        previous_secret_until=webhook.previous_secret_until,
    )


@router.post("/{webhook_id}/secret/rotate")
async def rotate_secret(
    webhook_id: DbId, _admin: AdminAgent, who: Auditor, ctx: ContextDep
) -> WebhookSecret:
    """A new signing secret; the old one is signed with too for the grace period
    (PANJEREH_WEBHOOK_SECRET_GRACE_HOURS)."""
    async with ctx.db.write() as session:
        webhook = await service.get_webhook(session, webhook_id)
        secret = await service.rotate_secret(
            session,
            ctx.secret_box,
            webhook,
            grace=timedelta(hours=ctx.settings.webhook_secret_grace_hours),
        )
        audit.record(session, who, "webhook.secret_rotated", ("webhook", webhook_id))
        return WebhookSecret(secret=secret, previous_secret_until=webhook.previous_secret_until)


@router.get("/{webhook_id}/deliveries")
async def list_deliveries(
    webhook_id: DbId,
    _admin: AdminAgent,
    session: ReadSession,
    before: Annotated[DbId | None, Query()] = None,
    limit: Annotated[Count, Query(ge=1, le=200)] = 50,
) -> list[DeliveryOut]:
    """The webhook's deliveries, newest first (`before`: an id, for the next page)."""
    await service.get_webhook(session, webhook_id)
    deliveries = await service.list_deliveries(session, webhook_id, before=before, limit=limit)
    return [DeliveryOut.model_validate(d) for d in deliveries]


@router.post("/{webhook_id}/deliveries/{delivery_id}/redeliver")
async def redeliver(
    webhook_id: DbId, delivery_id: DbId, _admin: AdminAgent, who: Auditor, ctx: ContextDep
) -> DeliveryOut:
    """Send a finished delivery again, unchanged (same body, same X-Panjereh-Delivery)."""
    async with ctx.db.write() as session:
        delivery = await service.redeliver(session, webhook_id, delivery_id)
        audit.record(
            session, who, "webhook.redelivered", ("webhook", webhook_id), {"delivery": delivery_id}
        )
        return DeliveryOut.model_validate(delivery)
