from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.fields import DbId, Flag, SafeStr, UtcDatetime
from app.tickets.models import DeliveryStatus, Direction, Priority, Status


class SlaState(StrEnum):
    ok = "ok"
    warning = "warning"
    breached = "breached"


class Ref(BaseModel):
    id: int
    name: str | None


class AttachmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    filename: str
    content_type: str
    size: int | None
    stored: bool
    note: str | None
    url: str | None
    # An inline e-mail image's Content-ID (without <>): the HTML shows it as `cid:<this>`.
    content_id: str | None = None


class MessageOut(BaseModel):
    id: int
    conversation_id: int
    inbox_id: int
    direction: Direction
    body_text: str
    body_html: str | None
    subject: str | None
    sender: Ref | None
    sender_type: str  # contact / agent / system
    attachments: list[AttachmentOut]
    external_id: str | None
    is_auto: bool
    delivery_status: DeliveryStatus | None
    error: str | None
    attempts: int
    created_at: datetime
    sent_at: datetime | None = Field(
        description="a customer's message: when their provider says it was written; a reply: "
        "when its channel took it (null while it is queued, or if it failed)"
    )
    metadata: dict[str, object] = Field(default_factory=dict)


class LastMessage(BaseModel):
    preview: str | None
    at: datetime | None


class ConversationOut(BaseModel):
    id: int
    inbox_id: int
    channel: str
    status: Status
    priority: Priority
    subject: str | None
    contact: Ref
    assignee: Ref | None
    team_id: int | None
    labels: list[str]
    last_message: LastMessage
    unread_count: int
    last_message_at: datetime | None
    last_activity_at: datetime
    waiting_since: datetime | None
    first_response_at: datetime | None
    resolved_at: datetime | None
    snoozed_until: datetime | None
    created_at: datetime
    updated_at: datetime
    # Status `merged`: the conversation that holds this one's messages now.
    merged_into_id: int | None = None
    split_from_id: int | None = None
    # SLA (app/sla): when each running target is due (None: met, not promised, or paused),
    # "ok" / "warning" (80% gone) / "breached" / None (no clock), and whether the clocks
    # stand still (pending or snoozed).
    first_response_due_at: datetime | None = None
    next_response_due_at: datetime | None = None
    resolution_due_at: datetime | None = None
    sla_state: SlaState | None = None
    sla_paused: bool = False


class ConversationPage(BaseModel):
    items: list[ConversationOut]
    next_cursor: str | None


class MessagePage(BaseModel):
    items: list[MessageOut]
    has_more: bool


Label = Annotated[SafeStr, Field(min_length=1, max_length=100, pattern=r"^[^\s,][^,]*$")]


class ConversationUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Status | None = None
    assignee_id: DbId | None = None
    team_id: DbId | None = None
    priority: Priority | None = None
    labels: list[Label] | None = Field(default=None, max_length=50)
    snoozed_until: UtcDatetime | None = None


class MessageCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        # _says_something, for the schema: some text, or at least one attachment.
        json_schema_extra={
            "anyOf": [
                {"required": ["body"], "properties": {"body": {"pattern": r"\S"}}},
                {"required": ["attachment_ids"], "properties": {"attachment_ids": {"minItems": 1}}},
            ]
        },
    )

    body: SafeStr = Field(default="", max_length=65_536)
    private: Flag = False
    # Files uploaded to this conversation first (POST …/attachments), sent with the reply.
    attachment_ids: list[DbId] = Field(default_factory=list, max_length=10)
    # A reply in a merged conversation: send it on the channel (inbox, address, thread) of
    # this conversation, one merged into this one; by default this conversation's own.
    via_conversation_id: DbId | None = None

    @model_validator(mode="after")
    def _says_something(self) -> MessageCreate:
        if not self.body.strip() and not self.attachment_ids:
            raise ValueError("body: a message needs text or an attachment")
        return self
