from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from app.fields import Flag, SafeStr
from app.webhooks.events import accepted
from app.webhooks.models import DeliveryState


def _accepted_types(names: list[str]) -> list[str]:
    unknown = [n for n in names if not accepted(n)]
    if unknown:
        raise ValueError(f"unknown event types: {', '.join(unknown)}")
    return list(dict.fromkeys(names))


EventTypes = Annotated[
    list[Annotated[str, Field(max_length=64)]],
    Field(min_length=1, max_length=50),
    AfterValidator(_accepted_types),
]
Url = Annotated[SafeStr, Field(min_length=1, max_length=2000)]


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: Url
    events: EventTypes
    description: SafeStr = Field(default="", max_length=200)
    enabled: Flag = True


class WebhookUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: Url | None = None
    events: EventTypes | None = None
    description: SafeStr | None = Field(default=None, max_length=200)
    # Enabling a disabled webhook sends what waited meanwhile, in order.
    enabled: Flag | None = None


class WebhookOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    url: str
    description: str
    events: list[str]
    enabled: bool
    disabled_reason: str | None
    failing_since: datetime | None
    # After a rotation, the previous secret is still signed with until then.
    previous_secret_until: datetime | None
    created_at: datetime
    updated_at: datetime


class WebhookSecret(BaseModel):
    """The signing secret: shown at creation, on reveal and on rotation, never otherwise."""

    secret: str
    previous_secret_until: datetime | None


class WebhookCreated(WebhookOut):
    secret: str


class DeliveryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    delivery_id: str
    event_type: str
    state: DeliveryState
    attempts: int
    next_attempt_at: datetime
    response_status: int | None
    response_snippet: str | None
    latency_ms: int | None
    error: str | None
    created_at: datetime
    finished_at: datetime | None
    body: str
