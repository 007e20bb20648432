"""The website widget's public API: `/api/v1/widget/...` (see the README, "The website widget").

No agent login. A visitor session is opened with the inbox's public token from a page whose
Origin the inbox allows; everything after that takes the visitor token (Bearer) and reaches
only that visitor's own conversation. Every call is rate limited per visitor and per client
address."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile, status
from pydantic import Field

from app.context import Context
from app.db import utcnow
from app.deps import BearerToken, ContextDep
from app.errors import Invalid, NotFound, PayloadTooLarge, Unauthorized
from app.events import log as event_log
from app.fields import Count, DbId, SafeStr
from app.inbound.ingest import InboxRef
from app.inboxes.models import Inbox, InboxKind
from app.openapi import FILE_RESPONSE
from app.public import allowed_origin, client_address, cors
from app.ratelimit import WIDGET_PER_IP, WIDGET_PER_VISITOR, WIDGET_SESSION_PER_IP
from app.realtime.frames import visitor_message
from app.surveys import service as surveys
from app.surveys.schemas import SurveyAnswerIn, SurveyAnswerOut
from app.tickets.api import attachment_response
from app.tickets.models import Message
from app.tickets.schemas import MessageOut
from app.tickets.shapes import message_views
from app.widget import service
from app.widget.models import VisitorSession
from app.widget.schemas import (
    MessageIn,
    MessagesOut,
    SessionIn,
    SessionOut,
    VisitorMessage,
    WidgetConfigOut,
)
from connectors.addresses import InvalidAddress, normalize_email
from connectors.base import Attachment, InboundMessage, Party
from connectors.webchat.config import WebchatConfig

router = APIRouter(prefix="/api/v1/widget", tags=["website visitors"])

PublicToken = Annotated[str, Field(max_length=64)]
# What a visitor may attach: pictures and PDFs, which browsers show without running them,
# each known by how its bytes begin (a declared type is only the visitor's word).
_SIGNATURES: tuple[tuple[str, re.Pattern[bytes]], ...] = (
    ("image/png", re.compile(rb"\x89PNG\r\n\x1a\n")),
    ("image/jpeg", re.compile(rb"\xff\xd8\xff")),
    ("image/gif", re.compile(rb"GIF8[79]a")),
    ("image/webp", re.compile(rb"RIFF.{4}WEBP", re.DOTALL)),
    ("application/pdf", re.compile(rb"%PDF-")),
)
ATTACHMENT_TYPES = frozenset(kind for kind, _ in _SIGNATURES)


def attachment_type(data: bytes) -> str | None:
    """The type of a picture or PDF by its first bytes; None for any other file."""
    return next((kind for kind, signature in _SIGNATURES if signature.match(data)), None)


async def _inbox(ctx: Context, public_token: str) -> tuple[Inbox, WebchatConfig]:
    async with ctx.db.read() as session:
        inbox = await service.webchat_inbox(session, public_token)
    if inbox is None:
        raise NotFound("no website chat with this token", code="inbox_not_found")
    return inbox, service.webchat_config(inbox, ctx.secret_box)


async def _visitor(
    ctx: Context, token: str, request: Request, response: Response
) -> tuple[VisitorSession, InboxRef]:
    """The token's visitor, after the Origin and rate limit checks; 401 for an unknown or
    expired token (the same answer whatever is wrong with it)."""
    await ctx.rate_limiter.hit(WIDGET_PER_IP, "widget-ip", client_address(request))
    async with ctx.db.read() as session:
        visitor = await service.visitor_for_token(session, token)
        inbox = await session.get(Inbox, visitor.inbox_id) if visitor else None
    if visitor is None or inbox is None or not inbox.enabled or inbox.kind != InboxKind.webchat:
        raise Unauthorized("invalid or expired visitor token", code="invalid_token")
    origin = allowed_origin(request, service.webchat_config(inbox, ctx.secret_box).allowed_origins)
    cors(response, origin)
    await ctx.rate_limiter.hit(WIDGET_PER_VISITOR, "widget-visitor", str(visitor.id))
    return visitor, InboxRef(inbox.id, inbox.kind)


# Preflights carry no token, so they cannot know the inbox: they answer any origin, and the
# request that follows is checked against the inbox's allowed_origins (403 otherwise).
@router.options("/messages", include_in_schema=False)
@router.options("/surveys/{survey_id}", include_in_schema=False)
@router.options("/attachments", include_in_schema=False)
@router.options("/attachments/{attachment_id}", include_in_schema=False)
async def visitor_preflight(request: Request) -> Response:
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    cors(response, request.headers.get("origin"))
    return response


@router.options("/{public_token}/{action}", include_in_schema=False)
async def inbox_preflight(public_token: PublicToken, request: Request, ctx: ContextDep) -> Response:
    _inbox_row, config = await _inbox(ctx, public_token)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    cors(response, allowed_origin(request, config.allowed_origins))
    return response


@router.get("/{public_token}/config")
async def widget_config(
    public_token: PublicToken, request: Request, response: Response, ctx: ContextDep
) -> WidgetConfigOut:
    """What the widget shows before a chat starts: the welcome message, brand colour, the
    site's label overrides, and whether an agent of this inbox is online (else the widget
    offers to leave an e-mail address)."""
    inbox, config = await _inbox(ctx, public_token)
    cors(response, allowed_origin(request, config.allowed_origins))
    await ctx.rate_limiter.hit(WIDGET_PER_IP, "widget-ip", client_address(request))
    try:
        snapshot = await ctx.presence.snapshot()
    except Exception:  # presence lives in Redis when configured; an outage reads as offline
        snapshot = {}
    online = {a for a, p in snapshot.items() if p.status == "online"}
    async with ctx.db.read() as session:
        agent_online = await service.agent_online(session, inbox.id, online)
    return WidgetConfigOut(
        welcome_message=config.welcome_message,
        brand_color=config.brand_color,
        agent_online=agent_online,
        labels=config.labels,
    )


@router.post(
    "/{public_token}/sessions",
    status_code=status.HTTP_201_CREATED,
    responses={403: {"description": "the page's Origin is not allowed"}, 429: {}},
)
async def open_session(
    public_token: PublicToken,
    body: SessionIn,
    request: Request,
    response: Response,
    ctx: ContextDep,
) -> SessionOut:
    """A new visitor. Keep `visitor_token` (the widget keeps it in localStorage): it is the
    only key to this visitor's conversation, and it is not shown again."""
    inbox, config = await _inbox(ctx, public_token)
    cors(response, allowed_origin(request, config.allowed_origins))
    await ctx.rate_limiter.hit(WIDGET_SESSION_PER_IP, "widget-session-ip", client_address(request))
    try:
        email = normalize_email(body.email) if body.email else None
    except InvalidAddress as exc:
        raise Invalid(f"email: {exc}", code="invalid_email") from exc
    async with ctx.db.write() as session:
        token, _visitor = await service.start_visitor(
            session,
            inbox_id=inbox.id,
            name=body.name.strip() if body.name else None,
            email=email,
            ttl=timedelta(days=ctx.settings.visitor_session_days),
        )
    return SessionOut(visitor_token=token, conversation_id=None)


