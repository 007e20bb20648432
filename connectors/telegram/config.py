from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import AnyHttpUrl, Field

from connectors.config import ChannelConfig


class TelegramConfig(ChannelConfig):
    SECRET_FIELDS: ClassVar[frozenset[str]] = frozenset({"bot_token", "webhook_secret"})
    GENERATED_SECRETS: ClassVar[frozenset[str]] = frozenset({"webhook_secret"})
    # Another bot, another secret: if unregistering the old bot's webhook failed, what it
    # still delivers carries the old secret and is refused.
    RENEWED_WITH: ClassVar[dict[str, str]] = {"webhook_secret": "bot_token"}

    bot_token: str = Field(default="", max_length=200)
    mode: Literal["webhook", "polling"] = "webhook"
    # Telegram accepts only these characters in a webhook's secret_token.
    webhook_secret: str = Field(default="", max_length=256, pattern=r"^[A-Za-z0-9_-]*$")
    api_base_url: AnyHttpUrl = AnyHttpUrl("https://api.telegram.org")
    # Sent as a reply to /start (empty: no welcome).
    welcome_message: str = Field(default="", max_length=4096)
    # Groups the bot is a member of become conversations too (one per group); off by default.
    allow_groups: bool = False
    # Posts in channels the bot administers become conversations too (one per channel); off
    # by default, as a channel's posts are usually the business's own announcements.
    allow_channels: bool = False
