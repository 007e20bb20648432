from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import AnyHttpUrl, Field

from connectors.config import ChannelConfig


class TelegramConfig(ChannelConfig):
    SECRET_FIELDS: ClassVar[frozenset[str]] = frozenset({"bot_token", "webhook_secret"})
    GENERATED_SECRETS: ClassVar[frozenset[str]] = frozenset({"webhook_secret"})

    bot_token: str = Field(default="", max_length=200)
    mode: Literal["webhook", "polling"] = "webhook"
    webhook_secret: str = Field(default="", max_length=256)
    api_base_url: AnyHttpUrl = AnyHttpUrl("https://api.telegram.org")
