from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow
from app.types import JSONType


class ConversationMerge(Base):
    """One merge of conversations into a survivor, with what it moved, so that it can be
    undone exactly (within a day, when nothing new arrived since)."""

    __tablename__ = "conversation_merges"
    __table_args__ = (Index("ix_conversation_merges_survivor", "survivor_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    survivor_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"))
    merged_ids: Mapped[list[int]] = mapped_column(JSONType)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    # What moved, to put back: {"table.column": {"<merged id>": [primary key, ...]}}.
    moved: Mapped[dict[str, Any]] = mapped_column(JSONType)
    # Each merged conversation's status fields before the merge, by id.
    previous: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    undone_at: Mapped[datetime | None]
