from __future__ import annotations

from typing import ClassVar

from pydantic import AnyHttpUrl, Field

from connectors.config import ChannelConfig


class SmsConfig(ChannelConfig):
    SECRET_FIELDS: ClassVar[frozenset[str]] = frozenset({"auth_token"})

    account_sid: str = Field(default="", max_length=64)
    auth_token: str = Field(default="", max_length=128)
    from_number: str | None = None
    messaging_service_sid: str | None = None
    api_base_url: AnyHttpUrl = AnyHttpUrl("https://api.twilio.com")
