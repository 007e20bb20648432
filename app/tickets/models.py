from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow
from app.types import JSONType


class Status(StrEnum):
    open = "open"
    pending = "pending"
    snoozed = "snoozed"
    resolved = "resolved"
    # Merged into another conversation (`merged_into_id`): read-only, never active.
    merged = "merged"


ACTIVE_STATUSES = (Status.open, Status.pending, Status.snoozed)


class Priority(StrEnum):
    none = "none"
    low = "low"
    medium = "medium"
    high = "high"
    urgent = "urgent"


class Direction(StrEnum):
    inbound = "inbound"
    outbound = "outbound"
    note = "note"
    activity = "activity"


class DeliveryStatus(StrEnum):
    queued = "queued"
    sent = "sent"
    delivered = "delivered"
    read = "read"
    failed = "failed"


class Conversation(Base):
    __tablename__ = "conversations"
    __table_args__ = (
        # Keyset pagination, newest activity first, under each common filter.
        Index("ix_conversations_activity", "last_activity_at", "id"),
        Index("ix_conversations_status_activity", "status", "last_activity_at", "id"),
        # The bootstrap's counts of open conversations (all, mine, nobody's) in the agent's
        # inboxes, from the index alone.
        Index("ix_conversations_status_inbox_assignee", "status", "inbox_id", "assignee_id"),
        Index("ix_conversations_inbox_activity", "inbox_id", "last_activity_at", "id"),
        Index("ix_conversations_assignee_activity", "assignee_id", "last_activity_at", "id"),
        Index("ix_conversations_contact_inbox", "contact_id", "inbox_id", "last_activity_at"),
        Index("ix_conversations_inbox_thread", "inbox_id", "thread_key"),
        Index("ix_conversations_updated", "updated_at"),
        Index("ix_conversations_merged_into", "merged_into_id"),
        # The SLA clock's due checks and the "breaching soon" / "breached" filters.
        Index("ix_conversations_sla_check", "sla_next_check_at"),
        Index("ix_conversations_sla_state_activity", "sla_state", "last_activity_at", "id"),
        # Reports: the conversations that arrived in a period, with every figure the
        # reports read from them, from the index alone.
        Index(
            "ix_conversations_report",
            "created_at",
            "inbox_id",
            "assignee_id",
            "team_id",
            "first_response_at",
            "first_resolved_at",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    inbox_id: Mapped[int] = mapped_column(ForeignKey("inboxes.id"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"))
    # The address replies go to (the customer may have several on this channel).
    identity_id: Mapped[int | None] = mapped_column(ForeignKey("contact_identities.id"))
    thread_key: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[Status] = mapped_column(String(20), default=Status.open)
    priority: Mapped[Priority] = mapped_column(String(20), default=Priority.none)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))
    subject: Mapped[str | None] = mapped_column(String(1000))
    last_message_preview: Mapped[str | None] = mapped_column(String(300))
    last_message_at: Mapped[datetime | None]
    last_activity_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Since when the customer has been waiting for an answer (None: not waiting).
    waiting_since: Mapped[datetime | None]
    first_response_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    # The first time it was resolved; a reopen clears `resolved_at`, never this (reports
    # measure resolution time to here).
    first_resolved_at: Mapped[datetime | None]
    snoozed_until: Mapped[datetime | None]
    unread_count: Mapped[int] = mapped_column(Integer, default=0)
    # Where this conversation's messages went when it was merged (status `merged`); what
    # threads into it later lands there (following the chain).
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id"))
    # The conversation this one was split off from.
    split_from_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # SLA clocks (app/sla/clock.py owns them): when each running target is due, whether
    # one is at 80% ("warning") or past due ("breached"), when the clock is next to look
    # at the conversation (None while paused or with nothing running), and its state.
    first_response_due_at: Mapped[datetime | None]
    next_response_due_at: Mapped[datetime | None]
    resolution_due_at: Mapped[datetime | None]
    sla_state: Mapped[str | None] = mapped_column(String(20))
    sla_paused_at: Mapped[datetime | None]
    sla_next_check_at: Mapped[datetime | None]
    sla: Mapped[dict[str, Any] | None] = mapped_column(JSONType)


class ConversationLabel(Base):
    __tablename__ = "conversation_labels"

    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    label: Mapped[str] = mapped_column(String(100), primary_key=True, index=True)


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        # The idempotency key: a provider's repeat delivery can never be stored twice.
        UniqueConstraint("inbox_id", "external_id"),
        Index("ix_messages_conversation", "conversation_id", "id"),
        Index("ix_messages_delivery_queue", "delivery_status", "next_attempt_at"),
        # Reports filtered by team, agent or label: the messages of those conversations in
        # a period, from the index alone.
        Index("ix_messages_report", "conversation_id", "created_at", "direction", "inbox_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"))
    inbox_id: Mapped[int] = mapped_column(ForeignKey("inboxes.id"))
    direction: Mapped[Direction] = mapped_column(String(20))
    sender_agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL")
    )
    sender_contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    body_text: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str | None] = mapped_column(Text)  # sanitized
    subject: Mapped[str | None] = mapped_column(String(1000))
    external_id: Mapped[str | None] = mapped_column(String(500))
    in_reply_to: Mapped[str | None] = mapped_column(String(500))
    is_auto: Mapped[bool] = mapped_column(Boolean, default=False)
    delivery_status: Mapped[DeliveryStatus | None] = mapped_column(String(20))
    error: Mapped[str | None] = mapped_column(String(2000))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    # A worker's lease on a message it is sending; an expired lease is claimed again.
    claimed_until: Mapped[datetime | None]
    # What the provider sent, byte for byte (JSON payloads as UTF-8 JSON), for audit and
    # re-parsing; bytes because neither database stores every string a provider may send.
    raw: Mapped[bytes | None] = mapped_column(LargeBinary)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSONType, default=dict)
    sent_at: Mapped[datetime | None]  # inbound: as the provider says; a reply: when sent
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Attachment(Base):
    """A file of a message, stored on disk by its SHA-256 (the same file is stored once)."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    # None while an agent's upload waits for the reply or note it will be part of.
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    # The conversation an upload was made for (it may join only a message of it).
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(500))
    content_type: Mapped[str] = mapped_column(String(200))
    size: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))  # None: not stored (see note)
    content_id: Mapped[str | None] = mapped_column(String(500))
    note: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DeliveryAttempt(Base):
    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    attempt: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(20))  # sent / retry / failed
    error: Mapped[str | None] = mapped_column(String(2000))
    external_id: Mapped[str | None] = mapped_column(String(500))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime] = mapped_column(default=utcnow)
