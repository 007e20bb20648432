from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base


class MessageCount(Base):
    """How many messages each inbox received and sent in each UTC quarter hour: the roll-up
    the volume report reads instead of the messages. A quarter hour because every timezone's
    offset is a whole number of them (Asia/Tehran +03:30, Asia/Kathmandu +05:45), so the
    account's local days and hours are unions of these buckets and a change of timezone
    recomputes nothing."""

    __tablename__ = "report_message_counts"
    # SQLite: the rows stored in key order, so a period's rows are read in one pass.
    __table_args__ = ({"sqlite_with_rowid": False},)

    bucket: Mapped[datetime] = mapped_column(primary_key=True)
    inbox_id: Mapped[int] = mapped_column(
        ForeignKey("inboxes.id", ondelete="CASCADE"), primary_key=True
    )
    inbound: Mapped[int] = mapped_column(Integer, default=0)
    outbound: Mapped[int] = mapped_column(Integer, default=0)
