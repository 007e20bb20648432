from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow


class AcknowledgementSettings(Base):
    """An inbox's automatic acknowledgement (none: off)."""

    __tablename__ = "acknowledgement_settings"

    inbox_id: Mapped[int] = mapped_column(
        ForeignKey("inboxes.id", ondelete="CASCADE"), primary_key=True
    )
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    text: Mapped[str] = mapped_column(Text)  # within business hours
    out_of_hours_text: Mapped[str | None] = mapped_column(Text)  # None: `text` at any time
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class AcknowledgementSent(Base):
    """When a customer's address (an identity: one contact, one channel's address) was last
    acknowledged: at most once a week. Keyed by the identity, it follows the identity when
    contacts are merged."""

    __tablename__ = "acknowledgements_sent"

    identity_id: Mapped[int] = mapped_column(
        ForeignKey("contact_identities.id", ondelete="CASCADE"), primary_key=True
    )
    sent_at: Mapped[datetime]
