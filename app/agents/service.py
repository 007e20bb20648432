from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.models import Agent, AgentSession, Role, Team, team_members
from app.crypto import Passwords, new_token, token_digest
from app.db import utcnow
from app.errors import Conflict, Invalid, NotFound, Unauthorized
from connectors.addresses import InvalidAddress, normalize_email


def _email(raw: str) -> str:
    try:
        return normalize_email(raw)
    except InvalidAddress as exc:
        raise Invalid(str(exc), code="invalid_email") from exc


async def create_agent(
    session: AsyncSession,
    passwords: Passwords,
    *,
    email: str,
    name: str,
    password: str,
    role: Role,
    language: str = "en",
) -> Agent:
    password_hash = await asyncio.to_thread(passwords.hash, password)
    agent = Agent(
        email=_email(email), name=name, password_hash=password_hash, role=role, language=language
    )
    try:
        async with session.begin_nested():
            session.add(agent)
            await session.flush()
    except IntegrityError as exc:
        raise Conflict("an agent with that e-mail exists", code="agent_exists") from exc
    return agent


async def authenticate(
    session: AsyncSession, passwords: Passwords, *, email: str, password: str
) -> Agent:
    try:
        address = normalize_email(email)
    except InvalidAddress:
        address = email.strip().lower()
    agent = await session.scalar(select(Agent).where(Agent.email == address))
    stored = agent.password_hash if agent is not None else None
    ok = await asyncio.to_thread(passwords.verify, stored, password)
    if agent is None or not ok or not agent.is_active:
        raise Unauthorized("wrong e-mail or password", code="bad_credentials")
    return agent


async def open_session(session: AsyncSession, agent: Agent, ttl: timedelta) -> tuple[str, datetime]:
    token = new_token()
    expires_at = utcnow() + ttl
    session.add(
        AgentSession(token_hash=token_digest(token), agent_id=agent.id, expires_at=expires_at)
    )
    agent.last_seen_at = utcnow()
    await session.flush()
    return token, expires_at


async def agent_for_token(session: AsyncSession, token: str) -> Agent | None:
    return await session.scalar(
        select(Agent)
        .join(AgentSession, AgentSession.agent_id == Agent.id)
        .where(
            AgentSession.token_hash == token_digest(token),
            AgentSession.expires_at > utcnow(),
            Agent.is_active.is_(True),
        )
    )


async def close_session(session: AsyncSession, token: str) -> None:
    await session.execute(
        delete(AgentSession).where(AgentSession.token_hash == token_digest(token))
    )


async def get_agent(session: AsyncSession, agent_id: int) -> Agent:
    agent = await session.get(Agent, agent_id)
    if agent is None:
        raise NotFound("agent not found")
    return agent


async def update_agent(
    session: AsyncSession,
    passwords: Passwords,
    agent: Agent,
    *,
    name: str | None = None,
    password: str | None = None,
    role: Role | None = None,
    is_active: bool | None = None,
    language: str | None = None,
) -> Agent:
    if name is not None:
        agent.name = name
    if password is not None:
        agent.password_hash = await asyncio.to_thread(passwords.hash, password)
        # A new password ends every other login.
        await session.execute(delete(AgentSession).where(AgentSession.agent_id == agent.id))
    if role is not None:
        agent.role = role
    if is_active is not None:
        agent.is_active = is_active
        if not is_active:
            await session.execute(delete(AgentSession).where(AgentSession.agent_id == agent.id))
    if language is not None:
        agent.language = language
    await session.flush()
    return agent


async def list_agents(session: AsyncSession) -> list[Agent]:
    return list((await session.scalars(select(Agent).order_by(Agent.id))).all())


async def ensure_admin(
    session: AsyncSession, passwords: Passwords, *, email: str, password: str
) -> Agent | None:
    """The first-start admin from configuration; does nothing once that agent exists."""
    existing = await session.scalar(select(Agent).where(Agent.email == _email(email)))
    if existing is not None:
        return None
    return await create_agent(
        session,
        passwords,
        email=email,
        name=email.split("@")[0],
        password=password,
        role=Role.admin,
    )


async def create_team(
    session: AsyncSession, *, name: str, agent_ids: list[int]
) -> tuple[Team, list[int]]:
    team = Team(name=name)
    try:
        async with session.begin_nested():
            session.add(team)
            await session.flush()
    except IntegrityError as exc:
        raise Conflict("a team with that name exists", code="team_exists") from exc
    known = set((await session.scalars(select(Agent.id).where(Agent.id.in_(agent_ids)))).all())
    if missing := set(agent_ids) - known:
        raise Invalid(f"unknown agent ids: {sorted(missing)}", code="unknown_agent")
    if agent_ids:
        await session.execute(
            insert(team_members), [{"team_id": team.id, "agent_id": a} for a in sorted(known)]
        )
    return team, sorted(known)


async def list_teams(session: AsyncSession) -> list[tuple[Team, list[int]]]:
    teams = (await session.scalars(select(Team).order_by(Team.id))).all()
    members: dict[int, list[int]] = {t.id: [] for t in teams}
    for team_id, agent_id in await session.execute(select(team_members)):
        members.setdefault(team_id, []).append(agent_id)
    return [(t, sorted(members[t.id])) for t in teams]
