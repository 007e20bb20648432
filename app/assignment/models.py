from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow
from app.tickets.models import Conversation


class Mode(StrEnum):
    manual = "manual"  # a pick-up queue: agents take conversations
    round_robin = "round_robin"


class AssignmentPolicy(Base):
    """An inbox's assignment policy; an inbox without a row is a manual queue. The rows of
    round-robin inboxes are locked for the length of a round, so one process at a time
    assigns (see service.assign_waiting)."""

    __tablename__ = "assignment_policies"

    inbox_id: Mapped[int] = mapped_column(
        ForeignKey("inboxes.id", ondelete="CASCADE"), primary_key=True
    )
    mode: Mapped[Mode] = mapped_column(String(20), default=Mode.manual)
    # Round robin among this team's members (who work in the inbox); None: the inbox's members.
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))
    # Resolve a conversation waiting this many days on the customer; None: never.
    auto_resolve_days: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class AgentWorkload(Base):
    """An agent's capacity and when round robin last gave them a conversation (the tie
    breaker among agents with as many open conversations)."""

    __tablename__ = "agent_workloads"

    agent_id: Mapped[int] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True
    )
    max_open: Mapped[int | None] = mapped_column(Integer)  # None: no limit
    last_assigned_at: Mapped[datetime | None]


# Auto-resolve's query: open or pending conversations nobody is waiting on, by how long
# nothing has been written in them.
Index(
    "ix_conversations_awaiting_customer",
    Conversation.status,
    Conversation.waiting_since,
    Conversation.last_message_at,
)
