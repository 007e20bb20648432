from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.models import Agent, AgentSession, Role, Team, team_members
from app.crypto import Passwords, new_token, token_digest
from app.db import utcnow
from app.errors import Conflict, Invalid, NotFound, Unauthorized
from app.fields import is_address_shaped
from connectors.addresses import InvalidAddress, normalize_email


def _email(raw: str) -> str:
    try:
        return normalize_email(raw)
    except InvalidAddress as exc:
        if is_address_shaped(raw):  # an intranet domain: fine for a sign-in
            return raw.strip().lower()
        raise Invalid(str(exc), code="invalid_email") from exc


async def create_agent(
    session: AsyncSession,
    *,
    email: str,
    name: str,
    password_hash: str,
    role: Role,
    language: str = "en",
) -> Agent:
    """A new agent; the caller hashes the password before opening the transaction."""
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
    """The agent these credentials open. Meant for a read session: verifying takes a while."""
    try:
        address = _email(email)
    except Invalid:
        address = email.strip().lower()
    agent = await session.scalar(select(Agent).where(Agent.email == address))
    ok = await passwords.verify(agent.password_hash if agent is not None else None, password)
    if agent is None or not ok or not agent.is_active:
        raise Unauthorized("wrong e-mail or password", code="bad_credentials")
    return agent


async def open_session(session: AsyncSession, agent: Agent, ttl: timedelta) -> tuple[str, datetime]:
    token = new_token()
    expires_at = utcnow() + ttl
    session.add(
        AgentSession(token_hash=token_digest(token), agent_id=agent.id, expires_at=expires_at)
    )
    await session.execute(update(Agent).where(Agent.id == agent.id).values(last_seen_at=utcnow()))
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
    agent: Agent,
    *,
    name: str | None = None,
    password_hash: str | None = None,
    role: Role | None = None,
    is_active: bool | None = None,
    language: str | None = None,
    phone: str | None = None,  # "" removes it
) -> Agent:
    if name is not None:
        agent.name = name
    if password_hash is not None:
        agent.password_hash = password_hash
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
    if phone is not None:
        agent.phone = phone or None
    await session.flush()
    return agent


async def list_agents(session: AsyncSession) -> list[Agent]:
    return list((await session.scalars(select(Agent).order_by(Agent.id))).all())


async def agent_exists(session: AsyncSession, email: str) -> bool:
    return await session.scalar(select(Agent.id).where(Agent.email == _email(email))) is not None


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
