from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow


class CallDirection(StrEnum):
    inbound = "inbound"  # a customer called the inbox's number
    outbound = "outbound"  # an agent called a customer (click-to-call)


class CallState(StrEnum):
    ringing = "ringing"  # nobody has answered yet
    in_progress = "in_progress"  # the agent (inbound) or the customer (outbound) answered
    completed = "completed"  # answered, then ended
    missed = "missed"  # ended without an answer


class RecordingState(StrEnum):
    pending = "pending"  # Twilio has it; the recordings worker fetches it
    stored = "stored"
    failed = "failed"  # not fetched (the attachment's note says why)


class Call(Base):
    """One phone call, per Twilio CallSid: the call item on its conversation's timeline
    (`message_id`, whose metadata shows it) and the facts its callbacks brought."""

    __tablename__ = "calls"
    __table_args__ = (
        # The sweeper's look-up: calls still ringing.
        Index("ix_calls_state_started", "state", "started_at"),
        Index("ix_calls_recording", "recording_state", "recording_claimed_until"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The customer's call (inbound) or the agent's leg (outbound: known once Twilio has
    # accepted the call, so None until then).
    call_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    inbox_id: Mapped[int] = mapped_column(ForeignKey("inboxes.id"))
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    direction: Mapped[CallDirection] = mapped_column(String(20))
    state: Mapped[CallState] = mapped_column(String(20), default=CallState.ringing)
    # Twilio's own word on the call's leg, once final (completed, busy, no-answer…).
    twilio_status: Mapped[str | None] = mapped_column(String(20))
    customer_number: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[datetime | None]  # the earliest answer reported
    ended_at: Mapped[datetime | None]  # the earliest final report
    talk_seconds: Mapped[int | None] = mapped_column(Integer)
    # Who answered (inbound) or placed the call (outbound), and the phone it rang.
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    agent_number: Mapped[str | None] = mapped_column(String(32))
    # The highest SequenceNumber seen on the call's own leg.
    last_sequence: Mapped[int | None] = mapped_column(Integer)
    callback_request_id: Mapped[int | None] = mapped_column(ForeignKey("callback_requests.id"))
    voicemail: Mapped[bool] = mapped_column(Boolean, default=False)
    recording_sid: Mapped[str | None] = mapped_column(String(64))
    recording_url: Mapped[str | None] = mapped_column(String(2000))
    recording_state: Mapped[RecordingState | None] = mapped_column(String(20))
    recording_attempts: Mapped[int] = mapped_column(Integer, default=0)
    recording_claimed_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
