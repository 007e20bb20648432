"""Rules, run from the event log (`handle_events`, a durable log consumer) and from due
scheduled steps (`run_step`): match the event, test the conditions, do the actions.

Loop safety: every event an automation causes is written with origin `automation` and is
never matched (depth 1); and a conversation gets at most SEND_LIMIT automatic messages per
SEND_WINDOW, then one private note saying the rest were held back."""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.automations import actions as reaching
from app.automations import conditions
from app.automations.models import AutomatedSend, Rule, RuleRun, ScheduledStep
from app.automations.schemas import (
    Action,
    AddLabel,
    AddNote,
    AssignAgent,
    AssignTeam,
    CallWebhook,
    Resolve,
    SendMessage,
    SendSurvey,
    SetPriority,
    Snooze,
    Wait,
)
from app.automations.templates import as_text, folded, lookup, render
from app.contacts.models import Contact, ContactIdentity
from app.db import utcnow
from app.errors import AppError
from app.events import log as event_log
from app.events.log import Logged
from app.inbound.senders import lock_contacts_of
from app.inboxes.models import Inbox, InboxKind
from app.tickets import service as tickets
from app.tickets.messages import add_message, require_reply_possible
from app.tickets.models import Conversation, ConversationLabel, Direction, Message, Status

log = logging.getLogger(__name__)

CONSUMER = "automations"
ORIGIN = "automation"
SEND_LIMIT = 3
SEND_WINDOW = timedelta(minutes=10)
MAX_MATCH_TEXT = 4000  # a `matches` condition reads this much of a message

_actions: TypeAdapter[list[Action]] = TypeAdapter(list[Action])

# Actions the service may refuse (an unreachable address, an agent not in the inbox).
_MAY_FAIL = {"send_message", "assign_agent", "assign_team", "send_survey"}

# Called with a new step's due time, so a sleeping worker in this process wakes earlier.
wakers: set[Callable[[datetime], None]] = set()

# Where an inbox of each kind reaches a contact (a callback request has no text channel).
_ADDRESS_KIND = {
    InboxKind.email: "email",
    InboxKind.sms: "phone",
    InboxKind.telegram: "telegram",
    InboxKind.webchat: "webchat",
    InboxKind.api: "api",
}


def _triggers(event: Logged) -> list[str]:
    """The rule events a logged event is."""
    data = event.data
    match event.type:
        case "message.created" if data["message"]["direction"] == Direction.inbound:
            return ["message.received", "message.first_received"]
        case "conversation.created":
            return ["conversation.created"]
        case "conversation.updated":
            changes = data.get("changes", [])
            return [
                name
                for change, name in (
                    ("status", "conversation.status_changed"),
                    ("assignee", "conversation.assigned"),
                )
                if change in changes
            ]
        case "callback.created":
            return ["callback.requested"]
        case "callback.due":
            return ["callback.missed" if data.get("missed") else "callback.due"]
        case "conversation.sla_warning" | "conversation.sla_breached":
            return [event.type]
        case "contact.event":
            return ["customer.event"]
    return []


