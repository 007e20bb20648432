from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, computed_field

from app.fields import DbId, SafeStr
from app.tickets.schemas import ConversationOut
from connectors.base import AddressKind


class IdentityOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: AddressKind
    address: str
    reachable: bool
    unreachable_reason: str | None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def channel(self) -> AddressKind:
        """The same as `kind`, by the name the contract and the customer events' `identity`
        give it."""
        return self.kind


class ContactOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str | None
    attributes: dict[str, Any]
    identities: list[IdentityOut]
    created_at: datetime
    updated_at: datetime


class ContactConversation(ConversationOut):
    # What it is about: the subject, else the customer's first words (its last message may
    # be an agent's reply).
    title: str | None


class ContactDetail(ContactOut):
    conversations: list[ContactConversation]


class ContactPage(BaseModel):
    items: list[ContactOut]
    next_cursor: str | None


class ContactUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: SafeStr | None = Field(default=None, min_length=1, max_length=300)


class ContactMerge(BaseModel):
    model_config = ConfigDict(extra="forbid")

    other_id: DbId
