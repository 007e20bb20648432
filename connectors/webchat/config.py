from __future__ import annotations

from pydantic import Field

from connectors.config import ChannelConfig, Origins


class WebchatConfig(ChannelConfig):
    allowed_origins: Origins = Field(default_factory=list)
    welcome_message: str = Field(default="", max_length=1000)
    brand_color: str = Field(default="#2563eb", pattern=r"^#[0-9a-fA-F]{6}$")
    # The widget's own texts, overridden for this site ("title": "Ask Ali's shop"); a page's
    # data-labels attribute overrides these in turn.
    labels: dict[str, str] = Field(default_factory=dict, max_length=50)
