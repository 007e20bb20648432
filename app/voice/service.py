"""Calls: the row per CallSid, its call item on the timeline, and what Twilio's callbacks
say about it. No commits here (the request or job owns the transaction).

Twilio's callbacks may come late, twice or out of order, so every change is a merge that
gives the same row whatever the order: a call moves forward only (ringing → in_progress →
completed, or ringing → missed), the earliest answer and the earliest end are kept, a final
state is never replaced. Whether a call nobody answered was missed is decided by <Dial>'s
outcome, or by the sweeper once the call has ended (or rung for too long) unanswered.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from app.agents.models import Agent
from app.callbacks import service as callbacks
from app.callbacks.models import OPEN_CALLBACK_STATUSES, CallbackRequest, CallbackStatus
from app.contacts.models import Contact
from app.db import table, utcnow
from app.events import log as event_log
from app.events.types import (
    CallAnswered,
    CallEnded,
    CallEvent,
    CallMissed,
    CallRinging,
    MessageCreated,
    MessageUpdated,
)
from app.inbound.ingest import IngestResult
from app.tickets.models import Attachment, Conversation, Direction, Message
from app.tickets.schemas import Ref
from app.tickets.service import record_conversation_change
from app.tickets.shapes import message_out
from app.voice.hours import next_opening, schedule_of
from app.voice.models import Call, CallDirection, CallState, RecordingState
from app.voice.schemas import CallOut
from connectors.base import Address, InboundMessage, Party
from connectors.voice.config import VoiceConfig
from connectors.voice.parse import (
    NOT_ANSWERED,
    TERMINAL,
    CallReport,
    DialOutcome,
    Recording,
    Transcription,
)

log = logging.getLogger(__name__)

# A call still ringing this long after it started, with no final word from Twilio, is
# closed as missed (a lost callback must not leave a phone ringing in every console).
RING_LIMIT = timedelta(seconds=90)
# A call that ended unanswered is left this long for <Dial>'s own word before it is missed.
ENDED_GRACE = timedelta(seconds=5)


def _seconds(start: datetime | None, end: datetime | None) -> int | None:
    if start is None or end is None:
        return None
    return max(0, round((end - start).total_seconds()))


async def call_out(session: AsyncSession, call: Call) -> CallOut:
    contact = await session.get(Contact, call.contact_id)
    agent = await session.get(Agent, call.agent_id) if call.agent_id else None
    return CallOut(
        id=call.id,
        inbox_id=call.inbox_id,
        conversation_id=call.conversation_id,
        message_id=call.message_id,
        contact=Ref(id=call.contact_id, name=contact.name if contact else None),
        direction=call.direction,
        state=call.state,
        twilio_status=call.twilio_status,
        customer_number=call.customer_number,
        started_at=call.started_at,
        answered_at=call.answered_at,
        ended_at=call.ended_at,
        ringing_seconds=_seconds(call.started_at, call.answered_at or call.ended_at),
        talk_seconds=call.talk_seconds,
        agent=Ref(id=agent.id, name=agent.name) if agent else None,
        agent_number=call.agent_number,
        voicemail=call.voicemail,
        recording_state=call.recording_state,
        callback_request_id=call.callback_request_id,
    )


def _duration(seconds: int) -> str:
    minutes, rest = divmod(seconds, 60)
    return f"{minutes} min {rest} s" if minutes else f"{rest} s"


def summary(view: CallOut) -> str:
    """The call item's text in English (clients show `metadata.call` in their language)."""
    who = view.contact.name or view.customer_number
    agent = view.agent.name if view.agent and view.agent.name else view.agent_number
    inbound = view.direction == CallDirection.inbound
    if view.state == CallState.ringing:
        return f"Incoming call from {who}" if inbound else f"Calling {who}"
    if view.state == CallState.missed:
        text = f"Missed call from {who}" if inbound else f"{who} did not answer"
        return text + (", voicemail left" if view.voicemail else "")
    by = f" with {agent}" if agent else ""
    if view.state == CallState.in_progress:
        return f"Call{by} in progress"
    talk = f", {_duration(view.talk_seconds)}" if view.talk_seconds is not None else ""
    return f"Call{by}{talk}"


