"""Provider webhooks: find the inbox, let its connector verify and parse the request,
store what it carried, and only then answer the provider with a 2xx."""

from __future__ import annotations

import logging
from typing import Any, Literal
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request, Response
from sqlalchemy import select

from app.context import Context
from app.deps import ContextDep
from app.errors import AppError, Forbidden, NotFound
from app.fields import DbId
from app.inbound.ingest import InboxRef
from app.inbound.receive import receive
from app.inboxes.models import Inbox, InboxKind
from connectors.base import PayloadError, RawRequest, VerificationError, WebhookConnector

log = logging.getLogger(__name__)

router = APIRouter(prefix="/webhooks", tags=["webhooks"])

_STORED: dict[int | str, dict[str, Any]] = {
    200: {"description": "stored (or a repeat of something stored), or ignored by design"}
}


class BadPayload(AppError):
    status_code = 400
    code = "invalid_payload"


@router.post("/telegram/{inbox_id}", responses=_STORED)
async def telegram(inbox_id: DbId, request: Request, ctx: ContextDep) -> Response:
    """A Telegram Bot API update. `X-Telegram-Bot-Api-Secret-Token` must be the inbox's
    webhook secret (403 otherwise, nothing stored)."""
    return await handle(ctx, request, InboxKind.telegram, inbox_id, "")


@router.post("/twilio/{inbox_id}/{endpoint}", responses=_STORED)
async def twilio(
    inbox_id: DbId, endpoint: Literal["sms", "status"], request: Request, ctx: ContextDep
) -> Response:
    """An inbound SMS/MMS (`sms`) or a delivery status callback (`status`) from Twilio,
    signed with `X-Twilio-Signature` for `PANJEREH_PUBLIC_URL` + path (403 otherwise)."""
    return await handle(ctx, request, InboxKind.sms, inbox_id, endpoint)


async def _connector(ctx: Context, kind: InboxKind, inbox_id: int) -> WebhookConnector:
    async with ctx.db.read() as session:
        inbox = await session.scalar(
            select(Inbox).where(Inbox.id == inbox_id, Inbox.kind == kind, Inbox.enabled.is_(True))
        )
    # The same answer for a missing, disabled or other-kind inbox: nothing to probe.
    connector = ctx.connector(inbox) if inbox is not None else None
    if not isinstance(connector, WebhookConnector):
        raise NotFound("no enabled inbox of this kind with that id", code="inbox_not_found")
    return connector


async def raw_request(request: Request, public_url: str, endpoint: str) -> RawRequest:
    """The request as the provider sent it, at the URL the provider called: the public
    URL, not whatever address a proxy forwarded it to (signatures cover the URL)."""
    body = await request.body()
    url = public_url.rstrip("/") + request.url.path
    if request.url.query:
        url += "?" + request.url.query
    form = None
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    headers = {k.lower(): v for k, v in request.headers.items()}
    return RawRequest(url=url, headers=headers, body=body, endpoint=endpoint, form=form)


async def handle(
    ctx: Context, request: Request, kind: InboxKind, inbox_id: int, endpoint: str
) -> Response:
    connector = await _connector(ctx, kind, inbox_id)
    try:
        req = await raw_request(request, ctx.settings.public_url, endpoint)
        try:
            connector.verify(req)
        except VerificationError as exc:
            log.warning("%s webhook for inbox %d refused: %s", kind, inbox_id, exc)
            raise Forbidden(str(exc), code="invalid_signature") from exc
        try:
            items = connector.parse(req)
        except PayloadError as exc:
            raise BadPayload(str(exc)) from exc
        items = await connector.fetch(items)
        await receive(ctx, InboxRef(inbox_id, kind), items)
        ack = connector.acknowledgement(req)
    finally:
        await connector.aclose()
    return Response(content=ack.body, media_type=ack.media_type)
