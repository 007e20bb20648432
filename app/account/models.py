from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow

DEFAULT_TIMEZONE = "UTC"


class AccountSettings(Base):
    """Settings of the whole account that an administrator changes at runtime: one row
    (id 1), created with its defaults the first time it is written."""

    __tablename__ = "account_settings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # An IANA name (e.g. Asia/Tehran): every report's days and hours are this zone's.
    timezone: Mapped[str] = mapped_column(String(64), default=DEFAULT_TIMEZONE)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
