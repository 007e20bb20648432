"""What the public widget endpoints take and give: a visitor's reduced view, never agents'
internal fields."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from app.fields import MessageText, SafeStr


class SessionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: SafeStr | None = Field(default=None, max_length=200)
    email: SafeStr | None = Field(default=None, max_length=320)


class SessionOut(BaseModel):
    visitor_token: str
    conversation_id: int | None = None


class MessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: MessageText = Field(min_length=1, max_length=5000)
    # The widget's own id for this message: a retried POST stores it once.
    idempotency_key: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,64}$")


class VisitorAttachment(BaseModel):
    id: int
    filename: str
    content_type: str
    size: int | None


class VisitorMessage(BaseModel):
    """The fields of `app.realtime.frames.visitor_message`, typed for the REST answer."""

    id: int
    conversation_id: int
    direction: str
    body_text: str
    body_html: str | None
    sender_type: str
    sender_name: str | None
    delivery_status: str | None
    created_at: datetime
    sent_at: datetime | None
    attachments: list[VisitorAttachment]
    # A survey's rating card: {id, kind (csat|nps), low, high, score (None until answered),
    # comment}; answered with POST /api/v1/widget/surveys/{id}.
    survey: dict[str, object] | None = None


class MessagesOut(BaseModel):
    items: list[VisitorMessage]
    has_more: bool  # older messages are left: ask again with `before` the first item's id
    # Connect `/ws/widget` with this to get everything after what `items` shows.
    last_event_id: int


class WidgetConfigOut(BaseModel):
    welcome_message: str
    brand_color: str
    agent_online: bool
    labels: dict[str, str]