async def _changed(session: AsyncSession, call: Call, event: type[CallEvent] | None) -> None:
    """The call's row is saved as it now is, and shown (`_show`)."""
    call.updated_at = utcnow()
    await session.flush()
    await _show(session, call, event)


async def _show(session: AsyncSession, call: Call, event: type[CallEvent] | None) -> None:
    """The call item shows the call as it now is; a step in the call's life is announced.
    The item is written with one UPDATE, not through the unit of work: on a caller's ear
    path a flush costs more than all the statements (it inspects the whole session)."""
    view = await call_out(session, call)
    message = await session.get(Message, call.message_id)
    if message is not None:
        changed = {
            "meta": {**message.meta, "call": view.model_dump(mode="json")},
            "body_text": summary(view),
            "updated_at": call.updated_at,
        }
        await session.execute(
            update(table(Message))
            .where(table(Message).c.id == message.id)
            .values(
                metadata=changed["meta"],
                body_text=changed["body_text"],
                updated_at=changed["updated_at"],
            )
        )
        for name, value in changed.items():
            set_committed_value(message, name, value)  # as stored: nothing left to flush
        # The message's view from what is at hand (on the caller's ear path): its files
        # are looked up only once a recording is in.
        attachments: Sequence[Attachment] = ()
        if call.recording_state in (RecordingState.stored, RecordingState.failed):
            attachments = (
                await session.scalars(
                    select(Attachment)
                    .where(Attachment.message_id == message.id)
                    .order_by(Attachment.id)
                )
            ).all()
        outbound = call.direction == CallDirection.outbound
        sender = view.agent if outbound else view.contact
        event_log.record(
            session,
            MessageUpdated(
                message=message_out(
                    message, attachments=attachments, sender_name=sender.name if sender else None
                )
            ),
            event_log.Scope(
                inbox_id=message.inbox_id, conversation_id=message.conversation_id, public=True
            ),
        )
    if event is not None:
        event_log.record(
            session,
            event(call=view),
            event_log.Scope(inbox_id=call.inbox_id, conversation_id=call.conversation_id),
        )


async def find_call(
    session: AsyncSession,
    inbox_id: int,
    *,
    sid: str | None,
    call_id: int | None = None,
    lock: bool = True,
) -> Call | None:
    """A call of this inbox, by our id (in the URLs of calls we place) or its CallSid."""
    if call_id is not None:
        stmt = select(Call).where(Call.id == call_id)
    elif sid:
        stmt = select(Call).where(Call.call_sid == sid)
    else:
        return None
    stmt = stmt.where(Call.inbox_id == inbox_id)
    # Locked in a write: two callbacks on one call apply one after the other.
    return await session.scalar(stmt.with_for_update() if lock else stmt)


def incoming_message(
    report: CallReport, address: Address, caller_name: str | None
) -> InboundMessage:
    """A customer's call as the message that is its call item: stored by ingest like any
    message from that number (found or new contact, their open conversation or a new one),
    its CallSid the message's external id, so a repeat of the request is the same call."""
    return InboundMessage(
        external_id=f"call:{report.sid}",
        sender=Party(address, name=caller_name),
        sent_at=report.at,
        text=f"Incoming call from {caller_name or address.value}",
        raw={"CallSid": report.sid, "From": report.caller, "To": report.called},
    )


