"""Assignment: inbox policies, agents' capacities, the atomic take, round robin and
auto-resolve. No request layer and no presence here: the caller says who is online."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, select, update
from sqlalchemy.dialects.postgresql import Insert as PgInsert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from app.agents.models import Agent, Role, Team, team_members
from app.assignment.models import AgentWorkload, AssignmentPolicy, Mode
from app.db import utcnow
from app.errors import Conflict, Invalid, NotFound
from app.inboxes.models import Inbox, inbox_agents
from app.tickets.models import Conversation, Status
from app.tickets.service import (
    Actor,
    Automated,
    Change,
    change_assignee,
    change_status,
    record_changes,
)

ROUND_ROBIN = Automated("Round robin")
AUTO_RESOLVE = Automated("Auto-resolve")
BATCH = 200  # waiting conversations assigned per round, oldest first
_NEVER = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Workload:
    agent: Agent
    max_open: int | None
    open_count: int


async def get_policy(session: AsyncSession, inbox_id: int) -> AssignmentPolicy:
    """The inbox's policy; a manual queue (not stored) when it has none."""
    if await session.get(Inbox, inbox_id) is None:
        raise NotFound("inbox not found")
    policy = await session.get(AssignmentPolicy, inbox_id)
    return policy or AssignmentPolicy(inbox_id=inbox_id, mode=Mode.manual, updated_at=utcnow())


async def set_policy(
    session: AsyncSession,
    inbox_id: int,
    *,
    mode: Mode,
    team_id: int | None,
    auto_resolve_days: int | None,
) -> AssignmentPolicy:
    if await session.get(Inbox, inbox_id) is None:
        raise NotFound("inbox not found")
    if team_id is not None and await session.get(Team, team_id) is None:
        raise Invalid("team_id: no team with that id", code="invalid_team")
    policy = await session.get(AssignmentPolicy, inbox_id, with_for_update=True)
    if policy is None:
        policy = AssignmentPolicy(inbox_id=inbox_id)
        session.add(policy)
    policy.mode = mode
    policy.team_id = team_id
    policy.auto_resolve_days = auto_resolve_days
    policy.updated_at = utcnow()
    await session.flush()
    return policy


async def _open_counts(session: AsyncSession, agent_ids: Collection[int]) -> dict[int, int]:
    rows = await session.execute(
        select(Conversation.assignee_id, func.count())
        .where(Conversation.status == Status.open, Conversation.assignee_id.in_(agent_ids))
        .group_by(Conversation.assignee_id)
    )
    return {int(agent_id): int(n) for agent_id, n in rows if agent_id is not None}


async def workloads(session: AsyncSession) -> list[Workload]:
    """Every active agent's capacity and open conversations."""
    agents = (
        await session.scalars(select(Agent).where(Agent.is_active).order_by(Agent.name, Agent.id))
    ).all()
    ids = [a.id for a in agents]
    limits = dict(
        (await session.execute(select(AgentWorkload.agent_id, AgentWorkload.max_open))).all()
    )
    counts = await _open_counts(session, ids)
    return [Workload(a, limits.get(a.id), counts.get(a.id, 0)) for a in agents]


def _insert(session: AsyncSession, rows: list[dict[str, Any]]) -> PgInsert | SqliteInsert:
    """An INSERT that can say what to do on conflict, in the session's dialect."""
    if session.get_bind().dialect.name == "postgresql":
        return pg_insert(AgentWorkload).values(rows)
    return sqlite_insert(AgentWorkload).values(rows)


async def set_capacity(session: AsyncSession, agent_id: int, max_open: int | None) -> Workload:
    agent = await session.get(Agent, agent_id)
    if agent is None or not agent.is_active:
        raise NotFound("agent not found")
    stmt = _insert(session, [{"agent_id": agent_id, "max_open": max_open}])
    await session.execute(
        stmt.on_conflict_do_update(index_elements=["agent_id"], set_={"max_open": max_open})
    )
    counts = await _open_counts(session, [agent_id])
    return Workload(agent, max_open, counts.get(agent_id, 0))


