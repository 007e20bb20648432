from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from app.fields import DbId
from app.tickets.schemas import Ref
from app.voice.models import CallDirection, CallState, RecordingState


class CallOut(BaseModel):
    """A call item: what the timeline and the ringing-phone banner show."""

    id: int
    inbox_id: int
    conversation_id: int
    message_id: int
    contact: Ref
    direction: CallDirection
    state: CallState
    twilio_status: str | None
    customer_number: str
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    ringing_seconds: int | None  # until answered, or until the caller gave up
    talk_seconds: int | None
    agent: Ref | None  # who answered (inbound) or placed the call (outbound)
    agent_number: str | None
    voicemail: bool
    recording_state: RecordingState | None
    callback_request_id: int | None


class CallCreate(BaseModel):
    """Click-to-call: ring my phone, then the customer of this conversation or callback."""

    model_config = ConfigDict(extra="forbid")

    conversation_id: DbId | None = None
    callback_id: DbId | None = None
    # The voice inbox whose number calls; needed only when several could.
    inbox_id: DbId | None = None
