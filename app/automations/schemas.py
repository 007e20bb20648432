"""Request and response shapes: rules (their events, conditions and actions), runs,
customer events and API tokens."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

import pydantic_core
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.automations.templates import folded
from app.fields import Count, DbId, FilledStr, Flag, SafeStr, UtcDatetime
from app.tickets.models import Priority
from connectors.base import AddressKind

# What a rule can start on. `message.first_received`: the first customer message of a
# conversation; `customer.event`: an event another system posted (options.name).
RuleEvent = Literal[
    "message.received",
    "message.first_received",
    "conversation.created",
    "conversation.status_changed",
    "conversation.assigned",
    "conversation.idle",
    "callback.requested",
    "callback.due",
    "callback.missed",
    "conversation.sla_warning",
    "conversation.sla_breached",
    "customer.event",
]

# A customer event's name: `order.placed`, `signed_up`.
EVENT_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$"
MAX_PAYLOAD_BYTES = 16 * 1024
MAX_PATTERN = 200  # a `matches` pattern's length (with nested quantifiers refused)

# Fields a condition can test; `contact.attributes.<path>` and `event.payload.<path>` too.
PLAIN_FIELDS = {
    "channel",
    "inbox",
    "message.text",
    "priority",
    "assignee",
    "team",
    "conversation.labels",
    "conversation.status",
    "business_hours",
}
PATH_FIELDS = ("contact.attributes.", "event.payload.")

# What `business_hours` is: the inbox's hours (app/hours) when the event happened.
OPEN_CLOSED = ("open", "closed")

Op = Literal["equals", "not_equals", "contains", "not_contains", "matches", "exists", "missing"]
_NESTED_QUANTIFIER = re.compile(r"\([^)]*[+*}][^)]*\)\s*[+*{]")


class Condition(BaseModel):
    """`field op value`: `channel equals email`, `message.text contains refund`,
    `event.payload.total exists`. Text comparisons ignore case."""

    model_config = ConfigDict(extra="forbid")

    field: SafeStr = Field(max_length=200)
    op: Op = "equals"
    value: SafeStr | None = Field(default=None, max_length=1000)

    @model_validator(mode="after")
    def _known(self) -> Condition:
        if self.field not in PLAIN_FIELDS and not any(
            self.field.startswith(p) and len(self.field) > len(p) for p in PATH_FIELDS
        ):
            raise ValueError(f"field: unknown condition field {self.field!r}")
        if self.field == "business_hours" and (
            self.op not in ("equals", "not_equals") or folded(self.value or "") not in OPEN_CLOSED
        ):
            raise ValueError("value: business_hours equals (or not_equals) open or closed")
        if self.op in ("exists", "missing"):
            self.value = None  # a form's leftover text means nothing here
        elif self.value is None:
            raise ValueError(f"value: needed for {self.op}")
        if self.op == "matches":
            _check_pattern(self.value or "")
        return self


def _check_pattern(pattern: str) -> None:
    """Patterns run against customer text on the event path: short, compilable, and without
    the nested quantifiers that backtrack exponentially."""
    if len(pattern) > MAX_PATTERN:
        raise ValueError(f"value: a pattern of at most {MAX_PATTERN} characters")
    if _NESTED_QUANTIFIER.search(pattern):
        raise ValueError("value: nested quantifiers such as (a+)+ are not allowed")
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"value: not a regular expression ({exc})") from exc


Text = Annotated[FilledStr, Field(max_length=4000)]


class SendMessage(BaseModel):
    """A message to the customer: on the conversation's channel, or (`inbox_id`) on that
    inbox to the contact (in their latest conversation there, else a new one)."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["send_message"] = "send_message"
    text: Text
    inbox_id: DbId | None = None


