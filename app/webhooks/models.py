from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow
from app.types import JSONType


class WebhookSubscription(Base):
    """A URL an administrator subscribed to some public event types (app.webhooks.events)."""

    __tablename__ = "webhook_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str] = mapped_column(String(200), default="")
    events: Mapped[list[str]] = mapped_column(JSONType)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # The signing secret, sealed with the secret box; after a rotation the previous one too,
    # still signed with until `previous_secret_until`.
    secret_sealed: Mapped[str] = mapped_column(Text)
    previous_secret_sealed: Mapped[str | None] = mapped_column(Text)
    previous_secret_until: Mapped[datetime | None] = mapped_column()
    # Since when every try has failed (None: the last one succeeded); disabled after a while.
    failing_since: Mapped[datetime | None] = mapped_column()
    disabled_reason: Mapped[str | None] = mapped_column(String(500))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class DeliveryState(enum.StrEnum):
    pending = "pending"  # to be sent (again), at `next_attempt_at`
    delivered = "delivered"
    failed = "failed"  # finally: a 4xx, or out of attempts


class WebhookDelivery(Base):
    """One event for one subscription: the exact body sent on every try, under one id."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_subscription_state", "subscription_id", "state", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_subscriptions.id", ondelete="CASCADE")
    )
    delivery_id: Mapped[str] = mapped_column(String(36), unique=True)  # X-Panjereh-Delivery
    event_type: Mapped[str] = mapped_column(String(64))
    event_seq: Mapped[int | None] = mapped_column(BigInteger)
    body: Mapped[str] = mapped_column(Text)
    state: Mapped[DeliveryState] = mapped_column(String(20), default=DeliveryState.pending)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_until: Mapped[datetime | None] = mapped_column()
    # The last try: its answer (None: no answer), how long it took, what went wrong.
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_snippet: Mapped[str | None] = mapped_column(String(500))
    latency_ms: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()