def _visitor_view(view: MessageOut) -> VisitorMessage:
    # The same reduced view the visitor's websocket frames carry.
    return VisitorMessage.model_validate(visitor_message(view.model_dump(mode="json")))


@router.get("/messages")
async def list_messages(
    token: BearerToken,
    request: Request,
    response: Response,
    ctx: ContextDep,
    after: DbId | None = None,
    before: DbId | None = None,
    limit: Annotated[Count, Query(ge=1, le=200)] = 100,
) -> MessagesOut:
    """This visitor's own conversation: the latest `limit` messages they may see (after the
    message id `after`, before the message id `before`, if given), oldest first;
    `has_more` says whether older ones are left (page back with `before`)."""
    visitor, _inbox_ref = await _visitor(ctx, token, request, response)
    async with ctx.db.read() as session:
        # First, so that anything committed while the rest is read is replayed live.
        last_event_id = await event_log.last_seq(session)
        messages, more = await service.visitor_messages(
            session, visitor, after=after, before=before, limit=limit
        )
        views = await message_views(session, messages)
    return MessagesOut(
        items=[_visitor_view(v) for v in views],
        has_more=more,
        last_event_id=last_event_id,
    )


async def _submit(
    ctx: Context,
    visitor: VisitorSession,
    inbox: InboxRef,
    *,
    text: str,
    key: str | None,
    attachments: tuple[Attachment, ...] = (),
) -> VisitorMessage:
    """Store the visitor's message through the one ingest path; answered after commit."""
    address = service.visitor_address(visitor.token_hash)
    async with ctx.db.read() as session:
        name = await service.contact_name(session, visitor.contact_id)
    result = await ctx.inbound.submit(
        inbox,
        InboundMessage(
            # Scoped by the visitor: one visitor's key can't collide with another's message.
            external_id=f"{address.value}:{key or uuid.uuid4().hex}",
            sender=Party(address=address, name=name),
            sent_at=utcnow(),
            text=text,
            thread_key=address.value,
            attachments=attachments,
        ),
    )
    async with ctx.db.read() as session:
        message = await session.get(Message, result.message_id)
        if message is None:  # pragma: no cover - submit answers after the commit
            raise NotFound("message not found")
        (view,) = await message_views(session, [message])
    return _visitor_view(view)


