"""When a voice inbox takes calls: the hours in its settings (timezone, one range per
weekday), read through the shared business-hours model (app/hours). The one place that
reads them, so a voice inbox can move to the inbox's own business hours here alone."""

from __future__ import annotations

from datetime import datetime

from app.callbacks.windows import weekly_schedule
from app.hours.schedule import Schedule
from connectors.voice.config import VoiceConfig


def schedule_of(config: VoiceConfig) -> Schedule:
    return weekly_schedule(config.timezone, config.business_hours)


def next_opening(config: VoiceConfig, at: datetime) -> datetime:
    """`at` when the inbox is open then, else the next moment it opens."""
    return schedule_of(config).next_open(at)
