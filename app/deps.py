"""Typed dependencies for the routers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents import service as agents
from app.agents.models import Agent
from app.context import Context
from app.errors import Forbidden, NotFound, Unauthorized
from app.inboxes.models import inbox_agents
from app.tickets.models import Conversation


async def get_context(request: Request) -> Context:
    # async: a plain function would cost every request a trip through the thread pool
    ctx: Context = request.app.state.ctx
    return ctx


ContextDep = Annotated[Context, Depends(get_context)]


async def read_session(ctx: ContextDep) -> AsyncIterator[AsyncSession]:
    async with ctx.db.read() as session:
        yield session


ReadSession = Annotated[AsyncSession, Depends(read_session)]

_bearer = HTTPBearer(auto_error=False)


async def bearer_token(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    if credentials is None or not credentials.credentials:
        raise Unauthorized("missing bearer token", code="not_authenticated")
    return credentials.credentials


BearerToken = Annotated[str, Depends(bearer_token)]


async def current_agent(token: BearerToken, ctx: ContextDep) -> Agent:
    async with ctx.db.read() as session:
        agent = await agents.agent_for_token(session, token)
    if agent is None:
        raise Unauthorized("invalid or expired token", code="invalid_token")
    return agent


CurrentAgent = Annotated[Agent, Depends(current_agent)]


async def current_admin(agent: CurrentAgent) -> Agent:
    if not agent.is_admin:
        raise Forbidden("administrators only", code="admin_required")
    return agent


AdminAgent = Annotated[Agent, Depends(current_admin)]


async def visible_inbox_ids(session: AsyncSession, agent: Agent) -> set[int] | None:
    """The inboxes an agent works in; None means all (administrators)."""
    if agent.is_admin:
        return None
    rows = await session.scalars(
        select(inbox_agents.c.inbox_id).where(inbox_agents.c.agent_id == agent.id)
    )
    return set(rows.all())


async def require_conversation(
    session: AsyncSession, agent: Agent, conversation_id: int
) -> Conversation:
    """The conversation, if this agent may see it; a 404 otherwise (no existence leak)."""
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None:
        raise NotFound("conversation not found")
    inboxes = await visible_inbox_ids(session, agent)
    if inboxes is not None and conversation.inbox_id not in inboxes:
        raise NotFound("conversation not found")
    return conversation