@router.post("/messages", status_code=status.HTTP_201_CREATED, responses={429: {}})
async def send_message(
    body: MessageIn, token: BearerToken, request: Request, response: Response, ctx: ContextDep
) -> VisitorMessage:
    """The visitor writes. Answered with the stored message once it is committed; a repeat
    with the same `idempotency_key` answers the same message."""
    visitor, inbox = await _visitor(ctx, token, request, response)
    return await _submit(ctx, visitor, inbox, text=body.body, key=body.idempotency_key)


@router.post("/surveys/{survey_id}", responses={429: {}})
async def answer_survey(
    survey_id: DbId,
    body: SurveyAnswerIn,
    token: BearerToken,
    request: Request,
    response: Response,
    ctx: ContextDep,
) -> SurveyAnswerOut:
    """The visitor answers the rating card of a survey in their conversation (CSAT 1–5,
    NPS 0–10, an optional comment). An answer given before is kept; a comment may follow."""
    visitor, _inbox = await _visitor(ctx, token, request, response)
    async with ctx.db.write() as session:
        survey = await surveys.get_survey(session, survey_id)
        if survey.conversation_id not in await service.visitor_conversation_ids(session, visitor):
            raise NotFound("no survey with this id", code="survey_not_found")
        done = await surveys.answer(session, survey, score=body.score, comment=body.comment)
        return SurveyAnswerOut(
            score=survey.score or 0, comment=survey.comment, recorded=done.recorded
        )


# A path ending in /attachments: the body size limit lets attachment-sized uploads through.
@router.post(
    "/attachments",
    status_code=status.HTTP_201_CREATED,
    responses={413: {"description": "the file is over PANJEREH_MAX_ATTACHMENT_BYTES"}},
)
async def send_attachment(
    token: BearerToken,
    request: Request,
    response: Response,
    ctx: ContextDep,
    file: Annotated[UploadFile, File()],
    body: Annotated[SafeStr, Form(max_length=5000)] = "",
    idempotency_key: Annotated[str | None, Form(pattern=r"^[A-Za-z0-9_-]{1,64}$")] = None,
) -> VisitorMessage:
    """A picture or PDF (multipart `file`, with an optional `body` as its caption), up to
    the server's attachment size limit."""
    visitor, inbox = await _visitor(ctx, token, request, response)
    unsupported = Invalid(
        "file: only pictures (PNG, JPEG, GIF, WebP) and PDF files can be sent",
        code="unsupported_attachment",
    )
    if (file.content_type or "").split(";")[0].strip().lower() not in ATTACHMENT_TYPES:
        raise unsupported
    limit = ctx.settings.max_attachment_bytes
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLarge(f"the file is over the {limit}-byte limit")
    if not data:
        raise Invalid("file: the file is empty", code="empty_attachment")
    # Stored as what its bytes are: a page renamed .png is refused, a JPEG sent as PNG kept.
    content_type = attachment_type(data)
    if content_type is None:
        raise unsupported
    attachment = Attachment(
        filename=(file.filename or "attachment")[:200], content_type=content_type, data=data
    )
    return await _submit(
        ctx, visitor, inbox, text=body, key=idempotency_key, attachments=(attachment,)
    )


@router.get(
    "/attachments/{attachment_id}",
    response_class=Response,
    responses=FILE_RESPONSE,
)
async def download_attachment(
    attachment_id: DbId, token: BearerToken, request: Request, ctx: ContextDep
) -> Response:
    """A file of the visitor's own conversation (404 for any other, whoever's it is)."""
    headers = Response()
    visitor, _inbox_ref = await _visitor(ctx, token, request, headers)
    async with ctx.db.read() as session:
        attachment = await service.visitor_attachment(session, visitor, attachment_id)
    if attachment is None:
        raise NotFound("attachment not found")
    answer = await attachment_response(ctx, attachment)
    for name in ("access-control-allow-origin", "vary", "access-control-expose-headers"):
        if name in headers.headers:
            answer.headers[name] = headers.headers[name]
    return answer
