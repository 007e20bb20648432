"""One pydantic model per event type. `data` of a websocket frame is the model minus `type`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, TypeAdapter

from app.automations.schemas import ContactEventOut
from app.callbacks.schemas import CallbackOut
from app.contacts.schemas import ContactOut
from app.surveys.schemas import SurveyOut
from app.tickets.schemas import ConversationOut, MessageOut
from app.voice.schemas import CallOut


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


class ContactCreated(BaseModel):
    """A person written to or heard from for the first time (a first message, a callback
    request, a call, a widget session)."""

    type: Literal["contact.created"] = "contact.created"
    contact: ContactOut


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


# --- rules ---
class ContactEventRecorded(BaseModel):
    """A customer event another system posted (on the contact's timeline)."""

    type: Literal["contact.event"] = "contact.event"
    event: ContactEventOut


# --- end rules ---


# --- surveys ---
class SurveyAnswered(BaseModel):
    type: Literal["survey.answered"] = "survey.answered"
    survey: SurveyOut


# --- merge ---
class ConversationMerged(BaseModel):
    """Conversations were merged into `conversation`; `merged` are the others, now status
    `merged` (each also gets a `conversation.updated` in its own inbox)."""

    type: Literal["conversation.merged"] = "conversation.merged"
    merge_id: int
    conversation: ConversationOut
    merged: list[ConversationOut]


class ConversationUnmerged(BaseModel):
    """A merge was undone: `restored` have their messages back, `conversation` has not."""

    type: Literal["conversation.unmerged"] = "conversation.unmerged"
    merge_id: int
    conversation: ConversationOut
    restored: list[ConversationOut]


class ConversationSplit(BaseModel):
    """`message_ids` moved from `source` to the new `conversation`."""

    type: Literal["conversation.split"] = "conversation.split"
    conversation: ConversationOut
    source: ConversationOut
    message_ids: list[int]


# --- end merge ---
# --- voice: a call's life, for the console's ringing banner (the call item itself changes
# with message.updated).
class CallRinging(BaseModel):
    type: Literal["call.ringing"] = "call.ringing"
    call: CallOut


class CallAnswered(BaseModel):
    type: Literal["call.answered"] = "call.answered"
    call: CallOut


class CallEnded(BaseModel):
    type: Literal["call.ended"] = "call.ended"
    call: CallOut


class CallMissed(BaseModel):
    type: Literal["call.missed"] = "call.missed"
    call: CallOut


CallEvent = CallRinging | CallAnswered | CallEnded | CallMissed
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
    | ContactCreated
    | ContactUpdated
    | CallbackCreated
    | CallbackUpdated
    | CallbackDue
    | ContactEventRecorded
    | SurveyAnswered
    | ConversationMerged
    | ConversationUnmerged
    | ConversationSplit
    | CallEvent
    | ConversationSlaWarning
    | ConversationSlaBreached
    | WebhookDisabled,
    Field(discriminator="type"),
]

event_adapter: TypeAdapter[Event] = TypeAdapter(Event)
