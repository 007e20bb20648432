from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from app.fields import KeptDate, SafeStr


class HolidayIn(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    first: KeptDate = Field(alias="from")
    last: KeptDate | None = Field(default=None, alias="to")  # inclusive; None: one day
    name: SafeStr = Field(default="", max_length=200)


class HolidayOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    first: date = Field(alias="from")
    last: date = Field(alias="to")
    name: str


class BusinessHoursIn(BaseModel):
    timezone: SafeStr = Field(max_length=64, examples=["Asia/Tehran"])
    # Per weekday (mon … sun), intervals "HH:MM-HH:MM" (the end may be 24:00); a day left
    # out or empty is closed.
    weekly: dict[str, list[Annotated[SafeStr, Field(max_length=20)]]] = Field(
        examples=[{"sat": ["08:00-16:00"], "thu": ["08:00-12:00"]}]
    )
    holidays: list[HolidayIn] = Field(default_factory=list, max_length=500)


class BusinessHoursOut(BaseModel):
    inbox_id: int
    configured: bool  # false: no business hours, always open
    timezone: str
    weekly: dict[str, list[str]]
    holidays: list[HolidayOut]
    open_now: bool
    next_open_at: datetime