class AddNote(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["add_note"] = "add_note"
    text: Text


class AssignAgent(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["assign_agent"] = "assign_agent"
    agent_id: DbId


class AssignTeam(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["assign_team"] = "assign_team"
    team_id: DbId


class AddLabel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["add_label"] = "add_label"
    label: FilledStr = Field(max_length=100)


class SetPriority(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["set_priority"] = "set_priority"
    priority: Priority


class Snooze(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["snooze"] = "snooze"
    minutes: Count = Field(ge=1, le=366 * 24 * 60)


class Resolve(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["resolve"] = "resolve"


class SendSurvey(BaseModel):
    """A satisfaction survey (app/surveys), on the conversation's channel or (`inbox_id`)
    that inbox's, if the survey policy allows one now (the contact's cooldown and NPS
    interval; a CSAT only about a conversation the customer started and an agent
    answered; one of each kind per conversation)."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["send_survey"] = "send_survey"
    kind: Literal["csat", "nps"]
    inbox_id: DbId | None = None


class CallWebhook(BaseModel):
    """A signed POST to an outgoing webhook (app/webhooks: its secret, retries and
    delivery log), of type `automation.rule`: the rule, the event and its facts."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["call_webhook"] = "call_webhook"
    webhook_id: DbId


class Wait(BaseModel):
    """Do the actions after this one `minutes` later, unless (with `cancel_on_reply`) the
    customer or an agent wrote in the conversation meanwhile. Always cancelled when the
    contact is gone or can no longer be reached (unsubscribed)."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["wait"] = "wait"
    minutes: Count = Field(ge=1, le=366 * 24 * 60)
    cancel_on_reply: Flag = True


Action = Annotated[
    SendMessage
    | AddNote
    | AssignAgent
    | AssignTeam
    | AddLabel
    | SetPriority
    | Snooze
    | Resolve
    | SendSurvey
    | CallWebhook
    | Wait,
    Field(discriminator="type"),
]


class RuleOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: SafeStr | None = Field(default=None, pattern=EVENT_NAME)  # customer.event
    minutes: Count | None = Field(default=None, ge=1, le=366 * 24 * 60)  # conversation.idle


class RuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: FilledStr = Field(max_length=200)
    enabled: Flag = True
    inbox_id: DbId | None = None
    event: RuleEvent
    options: RuleOptions = Field(default_factory=RuleOptions)
    conditions: list[Condition] = Field(default_factory=list, max_length=30)
    actions: list[Action] = Field(min_length=1, max_length=30)

    @model_validator(mode="after")
    def _options(self) -> RuleIn:
        if self.event == "customer.event" and not self.options.name:
            raise ValueError("options.name: the customer event's name is needed")
        if self.event == "conversation.idle" and not self.options.minutes:
            raise ValueError("options.minutes: how long the conversation is idle is needed")
        return self


class RuleUpdate(BaseModel):
    """Only `enabled` and `position` alone (a switch, a reorder), or a whole new rule."""

    model_config = ConfigDict(extra="forbid")

    enabled: Flag | None = None
    position: Annotated[Count, Field(ge=0, le=1_000_000)] | None = None
    rule: RuleIn | None = None


class RuleOut(BaseModel):
    id: int
    name: str
    enabled: bool
    position: int
    inbox_id: int | None
    event: RuleEvent
    options: RuleOptions
    conditions: list[Condition]
    actions: list[Action]
    created_at: datetime
    updated_at: datetime


class RuleList(BaseModel):
    items: list[RuleOut]


class RunOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    rule_id: int
    trigger: str
    conversation_id: int | None
    contact_id: int | None
    status: str
    detail: str
    created_at: datetime
    updated_at: datetime


class RunPage(BaseModel):
    items: list[RunOut]


class IdentityRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: AddressKind
    address: SafeStr = Field(min_length=1, max_length=320)


class CustomerEventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: SafeStr = Field(pattern=EVENT_NAME)
    payload: dict[str, Any] = Field(default_factory=dict)
    occurred_at: UtcDatetime | None = Field(
        default=None, description="when the customer did it, with its offset (default: now)"
    )

    @field_validator("payload")
    @classmethod
    def _small(cls, payload: dict[str, Any]) -> dict[str, Any]:
        size = len(pydantic_core.to_json(payload))
        if size > MAX_PAYLOAD_BYTES:
            raise ValueError(f"at most {MAX_PAYLOAD_BYTES} bytes of JSON ({size} given)")
        return payload


class CustomerEventByIdentity(CustomerEventIn):
    identity: IdentityRef


class ContactEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    contact_id: int
    name: str
    payload: dict[str, Any]
    occurred_at: datetime
    created_at: datetime


class ContactEventPage(BaseModel):
    items: list[ContactEventOut]
    next_cursor: str | None


class ApiTokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: FilledStr = Field(max_length=200)


class ApiTokenOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None
    token: str | None = None  # shown once, when created


class ApiTokenList(BaseModel):
    items: list[ApiTokenOut]
