"""When a voice inbox takes calls. The one place that reads its business hours, so the
shared business-hours model can replace the callback channel's weekly shape here alone."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from app.callbacks.windows import next_open
from connectors.voice.config import VoiceConfig


def next_opening(config: VoiceConfig, at: datetime) -> datetime:
    """`at` when the inbox is open then, else the next moment it opens."""
    return next_open(at, config.business_hours, ZoneInfo(config.timezone))


def is_open(config: VoiceConfig, at: datetime) -> bool:
    return next_opening(config, at) == at
