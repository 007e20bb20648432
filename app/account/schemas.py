from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from app.fields import SafeStr


class AccountOut(BaseModel):
    timezone: str = Field(description="IANA timezone every report counts days and hours in")
    updated_at: datetime | None


class AccountUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    timezone: SafeStr | None = Field(
        default=None, min_length=1, max_length=64, description="an IANA name, e.g. Asia/Tehran"
    )