async def claim(
    session: AsyncSession,
    conversation: Conversation,
    actor: Actor,
    agent_id: int,
    *,
    skip_locked: bool = False,
) -> Change | None:
    """Assign the conversation to `agent_id` if nobody has it, as the database decides: of
    two claims at once exactly one updates the row. None when someone has it already (the
    conversation then shows who) or, with `skip_locked`, when another transaction is
    changing it (round robin passes it over this round rather than wait for the lock,
    which could deadlock with a writer that locks conversations in another order)."""
    unassigned = (Conversation.id == conversation.id, Conversation.assignee_id.is_(None))
    row = (
        Conversation.id.in_(
            select(Conversation.id).where(*unassigned).with_for_update(skip_locked=True)
        )
        if skip_locked
        else and_(*unassigned)
    )
    won = await session.scalar(
        update(Conversation)
        .where(row)
        .values(assignee_id=agent_id)
        .returning(Conversation.id)
        .execution_options(synchronize_session=False)
    )
    if won is None:
        await session.refresh(conversation, ["assignee_id"])
        return None
    # What the row held before the update, so that the change (and its line) is told.
    set_committed_value(conversation, "assignee_id", None)
    return await change_assignee(session, conversation, actor, agent_id)


async def take(session: AsyncSession, conversation: Conversation, agent: Agent) -> None:
    """The agent takes an unassigned conversation; 409 if someone else has it."""
    if conversation.assignee_id == agent.id:
        return
    change = await claim(session, conversation, agent, agent.id)
    if change is None:
        if conversation.assignee_id == agent.id:
            return
        holder = await session.scalar(
            select(Agent.name).where(Agent.id == conversation.assignee_id)
        )
        raise Conflict(
            f"{holder or 'another agent'} has already taken this conversation",
            code="already_assigned",
        )
    await record_changes(session, conversation, agent, [change], now=utcnow())


async def assign_replier(session: AsyncSession, conversation: Conversation, agent: Agent) -> None:
    """An agent's reply to a conversation nobody has makes it theirs."""
    if conversation.assignee_id is None:
        change = await claim(session, conversation, agent, agent.id)
        await record_changes(session, conversation, agent, [change], now=utcnow())


async def anyone_waiting(session: AsyncSession) -> bool:
    """Whether a conversation waits for round robin (a cheap check before a round)."""
    inboxes = select(AssignmentPolicy.inbox_id).where(AssignmentPolicy.mode == Mode.round_robin)
    return bool(
        await session.scalar(
            select(
                exists().where(
                    Conversation.status == Status.open,
                    Conversation.assignee_id.is_(None),
                    Conversation.inbox_id.in_(inboxes),
                )
            )
        )
    )


async def _eligible(
    session: AsyncSession, policies: Collection[tuple[int, int | None]], online: Collection[int]
) -> dict[int, set[int]]:
    """Per round-robin inbox, the online active agents it may go to: its team's members
    who work in the inbox (administrators work in all), else the inbox's members."""
    stmt = select(Agent.id, Agent.role).where(Agent.id.in_(online), Agent.is_active)
    present = dict((await session.execute(stmt)).all())
    admins = {a for a, role in present.items() if role == Role.admin}
    inbox_ids = [inbox_id for inbox_id, _ in policies]
    members: dict[int, set[int]] = defaultdict(set)
    for inbox_id, agent_id in await session.execute(
        select(inbox_agents.c.inbox_id, inbox_agents.c.agent_id).where(
            inbox_agents.c.inbox_id.in_(inbox_ids), inbox_agents.c.agent_id.in_(present)
        )
    ):
        members[inbox_id].add(agent_id)
    teams: dict[int, set[int]] = defaultdict(set)
    team_ids = {team_id for _, team_id in policies if team_id is not None}
    for team_id, agent_id in await session.execute(
        select(team_members.c.team_id, team_members.c.agent_id).where(
            team_members.c.team_id.in_(team_ids), team_members.c.agent_id.in_(present)
        )
    ):
        teams[team_id].add(agent_id)
    return {
        inbox_id: members[inbox_id]
        if team_id is None
        else teams[team_id] & (members[inbox_id] | admins)
        for inbox_id, team_id in policies
    }


