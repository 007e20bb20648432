"""Twilio's voice webhooks for a `voice` inbox, each signed with X-Twilio-Signature for the
public URL (403 otherwise, nothing stored). Each answer is TwiML, sent only once what the
request said is committed."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any, ParamSpec, TypeVar

from fastapi import APIRouter, Request, Response
from fastapi.types import DecoratedCallable
from sqlalchemy.ext.asyncio import AsyncSession

from app.contacts import service as contacts
from app.context import Context
from app.db import utcnow
from app.deps import ContextDep
from app.errors import Forbidden, NotFound
from app.fields import DbId
from app.inbound.ingest import IngestResult
from app.inbound.webhooks import BadPayload, raw_request
from app.voice import service
from app.voice.inboxes import BASE, VoiceInbox, voice_inboxes
from app.voice.models import Call, CallDirection, CallState
from connectors.base import PayloadError, RawRequest, VerificationError
from connectors.voice import twiml
from connectors.voice.client import verify_signature
from connectors.voice.parse import (
    TERMINAL,
    CallReport,
    caller_of,
    parse_call,
    parse_dial,
    parse_recording,
    parse_transcription,
)

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

router = APIRouter(tags=["webhooks"])

_SIGNED = (
    "Signed with `X-Twilio-Signature` for `PANJEREH_PUBLIC_URL` + path and query (403 otherwise)."
)
_NOTHING = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
_TWIML: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "TwiML: what Twilio does next (sent once the request is stored)",
        "content": {"text/xml": {"schema": {"type": "string"}}},
    }
}


class Hook:
    """A verified voice webhook: its inbox and form."""

    def __init__(self, inbox: VoiceInbox, req: RawRequest):
        self.inbox = inbox
        self.config = inbox.config
        self.urls = inbox.urls
        self.req = req

    def query_int(self, request: Request, name: str) -> int | None:
        value = request.query_params.get(name)
        if value is None:
            return None
        if not value.isdigit() or len(value) > 9:
            raise BadPayload(f"{name} must be a call id")
        return int(value)

    def due_after_miss(self, at: datetime) -> datetime:
        """A missed call's callback is due at once, or at the next opening."""
        return self.inbox.schedule.next_open(at)


async def _verified(ctx: Context, request: Request, inbox_id: int, endpoint: str) -> Hook:
    public_url = ctx.settings.public_url
    inbox = await voice_inboxes.get(ctx.db, ctx.secret_box, public_url, inbox_id)
    if inbox is None:
        raise NotFound("no enabled voice inbox with that id", code="inbox_not_found")
    req = await raw_request(request, public_url, endpoint)
    try:
        verify_signature(req, inbox.config.auth_token)
    except VerificationError as exc:
        log.warning("voice webhook %s for inbox %d refused: %s", endpoint, inbox_id, exc)
        raise Forbidden(str(exc), code="invalid_signature") from exc
    return Hook(inbox, req)


