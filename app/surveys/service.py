"""Satisfaction surveys: who is asked and when, how each channel asks, and the answer.

A survey is a row (`surveys`) and an outbound message in the conversation that asks, queued
for the delivery worker like any reply: its metadata carries what a channel shows beyond the
text (Telegram's buttons, the api channel's structured payload, the widget's rating card),
and, once answered, the answer, so the thread shows it wherever it is drawn. The answer is
recorded on the survey (conversation, contact, inbox, channel, credited agent), as the
event `survey.answered`, and in the asking message's metadata.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.callbacks.models import CallbackRequest, CallbackStatus
from app.contacts.models import ContactIdentity
from app.crypto import Signer
from app.db import utcnow
from app.errors import Conflict, Invalid, NotFound
from app.events import log as event_log
from app.events.types import SurveyAnswered
from app.fields import MAX_ID
from app.inboxes.models import Inbox, InboxKind
from app.surveys import texts
from app.surveys.models import SCALE, Survey, SurveyKind, SurveySettings
from app.surveys.schemas import SurveyOut, SurveyPolicy, SurveyPolicyUpdate
from app.tickets.messages import add_message, record_message_updated
from app.tickets.models import (
    Conversation,
    ConversationLabel,
    Direction,
    Message,
    Status,
)
from app.tickets.service import outreach_conversation
from connectors.base import Address, AddressKind, ButtonPress, InboundMessage

LINK_DAYS = 14  # an e-mailed rating link works this long
REPLY_HOURS = 24  # an SMS answer is read only from the next message within this time
BUTTON_PREFIX = "sv"  # callback_data "sv:<survey id>:<score>", far under Telegram's 64 bytes
# What a press of one of our buttons carries (ASCII digits: `str.isdigit` takes "²" too).
_BUTTON_DATA = re.compile(rf"{BUTTON_PREFIX}:(?P<survey>[0-9]{{1,10}}):(?P<score>[0-9]{{1,2}})")
# Channels that can ask: a callback request has no channel of its own to write on.
ASKING_CHANNELS = frozenset(
    {InboxKind.email, InboxKind.sms, InboxKind.telegram, InboxKind.webchat, InboxKind.api}
)
# Channels answered by a plain message (no buttons, no page).
REPLY_CHANNELS = frozenset({InboxKind.sms})
_NUMBER = re.compile(r"^\s*(\d{1,2})\s*[.!]?\s*$")


def link_signer(secret_key: str) -> Signer:
    return Signer(secret_key, "survey rating page")


def parse_score(text: str, kind: SurveyKind) -> int | None:
    """The score a reply says, if it says only a number in range: Latin, Persian (۰–۹) and
    Arabic-Indic (٠–٩) digits alike (`int` reads every Unicode decimal digit)."""
    match = _NUMBER.match(text)
    if match is None:
        return None
    score = int(match.group(1))
    low, high = SCALE[kind]
    return score if low <= score <= high else None


# Policy


async def policy(session: AsyncSession) -> SurveyPolicy:
    row = await session.get(SurveySettings, 1)
    if row is None:
        return SurveyPolicy()
    return SurveyPolicy(
        csat_inbox_ids=[int(i) for i in row.csat_inbox_ids],
        nps_enabled=row.nps_enabled,
        nps_interval_days=row.nps_interval_days,
        cooldown_days=row.cooldown_days,
        language=row.language,
        callback_sms_inbox_id=row.callback_sms_inbox_id,
    )


async def update_policy(session: AsyncSession, change: SurveyPolicyUpdate) -> SurveyPolicy:
    current = await policy(session)
    merged = current.model_copy(update=change.model_dump(exclude_unset=True, exclude_none=True))
    if change.csat_inbox_ids is not None:
        ids = sorted(set(change.csat_inbox_ids))
        found = set((await session.scalars(select(Inbox.id).where(Inbox.id.in_(ids)))).all())
        if missing := [i for i in ids if i not in found]:
            raise Invalid(f"csat_inbox_ids: no inbox with id {missing[0]}", code="invalid_inbox")
        merged.csat_inbox_ids = ids
    if "callback_sms_inbox_id" in change.model_fields_set:  # an explicit null turns it off
        sms_id = change.callback_sms_inbox_id
        sms = None if sms_id is None else await session.get(Inbox, sms_id)
        if sms_id is not None and (sms is None or sms.kind != InboxKind.sms):
            raise Invalid("callback_sms_inbox_id: not an SMS inbox", code="invalid_inbox")
        merged.callback_sms_inbox_id = sms_id
    row = await session.get(SurveySettings, 1)
    if row is None:
        row = SurveySettings(id=1)
        session.add(row)
    row.csat_inbox_ids = merged.csat_inbox_ids
    row.nps_enabled = merged.nps_enabled
    row.nps_interval_days = merged.nps_interval_days
    row.cooldown_days = merged.cooldown_days
    row.language = merged.language
    row.callback_sms_inbox_id = merged.callback_sms_inbox_id
    row.updated_at = utcnow()
    await session.flush()
    return merged


# Who is asked


async def _asked_since(
    session: AsyncSession, contact_id: int, since: datetime, kind: SurveyKind | None
) -> bool:
    stmt = select(
        exists().where(
            Survey.contact_id == contact_id,
            Survey.sent_at > since,
            *(() if kind is None else (Survey.kind == kind,)),
        )
    )
    return bool(await session.scalar(stmt))


async def _may_ask_contact(
    session: AsyncSession, contact_id: int, kind: SurveyKind, rules: SurveyPolicy, now: datetime
) -> bool:
    """Neither within the cooldown of any survey nor, for NPS, within its interval."""
    if rules.cooldown_days and await _asked_since(
        session, contact_id, now - timedelta(days=rules.cooldown_days), None
    ):
        return False
    return not (
        kind == SurveyKind.nps
        and await _asked_since(
            session, contact_id, now - timedelta(days=rules.nps_interval_days), SurveyKind.nps
        )
    )


async def _csat_fits(session: AsyncSession, conversation: Conversation) -> bool:
    """The customer started the conversation and an agent answered in it."""
    first = await session.scalar(
        select(Message.direction)
        .where(
            Message.conversation_id == conversation.id,
            Message.direction.in_((Direction.inbound, Direction.outbound)),
        )
        .order_by(Message.id)
        .limit(1)
    )
    if first != Direction.inbound:
        return False
    answered = await session.scalar(
        select(
            exists().where(
                Message.conversation_id == conversation.id,
                Message.direction == Direction.outbound,
                Message.sender_agent_id.is_not(None),
            )
        )
    )
    return bool(answered)


@dataclass(frozen=True, slots=True)
class Links:
    """How a survey links to its rating page (e-mail)."""

    public_url: str
    signer: Signer

    def page(self, survey_id: int, *, now: datetime) -> str:
        token = self.signer.sign(str(survey_id), expires=now + timedelta(days=LINK_DAYS))
        return f"{self.public_url.rstrip('/')}/rate/{token}"


async def after_resolve(session: AsyncSession, conversation_id: int, links: Links) -> Survey | None:
    """The survey a conversation's resolution calls for, sent; None if none does: a CSAT
    when its inbox asks for one and it fits, else an NPS when the contact is due one."""
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None or conversation.status != Status.resolved:
        return None
    inbox = await session.get(Inbox, conversation.inbox_id)
    if inbox is None or not inbox.enabled or inbox.kind not in ASKING_CHANNELS:
        return None
    rules = await policy(session)
    now = utcnow()
    kinds = []
    if conversation.inbox_id in rules.csat_inbox_ids and await _csat_fits(session, conversation):
        kinds.append(SurveyKind.csat)
    if rules.nps_enabled:
        kinds.append(SurveyKind.nps)
    for kind in kinds:
        if await _surveyed(session, conversation.id, kind):
            continue
        if await _may_ask_contact(session, conversation.contact_id, kind, rules, now):
            return await send(
                session, conversation, inbox, kind, rules, links, trigger="resolved", now=now
            )
    return None


async def for_rule(
    session: AsyncSession, conversation: Conversation, kind: SurveyKind, links: Links
) -> Survey | None:
    """The survey a rule's `send_survey` asks for, sent in the conversation; None when the
    policy says not now: an inbox that cannot ask, a CSAT about a conversation the
    customer did not start or no agent answered, a survey of this kind in it already, or a
    contact within the cooldown (or the NPS interval). NPS needs no `nps_enabled`: that
    switch is for the survey after a resolution, a rule is an administrator's own ask."""
    inbox = await session.get(Inbox, conversation.inbox_id)
    if inbox is None or not inbox.enabled or inbox.kind not in ASKING_CHANNELS:
        return None
    rules = await policy(session)
    now = utcnow()
    if (
        (kind == SurveyKind.csat and not await _csat_fits(session, conversation))
        or await _surveyed(session, conversation.id, kind)
        or not await _may_ask_contact(session, conversation.contact_id, kind, rules, now)
    ):
        return None
    try:
        return await send(session, conversation, inbox, kind, rules, links, "rule", now=now)
    except Conflict:  # surveyed meanwhile by another transaction
        return None


