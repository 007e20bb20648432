from __future__ import annotations

from typing import ClassVar

from pydantic import AnyHttpUrl, Field

from connectors.config import ChannelConfig


class ApiConfig(ChannelConfig):
    SECRET_FIELDS: ClassVar[frozenset[str]] = frozenset({"hmac_secret"})
    GENERATED_SECRETS: ClassVar[frozenset[str]] = frozenset({"hmac_secret"})

    outbound_url: AnyHttpUrl | None = None  # where replies are POSTed; None: replies fail
    hmac_secret: str = Field(default="", max_length=500)