def _parsed(parse: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """What `parse` reads from Twilio's form; a form it cannot read is a 400 with why."""
    try:
        return parse(*args, **kwargs)
    except PayloadError as exc:
        raise BadPayload(str(exc)) from exc


def _xml(body: str) -> Response:
    return Response(content=body, media_type="text/xml")


def _route(
    endpoint: str, summary: str, description: str
) -> Callable[[DecoratedCallable], DecoratedCallable]:
    path = f"{BASE}/{endpoint}" if endpoint else BASE
    return router.post(
        path, summary=summary, description=f"{description} {_SIGNED}", responses=_TWIML
    )


@_route("", "Twilio incoming call", "A customer calls the inbox's number (the number's Voice URL).")
async def incoming(inbox_id: DbId, request: Request, ctx: ContextDep) -> Response:
    hook = await _verified(ctx, request, inbox_id, "voice")
    report = _parsed(parse_call, hook.req.form, utcnow())
    open_now = hook.inbox.takes_calls(report.at)
    await _store_incoming(ctx, hook, report, missed=not open_now)
    return _xml(hook.inbox.answer(open_now=open_now))


async def _store_incoming(ctx: Context, hook: Hook, report: CallReport, *, missed: bool) -> None:
    """A customer's call, its call item and its row (ringing, or `missed`: a callback
    request at once), stored before Twilio hears. The item goes in with the other messages
    arriving now, in one transaction."""
    inbox_id = hook.inbox.ref.id
    caller_name = (hook.req.form or {}).get("CallerName", "").strip() or None
    caller = caller_of(report)
    item = service.incoming_message(report, caller.address, caller_name)

    async def store_call(session: AsyncSession, stored: IngestResult) -> None:
        if caller.unreachable and not stored.duplicate:
            await contacts.set_reachability(
                session, caller.address, reachable=False, reason=caller.unreachable
            )
        call_id = await service.incoming_call(session, inbox_id, report, item, stored)
        if missed:
            call = await service.find_call(session, inbox_id, sid=None, call_id=call_id)
            if call is not None and call.state == CallState.ringing:
                await service.missed(session, call, due_at=hook.due_after_miss(report.at))

    await ctx.inbound.submit(hook.inbox.ref, item, then=store_call)


@_route("status", "Twilio call status", "A call's progress: its own leg or a leg it rang.")
async def status(inbox_id: DbId, request: Request, ctx: ContextDep) -> Response:
    hook = await _verified(ctx, request, inbox_id, "voice/status")
    report = _parsed(parse_call, hook.req.form, utcnow())
    call_id = hook.query_int(request, "call")
    async with ctx.db.write() as session:
        call = await service.find_call(
            session, inbox_id, sid=report.parent_sid or report.sid, call_id=call_id
        )
        if call is not None:
            await _apply_status(session, call, report)
            return _xml(_NOTHING)
    if not _never_stored(hook, report):
        log.info("inbox %d: status of unknown call %s ignored", inbox_id, report.sid)
        return _xml(twiml.hangup())
    # Its Voice URL failed while it rang (Panjereh or its database down: Twilio played the
    # number's fallback), and the caller is gone: a missed call all the same, and its end.
    log.warning("inbox %d: call %s stored from its end, as missed", inbox_id, report.sid)
    await _store_incoming(ctx, hook, report, missed=True)
    async with ctx.db.write() as session:
        call = await service.find_call(session, inbox_id, sid=report.sid, call_id=None)
        if call is not None:
            await _apply_status(session, call, report)
    return _xml(_NOTHING)


async def _apply_status(session: AsyncSession, call: Call, report: CallReport) -> None:
    if call.call_sid is None and report.parent_sid is None:
        call.call_sid = report.sid  # a placed call reported before we stored its sid
    if report.parent_sid is not None or (call.call_sid != report.sid):
        await service.dialled_leg(session, call, report)
    else:
        await service.own_leg(session, call, report)


def _never_stored(hook: Hook, report: CallReport) -> bool:
    """Whether an unknown call's final status is that of a customer's call to this inbox
    (its own leg, inbound) rather than one nothing here is about."""
    direction = (hook.req.form or {}).get("Direction", "")
    return report.parent_sid is None and report.status in TERMINAL and direction == "inbound"


@_route(
    "dial", "Twilio dial outcome", "<Dial>'s action: how ringing the agents or the customer ended."
)
async def dial(inbox_id: DbId, request: Request, ctx: ContextDep) -> Response:
    hook = await _verified(ctx, request, inbox_id, "voice/dial")
    outcome = _parsed(parse_dial, hook.req.form)
    now = utcnow()
    call_id = hook.query_int(request, "call")
    async with ctx.db.write() as session:
        call = await service.find_call(session, inbox_id, sid=outcome.sid, call_id=call_id)
        if call is None:
            log.info("inbox %d: dial outcome of unknown call %s", inbox_id, outcome.sid)
            return _xml(twiml.hangup())
        await service.dial_outcome(session, call, outcome, due_at=hook.due_after_miss(now))
        inbound_missed = call.direction == CallDirection.inbound and call.state == CallState.missed
        if call.direction == CallDirection.outbound:
            await service.fill_callback_outcome(session, call, hook.config)
    if inbound_missed:
        return _xml(twiml.missed(hook.config, hook.urls))
    return _xml(twiml.hangup())


@_route("recording", "Twilio recording ready", "A call recording or voicemail is ready to fetch.")
async def recording(inbox_id: DbId, request: Request, ctx: ContextDep) -> Response:
    hook = await _verified(ctx, request, inbox_id, "voice/recording")
    found = _parsed(parse_recording, hook.req.form)
    call_id = hook.query_int(request, "call")
    new = False
    async with ctx.db.write() as session:
        call = await service.find_call(session, inbox_id, sid=found.call_sid, call_id=call_id)
        if call is not None:
            new = await service.recording_ready(
                session, call, found, voicemail=request.query_params.get("voicemail") == "1"
            )
    if new:
        log.info("inbox %d: recording %s of call %s to fetch", inbox_id, found.sid, found.call_sid)
    return _xml(_NOTHING)


@_route(
    "transcription",
    "Twilio voicemail transcription",
    "<Record transcribe>'s callback (`transcribe_voicemail` on): the voicemail as text.",
)
async def transcription(inbox_id: DbId, request: Request, ctx: ContextDep) -> Response:
    hook = await _verified(ctx, request, inbox_id, "voice/transcription")
    found = _parsed(parse_transcription, hook.req.form)
    async with ctx.db.write() as session:
        call = await service.find_call(session, inbox_id, sid=found.call_sid)
        if call is None:
            log.info("inbox %d: transcription of unknown call %s", inbox_id, found.call_sid)
        else:
            await service.transcribed(session, call, found)
    return _xml(_NOTHING)


@_route("hangup", "Twilio voicemail done", "<Record>'s action: the caller is done; hang up.")
async def hangup(inbox_id: DbId, request: Request, ctx: ContextDep) -> Response:
    await _verified(ctx, request, inbox_id, "voice/hangup")
    return _xml(twiml.hangup())


@_route("whisper", "Twilio agent leg answered", "A placed call reached the agent's phone.")
async def whisper(inbox_id: DbId, request: Request, ctx: ContextDep) -> Response:
    hook = await _verified(ctx, request, inbox_id, "voice/whisper")
    call_id = hook.query_int(request, "call")
    async with ctx.db.read() as session:
        call = await service.find_call(session, inbox_id, sid=None, call_id=call_id, lock=False)
        view = await service.call_out(session, call) if call is not None else None
    if view is None or view.direction != CallDirection.outbound:
        return _xml(twiml.hangup())
    who = view.contact.name or view.customer_number
    text = f"Call to {who}. Press 1 to connect."
    return _xml(twiml.whisper(hook.urls, view.id, text, hook.config.language))


@_route("connect", "Twilio agent pressed a key", "The agent's answer to the whisper: 1 connects.")
async def connect(inbox_id: DbId, request: Request, ctx: ContextDep) -> Response:
    hook = await _verified(ctx, request, inbox_id, "voice/connect")
    call_id = hook.query_int(request, "call")
    async with ctx.db.read() as session:
        call: Call | None = await service.find_call(
            session, inbox_id, sid=None, call_id=call_id, lock=False
        )
    digits = (hook.req.form or {}).get("Digits", "").strip()
    if call is None or call.direction != CallDirection.outbound or digits != "1":
        return _xml(twiml.hangup())
    return _xml(twiml.connect(hook.config, hook.urls, call.id, call.customer_number))