async def after_callback(session: AsyncSession, callback_id: int, links: Links) -> Survey | None:
    """A CSAT by SMS about a completed callback, if the policy names an SMS inbox for it."""
    rules = await policy(session)
    callback = await session.get(CallbackRequest, callback_id)
    if (
        rules.callback_sms_inbox_id is None
        or callback is None
        or callback.status != CallbackStatus.completed
        or callback.conversation_id is None
    ):
        return None
    conversation = await session.get(Conversation, callback.conversation_id)
    sms = await session.get(Inbox, rules.callback_sms_inbox_id)
    phone = await session.scalar(
        select(ContactIdentity).where(
            ContactIdentity.kind == AddressKind.phone,
            ContactIdentity.address == callback.phone_e164,
        )
    )
    now = utcnow()
    if (
        conversation is None
        or sms is None
        or not sms.enabled
        or sms.kind != InboxKind.sms
        or phone is None
        or await _surveyed(session, conversation.id, SurveyKind.csat)
        or not await _may_ask_contact(session, phone.contact_id, SurveyKind.csat, rules, now)
    ):
        return None
    texting = await outreach_conversation(
        session, inbox_id=sms.id, contact_id=phone.contact_id, identity_id=phone.id
    )
    return await send(
        session,
        conversation,
        sms,
        SurveyKind.csat,
        rules,
        links,
        "callback",
        now=now,
        ask_in=texting,
    )