async def incoming_call(
    session: AsyncSession,
    inbox_id: int,
    report: CallReport,
    item: InboundMessage,
    stored: IngestResult,
) -> int:
    """The call's row beside its call item (`item`, as `stored` in this transaction),
    ringing; or the row stored for it already when the item is a repeat. Returns its id.

    Written with plain statements (see `_show`): the row is inserted, not added to the
    session, so a caller that goes on to change the call loads it."""
    if stored.duplicate:
        existing = await session.scalar(
            select(Call.id).where(Call.inbox_id == inbox_id, Call.call_sid == report.sid)
        )
        if existing is None:  # pragma: no cover - stored with its message, in one transaction
            raise RuntimeError(f"call {report.sid} has a call item but no row")
        return existing
    # The call item and its caller in one read; in the session, `_show` reads neither again.
    found = (
        await session.execute(
            select(Message, Contact)
            .join(Contact, Contact.id == Message.sender_contact_id)
            .where(Message.id == stored.message_id)
        )
    ).first()
    if found is None:  # pragma: no cover - ingest just stored it
        raise RuntimeError("the call item vanished")
    message, contact = found
    values = {
        "call_sid": report.sid,
        "inbox_id": inbox_id,
        "conversation_id": stored.conversation_id,
        "message_id": message.id,
        "contact_id": contact.id,
        "direction": CallDirection.inbound,
        "state": CallState.ringing,
        "customer_number": item.sender.address.value,
        "started_at": report.at,
        "voicemail": False,
        "recording_attempts": 0,
        "created_at": report.at,
        "updated_at": report.at,
    }
    calls = table(Call)
    call_id: int = (
        await session.execute(insert(calls).values(values).returning(calls.c.id))
    ).one()[0]
    await _show(session, Call(id=call_id, **values), CallRinging)
    return call_id


async def _agent_by_phone(session: AsyncSession, number: str) -> int | None:
    return await session.scalar(
        select(Agent.id).where(Agent.phone == number, Agent.is_active.is_(True)).limit(1)
    )


def _settle(call: Call) -> type[CallEvent] | None:
    """An answered call whose end is known is over."""
    if call.state != CallState.in_progress or call.ended_at is None:
        return None
    call.state = CallState.completed
    if call.talk_seconds is None:
        call.talk_seconds = _seconds(call.answered_at, call.ended_at)
    return CallEnded


async def dialled_leg(session: AsyncSession, call: Call, report: CallReport) -> None:
    """A report on the leg the call rang: an agent's phone (inbound), the customer's
    (outbound). Its answer is the call's."""
    if report.status != "in-progress":
        return
    if call.answered_at is None or report.at < call.answered_at:
        call.answered_at = report.at
    if call.direction == CallDirection.inbound and call.agent_number is None:
        call.agent_number = report.called
        call.agent_id = await _agent_by_phone(session, report.called)
    event: type[CallEvent] | None = None
    if call.state == CallState.ringing:
        call.state = CallState.in_progress
        event = CallAnswered
    await _changed(session, call, _settle(call) or event)


async def own_leg(session: AsyncSession, call: Call, report: CallReport) -> None:
    """A report on the call's own leg (the customer's, inbound; the agent's, outbound):
    only its end matters, the earliest one reported, its status never replaced."""
    if report.sequence is not None:
        call.last_sequence = max(call.last_sequence or 0, report.sequence)
    if report.status not in TERMINAL:
        await session.flush()
        return
    if call.ended_at is None or report.at < call.ended_at:
        call.ended_at = report.at
    if call.twilio_status is None:
        call.twilio_status = report.status
    event = _settle(call)
    if event is None and call.state == CallState.ringing and report.status in NOT_ANSWERED:
        # The agent's own phone did not answer (outbound): the customer was never called.
        await missed(session, call, due_at=report.at)
        return
    await _changed(session, call, event)


async def dial_outcome(
    session: AsyncSession, call: Call, outcome: DialOutcome, *, due_at: datetime
) -> None:
    """How ringing ended, as <Dial> reports it: nobody answered (missed), or a talk."""
    if outcome.status in NOT_ANSWERED:
        if call.state == CallState.ringing:
            await missed(session, call, due_at=due_at)
        return
    if outcome.talk_seconds is not None:
        call.talk_seconds = outcome.talk_seconds  # Twilio's count beats ours
    event: type[CallEvent] | None = None
    if call.state in (CallState.ringing, CallState.in_progress):
        call.state = CallState.completed
        event = CallEnded
    await _changed(session, call, event)


