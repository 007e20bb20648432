from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from app.callbacks.models import CallbackStatus
from app.fields import DbId, SafeStr, UtcDatetime


class CallbackOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    inbox_id: int
    contact_id: int
    conversation_id: int | None
    name: str
    phone_e164: str
    preferred_from: datetime | None
    preferred_to: datetime | None
    timezone: str | None
    note: str | None
    page_url: str | None
    status: CallbackStatus
    scheduled_at: datetime | None
    due_at: datetime
    retry_suggested_at: datetime | None
    assignee_id: int | None
    outcome_note: str | None
    created_at: datetime
    updated_at: datetime


class CallbackPage(BaseModel):
    items: list[CallbackOut]
    next_cursor: str | None


class CallbackUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: CallbackStatus | None = None
    scheduled_at: UtcDatetime | None = None
    assignee_id: DbId | None = None
    outcome_note: SafeStr | None = Field(default=None, max_length=5000)
