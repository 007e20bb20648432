from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from app.fields import SafeStr

# The pattern leaves no room for a NUL: a plain str, so the schema shows the pattern.
Shortcut = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[\w-]+$")]


class CannedOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    shortcut: str
    title: str
    body: str
    created_by_id: int | None
    created_at: datetime
    updated_at: datetime


class CannedCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    shortcut: Shortcut
    title: SafeStr = Field(min_length=1, max_length=200)
    body: SafeStr = Field(min_length=1, max_length=65_536)


class CannedUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    shortcut: Shortcut | None = None
    title: SafeStr | None = Field(default=None, min_length=1, max_length=200)
    body: SafeStr | None = Field(default=None, min_length=1, max_length=65_536)
