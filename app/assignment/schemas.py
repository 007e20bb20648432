from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from app.assignment.models import Mode
from app.fields import Count, DbId

Days = Annotated[Count, Field(ge=1, le=3650)]
# 0: round robin gives the agent nothing (they still take conversations themselves).
Capacity = Annotated[Count, Field(ge=0, le=10_000)]


class PolicyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    inbox_id: int
    mode: Mode
    team_id: int | None
    auto_resolve_days: int | None
    updated_at: datetime


class PolicyUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: Mode
    # Round robin among this team's members who work in the inbox; null: the inbox's members.
    team_id: DbId | None = None
    # Resolve conversations waiting on the customer this many days; null: never.
    auto_resolve_days: Days | None = None


class WorkloadOut(BaseModel):
    agent_id: int
    name: str
    max_open: int | None
    open_count: int


class CapacityUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_open: Capacity | None  # null: no limit