@dataclass
class Facts:
    """What the conditions and templates read about one event, loaded when first asked."""

    session: AsyncSession
    trigger: str
    inbox_id: int | None = None
    conversation_id: int | None = None
    contact_id: int | None = None
    message_id: int | None = None
    message_text: str | None = None
    event_name: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    at: datetime | None = None  # when the event happened (None: now)
    inbox_kinds: dict[int, str] = field(default_factory=dict)
    batch: _Batch | None = None  # the batch of events this one came in, if any
    _conversation: Conversation | None = None
    _contact: Contact | None = None
    _labels: list[str] | None = None

    @classmethod
    def of(cls, session: AsyncSession, trigger: str, event: Logged) -> Facts:
        data = event.data
        facts = cls(
            session,
            trigger,
            inbox_id=event.inbox_id,
            conversation_id=event.conversation_id,
            at=event.created_at,
        )
        if "message" in data:
            facts.message_id = data["message"]["id"]
            facts.message_text = data["message"].get("body_text")
        if "conversation" in data:
            facts.contact_id = data["conversation"]["contact"]["id"]
        if "callback" in data:
            callback = data["callback"]
            facts.contact_id = callback["contact_id"]
            facts.conversation_id = callback.get("conversation_id") or facts.conversation_id
            facts.inbox_id = callback["inbox_id"]
        if "event" in data:  # a customer event
            facts.contact_id = data["event"]["contact_id"]
            facts.event_name = data["event"]["name"]
            facts.payload = data["event"]["payload"]
        return facts

    def snapshot(self) -> dict[str, Any]:
        """What a later step needs to go on (stored with it)."""
        return {
            "trigger": self.trigger,
            "inbox_id": self.inbox_id,
            "conversation_id": self.conversation_id,
            "contact_id": self.contact_id,
            "message_text": self.message_text,
            "event_name": self.event_name,
            "payload": self.payload,
        }

    @classmethod
    def restore(cls, session: AsyncSession, data: dict[str, Any]) -> Facts:
        return cls(
            session,
            data["trigger"],
            inbox_id=data.get("inbox_id"),
            conversation_id=data.get("conversation_id"),
            contact_id=data.get("contact_id"),
            message_text=data.get("message_text"),
            event_name=data.get("event_name"),
            payload=data.get("payload") or {},
        )

    async def conversation(self) -> Conversation | None:
        if self._conversation is None and self.conversation_id is not None:
            self._conversation = await (
                self.batch.conversation(self.conversation_id)
                if self.batch is not None
                else self.session.get(Conversation, self.conversation_id)
            )
            if self._conversation is not None:
                self.contact_id = self._conversation.contact_id
        return self._conversation

    def forget_labels(self) -> None:
        self._labels = None

    def use_conversation(self, conversation: Conversation) -> None:
        self._conversation, self.conversation_id = conversation, conversation.id
        self.inbox_id, self._labels = conversation.inbox_id, None

    async def contact(self) -> Contact | None:
        if self.contact_id is None:
            await self.conversation()
        if self._contact is None and self.contact_id is not None:
            self._contact = await (
                self.batch.contact(self.contact_id)
                if self.batch is not None
                else self.session.get(Contact, self.contact_id)
            )
        return self._contact

    async def labels(self) -> list[str]:
        if self._labels is None:
            self._labels = (
                list(
                    (
                        await self.session.scalars(
                            select(ConversationLabel.label).where(
                                ConversationLabel.conversation_id == self.conversation_id
                            )
                        )
                    ).all()
                )
                if self.conversation_id is not None
                else []
            )
        return self._labels

    async def channel(self) -> str | None:
        if self.inbox_id is None:
            return None
        if self.inbox_id not in self.inbox_kinds:
            kind = await self.session.scalar(select(Inbox.kind).where(Inbox.id == self.inbox_id))
            self.inbox_kinds[self.inbox_id] = str(kind or "")
        return self.inbox_kinds[self.inbox_id]

    async def value(self, name: str) -> Any:
        """A condition field's value now (None: it has none)."""
        if name == "channel":
            return await self.channel()
        if name == "inbox":
            return self.inbox_id
        if name == "message.text":
            return self.message_text
        if name == "business_hours":
            return await conditions.business_hours(self.session, self.inbox_id, self.at or utcnow())
        if name.startswith("event.payload."):
            return lookup(self.payload, name.removeprefix("event.payload."))
        if name.startswith("contact.attributes."):
            contact = await self.contact()
            return lookup(contact.attributes, name[19:]) if contact is not None else None
        if name == "conversation.labels":
            return await self.labels()
        conversation = await self.conversation()
        if conversation is None:
            return None
        return {
            "priority": conversation.priority,
            "assignee": conversation.assignee_id,
            "team": conversation.team_id,
            "conversation.status": conversation.status,
        }.get(name)

    async def template_context(self) -> dict[str, Any]:
        contact = await self.contact()
        conversation = await self.conversation()
        name = (contact.name or "") if contact is not None else ""
        return {
            "contact": {
                "id": self.contact_id,
                "name": name,
                "first_name": name.split()[0] if name.strip() else "",
                "attributes": contact.attributes if contact is not None else {},
            },
            "conversation": {
                "id": self.conversation_id,
                "status": conversation.status if conversation is not None else None,
                "priority": conversation.priority if conversation is not None else None,
                "channel": await self.channel(),
            },
            "message": {"text": self.message_text},
            "event": {"name": self.event_name, "type": self.trigger, "payload": self.payload},
        }


# Every rule on an event folds the same message text and its own values again: remembered.
_folded = functools.lru_cache(maxsize=1024)(folded)


