from __future__ import annotations

from fastapi import APIRouter

from app.assignment import service
from app.assignment.schemas import CapacityUpdate, PolicyOut, PolicyUpdate, WorkloadOut
from app.audit import service as audit
from app.audit.api import Auditor
from app.deps import AdminAgent, ContextDep, CurrentAgent, ReadSession, require_conversation
from app.fields import DbId
from app.tickets.schemas import ConversationOut
from app.tickets.shapes import conversation_view

router = APIRouter(prefix="/api/v1", tags=["assignment"])


@router.get("/inboxes/{inbox_id}/assignment")
async def get_policy(inbox_id: DbId, _admin: AdminAgent, session: ReadSession) -> PolicyOut:
    return PolicyOut.model_validate(await service.get_policy(session, inbox_id))


@router.put("/inboxes/{inbox_id}/assignment")
async def set_policy(
    inbox_id: DbId, body: PolicyUpdate, _admin: AdminAgent, who: Auditor, ctx: ContextDep
) -> PolicyOut:
    """How the inbox's conversations find an agent: `manual` (agents take them from the
    unassigned queue) or `round_robin` (given to online agents below their capacity)."""
    async with ctx.db.write() as session:
        policy = await service.set_policy(
            session,
            inbox_id,
            mode=body.mode,
            team_id=body.team_id,
            auto_resolve_days=body.auto_resolve_days,
        )
        audit.record(session, who, "assignment_policy.updated", ("inbox", inbox_id), body)
        return PolicyOut.model_validate(policy)


def _workload_out(w: service.Workload) -> WorkloadOut:
    return WorkloadOut(
        agent_id=w.agent.id, name=w.agent.name, max_open=w.max_open, open_count=w.open_count
    )


@router.get("/assignment/capacities")
async def list_capacities(_admin: AdminAgent, session: ReadSession) -> list[WorkloadOut]:
    """Every active agent's capacity (most open conversations round robin gives them; null:
    no limit) and how many open conversations they have."""
    return [_workload_out(w) for w in await service.workloads(session)]


@router.put("/assignment/capacities/{agent_id}")
async def set_capacity(
    agent_id: DbId, body: CapacityUpdate, _admin: AdminAgent, who: Auditor, ctx: ContextDep
) -> WorkloadOut:
    async with ctx.db.write() as session:
        audit.record(session, who, "agent.capacity_updated", ("agent", agent_id), body)
        return _workload_out(await service.set_capacity(session, agent_id, body.max_open))


@router.post("/conversations/{conversation_id}/take")
async def take_conversation(
    conversation_id: DbId, agent: CurrentAgent, ctx: ContextDep
) -> ConversationOut:
    """Take an unassigned conversation. Of agents taking it at once exactly one gets it; the
    others get 409 `already_assigned`, saying who has it. Taking one's own is a no-op."""
    async with ctx.db.write() as session:
        conversation = await require_conversation(session, agent, conversation_id)
        await service.take(session, conversation, agent)
        return await conversation_view(session, conversation)
