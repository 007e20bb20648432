from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow
from app.types import JSONType


class EventRow(Base):
    """One change a screen must see. `seq` is assigned last before commit (see events.log)."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_created_at", "created_at"),)

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    type: Mapped[str] = mapped_column(String(50))
    inbox_id: Mapped[int | None] = mapped_column(Integer)
    conversation_id: Mapped[int | None] = mapped_column(Integer)
    agent_id: Mapped[int | None] = mapped_column(Integer)  # events for one agent only
    # Whether the customer's own widget may see it (agent replies yes; notes never).
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    data: Mapped[dict[str, Any]] = mapped_column(JSONType)
    # What caused it when not a person: "automation" (rules skip those: actions never
    # trigger rules).
    origin: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class EventSequence(Base):
    """A one-row counter. Taking the next numbers locks the row until commit, so on
    PostgreSQL two transactions can never commit their events out of sequence order."""

    __tablename__ = "event_sequence"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)


class LogConsumer(Base):
    """Where one durable reader of the log is (see events.consumers). Its row is locked for
    the length of a round, so one process at a time handles a consumer's events."""

    __tablename__ = "log_consumers"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
