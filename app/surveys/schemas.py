from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from app.fields import Count, DbId, Flag
from app.surveys.models import SurveyKind


class SurveyOut(BaseModel):
    """One survey as agents and reports see it."""

    id: int
    kind: SurveyKind
    conversation_id: int
    contact_id: int
    inbox_id: int
    channel: str
    agent_id: int | None  # credited: assigned when the survey was sent
    trigger: str
    score: int | None
    comment: str | None
    sent_at: datetime
    answered_at: datetime | None


class SurveyPolicy(BaseModel):
    csat_inbox_ids: list[int] = Field(
        default_factory=list, description="Inboxes whose resolved conversations get a CSAT"
    )
    nps_enabled: bool = False
    nps_interval_days: int = Field(default=90, ge=1, le=3650)
    cooldown_days: int = Field(
        default=7, ge=0, le=3650, description="No survey to a contact within N days of the last"
    )
    language: str = Field(default="en", pattern="^(en|fa)$")
    callback_sms_inbox_id: int | None = Field(
        default=None, description="After a completed callback, a CSAT by SMS through this inbox"
    )


class SurveyPolicyUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    csat_inbox_ids: list[DbId] | None = None
    nps_enabled: Flag | None = None
    nps_interval_days: Annotated[Count, Field(ge=1, le=3650)] | None = None
    cooldown_days: Annotated[Count, Field(ge=0, le=3650)] | None = None
    language: str | None = Field(default=None, pattern="^(en|fa)$")
    callback_sms_inbox_id: DbId | None = Field(default=None, description="null turns it off")


class NpsBulkIn(BaseModel):
    """A segment of contacts to ask for an NPS: those with a conversation with this label
    and/or in this inbox (at least one of the two)."""

    label: str | None = Field(default=None, max_length=100)
    inbox_id: DbId | None = None


class NpsBulkOut(BaseModel):
    queued: int  # surveys sent
    skipped: int  # contacts asked too recently (interval or cooldown) or unreachable


class SurveyAnswerIn(BaseModel):
    score: Count = Field(ge=0, le=10)
    comment: str | None = Field(default=None, max_length=2000)


class SurveyAnswerOut(BaseModel):
    score: int
    comment: str | None
    recorded: bool  # False: answered before; that answer stands
