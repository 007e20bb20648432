from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request, status

from app.agents import service
from app.agents.schemas import (
    AgentCreate,
    AgentOut,
    AgentUpdate,
    LoginRequest,
    LoginResponse,
    MeUpdate,
    TeamCreate,
    TeamOut,
)
from app.audit import service as audit
from app.audit.api import Auditor, client_ip
from app.deps import AdminAgent, BearerToken, ContextDep, CurrentAgent, ReadSession
from app.errors import Forbidden, Invalid, Unauthorized
from app.fields import DbId
from app.ratelimit import LOGIN_PER_EMAIL, LOGIN_PER_IP

auth_router = APIRouter(prefix="/api/v1/auth", tags=["auth"])
router = APIRouter(prefix="/api/v1", tags=["agents"])


@auth_router.post("/login", responses={429: {"description": "too many attempts"}})
async def login(body: LoginRequest, request: Request, ctx: ContextDep) -> LoginResponse:
    client = request.client.host if request.client else "unknown"
    await ctx.rate_limiter.hit(LOGIN_PER_IP, "login-ip", client)
    await ctx.rate_limiter.hit(LOGIN_PER_EMAIL, "login-email", body.email.strip().lower())
    try:
        async with ctx.db.read() as session:
            agent = await service.authenticate(
                session, ctx.passwords, email=body.email, password=body.password
            )
    except Unauthorized:
        async with ctx.db.write() as session:
            audit.record(
                session,
                audit.Who(None, None, client_ip(request)),
                "auth.login_failed",
                target=("agent", body.email.strip().lower()[:100]),
            )
        raise
    async with ctx.db.write() as session:
        token, expires_at = await service.open_session(
            session, agent, timedelta(hours=ctx.settings.session_ttl_hours)
        )
        audit.record(
            session,
            audit.Who(agent.id, agent.name, client_ip(request)),
            "auth.login",
            target=("agent", agent.id),
        )
    return LoginResponse(
        access_token=token, expires_at=expires_at, agent=AgentOut.model_validate(agent)
    )


@auth_router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(_agent: CurrentAgent, token: BearerToken, ctx: ContextDep) -> None:
    """Revokes this token at once."""
    async with ctx.db.write() as session:
        await service.close_session(session, token)


@auth_router.get("/me")
async def me(agent: CurrentAgent) -> AgentOut:
    return AgentOut.model_validate(agent)


@auth_router.patch("/me")
async def update_me(body: MeUpdate, agent: CurrentAgent, who: Auditor, ctx: ContextDep) -> AgentOut:
    """The signed-in agent's own name, language (`en` or `fa`) and phone (E.164; "" removes it)."""
    async with ctx.db.write() as session:
        me = await service.get_agent(session, agent.id)
        await service.update_agent(
            session, me, name=body.name, language=body.language, phone=body.phone
        )
        audit.record(
            session, who, "agent.updated", target=("agent", me.id), changes=audit.requested(body)
        )
        return AgentOut.model_validate(me)


@router.get("/agents")
async def list_agents(_agent: CurrentAgent, session: ReadSession) -> list[AgentOut]:
    return [AgentOut.model_validate(a) for a in await service.list_agents(session)]


@router.post("/agents", status_code=status.HTTP_201_CREATED)
async def create_agent(
    body: AgentCreate, _admin: AdminAgent, who: Auditor, ctx: ContextDep
) -> AgentOut:
    password_hash = await ctx.passwords.hash(body.password)
    async with ctx.db.write() as session:
        agent = await service.create_agent(
            session,
            email=body.email,
            name=body.name,
            password_hash=password_hash,
            role=body.role,
            language=body.language,
        )
        audit.record(
            session,
            who,
            "agent.created",
            target=("agent", agent.id),
            changes=audit.requested(body),
        )
    return AgentOut.model_validate(agent)


@router.patch("/agents/{agent_id}")
async def update_agent(
    agent_id: DbId, body: AgentUpdate, current: CurrentAgent, who: Auditor, ctx: ContextDep
) -> AgentOut:
    """Admins change anyone; an agent may change their own name, password and language."""
    own_fields = {"name", "password", "language", "phone"}
    if not current.is_admin and (agent_id != current.id or not body.model_fields_set <= own_fields):
        raise Forbidden(
            "only administrators change other agents, roles or access", code="admin_required"
        )
    if agent_id == current.id and (
        body.is_active is False or body.role not in (None, current.role)
    ):
        raise Invalid("you cannot deactivate or demote yourself", code="self_lockout")
    password_hash = await ctx.passwords.hash(body.password) if body.password else None
    async with ctx.db.write() as session:
        agent = await service.get_agent(session, agent_id)
        await service.update_agent(
            session,
            agent,
            name=body.name,
            password_hash=password_hash,
            role=body.role,
            is_active=body.is_active,
            language=body.language,
            phone=body.phone,
        )
        audit.record(
            session,
            who,
            "agent.updated",
            target=("agent", agent_id),
            changes=audit.requested(body),
        )
    return AgentOut.model_validate(agent)


@router.get("/teams")
async def list_teams(_agent: CurrentAgent, session: ReadSession) -> list[TeamOut]:
    return [
        TeamOut(id=t.id, name=t.name, agent_ids=m) for t, m in await service.list_teams(session)
    ]


@router.post("/teams", status_code=status.HTTP_201_CREATED)
async def create_team(
    body: TeamCreate, _admin: AdminAgent, who: Auditor, ctx: ContextDep
) -> TeamOut:
    async with ctx.db.write() as session:
        team, members = await service.create_team(session, name=body.name, agent_ids=body.agent_ids)
        audit.record(
            session, who, "team.created", target=("team", team.id), changes=audit.requested(body)
        )
    return TeamOut(id=team.id, name=team.name, agent_ids=members)
