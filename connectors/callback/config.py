from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from pydantic import Field, field_validator

from connectors.config import ChannelConfig, ConfigError, KindOf, Origins

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS = re.compile(r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]|24):[0-5]\d$")


class CallbackConfig(ChannelConfig):
    allowed_origins: Origins = Field(default_factory=list)
    # The business's own timezone: business hours are in it, and it is the default for a
    # request that names none.
    timezone: str = "UTC"
    # For numbers written without a country code (ISO 3166 region, e.g. "IR").
    default_region: str | None = Field(default=None, pattern="^[A-Z]{2}$")
    # When calls are made, per weekday ("mon": "09:00-17:00"); a day left out is closed.
    # Empty: any time. A requested window must overlap them.
    business_hours: dict[str, str] = Field(default_factory=dict)
    # An `sms` inbox that confirms each request to the customer ("We'll call you…").
    # An inbox id: positive, and within the 32-bit ids the databases hold.
    confirm_by_sms_inbox_id: int | None = Field(default=None, ge=1, le=2**31 - 1)

    @field_validator("default_region")
    @classmethod
    def _known_region(cls, value: str | None) -> str | None:
        if value is not None and value not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"{value!r} is not a region phone numbers are written in")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"{value!r} is not an IANA timezone") from exc
        return value

    @field_validator("business_hours")
    @classmethod
    def _valid_hours(cls, value: dict[str, str]) -> dict[str, str]:
        for day, hours in value.items():
            if day not in WEEKDAYS:
                raise ValueError(f"{day!r} is not one of {', '.join(WEEKDAYS)}")
            if not _HOURS.match(hours) or hours[:5] >= hours[6:]:
                raise ValueError(f"{day}: {hours!r} is not a range like 09:00-17:00")
        return value


async def check_references(config: CallbackConfig, kind_of: KindOf) -> None:
    """The inbox that confirms requests sends SMS."""
    sms_inbox_id = config.confirm_by_sms_inbox_id
    if sms_inbox_id is not None and await kind_of(sms_inbox_id) != "sms":
        raise ConfigError("confirm_by_sms_inbox_id", "no SMS inbox has this id")
