"""`POST /api/v1/callbacks/{public_token}`: a website visitor asks to be called back.

Public: no login, the inbox's public token in the path, the Origin checked against the
inbox, rate limited per client address and per phone number, a honeypot for bots."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Request, Response, status
from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field
from sqlalchemy import select

from app.callbacks import service
from app.callbacks.models import CallbackStatus
from app.callbacks.windows import (
    WindowError,
    as_utc,
    business_schedule,
    checked_window,
    country_of,
)
from app.context import Context
from app.db import utcnow
from app.deps import ContextDep
from app.errors import Invalid, NotFound
from app.fields import FilledStr, LocalDatetime, PhoneText, SafeStr
from app.hours.schedule import Schedule
from app.inbound.ingest import InboxRef
from app.inboxes.models import Inbox, InboxKind
from app.inboxes.service import channel_config
from app.public import allowed_origin, client_address, cors
from app.ratelimit import CALLBACK_PER_IP, CALLBACK_PER_PHONE
from connectors.addresses import InvalidAddress, normalize_phone
from connectors.callback.config import CallbackConfig

router = APIRouter(prefix="/api/v1/callbacks", tags=["website visitors"])


class CallbackRequestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: FilledStr = Field(min_length=1, max_length=300)
    phone: PhoneText = Field(min_length=1, max_length=64)
    # With an offset they are exact; without one, wall-clock time in `timezone`.
    preferred_from: LocalDatetime | None = None
    preferred_to: LocalDatetime | None = None
    timezone: SafeStr | None = Field(default=None, max_length=64)  # IANA; default: the inbox's
    note: SafeStr | None = Field(default=None, max_length=2000)
    page_url: AnyHttpUrl | None = None
    # A field people never see (the form hides it); bots fill it in.
    website: SafeStr | None = Field(default=None, max_length=500)


class CallbackRequestOut(BaseModel):
    id: int
    status: CallbackStatus
    phone_e164: str
    merged: bool = False  # an open request for this number existed: this was added to it


async def _callback_inbox(ctx: Context, public_token: str) -> tuple[Inbox, CallbackConfig]:
    async with ctx.db.read() as session:
        inbox = await session.scalar(
            select(Inbox).where(
                Inbox.public_token == public_token,
                Inbox.kind == InboxKind.callback,
                Inbox.enabled.is_(True),
            )
        )
    if inbox is None:
        raise NotFound("no callback form with this token", code="inbox_not_found")
    config = channel_config(inbox, ctx.secret_box)
    if not isinstance(config, CallbackConfig):  # pragma: no cover - the kind decides
        raise TypeError(type(config))
    return inbox, config


async def _schedule(ctx: Context, inbox_id: int, config: CallbackConfig) -> Schedule:
    async with ctx.db.read() as session:
        return await business_schedule(session, inbox_id, config)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise Invalid(
            f"The timezone {name} is not known (an IANA name, such as Asia/Tehran).",
            code="invalid_timezone",
        ) from exc


PublicToken = Annotated[str, Field(max_length=64)]


@router.options("/{public_token}", include_in_schema=False)
async def preflight(public_token: PublicToken, request: Request, ctx: ContextDep) -> Response:
    _inbox, config = await _callback_inbox(ctx, public_token)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    cors(response, allowed_origin(request, config.allowed_origins), methods="POST")
    return response


@router.post(
    "/{public_token}",
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"description": "merged into this number's open request"},
        403: {"description": "the page's Origin is not in the inbox's allowed_origins"},
        422: {"description": "an invalid phone number, window or timezone"},
        429: {"description": "too many requests from this address or for this number"},
    },
)
async def request_callback(
    public_token: PublicToken,
    body: CallbackRequestIn,
    request: Request,
    response: Response,
    ctx: ContextDep,
) -> CallbackRequestOut:
    """Ask to be called back. The number is normalized to E.164 (a local number is read in
    the inbox's `default_region`, else in the country of the visitor's timezone); the window
    must be in the future, start before it ends, fall within the booking horizon and
    overlap the business hours."""
    inbox, config = await _callback_inbox(ctx, public_token)
    origin = allowed_origin(request, config.allowed_origins)
    cors(response, origin, methods="POST")
    await ctx.rate_limiter.hit(CALLBACK_PER_IP, "callback-ip", client_address(request))
    if body.website:
        raise Invalid("this request looks automated and was not accepted", code="rejected")
    timezone = body.timezone or config.timezone
    try:
        # A number without +country is read in the inbox's region or, without one, in the
        # country of the visitor's own timezone: what they most likely dialled locally.
        phone = normalize_phone(body.phone, config.default_region or country_of(timezone))
    except InvalidAddress as exc:
        # Said to a visitor, in a form's field: a plain sentence, no field name.
        raise Invalid(str(exc), code="invalid_phone") from exc
    visitor_zone = _zone(timezone)
    try:
        preferred_from, preferred_to = checked_window(
            as_utc(body.preferred_from, visitor_zone) if body.preferred_from else None,
            as_utc(body.preferred_to, visitor_zone) if body.preferred_to else None,
            now=utcnow(),
            horizon=timedelta(days=ctx.settings.callback_horizon_days),
            schedule=await _schedule(ctx, inbox.id, config),
        )
    except WindowError as exc:
        raise Invalid(str(exc), code="invalid_window") from exc
    # Counted once the request is acceptable: a visitor correcting a mistyped window does
    # not use up their number's requests (the address's limit still counts every try).
    await ctx.rate_limiter.hit(CALLBACK_PER_PHONE, "callback-phone", phone)
    requested = service.RequestedCallback(
        name=body.name.strip(),
        phone_e164=phone,
        preferred_from=preferred_from,
        preferred_to=preferred_to,
        timezone=timezone,
        note=body.note,
        page_url=str(body.page_url) if body.page_url else None,
    )
    async with ctx.db.write() as session:
        callback, merged = await service.request_callback(
            session,
            InboxRef(inbox.id, inbox.kind),
            requested,
            merge_window=timedelta(minutes=ctx.settings.callback_merge_minutes),
            policy=ctx.ingest_policy,
        )
        confirmed = (
            not merged
            and config.confirm_by_sms_inbox_id is not None
            and await service.confirm_by_sms(
                session, callback, requested, config.confirm_by_sms_inbox_id
            )
        )
    if confirmed:
        ctx.outbox_ready.set()
    if merged:
        response.status_code = status.HTTP_200_OK
    return CallbackRequestOut(
        id=callback.id, status=callback.status, phone_e164=callback.phone_e164, merged=merged
    )
