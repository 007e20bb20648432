from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from app.fields import DbId
from app.tickets.schemas import ConversationOut


class MergeCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # The conversations to merge into this one (the same contact's, on any channel).
    conversation_ids: list[DbId] = Field(min_length=1, max_length=20)


class MergeOut(BaseModel):
    id: int
    conversation_id: int  # the survivor
    merged_ids: list[int]
    agent_id: int | None
    created_at: datetime
    # Until when an undo may be asked for (it is refused if something arrived since).
    undo_until: datetime
    undone_at: datetime | None


class MergeResult(BaseModel):
    merge: MergeOut
    conversation: ConversationOut
    merged: list[ConversationOut]


class SplitCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message_ids: list[DbId] = Field(min_length=1, max_length=500)


class SplitResult(BaseModel):
    conversation: ConversationOut  # the new one
    source: ConversationOut


class DuplicateOut(BaseModel):
    conversation: ConversationOut
    # open_same_contact: the contact's other open conversation, active in the last 24 h;
    # same_subject: an e-mail with the same subject from the same sender within 10 minutes.
    reason: str


class ReplyChannel(BaseModel):
    """A channel a reply in this conversation can go out on (pass `conversation_id` as the
    reply's `via_conversation_id`)."""

    conversation_id: int
    inbox_id: int
    channel: str
    inbox_name: str
    address: str | None
