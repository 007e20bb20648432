from __future__ import annotations

from fastapi import APIRouter, status

from app.audit import service as audit
from app.audit.api import Auditor
from app.canned import service
from app.canned.schemas import CannedCreate, CannedOut, CannedUpdate
from app.deps import AdminAgent, ContextDep, CurrentAgent, ReadSession
from app.fields import DbId

router = APIRouter(prefix="/api/v1/canned-responses", tags=["canned responses"])


@router.get("")
async def list_canned(_agent: CurrentAgent, session: ReadSession) -> list[CannedOut]:
    """Every canned response, by shortcut; agents insert them with `/shortcut`."""
    return [CannedOut.model_validate(c) for c in await service.list_canned(session)]


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_canned(
    body: CannedCreate, admin: AdminAgent, who: Auditor, ctx: ContextDep
) -> CannedOut:
    async with ctx.db.write() as session:
        canned = await service.create_canned(
            session,
            shortcut=body.shortcut,
            title=body.title,
            body=body.body,
            created_by_id=admin.id,
        )
        audit.record(
            session,
            who,
            "canned_response.created",
            target=("canned_response", canned.id),
            changes=audit.requested(body),
        )
        return CannedOut.model_validate(canned)


@router.patch("/{canned_id}")
async def update_canned(
    canned_id: DbId, body: CannedUpdate, _admin: AdminAgent, who: Auditor, ctx: ContextDep
) -> CannedOut:
    async with ctx.db.write() as session:
        canned = await service.get_canned(session, canned_id)
        await service.update_canned(
            session, canned, shortcut=body.shortcut, title=body.title, body=body.body
        )
        audit.record(
            session,
            who,
            "canned_response.updated",
            target=("canned_response", canned_id),
            changes=audit.requested(body),
        )
        return CannedOut.model_validate(canned)


@router.delete("/{canned_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_canned(canned_id: DbId, _admin: AdminAgent, who: Auditor, ctx: ContextDep) -> None:
    async with ctx.db.write() as session:
        canned = await service.get_canned(session, canned_id)
        audit.record(
            session,
            who,
            "canned_response.deleted",
            target=("canned_response", canned_id),
            changes={"shortcut": canned.shortcut},
        )
        await service.delete_canned(session, canned)
