"""Webhook subscriptions, their signing secrets and their delivery log."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.crypto import SecretBox
from app.db import utcnow
from app.errors import Conflict, NotFound, refused
from app.webhooks.events import PAYLOAD_VERSION
from app.webhooks.models import DeliveryState, WebhookDelivery, WebhookSubscription
from app.webhooks.signing import new_secret
from app.webhooks.urls import UrlRefused, check_url

_SECRET = "secret"  # noqa: S105 - the key of the sealed value


def _valid_url(url: str, allow_private: bool) -> str:
    try:
        return check_url(url, allow_private=allow_private)
    except UrlRefused as exc:
        raise refused(exc, "webhook_url_refused") from exc


async def list_webhooks(session: AsyncSession) -> list[WebhookSubscription]:
    return list(
        (await session.scalars(select(WebhookSubscription).order_by(WebhookSubscription.id))).all()
    )


async def get_webhook(session: AsyncSession, webhook_id: int) -> WebhookSubscription:
    webhook = await session.get(WebhookSubscription, webhook_id)
    if webhook is None:
        raise NotFound("webhook not found")
    return webhook


async def create_webhook(
    session: AsyncSession,
    box: SecretBox,
    *,
    url: str,
    events: list[str],
    description: str,
    enabled: bool,
    allow_private: bool,
    created_by_id: int,
) -> tuple[WebhookSubscription, str]:
    """The new subscription and its signing secret, shown to the administrator once."""
    secret = new_secret()
    webhook = WebhookSubscription(
        url=_valid_url(url, allow_private),
        events=events,
        description=description,
        enabled=enabled,
        secret_sealed=box.seal({_SECRET: secret}),
        created_by_id=created_by_id,
    )
    session.add(webhook)
    await session.flush()
    return webhook, secret


async def update_webhook(
    session: AsyncSession,
    webhook: WebhookSubscription,
    *,
    url: str | None,
    events: list[str] | None,
    description: str | None,
    enabled: bool | None,
    allow_private: bool,
) -> WebhookSubscription:
    if url is not None:
        webhook.url = _valid_url(url, allow_private)
    if events is not None:
        webhook.events = events
    if description is not None:
        webhook.description = description
    if enabled is not None:
        if enabled and not webhook.enabled:
            # A fresh start: its failures so far no longer count towards disabling it.
            webhook.failing_since = None
            webhook.disabled_reason = None
        webhook.enabled = enabled
    webhook.updated_at = utcnow()
    await session.flush()
    return webhook


async def delete_webhook(session: AsyncSession, webhook: WebhookSubscription) -> None:
    await session.delete(webhook)
    await session.flush()


def secrets_in_use(box: SecretBox, webhook: WebhookSubscription, now: datetime) -> list[str]:
    """What a delivery is signed with: the secret, then the previous one during its grace."""
    found = [str(box.open(webhook.secret_sealed)[_SECRET])]
    if (
        webhook.previous_secret_sealed
        and webhook.previous_secret_until
        and now < webhook.previous_secret_until
    ):
        found.append(str(box.open(webhook.previous_secret_sealed)[_SECRET]))
    return found


def reveal_secret(box: SecretBox, webhook: WebhookSubscription) -> str:
    return str(box.open(webhook.secret_sealed)[_SECRET])


async def rotate_secret(
    session: AsyncSession, box: SecretBox, webhook: WebhookSubscription, *, grace: timedelta
) -> str:
    """A new signing secret; the current one is also signed with for `grace`, so receivers
    can switch without refusing a delivery."""
    secret = new_secret()
    webhook.previous_secret_sealed = webhook.secret_sealed
    webhook.previous_secret_until = utcnow() + grace
    webhook.secret_sealed = box.seal({_SECRET: secret})
    webhook.updated_at = utcnow()
    await session.flush()
    return secret


async def list_deliveries(
    session: AsyncSession, webhook_id: int, *, before: int | None, limit: int
) -> list[WebhookDelivery]:
    """The webhook's deliveries, newest first."""
    stmt = select(WebhookDelivery).where(WebhookDelivery.subscription_id == webhook_id)
    if before is not None:
        stmt = stmt.where(WebhookDelivery.id < before)
    return list(
        (await session.scalars(stmt.order_by(WebhookDelivery.id.desc()).limit(limit))).all()
    )


async def trim_log(session: AsyncSession, older_than: timedelta) -> int:
    """Forget finished deliveries older than this; waiting ones stay, however old."""
    result = await session.execute(
        delete(WebhookDelivery).where(
            WebhookDelivery.state != DeliveryState.pending,
            WebhookDelivery.created_at < utcnow() - older_than,
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def redeliver(session: AsyncSession, webhook_id: int, delivery_id: int) -> WebhookDelivery:
    """Send a delivery again, as it was (same body and id), with a full set of tries. It goes
    before the webhook's waiting deliveries, which are newer."""
    delivery = await session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.subscription_id != webhook_id:
        raise NotFound("delivery not found")
    if delivery.state == DeliveryState.pending:
        raise Conflict("this delivery is still being tried", code="delivery_pending")
    await session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery.id)
        .values(
            state=DeliveryState.pending,
            attempts=0,
            next_attempt_at=utcnow(),
            claimed_until=None,
            finished_at=None,
        )
    )
    await session.refresh(delivery)
    return delivery


async def queue_delivery(
    session: AsyncSession, webhook: WebhookSubscription, event_type: str, data: dict[str, Any]
) -> WebhookDelivery:
    """A delivery to one webhook outside its subscriptions (a rule's `call_webhook`): sent
    by the delivery worker like any other, signed, in order, retried, in its log."""
    now = utcnow()
    delivery_id = str(uuid.uuid4())
    body = json.dumps(
        {
            "version": PAYLOAD_VERSION,
            "id": f"evt_{delivery_id}",
            "type": event_type,
            "created_at": now.isoformat().replace("+00:00", "Z"),
            "data": data,
        },
        ensure_ascii=False,
        separators=(",", ":"),
        default=str,
    )
    delivery = WebhookDelivery(
        subscription_id=webhook.id,
        delivery_id=delivery_id,
        event_type=event_type,
        body=body,
        state=DeliveryState.pending,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(delivery)
    await session.flush()
    return delivery
