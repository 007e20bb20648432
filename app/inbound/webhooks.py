"""Provider webhooks: find the inbox, let its connector verify and parse the request,
store what it carried, and only then answer the provider with a 2xx."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request, Response
from sqlalchemy import select

from app.channels import CHANNELS, Webhook
from app.context import Context
from app.deps import ContextDep
from app.errors import AppError, Forbidden, NotFound, Unavailable
from app.fields import DbId
from app.inbound.ingest import InboxRef
from app.inbound.receive import receive
from app.inboxes.models import Inbox, InboxKind
from connectors.base import (
    PayloadError,
    ProviderUnavailable,
    RawRequest,
    VerificationError,
    WebhookConnector,
)

log = logging.getLogger(__name__)

router = APIRouter(tags=["webhooks"])  # its routes are CHANNELS' webhooks, added below

_STORED: dict[int | str, dict[str, Any]] = {
    200: {"description": "stored (or a repeat of something stored), or ignored by design"}
}


class BadPayload(AppError):
    status_code = 400
    code = "invalid_payload"


async def _connector(
    ctx: Context, declared: Mapping[InboxKind, Webhook], inbox_id: int
) -> tuple[InboxKind, WebhookConnector]:
    async with ctx.db.read() as session:
        inbox = await session.scalar(
            select(Inbox).where(
                Inbox.id == inbox_id, Inbox.kind.in_(tuple(declared)), Inbox.enabled.is_(True)
            )
        )
    # The same answer for a missing, disabled or other-kind inbox: nothing to probe.
    connector = ctx.connector(inbox) if inbox is not None else None
    if inbox is None or not isinstance(connector, WebhookConnector):
        raise NotFound("no enabled inbox of this kind with that id", code="inbox_not_found")
    return inbox.kind, connector


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
    ctx: Context, request: Request, declared: Mapping[InboxKind, Webhook], inbox_id: int
) -> Response:
    """A post to a webhook the `declared` kinds have at this path, for inbox `inbox_id`."""
    kind, connector = await _connector(ctx, declared, inbox_id)
    try:
        req = await raw_request(request, ctx.settings.public_url, declared[kind].endpoint)
        try:
            connector.verify(req)
        except VerificationError as exc:
            log.warning("%s webhook for inbox %d refused: %s", kind, inbox_id, exc)
            raise Forbidden(str(exc), code="invalid_signature") from exc
        try:
            items = connector.parse(req)
        except PayloadError as exc:
            raise BadPayload(str(exc)) from exc
        try:
            items = await connector.fetch(items)
        except ProviderUnavailable as exc:
            log.warning("%s webhook for inbox %d not stored yet: %s", kind, inbox_id, exc)
            raise Unavailable(
                f"{exc}; nothing was stored, deliver it again", code="provider_unavailable"
            ) from exc
        await receive(ctx, InboxRef(inbox_id, kind), items)
        ack = connector.acknowledgement(req)
    finally:
        await connector.aclose()
    return Response(content=ack.body, media_type=ack.media_type)


def _add_route(path: str, declared: Mapping[InboxKind, Webhook]) -> None:
    async def webhook(inbox_id: DbId, request: Request, ctx: ContextDep) -> Response:
        return await handle(ctx, request, declared, inbox_id)

    router.add_api_route(
        path,
        webhook,
        methods=["POST"],
        summary=" / ".join(dict.fromkeys(w.summary for w in declared.values())),
        description="\n\n".join(dict.fromkeys(w.description for w in declared.values())),
        responses=_STORED,
    )


def _routes() -> None:
    """One route per webhook path in CHANNELS, serving every kind that declares it."""
    by_path: dict[str, dict[InboxKind, Webhook]] = {}
    for kind, channel in CHANNELS.items():
        for hook in channel.webhooks:
            by_path.setdefault(hook.path, {})[kind] = hook
    for path, declared in by_path.items():
        _add_route(path, declared)


_routes()