async def _surveyed(session: AsyncSession, conversation_id: int, kind: SurveyKind) -> bool:
    stmt = select(exists().where(Survey.conversation_id == conversation_id, Survey.kind == kind))
    return bool(await session.scalar(stmt))


async def bulk_nps(
    session: AsyncSession, *, label: str | None, inbox_id: int | None, links: Links
) -> tuple[int, int]:
    """An NPS to each contact of the segment that is due one, on the channel of their most
    recent conversation in it. Returns (sent, skipped)."""
    if label is None and inbox_id is None:
        raise Invalid("name a label, an inbox, or both", code="empty_segment")
    rules = await policy(session)
    filters = []
    if inbox_id is not None:
        filters.append(Conversation.inbox_id == inbox_id)
    if label is not None:
        filters.append(
            exists().where(
                ConversationLabel.conversation_id == Conversation.id,
                ConversationLabel.label == label,
            )
        )
    latest = (
        select(func.max(Conversation.id))
        .join(Inbox, Inbox.id == Conversation.inbox_id)
        .where(*filters, Inbox.enabled.is_(True), Inbox.kind.in_(tuple(ASKING_CHANNELS)))
        .group_by(Conversation.contact_id)
    )
    conversations = (
        await session.scalars(select(Conversation).where(Conversation.id.in_(latest)))
    ).all()
    now = utcnow()
    sent = skipped = 0
    for conversation in conversations:
        inbox = await session.get(Inbox, conversation.inbox_id)
        if (
            inbox is None
            or await _surveyed(session, conversation.id, SurveyKind.nps)
            or not await _may_ask_contact(
                session, conversation.contact_id, SurveyKind.nps, rules, now
            )
        ):
            skipped += 1
            continue
        await send(session, conversation, inbox, SurveyKind.nps, rules, links, "bulk", now=now)
        sent += 1
    return sent, skipped


# How each channel asks


def _buttons(survey_id: int, kind: SurveyKind) -> list[list[dict[str, str]]]:
    low, high = SCALE[kind]
    scores = list(range(low, high + 1))
    rows = [scores] if len(scores) <= 6 else [scores[:6], scores[6:]]
    return [
        [{"label": str(s), "data": f"{BUTTON_PREFIX}:{survey_id}:{s}"} for s in row] for row in rows
    ]


def _ask(
    survey: Survey, channel: InboxKind, rules: SurveyPolicy, links: Links, now: datetime
) -> tuple[str, dict[str, Any]]:
    """The asking message's text and metadata on the channel it is asked on."""
    lang = rules.language
    kind = SurveyKind(survey.kind)
    low, high = SCALE[kind]
    question = texts.QUESTION[lang, kind]
    shown = {"id": survey.id, "kind": kind.value, "low": low, "high": high, "score": None}
    meta: dict[str, Any] = {"automatic": True, "survey": shown}
    if channel == InboxKind.email:
        text = f"{question}\n\n{texts.RATE_HERE[lang]}\n{links.page(survey.id, now=now)}\n"
    elif channel in REPLY_CHANNELS:
        text = f"{question} {texts.REPLY_WITH[lang, kind]} ({texts.SCALE_HINT[lang, kind]})"
    else:
        text = f"{question} ({texts.SCALE_HINT[lang, kind]})"
    if channel == InboxKind.telegram:
        meta["buttons"] = _buttons(survey.id, kind)
    if channel == InboxKind.api:
        meta["payload"] = {"survey": {"id": survey.id, "kind": kind.value, "min": low, "max": high}}
    return text, meta


