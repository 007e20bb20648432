from __future__ import annotations

from fastapi import APIRouter, status

from app.deps import AdminAgent, ContextDep, CurrentAgent, ReadSession, visible_inbox_ids
from app.errors import NotFound
from app.fields import DbId
from app.inboxes import service
from app.inboxes.schemas import InboxCreate, InboxOut, InboxUpdate

router = APIRouter(prefix="/api/v1/inboxes", tags=["inboxes"])


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_inbox(body: InboxCreate, _admin: AdminAgent, ctx: ContextDep) -> InboxOut:
    async with ctx.db.write() as session:
        inbox, api_key = await service.create_inbox(
            session,
            ctx.secret_box,
            kind=body.kind,
            name=body.name,
            config=body.config,
            agent_ids=body.agent_ids,
        )
    return service.inbox_out(
        inbox,
        ctx.secret_box,
        public_url=ctx.settings.public_url,
        agent_ids=body.agent_ids,
        api_key=api_key,
    )


@router.get("")
async def list_inboxes(
    agent: CurrentAgent, session: ReadSession, ctx: ContextDep
) -> list[InboxOut]:
    inboxes = await service.list_inboxes(session, await visible_inbox_ids(session, agent))
    members = await service.agent_ids_by_inbox(session, [i.id for i in inboxes])
    return [
        service.inbox_out(
            i, ctx.secret_box, public_url=ctx.settings.public_url, agent_ids=members[i.id]
        )
        for i in inboxes
    ]


@router.get("/{inbox_id}")
async def get_inbox(
    inbox_id: DbId, agent: CurrentAgent, session: ReadSession, ctx: ContextDep
) -> InboxOut:
    visible = await visible_inbox_ids(session, agent)
    if visible is not None and inbox_id not in visible:
        raise NotFound("inbox not found")
    inbox = await service.get_inbox(session, inbox_id)
    members = await service.agent_ids_by_inbox(session, [inbox_id])
    return service.inbox_out(
        inbox, ctx.secret_box, public_url=ctx.settings.public_url, agent_ids=members[inbox_id]
    )


@router.patch("/{inbox_id}")
async def update_inbox(
    inbox_id: DbId, body: InboxUpdate, _admin: AdminAgent, ctx: ContextDep
) -> InboxOut:
    async with ctx.db.write() as session:
        inbox = await service.get_inbox(session, inbox_id)
        api_key = await service.update_inbox(
            session,
            ctx.secret_box,
            inbox,
            name=body.name,
            config=body.config,
            enabled=body.enabled,
            agent_ids=body.agent_ids,
            rotate_api_key=body.rotate_api_key,
        )
        members = await service.agent_ids_by_inbox(session, [inbox_id])
    ctx.verified_keys.forget(inbox_id)
    return service.inbox_out(
        inbox,
        ctx.secret_box,
        public_url=ctx.settings.public_url,
        agent_ids=members[inbox_id],
        api_key=api_key,
    )


@router.delete("/{inbox_id}", status_code=status.HTTP_204_NO_CONTENT)
async def disable_inbox(inbox_id: DbId, _admin: AdminAgent, ctx: ContextDep) -> None:
    """Disables the inbox; its conversations and history stay."""
    async with ctx.db.write() as session:
        inbox = await service.get_inbox(session, inbox_id)
        await service.update_inbox(
            session,
            ctx.secret_box,
            inbox,
            name=None,
            config=None,
            enabled=False,
            agent_ids=None,
            rotate_api_key=False,
        )
    ctx.verified_keys.forget(inbox_id)
