from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow


class CallbackStatus(StrEnum):
    requested = "requested"
    scheduled = "scheduled"
    completed = "completed"
    no_answer = "no_answer"
    cancelled = "cancelled"


OPEN_CALLBACK_STATUSES = (CallbackStatus.requested, CallbackStatus.scheduled)
DONE_CALLBACK_STATUSES = (
    CallbackStatus.completed,
    CallbackStatus.no_answer,
    CallbackStatus.cancelled,
)


class CallbackView(StrEnum):
    """The agent queue's tabs."""

    due_now = "due_now"  # open, its time has come, not yet missed
    overdue = "overdue"  # open, missed
    scheduled = "scheduled"  # open, later
    done = "done"


class CallbackRequest(Base):
    __tablename__ = "callback_requests"
    __table_args__ = (Index("ix_callback_requests_status_due", "status", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    inbox_id: Mapped[int] = mapped_column(ForeignKey("inboxes.id"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id"))
    name: Mapped[str] = mapped_column(String(300))
    phone_e164: Mapped[str] = mapped_column(String(32), index=True)
    preferred_from: Mapped[datetime | None]
    preferred_to: Mapped[datetime | None]
    timezone: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    page_url: Mapped[str | None] = mapped_column(String(2000))
    status: Mapped[CallbackStatus] = mapped_column(String(20), default=CallbackStatus.requested)
    scheduled_at: Mapped[datetime | None]
    # When the call should happen: the scheduled time, else the start of the preferred
    # window, else the request time. Kept denormalized so the queue sorts on an index.
    due_at: Mapped[datetime] = mapped_column(default=utcnow)
    # After this the call counts as missed: the end of the preferred window, else an hour
    # after it fell due.
    missed_after: Mapped[datetime] = mapped_column(default=utcnow)
    # When `callback.due` was announced for the window opening and for a miss (reset when
    # the call is rescheduled), so each fires once.
    due_announced_at: Mapped[datetime | None]
    missed_announced_at: Mapped[datetime | None]
    # After "no answer": when to try again (in business hours), for the agent to accept.
    retry_suggested_at: Mapped[datetime | None]
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    outcome_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
