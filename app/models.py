"""Every table, imported in one place so the metadata (and Alembic) sees them all."""

from app.agents.models import Agent, AgentSession, Team, team_members
from app.callbacks.models import CallbackRequest
from app.canned.models import CannedResponse
from app.contacts.models import Contact, ContactIdentity
from app.db import Base
from app.events.models import EventRow, EventSequence, LogConsumer
from app.inbound.models import PollerState
from app.inboxes.models import Inbox, inbox_agents
from app.tickets.models import (
    Attachment,
    Conversation,
    ConversationLabel,
    DeliveryAttempt,
    Message,
)
from app.webhooks.models import WebhookDelivery, WebhookSubscription
from app.widget.models import VisitorSession

metadata = Base.metadata

__all__ = [
    "Agent",
    "AgentSession",
    "Attachment",
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
    "Team",
    "VisitorSession",
    "WebhookDelivery",
    "WebhookSubscription",
    "inbox_agents",
    "metadata",
    "team_members",
]
