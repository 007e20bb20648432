"""One pydantic model per event type. `data` of a websocket frame is the model minus `type`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, TypeAdapter

from app.callbacks.schemas import CallbackOut
from app.contacts.schemas import ContactOut
from app.tickets.schemas import ConversationOut, MessageOut


class ConversationCreated(BaseModel):
    type: Literal["conversation.created"] = "conversation.created"
    conversation: ConversationOut


class ConversationUpdated(BaseModel):
    type: Literal["conversation.updated"] = "conversation.updated"
    conversation: ConversationOut
    changes: list[str] = Field(default_factory=list)


class MessageCreated(BaseModel):
    type: Literal["message.created"] = "message.created"
    message: MessageOut


class MessageUpdated(BaseModel):
    type: Literal["message.updated"] = "message.updated"
    message: MessageOut


class ContactUpdated(BaseModel):
    type: Literal["contact.updated"] = "contact.updated"
    contact: ContactOut
    merged_ids: list[int] = Field(default_factory=list)


class CallbackCreated(BaseModel):
    type: Literal["callback.created"] = "callback.created"
    callback: CallbackOut


class CallbackUpdated(BaseModel):
    type: Literal["callback.updated"] = "callback.updated"
    callback: CallbackOut


class CallbackDue(BaseModel):
    type: Literal["callback.due"] = "callback.due"
    callback: CallbackOut
    missed: bool = False


# --- service: SLA clocks (app/sla) ---


class ConversationSlaWarning(BaseModel):
    """80% of an SLA target's business time has passed without it being met."""

    type: Literal["conversation.sla_warning"] = "conversation.sla_warning"
    conversation: ConversationOut
    target: Literal["first_response", "next_response", "resolution"]
    due_at: datetime


class ConversationSlaBreached(BaseModel):
    """An SLA target's due time has passed without it being met."""

    type: Literal["conversation.sla_breached"] = "conversation.sla_breached"
    conversation: ConversationOut
    target: Literal["first_response", "next_response", "resolution"]
    due_at: datetime


Event = Annotated[
    ConversationCreated
    | ConversationUpdated
    | MessageCreated
    | MessageUpdated
    | ContactUpdated
    | CallbackCreated
    | CallbackUpdated
    | CallbackDue
    | ConversationSlaWarning
    | ConversationSlaBreached,
    Field(discriminator="type"),
]

event_adapter: TypeAdapter[Event] = TypeAdapter(Event)
