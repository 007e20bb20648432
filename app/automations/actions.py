"""Actions that reach other features: a satisfaction survey (app/surveys) and a call to an
outgoing webhook (app/webhooks). What they need of the process (the survey page's link
signer) is put on the session by the worker that runs the rules (`provide`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.automations.models import Rule
from app.automations.schemas import CallWebhook, SendSurvey
from app.surveys import service as surveys
from app.surveys.models import SurveyKind
from app.tickets.models import Conversation
from app.webhooks.models import WebhookSubscription
from app.webhooks.service import queue_delivery

_LINKS = "automations.survey_links"
WEBHOOK_EVENT = "automation.rule"


def provide(session: AsyncSession, links: surveys.Links) -> None:
    """What the survey action needs to sign an e-mailed rating link, for this transaction."""
    session.info[_LINKS] = links


async def send_survey(
    session: AsyncSession, conversation: Conversation | None, action: SendSurvey
) -> str:
    if conversation is None:
        return "send_survey: no conversation to ask in"
    links = session.info.get(_LINKS)
    if not isinstance(links, surveys.Links):
        raise RuntimeError("the rules' worker provides survey links (actions.provide)")
    survey = await surveys.for_rule(session, conversation, SurveyKind(action.kind), links)
    if survey is None:
        return f"send_survey: no {action.kind} now (the survey policy)"
    return f"{action.kind} survey sent"


async def call_webhook(
    session: AsyncSession, rule: Rule, context: dict[str, Any], action: CallWebhook
) -> str:
    """`context` is what the rule's templates read: the contact, conversation, message and
    event."""
    webhook = await session.get(WebhookSubscription, action.webhook_id)
    if webhook is None:
        return "call_webhook: the webhook was deleted"
    if not webhook.enabled:
        return "call_webhook: the webhook is disabled"
    data = {"rule": {"id": rule.id, "name": rule.name}, **context}
    delivery = await queue_delivery(session, webhook, WEBHOOK_EVENT, data)
    return f"webhook {webhook.id} called (delivery {delivery.delivery_id})"
