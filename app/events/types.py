"""One pydantic model per event type. `data` of a websocket frame is the model minus `type`."""

from __future__ import annotations

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


# --- hooks ---
class WebhookDisabled(BaseModel):
    """An outgoing webhook failed for too long and was turned off: administrators are told."""

    type: Literal["webhook.disabled"] = "webhook.disabled"
    webhook_id: int
    description: str
    reason: str


# --- end hooks ---


Event = Annotated[
    ConversationCreated
    | ConversationUpdated
    | MessageCreated
    | MessageUpdated
    | ContactUpdated
    | CallbackCreated
    | CallbackUpdated
    | CallbackDue
    | WebhookDisabled,
    Field(discriminator="type"),
]

event_adapter: TypeAdapter[Event] = TypeAdapter(Event)
