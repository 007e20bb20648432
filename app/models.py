"""Every table, imported in one place so the metadata (and Alembic) sees them all."""

from app.acks.models import AcknowledgementSent, AcknowledgementSettings
from app.agents.models import Agent, AgentSession, Team, team_members
from app.callbacks.models import CallbackRequest
from app.canned.models import CannedResponse
from app.contacts.models import Contact, ContactIdentity
from app.db import Base
from app.events.models import EventRow, EventSequence, LogConsumer
from app.hours.models import BusinessHours
from app.inbound.models import PollerState
from app.inboxes.models import Inbox, inbox_agents
from app.sla.models import SlaPolicy
from app.tickets.models import (
    Attachment,
    Conversation,
    ConversationLabel,
    DeliveryAttempt,
    Message,
)
from app.widget.models import VisitorSession

metadata = Base.metadata

__all__ = [
    "AcknowledgementSent",
    "AcknowledgementSettings",
    "Agent",
    "AgentSession",
    "Attachment",
    "BusinessHours",
    "CallbackRequest",
    "CannedResponse",
    "Contact",
    "ContactIdentity",
    "Conversation",
    "ConversationLabel",
    "DeliveryAttempt",
    "EventRow",
    "EventSequence",
    "Inbox",
    "LogConsumer",
    "Message",
    "PollerState",
    "SlaPolicy",
    "Team",
    "VisitorSession",
    "inbox_agents",
    "metadata",
    "team_members",
]