def _compare(op: str, actual: Any, expected: str | None) -> bool:
    present = actual is not None and actual != "" and actual != []
    if op in ("exists", "missing"):
        return present == (op == "exists")
    want = _folded(expected or "")
    values = [_folded(as_text(a)) for a in actual] if isinstance(actual, list) else None
    text = _folded(as_text(actual))
    match op:
        case "equals" | "not_equals":
            hit = want in values if values is not None else text == want
            return hit == (op == "equals")
        case "contains" | "not_contains":
            hit = any(want in v for v in values) if values is not None else want in text
            return hit == (op == "contains")
        case "matches":
            # Patterns are checked when saved (length, no nested quantifiers); the text
            # read is bounded, so a search stays short.
            return re.search(expected or "", as_text(actual)[:MAX_MATCH_TEXT], re.I) is not None
    return False


async def _holds(facts: Facts, conditions: Sequence[dict[str, Any]]) -> bool:
    for condition in conditions:
        actual = await facts.value(condition["field"])
        if not _compare(condition.get("op", "equals"), actual, condition.get("value")):
            return False
    return True


def _applies(rule: Rule, trigger: str, facts: Facts) -> bool:
    if rule.event != trigger:
        return False
    if rule.inbox_id is not None and facts.inbox_id not in (None, rule.inbox_id):
        return False
    return trigger != "customer.event" or rule.options.get("name") == facts.event_name


@dataclass(frozen=True, slots=True)
class _Rulebook:
    """The enabled rules in position order, loaded once per change of the rules table
    (`version`): a batch of events costs one small query, not the rules' rows."""

    version: tuple[Any, ...]
    rules: list[Rule]


_rulebooks: dict[str, _Rulebook] = {}  # by database URL


async def enabled_rules(session: AsyncSession) -> list[Rule]:
    """The enabled rules, by position (detached: read them, never change them)."""
    version = tuple(
        (
            await session.execute(
                select(
                    func.count(Rule.id),
                    func.max(Rule.id),
                    func.max(Rule.updated_at),
                    func.sum(Rule.position),
                )
            )
        ).one()
    )
    key = str(session.get_bind().engine.url)
    book = _rulebooks.get(key)
    if book is None or book.version != version:
        rules = list(
            (
                await session.scalars(
                    select(Rule).where(Rule.enabled.is_(True)).order_by(Rule.position, Rule.id)
                )
            ).all()
        )
        for rule in rules:
            session.expunge(rule)
        book = _rulebooks[key] = _Rulebook(version, rules)
    return book.rules


def _may_start(event: Logged) -> bool:
    """Whether a rule could start (or an idle clock move) on this event."""
    return event.origin != ORIGIN and (event.type == "message.created" or bool(_triggers(event)))


async def interested(session: AsyncSession, events: Sequence[Logged]) -> bool:
    """The consumer's interest: events a rule may start on, and enabled rules."""
    return any(_may_start(event) for event in events) and bool(await enabled_rules(session))


async def handle_events(session: AsyncSession, events: Sequence[Logged]) -> None:
    """The log consumer's handler: every rule each event starts, in position order."""
    rules = await enabled_rules(session)
    if not rules:
        return
    event_log.mark_origin(session, ORIGIN)
    idle = [rule for rule in rules if rule.event == "conversation.idle"]
    started: list[tuple[Facts, list[Rule]]] = []
    for event in events:
        if event.origin == ORIGIN:
            continue  # caused by a rule: never starts one
        if idle and event.type == "message.created":
            await _schedule_idle(session, idle, event)
        for trigger in _triggers(event):
            facts = Facts.of(session, trigger, event)
            matching = [rule for rule in rules if _applies(rule, trigger, facts)]
            if matching:
                started.append((facts, matching))
    if not started:
        return
    firsts = await _prefetch(session, [facts for facts, _rules in started])
    # First, without a lock: the events whose conversation some rule's conditions hold for.
    # Most have none, and their contacts stay free for ingest meanwhile.
    acting: list[tuple[Facts, list[Rule]]] = []
    for facts, matching in started:
        if facts.trigger == "message.first_received" and facts.message_id not in firsts:
            continue
        for rule in matching:
            if await _holds(facts, rule.conditions):
                acting.append((facts, matching))
                break
    if not acting:
        return
    locked = await lock_contacts_of(
        session,
        {f.conversation_id for f, _ in acting if f.contact_id is None and f.conversation_id},
        {f.contact_id for f, _ in acting if f.contact_id is not None},
    )
    if locked:  # ingest may have changed them before the lock: the rules see what is now
        await _read_again(session, [facts for facts, _rules in acting])
    runs: list[RuleRun] = []
    for facts, matching in acting:
        for rule in matching:
            await run_rule(session, rule, facts, runs=runs)
    session.add_all(runs)


