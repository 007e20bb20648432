from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow
from app.tickets.models import Priority


class SlaPolicy(Base):
    """An inbox's promised times for conversations of one priority, in business minutes
    (None: no promise for that step)."""

    __tablename__ = "sla_policies"
    __table_args__ = (UniqueConstraint("inbox_id", "priority"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    inbox_id: Mapped[int] = mapped_column(ForeignKey("inboxes.id", ondelete="CASCADE"))
    priority: Mapped[Priority] = mapped_column(String(20))
    first_response_minutes: Mapped[int | None] = mapped_column(Integer)
    next_response_minutes: Mapped[int | None] = mapped_column(Integer)
    resolution_minutes: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
