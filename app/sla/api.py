"""SLA policies of an inbox: GET (its agents), PUT (administrators)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.audit import service as audit
from app.audit.api import Auditor
from app.deps import AdminAgent, ContextDep, CurrentAgent, ReadSession, visible_inbox_ids
from app.errors import NotFound
from app.fields import Count, DbId
from app.inboxes.service import get_inbox
from app.sla import service
from app.tickets.models import Priority

router = APIRouter(prefix="/api/v1/inboxes", tags=["sla"])

# Business minutes: up to a year of round-the-clock work.
Minutes = Annotated[Count, Field(ge=1, le=366 * 24 * 60)]


class SlaPolicyIn(BaseModel):
    priority: Priority
    first_response_minutes: Minutes | None = None
    next_response_minutes: Minutes | None = None
    resolution_minutes: Minutes | None = None


class SlaPolicyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    priority: Priority
    first_response_minutes: int | None
    next_response_minutes: int | None
    resolution_minutes: int | None


class SlaPoliciesIn(BaseModel):
    policies: list[SlaPolicyIn] = Field(max_length=len(Priority))

    @model_validator(mode="after")
    def _one_per_priority(self) -> SlaPoliciesIn:
        priorities = [p.priority for p in self.policies]
        if len(set(priorities)) != len(priorities):
            raise ValueError("policies: one per priority")
        return self


class SlaPoliciesOut(BaseModel):
    inbox_id: int
    policies: list[SlaPolicyOut]


@router.get("/{inbox_id}/sla-policies")
async def get_sla_policies(
    inbox_id: DbId, agent: CurrentAgent, session: ReadSession
) -> SlaPoliciesOut:
    """The inbox's promised times per priority, in business minutes (its business hours)."""
    visible = await visible_inbox_ids(session, agent)
    if visible is not None and inbox_id not in visible:
        raise NotFound("inbox not found")
    await get_inbox(session, inbox_id)
    rows = await service.list_policies(session, inbox_id)
    return SlaPoliciesOut(
        inbox_id=inbox_id, policies=[SlaPolicyOut.model_validate(r) for r in rows]
    )


@router.put("/{inbox_id}/sla-policies")
async def put_sla_policies(
    inbox_id: DbId, body: SlaPoliciesIn, _admin: AdminAgent, who: Auditor, ctx: ContextDep
) -> SlaPoliciesOut:
    """Replace the inbox's policies (at most one per priority; a priority left out has no
    promise). Conversations follow them from their next event (see the README)."""
    async with ctx.db.write() as session:
        await get_inbox(session, inbox_id)
        rows = await service.replace_policies(
            session,
            inbox_id,
            [
                service.PolicyTargets(
                    p.priority,
                    p.first_response_minutes,
                    p.next_response_minutes,
                    p.resolution_minutes,
                )
                for p in body.policies
            ],
        )
        audit.record(session, who, "sla_policies.updated", ("inbox", inbox_id), body)
        return SlaPoliciesOut(
            inbox_id=inbox_id, policies=[SlaPolicyOut.model_validate(r) for r in rows]
        )