async def _read_again(session: AsyncSession, acting: Sequence[Facts]) -> None:
    """Refresh, in place, the conversations and contacts these facts loaded."""
    for model, ids in (
        (Conversation, {f.conversation_id for f in acting if f.conversation_id is not None}),
        (Contact, {f.contact_id for f in acting if f.contact_id is not None}),
    ):
        if ids:
            await session.execute(
                select(model).where(model.id.in_(ids)).execution_options(populate_existing=True)
            )
    for facts in acting:
        facts.forget_labels()


@dataclass
class _Batch:
    """The conversations and contacts the conditions of a batch of events read, loaded for
    every event of the batch at the first need: the round holds the write lock, and a query
    per event, or for what no condition reads, would hold up ingest."""

    session: AsyncSession
    facts: Sequence[Facts]
    _conversations: dict[int, Conversation] | None = None
    _contacts: dict[int, Contact] | None = None

    async def conversation(self, conversation_id: int) -> Conversation | None:
        if self._conversations is None:
            ids = {f.conversation_id for f in self.facts if f.conversation_id is not None}
            self._conversations = {
                c.id: c
                for c in await self.session.scalars(
                    select(Conversation).where(Conversation.id.in_(ids))
                )
            }
        found = self._conversations.get(conversation_id)
        return found or await self.session.get(Conversation, conversation_id)

    async def contact(self, contact_id: int) -> Contact | None:
        if self._contacts is None:
            ids = {f.contact_id for f in self.facts if f.contact_id is not None}
            if self._conversations is not None:
                ids |= {c.contact_id for c in self._conversations.values()}
            self._contacts = {
                c.id: c
                for c in await self.session.scalars(select(Contact).where(Contact.id.in_(ids)))
            }
        found = self._contacts.get(contact_id)
        return found or await self.session.get(Contact, contact_id)


async def _prefetch(session: AsyncSession, started: Sequence[Facts]) -> set[int]:
    """Share a batch's loads among its events; the first inbound message of each
    conversation a `message.first_received` rule asks about."""
    batch = _Batch(session, started)
    inbox_kinds: dict[int, str] = {}
    for facts in started:
        facts.batch, facts.inbox_kinds = batch, inbox_kinds
    asked = {f.conversation_id for f in started if f.trigger == "message.first_received"}
    if not asked:
        return set()
    rows = await session.execute(
        select(func.min(Message.id))
        .where(Message.conversation_id.in_(asked), Message.direction == Direction.inbound)
        .group_by(Message.conversation_id)
    )
    return {int(first) for (first,) in rows}


async def _schedule_idle(session: AsyncSession, rules: Sequence[Rule], event: Logged) -> None:
    """A message in a conversation: its idle clocks start again from now."""
    message = event.data["message"]
    if message["direction"] not in (Direction.inbound, Direction.outbound):
        return
    for rule in rules:
        if rule.inbox_id not in (None, event.inbox_id):
            continue
        due = event.created_at + timedelta(minutes=int(rule.options["minutes"]))
        step = await session.scalar(
            select(ScheduledStep).where(
                ScheduledStep.rule_id == rule.id,
                ScheduledStep.conversation_id == event.conversation_id,
                ScheduledStep.kind == "idle",
            )
        )
        if step is None:
            facts = Facts(session, "conversation.idle", event.inbox_id, event.conversation_id)
            session.add(
                ScheduledStep(
                    kind="idle",
                    rule_id=rule.id,
                    conversation_id=event.conversation_id,
                    context={**facts.snapshot(), "since": event.created_at.isoformat()},
                    due_at=due,
                )
            )
        else:
            step.due_at = due
            step.context = {**step.context, "since": event.created_at.isoformat()}
        _wake(due)


def _wake(due_at: datetime) -> None:
    for waker in list(wakers):
        waker(due_at)