async def missed(session: AsyncSession, call: Call, *, due_at: datetime) -> None:
    """Nobody answered. A customer's call becomes a callback request (or joins the open
    one for the number), due at `due_at`; one to a customer who did not answer fills in
    the callback request it was made for."""
    call.state = CallState.missed
    if (
        call.direction == CallDirection.inbound
        and call.callback_request_id is None
        and call.customer_number.startswith("+")
    ):
        contact = await session.get(Contact, call.contact_id)
        request, _merged = await callbacks.request_after_missed_call(
            session,
            inbox_id=call.inbox_id,
            contact_id=call.contact_id,
            conversation_id=call.conversation_id,
            name=(contact.name if contact and contact.name else call.customer_number),
            phone_e164=call.customer_number,
            due_at=due_at,
            note=f"Missed call at {call.started_at.isoformat(timespec='seconds')}",
        )
        call.callback_request_id = request.id
    await _changed(session, call, CallMissed)


async def recording_ready(
    session: AsyncSession, call: Call, recording: Recording, *, voicemail: bool
) -> bool:
    """Twilio has a recording of the call (or a voicemail): the recordings worker fetches
    it. A call keeps its first recording; a repeat changes nothing. True if it is new."""
    if recording.status != "completed" or call.recording_sid is not None:
        return False
    call.recording_sid = recording.sid
    call.recording_url = recording.url
    call.recording_state = RecordingState.pending
    call.voicemail = voicemail
    await _changed(session, call, None)
    return True


async def transcribed(session: AsyncSession, call: Call, transcription: Transcription) -> bool:
    """Twilio's transcription of the call's voicemail, on its call item as the message's
    `metadata.transcript` (`provider`, `status`, `text`; a failed one has no text). The
    first word is kept: a repeat changes nothing. True if it is new."""
    message = await session.get(Message, call.message_id)
    if message is None or "transcript" in message.meta:
        return False
    done = transcription.status == "completed" and bool(transcription.text)
    transcript = {
        "provider": "twilio",
        "status": "completed" if done else "failed",
        "text": transcription.text if done else None,
    }
    # Written, with the call's view, by `_show`'s one UPDATE of the item.
    set_committed_value(message, "meta", {**message.meta, "transcript": transcript})
    await _changed(session, call, None)
    return True


async def ringing_too_long(session: AsyncSession, now: datetime, limit: int = 100) -> list[Call]:
    """Calls nobody answered that will get no more word from Twilio: ended a little while
    ago while still ringing, or ringing for RING_LIMIT (their final callback was lost)."""
    stmt = (
        select(Call)
        .where(
            Call.state == CallState.ringing,
            or_(Call.started_at < now - RING_LIMIT, Call.ended_at < now - ENDED_GRACE),
        )
        .order_by(Call.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await session.scalars(stmt)).all())


async def close_unanswered(
    session: AsyncSession, call: Call, *, now: datetime, due_at: datetime
) -> None:
    if call.ended_at is None:
        call.ended_at = now
        call.twilio_status = call.twilio_status or "no-answer"
    await missed(session, call, due_at=due_at)


async def claim_recordings(session: AsyncSession, now: datetime, lease: timedelta) -> list[Call]:
    """Recordings to fetch, leased to this worker (another takes them when it expires)."""
    stmt = (
        select(Call)
        .where(
            Call.recording_state == RecordingState.pending,
            or_(Call.recording_claimed_until.is_(None), Call.recording_claimed_until < now),
        )
        .order_by(Call.id)
        .limit(10)
        .with_for_update(skip_locked=True)
    )
    calls = list((await session.scalars(stmt)).all())
    for call in calls:
        call.recording_claimed_until = now + lease
        call.recording_attempts += 1
    await session.flush()
    return calls


