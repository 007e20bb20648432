"""An inbox's automatic acknowledgement: GET (its agents), PUT (administrators)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from app.acks import service
from app.audit import service as audit
from app.audit.api import Auditor
from app.deps import AdminAgent, ContextDep, CurrentAgent, ReadSession, visible_inbox_ids
from app.errors import NotFound
from app.fields import DbId, FilledStr, Flag, SafeStr
from app.inboxes.service import get_inbox

router = APIRouter(prefix="/api/v1/inboxes", tags=["acknowledgements"])


class AcknowledgementIn(BaseModel):
    enabled: Flag = True
    text: FilledStr = Field(max_length=4000)  # within business hours (or always)
    # Outside business hours; empty or absent: `text` at any time.
    out_of_hours_text: SafeStr | None = Field(default=None, max_length=4000)


class AcknowledgementOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    inbox_id: int
    enabled: bool
    text: str
    out_of_hours_text: str | None


@router.get("/{inbox_id}/acknowledgement")
async def get_acknowledgement(
    inbox_id: DbId, agent: CurrentAgent, session: ReadSession
) -> AcknowledgementOut:
    """The inbox's automatic answer to a new conversation (`enabled: false` and empty texts
    when none is set)."""
    visible = await visible_inbox_ids(session, agent)
    if visible is not None and inbox_id not in visible:
        raise NotFound("inbox not found")
    await get_inbox(session, inbox_id)
    row = await service.get_settings(session, inbox_id)
    if row is None:
        return AcknowledgementOut(inbox_id=inbox_id, enabled=False, text="", out_of_hours_text=None)
    return AcknowledgementOut.model_validate(row)


@router.put("/{inbox_id}/acknowledgement")
async def put_acknowledgement(
    inbox_id: DbId, body: AcknowledgementIn, _admin: AdminAgent, who: Auditor, ctx: ContextDep
) -> AcknowledgementOut:
    """Set the automatic answer to the first message of a new conversation, and the one
    sent outside the inbox's business hours. See the README for when it is not sent."""
    async with ctx.db.write() as session:
        await get_inbox(session, inbox_id)
        row = await service.save_settings(
            session,
            inbox_id,
            enabled=body.enabled,
            text=body.text,
            out_of_hours_text=(body.out_of_hours_text or "").strip() or None,
        )
        audit.record(session, who, "acknowledgement.updated", ("inbox", inbox_id), body)
        return AcknowledgementOut.model_validate(row)
