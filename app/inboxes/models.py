from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, Column, ForeignKey, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow
from app.types import JSONType


class InboxKind(StrEnum):
    telegram = "telegram"
    email = "email"
    sms = "sms"
    webchat = "webchat"  # its visitors use the website widget (app/widget/)
    callback = "callback"
    voice = "voice"  # Twilio Programmable Voice: calls ring the agents' phones (app/voice/)
    api = "api"


inbox_agents = Table(
    "inbox_agents",
    Base.metadata,
    Column("inbox_id", ForeignKey("inboxes.id", ondelete="CASCADE"), primary_key=True),
    Column("agent_id", ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Inbox(Base):
    __tablename__ = "inboxes"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[InboxKind] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    # Settings that may be shown; secrets live only in `secrets_encrypted`.
    config: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    secrets_encrypted: Mapped[str | None] = mapped_column(Text)
    public_token: Mapped[str] = mapped_column(String(64), unique=True)
    api_key_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