async def run_rule(
    session: AsyncSession,
    rule: Rule,
    facts: Facts,
    *,
    run: RuleRun | None = None,
    start: int = 0,
    runs: list[RuleRun] | None = None,
) -> None:
    """Test the rule's conditions (on a fresh start) and do its actions from `start`. A new
    run goes to `runs` if given (a batch adds them together: one INSERT), else is added."""
    if run is None:
        if not await _holds(facts, rule.conditions):
            return
        await facts.conversation()
        # Added once its fields are final below (a wait adds it earlier, for its id), not
        # flushed by the actions' first query and then updated.
        run = RuleRun(
            rule_id=rule.id,
            trigger=facts.event_name or facts.trigger,
            conversation_id=facts.conversation_id,
            contact_id=facts.contact_id,
            status="done",
        )
    if {a["type"] for a in rule.actions[start:]} & _MAY_FAIL:
        try:
            async with event_log.savepoint(session):
                notes = await _do(session, rule, facts, run, start)
        except AppError as exc:
            run.status, notes = "failed", [exc.detail]
    else:  # no savepoint (two more statements per run) for what cannot be refused
        notes = await _do(session, rule, facts, run, start)
    run.detail = "; ".join(notes)[:2000]
    run.updated_at = utcnow()
    run.conversation_id = facts.conversation_id
    if runs is None:
        session.add(run)
    else:
        runs.append(run)


async def _do(
    session: AsyncSession, rule: Rule, facts: Facts, run: RuleRun, start: int
) -> list[str]:
    """The actions from `start` until the end or a wait; what happened, in words."""
    actions = _actions.validate_python(rule.actions)
    actor = tickets.Automated(f"Automation {rule.name}")
    said: list[str] = []
    for index in range(start, len(actions)):
        action = actions[index]
        now = utcnow()
        if isinstance(action, Wait):
            due = now + timedelta(minutes=action.minutes)
            session.add(run)
            await session.flush()  # the run's id
            session.add(
                ScheduledStep(
                    kind="wait",
                    rule_id=rule.id,
                    run_id=run.id,
                    conversation_id=facts.conversation_id,
                    next_action=index + 1,
                    context={
                        **facts.snapshot(),
                        "since": now.isoformat(),
                        "cancel_on_reply": action.cancel_on_reply,
                    },
                    due_at=due,
                )
            )
            run.status = "waiting"
            _wake(due)
            return [*said, f"waiting until {due.isoformat(timespec='seconds')}"]
        if isinstance(action, SendMessage):
            said.append(await _send(session, rule, facts, action))
            continue
        if isinstance(action, SendSurvey):
            asked_in = await _target(session, facts, action.inbox_id or rule.inbox_id)
            said.append(await reaching.send_survey(session, asked_in, action))
            continue
        if isinstance(action, CallWebhook):
            context = await facts.template_context()
            said.append(await reaching.call_webhook(session, rule, context, action))
            continue
        conversation = await facts.conversation()
        if conversation is None:
            said.append(f"{action.type}: no conversation")
            continue
        if isinstance(action, AddNote):
            text = render(action.text, await facts.template_context())
            await add_message(session, conversation, None, body=text, private=True, automated=actor)
            said.append("note added")
            continue
        change = await _change(session, conversation, actor, action, now)
        await tickets.record_changes(session, conversation, actor, [change], now=now)
        said.append(action.type)
    run.status = "done"
    return said


async def _change(
    session: AsyncSession,
    conversation: Conversation,
    actor: tickets.Automated,
    action: Action,
    now: datetime,
) -> tickets.Change | None:
    match action:
        case AssignAgent(agent_id=agent_id):
            return await tickets.change_assignee(session, conversation, actor, agent_id)
        case AssignTeam(team_id=team_id):
            return await tickets.change_team(session, conversation, team_id)
        case AddLabel(label=label):
            labels = list(
                await session.scalars(
                    select(ConversationLabel.label).where(
                        ConversationLabel.conversation_id == conversation.id
                    )
                )
            )
            if label in labels:
                return None
            return await tickets.change_labels(session, conversation, [*labels, label])
        case SetPriority(priority=priority):
            return tickets.change_priority(conversation, priority)
        case Snooze(minutes=minutes):
            until = now + timedelta(minutes=minutes)
            return tickets.change_status(conversation, Status.snoozed, snoozed_until=until, now=now)
        case Resolve():
            return tickets.change_status(conversation, Status.resolved, snoozed_until=None, now=now)
    raise AssertionError(f"unhandled action {action!r}")  # pragma: no cover


