from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.fields import DbId, Flag, SafeStr
from app.inboxes.models import InboxKind


class InboxCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: InboxKind
    name: SafeStr = Field(min_length=1, max_length=200)
    config: dict[str, Any] = Field(default_factory=dict)
    agent_ids: list[DbId] = Field(default_factory=list)


class InboxUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: SafeStr | None = Field(default=None, min_length=1, max_length=200)
    # Merged into the current settings; a secret given here replaces the stored one.
    config: dict[str, Any] | None = None
    enabled: Flag | None = None
    agent_ids: list[DbId] | None = None
    rotate_api_key: Flag = False
    # `api` inboxes: a new secret for signing replies, shown once in this answer.
    rotate_signing_secret: Flag = False


class InboxOut(BaseModel):
    id: int
    kind: InboxKind
    name: str
    enabled: bool
    public_token: str | None
    webhook_url: str | None
    config: dict[str, Any]
    secrets_set: list[str]  # names only: secrets are write-only
    agent_ids: list[int]
    created_at: datetime
    # Shown once: when created, and when rotated.
    api_key: str | None = None
    # `api` inboxes: the key of the X-Panjereh-Signature on replies (HMAC-SHA256 of the body),
    # shown once: when the server generated it at creation, and when rotated.
    signing_secret: str | None = None


class InboxTest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: InboxKind
    config: dict[str, Any] = Field(default_factory=dict)
    # An inbox being edited: `config` holds only the changes, merged into its stored
    # settings as a PATCH would (so its secrets need not be typed again).
    inbox_id: DbId | None = None


class InboxTestResult(BaseModel):
    ok: bool
    detail: str
