from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from app.agents.models import Role
from app.fields import ADDRESS_PATTERN, DbId, Flag, SafeStr
from connectors.addresses import PHONE_PATTERN, InvalidAddress, normalize_phone


def _phone(value: str) -> str:
    """E.164 (Persian digits accepted), or "" to clear it."""
    if not value.strip():
        return ""
    try:
        return normalize_phone(value)
    except InvalidAddress as exc:
        raise ValueError(f"phone: {exc}") from exc


# An agent's own phone, as written; "" removes it.
AgentPhone = Annotated[
    SafeStr,
    Field(max_length=64, json_schema_extra={"pattern": rf"^\s*$|{PHONE_PATTERN}"}),
    AfterValidator(_phone),
]


class AgentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    name: str
    role: Role
    is_active: bool
    language: str
    phone: str | None = None
    created_at: datetime
    last_seen_at: datetime | None


class LoginRequest(BaseModel):
    email: SafeStr = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=1024)


class LoginResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_at: datetime
    agent: AgentOut


class AgentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: SafeStr = Field(
        min_length=3, max_length=320, json_schema_extra={"pattern": ADDRESS_PATTERN}
    )
    name: SafeStr = Field(min_length=1, max_length=200)
    password: str = Field(min_length=8, max_length=1024)
    role: Role = Role.agent
    language: str = Field(default="en", pattern="^(en|fa)$")


class AgentUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: SafeStr | None = Field(default=None, min_length=1, max_length=200)
    password: str | None = Field(default=None, min_length=8, max_length=1024)
    role: Role | None = None
    is_active: Flag | None = None
    language: str | None = Field(default=None, pattern="^(en|fa)$")
    phone: AgentPhone | None = None


class TeamCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: SafeStr = Field(min_length=1, max_length=200)
    agent_ids: list[DbId] = Field(default_factory=list)


class TeamOut(BaseModel):
    id: int
    name: str
    agent_ids: list[int]


class MeUpdate(BaseModel):
    """What an agent changes about themself from the console."""

    model_config = ConfigDict(extra="forbid")

    name: SafeStr | None = Field(default=None, min_length=1, max_length=200)
    language: str | None = Field(default=None, pattern="^(en|fa)$")
    phone: AgentPhone | None = None
