from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow
from app.types import JSONType


class BusinessHours(Base):
    """An inbox's business hours (one row per inbox; none: always open). Keyed by the
    inbox rather than shared between inboxes, so that changing one team's hours can never
    change another's, and the inboxes table stays as it is."""

    __tablename__ = "business_hours"

    inbox_id: Mapped[int] = mapped_column(
        ForeignKey("inboxes.id", ondelete="CASCADE"), primary_key=True
    )
    timezone: Mapped[str] = mapped_column(String(64))
    # {"sat": ["08:00-16:00"], ...}: a day left out is closed.
    weekly: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # [{"from": "2027-03-21", "to": "2027-03-24", "name": "Nowruz"}, ...]
    holidays: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
