"""Click-to-call: `POST /api/v1/calls` rings the agent's own phone, then (after the agent
presses 1) the customer, from a voice inbox's number."""

from __future__ import annotations

from fastapi import APIRouter, status
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.callbacks.service import get_callback
from app.contacts.models import ContactIdentity
from app.deps import ContextDep, CurrentAgent, require_conversation, visible_inbox_ids
from app.errors import Conflict, Invalid
from app.inboxes.models import Inbox, InboxKind
from app.inboxes.service import channel_config
from app.tickets.models import Conversation
from app.voice import service
from app.voice.inboxes import BASE
from app.voice.models import Call
from app.voice.schemas import CallCreate, CallOut
from connectors.base import AddressKind, SendError
from connectors.voice.client import VoiceClient
from connectors.voice.config import VoiceConfig
from connectors.voice.twiml import VoiceUrls

router = APIRouter(prefix="/api/v1/calls", tags=["calls"])


async def _voice_inbox(
    session: AsyncSession, conversation: Conversation, wanted: int | None, visible: set[int] | None
) -> Inbox:
    """The inbox whose number calls: the one asked for, else the conversation's own if it
    is a voice inbox, else the first voice inbox the agent works in."""
    stmt = select(Inbox).where(Inbox.kind == InboxKind.voice, Inbox.enabled.is_(True))
    if visible is not None:
        stmt = stmt.where(Inbox.id.in_(visible))
    if wanted is not None:
        stmt = stmt.where(Inbox.id == wanted)
    inboxes = list((await session.scalars(stmt.order_by(Inbox.id))).all())
    for inbox in inboxes:
        if inbox.id == conversation.inbox_id:
            return inbox
    if not inboxes:
        raise Invalid("inbox_id: no enabled voice inbox of yours can call", code="no_voice_inbox")
    return inboxes[0]


async def _customer_number(session: AsyncSession, conversation: Conversation) -> str:
    """The number the conversation's customer is reached at (its own, else any of theirs)."""
    rows = (
        await session.scalars(
            select(ContactIdentity).where(
                ContactIdentity.contact_id == conversation.contact_id,
                ContactIdentity.kind == AddressKind.phone,
                ContactIdentity.address.startswith("+"),
            )
        )
    ).all()
    for identity in sorted(rows, key=lambda i: i.id != conversation.identity_id):
        return identity.address
    raise Invalid("conversation_id: this customer has no phone number", code="no_phone_number")


@router.post("", status_code=status.HTTP_201_CREATED)
async def place_call(body: CallCreate, agent: CurrentAgent, ctx: ContextDep) -> CallOut:
    """Call the customer of a conversation (`conversation_id`) or a callback request
    (`callback_id`): Twilio rings the agent's own phone first (their `phone`), whispers who
    is being called and connects the customer when the agent presses 1. The call item
    appears in the conversation; a callback request's outcome is filled from the call."""
    if not agent.phone:
        raise Invalid("phone: set your own phone number first", code="agent_phone_missing")
    if (body.conversation_id is None) == (body.callback_id is None):
        raise Invalid("give conversation_id or callback_id", code="invalid_call")
    async with ctx.db.write() as session:
        visible = await visible_inbox_ids(session, agent)
        if body.callback_id is not None:
            callback = await get_callback(session, body.callback_id, visible)
            if callback.conversation_id is None:  # pragma: no cover - every request has one
                raise Invalid("callback_id: the request has no conversation", code="invalid_call")
            conversation = await require_conversation(session, agent, callback.conversation_id)
            number = callback.phone_e164
        else:
            assert body.conversation_id is not None  # noqa: S101 - checked above
            conversation = await require_conversation(session, agent, body.conversation_id)
            number = await _customer_number(session, conversation)
        inbox = await _voice_inbox(session, conversation, body.inbox_id, visible)
        config = channel_config(inbox, ctx.secret_box)
        if not isinstance(config, VoiceConfig):  # pragma: no cover - the kind decides
            raise TypeError(type(config))
        call = await service.place_call(
            session,
            inbox_id=inbox.id,
            agent=agent,
            conversation=conversation,
            customer_number=number,
            callback_id=body.callback_id,
        )
        call_id = call.id
    urls = VoiceUrls(ctx.settings.public_url.rstrip("/") + BASE.format(inbox_id=inbox.id))
    sid: str | None = None
    error: str | None = None
    try:
        sid = await VoiceClient(config, ctx.http).create_call(
            to=agent.phone,
            url=urls.of("whisper", call=call_id),
            status_callback=urls.of("status", call=call_id),
        )
    except SendError as exc:
        error = exc.reason
    async with ctx.db.write() as session:
        placed = await session.scalar(select(Call).where(Call.id == call_id).with_for_update())
        if placed is None:  # pragma: no cover - stored above
            raise RuntimeError("the placed call vanished")
        await service.call_placed(session, placed, sid=sid, error=error)
        view = await service.call_out(session, placed)
    if error is not None:
        raise Conflict(error, code="call_refused")
    return view
