from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from app.audit import service
from app.audit.schemas import AuditEntryOut, AuditPage
from app.deps import AdminAgent, CurrentAgent, ReadSession
from app.fields import Count, DbId, SafeStr, UtcDatetime
from app.tickets.service import decode_cursor, encode_cursor

router = APIRouter(prefix="/api/v1", tags=["audit"])


def client_ip(request: Request) -> str | None:
    # uvicorn has already applied X-Forwarded-For from the trusted proxies.
    return request.client.host if request.client else None


async def auditor(request: Request, agent: CurrentAgent) -> service.Who:
    """The signed-in agent and their address, for `audit.record`."""
    return service.Who(agent.id, agent.name, client_ip(request))


Auditor = Annotated[service.Who, Depends(auditor)]


@router.get("/audit")
async def list_audit(
    _admin: AdminAgent,
    session: ReadSession,
    actor_id: DbId | None = None,
    action: Annotated[SafeStr | None, Query(max_length=100)] = None,
    target_type: Annotated[SafeStr | None, Query(max_length=50)] = None,
    target_id: Annotated[SafeStr | None, Query(max_length=100)] = None,
    since: UtcDatetime | None = None,
    until: UtcDatetime | None = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[Count, Query(ge=1, le=200)] = 50,
) -> AuditPage:
    """Who changed what, newest first (administrators). `action` is exact
    (`inbox.updated`) or a prefix ending in a dot (`inbox.`); `since`/`until` bound `at`.
    Pass `next_cursor` back as `cursor` for the next page."""
    filters = service.AuditFilter(
        actor_id=actor_id,
        action=action,
        target_type=target_type,
        target_id=target_id,
        since=since,
        until=until,
    )
    rows, more = await service.list_entries(
        session, filters, before=decode_cursor(cursor) if cursor else None, limit=limit
    )
    return AuditPage(
        items=[AuditEntryOut.model_validate(r) for r in rows],
        next_cursor=encode_cursor(rows[-1].at, rows[-1].id) if more and rows else None,
    )
