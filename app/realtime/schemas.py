from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from app.agents.schemas import AgentOut
from app.inboxes.schemas import InboxOut
from app.tickets.schemas import ConversationPage


class PresenceOut(BaseModel):
    agent_id: int
    status: Literal["online", "away", "offline"]
    last_active_at: datetime | None


class Counts(BaseModel):
    open: int  # open conversations in the agent's inboxes
    mine: int  # of those, assigned to the agent
    unassigned: int  # of those, assigned to nobody


class Bootstrap(BaseModel):
    """The console's starting state. Connect `WS /ws/agent` with `last_event_id` from here:
    every change after this state arrives as an event (some may repeat what this shows)."""

    agent: AgentOut
    inboxes: list[InboxOut]
    conversations: ConversationPage
    counts: Counts
    presence: list[PresenceOut]
    last_event_id: int
    # Where customers and providers reach this server (PANJEREH_PUBLIC_URL): the console
    # fills it into setup steps (the widget's snippet) and picks Telegram's mode by it.
    public_url: str
