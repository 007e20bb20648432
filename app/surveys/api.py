"""Surveys for agents (a contact's or conversation's answers) and administrators (the
policy, an NPS to a segment)."""

from __future__ import annotations

from fastapi import APIRouter

from app.audit import service as audit
from app.audit.api import Auditor
from app.deps import AdminAgent, ContextDep, CurrentAgent, ReadSession, visible_inbox_ids
from app.fields import DbId
from app.surveys import service
from app.surveys.follow import links
from app.surveys.schemas import (
    NpsBulkIn,
    NpsBulkOut,
    SurveyOut,
    SurveyPolicy,
    SurveyPolicyUpdate,
)

router = APIRouter(prefix="/api/v1/surveys", tags=["surveys (CSAT, NPS)"])


@router.get("")
async def list_surveys(
    agent: CurrentAgent,
    session: ReadSession,
    contact_id: DbId | None = None,
    conversation_id: DbId | None = None,
) -> list[SurveyOut]:
    """CSAT and NPS surveys sent, newest first, with their answers: of a contact, of a
    conversation (the 200 newest), in the inboxes this agent works in."""
    visible = await visible_inbox_ids(session, agent)
    found = await service.surveys_of(
        session, contact_id=contact_id, conversation_id=conversation_id
    )
    return [service.survey_out(s) for s in found if visible is None or s.inbox_id in visible]


@router.get("/settings")
async def get_policy(_admin: AdminAgent, session: ReadSession) -> SurveyPolicy:
    """Which inboxes ask for a CSAT after a resolved conversation, whether NPS is asked
    (and every how many days per contact), the cooldown between any two surveys to one
    contact, and the language customers are asked in."""
    return await service.policy(session)


@router.patch("/settings")
async def update_policy(
    body: SurveyPolicyUpdate, _admin: AdminAgent, who: Auditor, ctx: ContextDep
) -> SurveyPolicy:
    async with ctx.db.write() as session:
        before = await service.policy(session)
        after = await service.update_policy(session, body)
        audit.record(session, who, "survey_settings.updated", None, audit.diff(before, after))
        return after


@router.post("/nps/bulk")
async def nps_to_segment(
    body: NpsBulkIn, _admin: AdminAgent, who: Auditor, ctx: ContextDep
) -> NpsBulkOut:
    """An NPS survey to every contact with a conversation with this label and/or in this
    inbox, on the channel of their latest such conversation; contacts asked within the NPS
    interval or the cooldown are skipped."""
    async with ctx.db.write() as session:
        sent, skipped = await service.bulk_nps(
            session, label=body.label, inbox_id=body.inbox_id, links=links(ctx)
        )
        audit.record(
            session, who, "survey.nps_bulk_sent", None, {**body.model_dump(), "queued": sent}
        )
    ctx.outbox_ready.set()
    return NpsBulkOut(queued=sent, skipped=skipped)