def _room(workload: AgentWorkload, open_count: int) -> bool:
    return workload.max_open is None or open_count < workload.max_open


async def assign_waiting(session: AsyncSession, online: Collection[int], *, now: datetime) -> int:
    """One round of round robin: the waiting conversations of round-robin inboxes, oldest
    first, each to the eligible online agent below capacity with the fewest open
    conversations (then the one round robin served longest ago). The policies' rows are
    locked first, so rounds in different processes run one after the other and each sees
    the assignments of the one before. The number assigned."""
    policies = [
        (inbox_id, team_id)
        for inbox_id, team_id in (
            await session.execute(
                select(AssignmentPolicy.inbox_id, AssignmentPolicy.team_id)
                .where(AssignmentPolicy.mode == Mode.round_robin)
                .order_by(AssignmentPolicy.inbox_id)
                .with_for_update()
            )
        )
    ]
    if not policies or not online:
        return 0
    waiting = (
        await session.scalars(
            select(Conversation)
            .where(
                Conversation.status == Status.open,
                Conversation.assignee_id.is_(None),
                Conversation.inbox_id.in_([inbox_id for inbox_id, _ in policies]),
            )
            .order_by(
                func.coalesce(Conversation.waiting_since, Conversation.created_at), Conversation.id
            )
            .limit(BATCH)
        )
    ).all()
    if not waiting:
        return 0
    eligible = await _eligible(session, policies, online)
    candidates = sorted(set().union(*eligible.values()))
    if not candidates:
        return 0
    await session.execute(
        _insert(session, [{"agent_id": a} for a in candidates]).on_conflict_do_nothing(
            index_elements=["agent_id"]
        )
    )
    state = {
        w.agent_id: w
        for w in (
            await session.scalars(
                select(AgentWorkload)
                .where(AgentWorkload.agent_id.in_(candidates))
                .order_by(AgentWorkload.agent_id)
                .with_for_update()
            )
        ).all()
    }
    counts = await _open_counts(session, candidates)
    assigned = 0
    for conversation in waiting:
        free = [a for a in eligible[conversation.inbox_id] if _room(state[a], counts.get(a, 0))]
        if not free:
            continue
        agent_id = min(
            free, key=lambda a: (counts.get(a, 0), state[a].last_assigned_at or _NEVER, a)
        )
        change = await claim(session, conversation, ROUND_ROBIN, agent_id, skip_locked=True)
        if change is None:
            continue  # taken meanwhile, or being changed: the next round sees
        await record_changes(session, conversation, ROUND_ROBIN, [change], now=now)
        counts[agent_id] = counts.get(agent_id, 0) + 1
        state[agent_id].last_assigned_at = now
        assigned += 1
    return assigned


async def auto_resolve(session: AsyncSession, *, now: datetime) -> int:
    """Resolve the conversations waiting on the customer longer than their inbox allows:
    open or pending, answered by an agent (first response given), no customer message
    since the agent's last reply (`waiting_since` unset), and nothing written in them
    (`last_message_at`) for the inbox's `auto_resolve_days`. The number resolved."""
    resolved = 0
    policies = await session.execute(
        select(AssignmentPolicy.inbox_id, AssignmentPolicy.auto_resolve_days).where(
            AssignmentPolicy.auto_resolve_days.is_not(None)
        )
    )
    for inbox_id, days in list(policies):
        due = (
            await session.scalars(
                select(Conversation)
                .where(
                    Conversation.status.in_((Status.open, Status.pending)),
                    Conversation.waiting_since.is_(None),
                    Conversation.last_message_at <= now - timedelta(days=days or 0),
                    Conversation.inbox_id == inbox_id,
                    Conversation.first_response_at.is_not(None),
                )
                .limit(BATCH)
                .with_for_update(skip_locked=True)
            )
        ).all()
        for conversation in due:
            change = change_status(conversation, Status.resolved, snoozed_until=None, now=now)
            await record_changes(session, conversation, AUTO_RESOLVE, [change], now=now)
            resolved += 1
    return resolved