async def attach_recording(
    session: AsyncSession,
    call: Call,
    *,
    sha256: str | None,
    size: int | None,
    note: str | None,
    final: bool,
) -> None:
    """The fetched recording on the call item (or, when it cannot be fetched and `final`,
    a note saying why); not final, it is tried again after its lease."""
    if call.recording_state != RecordingState.pending:
        return
    if sha256 is None and not final:
        await session.flush()
        return
    name = "voicemail" if call.voicemail else "call"
    session.add(
        Attachment(
            message_id=call.message_id,
            filename=f"{name}-{call.recording_sid}.mp3",
            content_type="audio/mpeg",
            size=size,
            sha256=sha256,
            note=note,
        )
    )
    call.recording_state = RecordingState.stored if sha256 else RecordingState.failed
    call.recording_claimed_until = None
    await _changed(session, call, None)


async def place_call(
    session: AsyncSession,
    *,
    inbox_id: int,
    agent: Agent,
    conversation: Conversation,
    customer_number: str,
    callback_id: int | None,
) -> Call:
    """An agent calls a customer: the call item in the conversation, ringing the agent's
    own phone first (the caller places the call with Twilio once this is stored)."""
    now = utcnow()
    message = Message(
        conversation_id=conversation.id,
        inbox_id=conversation.inbox_id,
        direction=Direction.outbound,
        sender_agent_id=agent.id,
        body_text="",
        created_at=now,
        updated_at=now,
        attempts=0,
        meta={},
    )
    session.add(message)
    await session.flush()
    call = Call(
        call_sid=None,
        inbox_id=inbox_id,
        conversation_id=conversation.id,
        message_id=message.id,
        contact_id=conversation.contact_id,
        direction=CallDirection.outbound,
        state=CallState.ringing,
        customer_number=customer_number,
        started_at=now,
        agent_id=agent.id,
        agent_number=agent.phone,
        callback_request_id=callback_id,
        created_at=now,
        updated_at=now,
    )
    session.add(call)
    await session.flush()
    view = await call_out(session, call)
    message.meta = {"call": view.model_dump(mode="json")}
    message.body_text = summary(view)
    await session.flush()
    event_log.record(
        session,
        MessageCreated(message=message_out(message, sender_name=agent.name)),
        event_log.Scope(inbox_id=message.inbox_id, conversation_id=conversation.id),
    )
    conversation.last_activity_at = now
    conversation.updated_at = now
    await record_conversation_change(session, conversation, ["last_activity_at"])
    return call


async def call_placed(
    session: AsyncSession, call: Call, *, sid: str | None, error: str | None
) -> None:
    """Twilio accepted the call (its CallSid), or refused it (`error`)."""
    if sid is not None and call.call_sid is None:
        call.call_sid = sid
        await session.flush()
        return
    if error is not None and call.state == CallState.ringing:
        call.twilio_status = "failed"
        call.ended_at = utcnow()
        await missed(session, call, due_at=call.ended_at)


async def fill_callback_outcome(session: AsyncSession, call: Call, config: VoiceConfig) -> None:
    """A call placed for a callback request decides it, once <Dial> has rung the customer:
    answered → completed; no answer → no answer, with the usual suggestion when to try
    again. (The agent not picking up their own phone decides nothing.)"""
    if call.callback_request_id is None or call.agent_id is None:
        return
    if call.state not in (CallState.completed, CallState.missed):
        return
    request = await session.get(CallbackRequest, call.callback_request_id)
    agent = await session.get(Agent, call.agent_id)
    if request is None or agent is None or request.status not in OPEN_CALLBACK_STATUSES:
        return
    status = (
        CallbackStatus.completed if call.state == CallState.completed else CallbackStatus.no_answer
    )
    await callbacks.update_callback(
        session,
        request,
        agent,
        schedule_of(config),
        fields=set(),
        status=status,
        scheduled_at=None,
        assignee_id=None,
        outcome_note=None,
    )


def due_after_miss(config: VoiceConfig, at: datetime) -> datetime:
    """A missed call's callback is due at once, or at the next opening."""
    return next_opening(config, at)
