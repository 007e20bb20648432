"""Satisfaction surveys: one row per survey sent, holding its answer once given (the table
reports read), and the account's survey policy (one row)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow
from app.types import JSONType


class SurveyKind(StrEnum):
    csat = "csat"  # 1–5, about one conversation
    nps = "nps"  # 0–10, about the relationship (the contact and the period)


SCALE = {SurveyKind.csat: (1, 5), SurveyKind.nps: (0, 10)}


class Survey(Base):
    __tablename__ = "surveys"
    __table_args__ = (
        # At most one survey of each kind per conversation, whoever races to send it.
        UniqueConstraint("conversation_id", "kind"),
        # The cooldown and NPS interval: a contact's latest surveys.
        Index("ix_surveys_contact_sent", "contact_id", "sent_at"),
        Index("ix_surveys_answered", "kind", "answered_at"),
        # The satisfaction report: the surveys sent in a period, counted from the index alone.
        Index("ix_surveys_report", "sent_at", "kind", "channel", "inbox_id", "agent_id", "score"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[SurveyKind] = mapped_column(String(10))
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"))
    # Where it was asked and is answered (for a callback: the SMS inbox).
    inbox_id: Mapped[int] = mapped_column(ForeignKey("inboxes.id"))
    # What is rated: the conversation's channel (`callback` for a callback request).
    channel: Mapped[str] = mapped_column(String(20))
    # Credited with the answer: the conversation's assignee when the survey was sent.
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    # The outbound message that asks (its metadata shows the answer in the thread); in the
    # conversation itself, or for a callback in the customer's SMS conversation.
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    trigger: Mapped[str] = mapped_column(String(20))  # resolved / bulk / callback
    score: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[datetime | None]
    # Channels answered by a plain message (SMS): the customer's next message before this
    # time is read as the answer; cleared by that message, whatever it says.
    reply_until: Mapped[datetime | None]
    # The provider id of the message or button press that answered (a repeat is a no-op).
    answer_external_id: Mapped[str | None] = mapped_column(String(500))


class SurveySettings(Base):
    """The account's survey policy; the row with id 1 (absent: the defaults)."""

    __tablename__ = "survey_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    csat_inbox_ids: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    nps_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    nps_interval_days: Mapped[int] = mapped_column(Integer, default=90)
    cooldown_days: Mapped[int] = mapped_column(Integer, default=7)
    # The language customers are asked in (en / fa).
    language: Mapped[str] = mapped_column(String(5), default="en")
    # After a callback is completed, a CSAT by SMS through this SMS inbox (None: none).
    callback_sms_inbox_id: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
