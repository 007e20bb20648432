from __future__ import annotations

from pydantic import Field

from connectors.config import ChannelConfig


class CallbackConfig(ChannelConfig):
    allowed_origins: list[str] = Field(default_factory=list)
    timezone: str = "UTC"
    default_region: str | None = Field(default=None, pattern="^[A-Z]{2}$")
    confirm_by_sms_inbox_id: int | None = None
