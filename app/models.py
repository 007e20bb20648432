"""Every table, imported in one place so the metadata (and Alembic) sees them all."""

from app.account.models import AccountSettings
from app.acks.models import AcknowledgementSent, AcknowledgementSettings
from app.agents.models import Agent, AgentSession, Team, team_members
from app.assignment.models import AgentWorkload, AssignmentPolicy
from app.audit.models import AuditEntry
from app.automations.models import (
    ApiToken,
    AutomatedSend,
    ContactEvent,
    Rule,
    RuleRun,
    ScheduledStep,
)
from app.callbacks.models import CallbackRequest
from app.canned.models import CannedResponse
from app.contacts.models import Contact, ContactIdentity
from app.db import Base
from app.events.models import EventRow, EventSequence, LogConsumer
from app.hours.models import BusinessHours
from app.inbound.models import PollerState
from app.inboxes.models import Inbox, inbox_agents
from app.merge.models import ConversationMerge
from app.reports.models import MessageCount
from app.sla.models import SlaPolicy
from app.surveys.models import Survey, SurveySettings
from app.tickets.models import (
    Attachment,
    Conversation,
    ConversationLabel,
    DeliveryAttempt,
    Message,
)
from app.voice.models import Call
from app.webhooks.models import WebhookDelivery, WebhookSubscription
from app.widget.models import VisitorSession

metadata = Base.metadata

__all__ = [
    "AccountSettings",
    "AcknowledgementSent",
    "AcknowledgementSettings",
    "Agent",
    "AgentSession",
    "AgentWorkload",
    "ApiToken",
    "AssignmentPolicy",
    "Attachment",
    "AuditEntry",
    "AutomatedSend",
    "BusinessHours",
    "Call",
    "CallbackRequest",
    "CannedResponse",
    "Contact",
    "ContactEvent",
    "ContactIdentity",
    "Conversation",
    "ConversationLabel",
    "ConversationMerge",
    "DeliveryAttempt",
    "EventRow",
    "EventSequence",
    "Inbox",
    "LogConsumer",
    "Message",
    "MessageCount",
    "PollerState",
    "Rule",
    "RuleRun",
    "ScheduledStep",
    "SlaPolicy",
    "Survey",
    "SurveySettings",
    "Team",
    "VisitorSession",
    "WebhookDelivery",
    "WebhookSubscription",
    "inbox_agents",
    "metadata",
    "team_members",
]