async def send(
    session: AsyncSession,
    conversation: Conversation,
    inbox: Inbox,
    kind: SurveyKind,
    rules: SurveyPolicy,
    links: Links,
    trigger: str,
    *,
    now: datetime,
    ask_in: Conversation | None = None,
) -> Survey:
    """Record the survey and queue the message that asks it (the delivery worker sends it):
    in the conversation, or in `ask_in` of `inbox` (a callback's, asked by SMS)."""
    survey = Survey(
        kind=kind,
        conversation_id=conversation.id,
        contact_id=conversation.contact_id,
        inbox_id=inbox.id,
        channel=InboxKind.callback if ask_in is not None else inbox.kind,
        agent_id=conversation.assignee_id,
        trigger=trigger,
        sent_at=now,
        reply_until=now + timedelta(hours=REPLY_HOURS) if inbox.kind in REPLY_CHANNELS else None,
    )
    try:
        async with session.begin_nested():
            session.add(survey)
            await session.flush()
    except IntegrityError as exc:
        raise Conflict("this conversation has had this survey", code="already_surveyed") from exc
    text, meta = _ask(survey, InboxKind(inbox.kind), rules, links, now)
    message = await add_message(
        session, ask_in or conversation, None, body=text, private=False, meta=meta
    )
    survey.message_id = message.id
    return survey


# The answer


def survey_out(survey: Survey) -> SurveyOut:
    return SurveyOut.model_validate(survey, from_attributes=True)


@dataclass(frozen=True, slots=True)
class Answered:
    survey: Survey
    recorded: bool  # False: it had been answered before (this answer was not taken)


async def answer(
    session: AsyncSession,
    survey: Survey,
    *,
    score: int,
    comment: str | None = None,
    external_id: str | None = None,
    ask_why: bool = False,
) -> Answered:
    """Record the customer's score (once; a later one is not taken) and, for NPS, a comment
    (which may come after the score: the "why?" follow-up)."""
    kind = SurveyKind(survey.kind)
    low, high = SCALE[kind]
    if not low <= score <= high:
        raise Invalid(f"score: between {low} and {high}", code="invalid_score")
    if survey.score is not None:
        if comment and not survey.comment:
            survey.comment = comment[:2000]
            await _recorded(session, survey)
        return Answered(survey, recorded=False)
    now = utcnow()
    survey.score = score
    survey.comment = comment[:2000] if comment else None
    survey.answered_at = now
    survey.reply_until = None
    survey.answer_external_id = external_id
    if ask_why and kind == SurveyKind.nps and not comment:
        await _ask_why(session, survey, now)
    await _recorded(session, survey)
    return Answered(survey, recorded=True)


async def _ask_why(session: AsyncSession, survey: Survey, now: datetime) -> None:
    """The NPS follow-up where the score came without words (a button, a number by SMS):
    the customer's next message within REPLY_HOURS is the comment."""
    asked = await session.get(Message, survey.message_id) if survey.message_id else None
    conversation = await session.get(Conversation, asked.conversation_id) if asked else None
    if conversation is None:
        return
    lang = (await policy(session)).language
    survey.reply_until = now + timedelta(hours=REPLY_HOURS)
    await add_message(session, conversation, None, body=texts.WHY[lang], private=False)


async def _recorded(session: AsyncSession, survey: Survey) -> None:
    """The answer, shown: in the asking message (thread, widget card) and as an event."""
    await session.flush()
    if survey.message_id is not None:
        message = await session.get(Message, survey.message_id)
        if message is not None:
            shown = dict(message.meta.get("survey") or {})
            shown |= {"score": survey.score, "comment": survey.comment}
            message.meta = {**message.meta, "survey": shown}
            await session.flush()
            await record_message_updated(session, message)
    event_log.record(
        session,
        SurveyAnswered(survey=survey_out(survey)),
        event_log.Scope(inbox_id=survey.inbox_id, conversation_id=survey.conversation_id),
    )