async def _send(session: AsyncSession, rule: Rule, facts: Facts, action: SendMessage) -> str:
    conversation = await _target(session, facts, action.inbox_id or rule.inbox_id)
    if conversation is None:
        return "send_message: the contact has no address on that channel"
    facts.use_conversation(conversation)
    since = utcnow() - SEND_WINDOW
    counts = (
        await session.execute(
            select(
                func.count().filter(AutomatedSend.held.is_(False)),
                func.count().filter(AutomatedSend.held.is_(True)),
            ).where(
                AutomatedSend.conversation_id == conversation.id,
                AutomatedSend.created_at > since,
            )
        )
    ).one()
    actor = tickets.Automated(f"Automation {rule.name}")
    name = actor.name
    if counts[0] >= SEND_LIMIT:
        if not counts[1]:
            session.add(AutomatedSend(conversation_id=conversation.id, held=True))
            await add_message(
                session,
                conversation,
                None,
                body=(
                    f"{name} held back a message: automations already sent {SEND_LIMIT} "
                    "messages in this conversation in the last 10 minutes."
                ),
                private=True,
                automated=actor,
            )
        return "send_message: held back (too many automatic messages)"
    await require_reply_possible(session, conversation)
    text = render(action.text, await facts.template_context())
    await add_message(session, conversation, None, body=text, private=False, automated=actor)
    session.add(AutomatedSend(conversation_id=conversation.id))
    return "message sent"


async def _target(session: AsyncSession, facts: Facts, inbox_id: int | None) -> Conversation | None:
    """Where a message goes: this conversation, or the contact's conversation in the
    chosen inbox (started if need be) on an address of that inbox's channel."""
    conversation = await facts.conversation()
    if conversation is not None and inbox_id in (None, conversation.inbox_id):
        return conversation
    if inbox_id is None or facts.contact_id is None:
        return None
    inbox = await session.get(Inbox, inbox_id)
    kind = _ADDRESS_KIND.get(inbox.kind) if inbox is not None else None
    identity = await session.scalar(
        select(ContactIdentity.id)
        .where(ContactIdentity.contact_id == facts.contact_id, ContactIdentity.kind == kind)
        .order_by(ContactIdentity.reachable.desc(), ContactIdentity.id.desc())
        .limit(1)
    )
    if identity is None:
        return None
    return await tickets.outreach_conversation(
        session, inbox_id=inbox_id, contact_id=facts.contact_id, identity_id=identity
    )


async def run_step(session: AsyncSession, step: ScheduledStep) -> None:
    """A due step, in the transaction that deletes it: go on with its rule, unless a stop
    condition holds."""
    await session.delete(step)
    event_log.mark_origin(session, ORIGIN)
    rule = await session.get(Rule, step.rule_id)
    if rule is None or not rule.enabled:
        return
    facts = Facts.restore(session, step.context)
    if step.kind == "idle":
        # Idle if nobody wrote after the message that set this clock (the rules' own
        # messages, which set no clock, do not count either).
        conversation = await facts.conversation()
        since = datetime.fromisoformat(step.context["since"])
        if conversation is not None and not await _someone_wrote(session, conversation, since):
            await run_rule(session, rule, facts)
        return
    run = await session.get(RuleRun, step.run_id) if step.run_id is not None else None
    if run is None:
        return
    if why := await _stopped(session, facts, step.context):
        run.status, run.detail = "cancelled", f"{run.detail}; cancelled: {why}"[:2000]
        run.updated_at = utcnow()
        return
    await run_rule(session, rule, facts, run=run, start=step.next_action)


async def _stopped(session: AsyncSession, facts: Facts, context: dict[str, Any]) -> str | None:
    """Why a waiting rule must not go on, if it must not."""
    if await facts.contact() is None:
        return "the contact was deleted"
    conversation = await facts.conversation()
    if conversation is None:
        return None
    if conversation.identity_id is not None:
        identity = await session.get(ContactIdentity, conversation.identity_id)
        if identity is not None and not identity.reachable:
            return "the contact can no longer be reached (unsubscribed)"
    if context.get("cancel_on_reply", True):
        since = datetime.fromisoformat(context["since"])
        if await _someone_wrote(session, conversation, since):
            return "someone wrote in the conversation"
    return None


async def _someone_wrote(
    session: AsyncSession, conversation: Conversation, since: datetime
) -> bool:
    """Whether the customer or an agent wrote in the conversation after `since` (automatic
    messages, a rule's or an acknowledgement, are nobody's)."""
    wrote = await session.scalar(
        select(
            exists().where(
                Message.conversation_id == conversation.id,
                Message.created_at > since,
                (Message.direction == Direction.inbound)
                | (
                    (Message.direction == Direction.outbound) & Message.sender_agent_id.is_not(None)
                ),
            )
        )
    )
    return bool(wrote)
