"""Rules and their runs (administrators), API tokens (administrators), and customer events:
posted by another system with an API token, read by agents on the contact's timeline."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from app.audit import service as audit
from app.audit.api import Auditor
from app.automations import service
from app.automations.models import ApiToken
from app.automations.schemas import (
    ApiTokenIn,
    ApiTokenList,
    ApiTokenOut,
    ContactEventOut,
    ContactEventPage,
    CustomerEventByIdentity,
    CustomerEventIn,
    RuleIn,
    RuleList,
    RuleOut,
    RuleUpdate,
    RunOut,
    RunPage,
)
from app.contacts.api import _require_visible as require_visible_contact
from app.deps import AdminAgent, BearerToken, ContextDep, CurrentAgent, ReadSession
from app.fields import Count, DbId

router = APIRouter(tags=["automations"])


async def _api_token(token: BearerToken, ctx: ContextDep) -> ApiToken:
    async with ctx.db.write() as session:
        return await service.token_for(session, token)


TokenDep = Annotated[ApiToken, Depends(_api_token)]


@router.get("/api/v1/api-tokens")
async def list_api_tokens(_admin: AdminAgent, session: ReadSession) -> ApiTokenList:
    rows = await service.list_tokens(session)
    return ApiTokenList(items=[ApiTokenOut.model_validate(r) for r in rows])


@router.post("/api/v1/api-tokens", status_code=status.HTTP_201_CREATED)
async def create_api_token(
    body: ApiTokenIn, admin: AdminAgent, who: Auditor, ctx: ContextDep
) -> ApiTokenOut:
    """A token for another system (a shop's backend) to post customer events with, as
    `Authorization: Bearer <token>`. The token is in this answer only."""
    async with ctx.db.write() as session:
        row, token = await service.create_token(session, admin, body.name)
        audit.record(session, who, "api_token.created", ("api_token", row.id), body)
        return ApiTokenOut.model_validate(row).model_copy(update={"token": token})


@router.delete("/api/v1/api-tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_api_token(
    token_id: DbId, _admin: AdminAgent, who: Auditor, ctx: ContextDep
) -> None:
    async with ctx.db.write() as session:
        await service.delete_token(session, token_id)
        audit.record(session, who, "api_token.deleted", ("api_token", token_id))


@router.post("/api/v1/contacts/events", status_code=status.HTTP_201_CREATED)
async def post_event_by_identity(
    body: CustomerEventByIdentity, token: TokenDep, ctx: ContextDep
) -> ContactEventOut:
    """A customer event for the contact with this address (created if new), e.g.
    `{"identity": {"channel": "email", "address": "sara@example.com"}, "name":
    "order.placed", "payload": {"order_id": "A-1001"}}`."""
    async with ctx.db.write() as session:
        contact_id = await service.contact_by_identity(session, body.identity)
        row = await service.record_customer_event(session, contact_id, body, token)
        return ContactEventOut.model_validate(row)


@router.post("/api/v1/contacts/{contact_id}/events", status_code=status.HTTP_201_CREATED)
async def post_event(
    contact_id: DbId, body: CustomerEventIn, token: TokenDep, ctx: ContextDep
) -> ContactEventOut:
    """A customer event (`order.placed` and its JSON payload) on the contact's timeline;
    rules that start on its name run."""
    async with ctx.db.write() as session:
        row = await service.record_customer_event(session, contact_id, body, token)
        return ContactEventOut.model_validate(row)


@router.get("/api/v1/contacts/{contact_id}/events")
async def list_events(
    contact_id: DbId,
    agent: CurrentAgent,
    session: ReadSession,
    before: DbId | None = None,
    limit: Annotated[Count, Query(ge=1, le=100)] = 50,
) -> ContactEventPage:
    """The contact's customer events, newest first; page back with `before`."""
    await require_visible_contact(session, agent, contact_id)
    rows, more = await service.contact_events(session, contact_id, before=before, limit=limit)
    return ContactEventPage(
        items=[ContactEventOut.model_validate(r) for r in rows],
        next_cursor=str(rows[-1].id) if more and rows else None,
    )


@router.get("/api/v1/automations")
async def list_rules(_admin: AdminAgent, session: ReadSession) -> RuleList:
    return RuleList(items=[service.rule_out(r) for r in await service.list_rules(session)])


@router.post("/api/v1/automations", status_code=status.HTTP_201_CREATED)
async def create_rule(body: RuleIn, _admin: AdminAgent, who: Auditor, ctx: ContextDep) -> RuleOut:
    async with ctx.db.write() as session:
        rule = service.rule_out(await service.create_rule(session, body))
        audit.record(session, who, "rule.created", ("rule", rule.id), body)
        return rule


@router.get("/api/v1/automations/{rule_id}")
async def get_rule(rule_id: DbId, _admin: AdminAgent, session: ReadSession) -> RuleOut:
    return service.rule_out(await service.get_rule(session, rule_id))


@router.patch("/api/v1/automations/{rule_id}")
async def update_rule(
    rule_id: DbId, body: RuleUpdate, _admin: AdminAgent, who: Auditor, ctx: ContextDep
) -> RuleOut:
    """Switch a rule on or off, move it (`position`), or replace it (`rule`)."""
    async with ctx.db.write() as session:
        rule = await service.get_rule(session, rule_id)
        before = service.rule_out(rule)
        after = service.rule_out(await service.update_rule(session, rule, body))
        audit.record(session, who, "rule.updated", ("rule", rule_id), audit.diff(before, after))
        return after


@router.delete("/api/v1/automations/{rule_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_rule(rule_id: DbId, _admin: AdminAgent, who: Auditor, ctx: ContextDep) -> None:
    """The rule, its run log and its pending waits."""
    async with ctx.db.write() as session:
        rule = await service.get_rule(session, rule_id)
        audit.record(session, who, "rule.deleted", ("rule", rule_id), {"name": rule.name})
        await session.delete(rule)


@router.get("/api/v1/automations/{rule_id}/runs")
async def list_runs(
    rule_id: DbId,
    _admin: AdminAgent,
    session: ReadSession,
    limit: Annotated[Count, Query(ge=1, le=200)] = 50,
) -> RunPage:
    """The rule's latest runs, newest first: what it did, is waiting to do, or why not."""
    await service.get_rule(session, rule_id)
    runs = await service.list_runs(session, rule_id, limit=limit)
    return RunPage(items=[RunOut.model_validate(r) for r in runs])