async def take_replies(
    session: AsyncSession, inbox_id: int, messages: Sequence[InboundMessage]
) -> list[InboundMessage]:
    """The messages that are not answers to a survey waiting for a reply from their sender
    in this inbox (SMS "reply 1–5"; the NPS "why?"). The first message after such a survey,
    within its window, is read: a score in range (or, after the score, any text: the
    comment) is recorded and not stored as a message; anything else closes the window and
    is a message like any other. A repeat of a message taken as an answer is dropped."""
    if not messages:
        return []
    now = utcnow()
    ids = [m.external_id for m in messages]
    rows = (
        await session.execute(
            select(Survey, ContactIdentity.kind, ContactIdentity.address)
            .join(ContactIdentity, ContactIdentity.contact_id == Survey.contact_id)
            .where(
                Survey.inbox_id == inbox_id,
                or_(Survey.reply_until > now, Survey.answer_external_id.in_(ids)),
            )
            .order_by(Survey.id)
        )
    ).all()
    if not rows:
        return list(messages)
    taken_ids = {s.answer_external_id for s, _k, _a in rows if s.answer_external_id}
    waiting: dict[Address, Survey] = {}
    for survey, kind, address in rows:
        if survey.reply_until is not None and survey.reply_until > now:
            waiting[Address(kind, address)] = survey
    kept: list[InboundMessage] = []
    for message in messages:
        if message.external_id in taken_ids:
            continue
        if message.sender.address not in waiting:
            kept.append(message)
            continue
        survey = waiting.pop(message.sender.address)
        survey.reply_until = None
        if survey.score is None:
            score = parse_score(message.text, SurveyKind(survey.kind))
            if score is not None:
                await answer(
                    session, survey, score=score, external_id=message.external_id, ask_why=True
                )
                continue
        elif message.text.strip():
            await answer(session, survey, score=survey.score, comment=message.text.strip())
            continue
        kept.append(message)
    await session.flush()
    return kept


@dataclass(frozen=True, slots=True)
class PressOutcome:
    press: ButtonPress
    notice: str  # shown to the customer as the press's answer
    chosen: str | None  # the label the keyboard keeps, None: leave it


async def take_press(session: AsyncSession, inbox_id: int, press: ButtonPress) -> PressOutcome:
    """A Telegram survey button: the score recorded if the survey is this chat's and still
    open. Every press gets an answer (Telegram shows a spinner until then)."""
    lang = (await policy(session)).language
    pressed = _BUTTON_DATA.fullmatch(press.data)
    if pressed is None or int(pressed["survey"]) > MAX_ID:  # not ours, or forged
        return PressOutcome(press, "", None)
    survey = await session.get(Survey, int(pressed["survey"]))
    owner = (
        await session.scalar(
            select(ContactIdentity.contact_id).where(
                ContactIdentity.kind == press.sender.kind,
                ContactIdentity.address == press.sender.value,
            )
        )
        if survey is not None
        else None
    )
    if survey is None or survey.inbox_id != inbox_id or owner != survey.contact_id:
        return PressOutcome(press, texts.EXPIRED[lang], None)
    score = int(pressed["score"])
    if survey.score is not None:
        return PressOutcome(press, texts.ALREADY[lang], str(survey.score))
    await answer(session, survey, score=score, external_id=press.press_id, ask_why=True)
    return PressOutcome(press, texts.THANKS[lang], str(score))


# Reading


async def get_survey(session: AsyncSession, survey_id: int) -> Survey:
    survey = await session.get(Survey, survey_id)
    if survey is None:
        raise NotFound("no survey with this id", code="survey_not_found")
    return survey


async def survey_from(
    session: AsyncSession, survey_id: int, *, inbox_id: int, sender: Address
) -> Survey:
    """A survey sent in this inbox to the contact at `sender` (404 for anyone else's)."""
    survey = await session.get(Survey, survey_id)
    owner = await session.scalar(
        select(ContactIdentity.contact_id).where(
            ContactIdentity.kind == sender.kind, ContactIdentity.address == sender.value
        )
    )
    if survey is None or survey.inbox_id != inbox_id or owner != survey.contact_id:
        raise NotFound("no survey with this id for this sender", code="survey_not_found")
    return survey


async def surveys_of(
    session: AsyncSession, *, contact_id: int | None = None, conversation_id: int | None = None
) -> list[Survey]:
    stmt = select(Survey).order_by(Survey.sent_at.desc(), Survey.id.desc()).limit(200)
    if contact_id is not None:
        stmt = stmt.where(Survey.contact_id == contact_id)
    if conversation_id is not None:
        stmt = stmt.where(Survey.conversation_id == conversation_id)
    return list((await session.scalars(stmt)).all())
