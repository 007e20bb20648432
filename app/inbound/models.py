from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow


class PollerState(Base):
    """A pulling connector's place in its provider's stream, and who is pulling it.

    `cursor` is saved in the transaction that stores the messages it led to, so a restart
    neither repeats nor skips one. `holder` keeps a lease (renewed with every save): one
    worker process pulls an inbox at a time, and another takes over when a holder dies.
    """

    __tablename__ = "poller_states"

    inbox_id: Mapped[int] = mapped_column(
        ForeignKey("inboxes.id", ondelete="CASCADE"), primary_key=True
    )
    cursor: Mapped[str | None] = mapped_column(Text)
    holder: Mapped[str | None] = mapped_column(String(200))
    lease_until: Mapped[datetime | None]
    last_polled_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(2000))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
