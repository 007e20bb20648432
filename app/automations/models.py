from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow
from app.types import JSONType


class ApiToken(Base):
    """A named token another system (a shop's backend) uses to post customer events.
    Shown once when created; stored only as its SHA-256."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]


class ContactEvent(Base):
    """Something the customer did elsewhere (`order.placed`), on the contact's timeline."""

    __tablename__ = "contact_events"
    __table_args__ = (Index("ix_contact_events_contact", "contact_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    token_id: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id", ondelete="SET NULL"))
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)  # as the sender says
    created_at: Mapped[datetime] = mapped_column(default=utcnow)  # when we were told


class Rule(Base):
    """When `event` happens (in `inbox_id`, or anywhere if None) and every condition holds,
    do the actions in order. Rules are tried by `position`."""

    __tablename__ = "automation_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    inbox_id: Mapped[int | None] = mapped_column(ForeignKey("inboxes.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(50))
    # The event's parameters: a customer event's `name`, the idle trigger's `minutes`.
    options: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    conditions: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    actions: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class RuleRun(Base):
    """One time a rule's conditions held (or it was held back): the run log."""

    __tablename__ = "automation_runs"
    __table_args__ = (Index("ix_automation_runs_rule", "rule_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("automation_rules.id", ondelete="CASCADE"))
    trigger: Mapped[str] = mapped_column(String(150))
    conversation_id: Mapped[int | None] = mapped_column(Integer)
    contact_id: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))  # done, waiting, cancelled, failed
    detail: Mapped[str] = mapped_column(String(2000), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ScheduledStep(Base):
    """A rule's work for later: the rest of its actions after a `wait` (kind `wait`), or
    the check whether a conversation has been idle long enough (kind `idle`). A worker
    deletes the row in the transaction that does the work, so it runs once."""

    __tablename__ = "automation_steps"
    __table_args__ = (
        Index("ix_automation_steps_due", "due_at"),
        Index("ix_automation_steps_idle", "rule_id", "conversation_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    rule_id: Mapped[int] = mapped_column(ForeignKey("automation_rules.id", ondelete="CASCADE"))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("automation_runs.id", ondelete="CASCADE"))
    conversation_id: Mapped[int | None] = mapped_column(Integer)
    next_action: Mapped[int] = mapped_column(Integer, default=0)
    # What the rule's templates and stop conditions need: the event, the contact, since when.
    context: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    due_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AutomatedSend(Base):
    """A message an automation sent (or held back) in a conversation: the loop breaker
    counts them."""

    __tablename__ = "automation_sends"
    __table_args__ = (Index("ix_automation_sends_conversation", "conversation_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(Integer)
    held: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
