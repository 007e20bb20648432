"""SLA policies per inbox and priority, and the clocks they start on conversations.

The clocks follow the event log (consumer "sla", `on_events`), so nothing is added to the
paths that ingest messages or apply an agent's change:

- a new open conversation starts `first_response` and `resolution`;
- an agent's reply meets `first_response` and `next_response` (automatic replies do not);
- a customer's message (not an auto-reply) after the first answer starts `next_response`,
  unless one runs already (it counts from the oldest unanswered message);
- pending or snoozed pauses every clock; open again resumes them where they stood;
- resolved stops every clock;
- reopened (resolved → open): `resolution` restarts with its full target, and so does
  `first_response` if nobody ever answered; `next_response` starts with the customer's
  message that reopened it (an agent reopening starts no response clock);
- a priority change gives running clocks the new policy's targets (a step it has no target
  for stops).

A policy applies to conversations from their next such event after it is saved. Due times
are counted in the inbox's business hours. `announce_due` (maintenance, every 10 s) records
`conversation.sla_warning` at 80% of a target and `conversation.sla_breached` at its due
time, each once per clock; it reads only conversations whose `sla_next_check_at` has come.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import utcnow
from app.events import log as event_log
from app.events.types import ConversationSlaBreached, ConversationSlaWarning
from app.hours.schedule import Schedule
from app.hours.service import schedule_for, schedules_for
from app.inbound.senders import lock_contacts_of
from app.sla.clock import Clocks, Target
from app.sla.models import SlaPolicy
from app.tickets.models import Conversation, Priority, Status
from app.tickets.service import record_conversation_change
from app.tickets.shapes import conversation_view

BATCH = 500
Targets = dict[Target, float | None]


# --------------------------------------------------------------------------- policies


async def list_policies(session: AsyncSession, inbox_id: int) -> list[SlaPolicy]:
    rows = await session.scalars(select(SlaPolicy).where(SlaPolicy.inbox_id == inbox_id))
    order = list(Priority)
    return sorted(rows, key=lambda p: order.index(Priority(p.priority)))


@dataclass(frozen=True, slots=True)
class PolicyTargets:
    priority: Priority
    first_response_minutes: int | None
    next_response_minutes: int | None
    resolution_minutes: int | None


async def replace_policies(
    session: AsyncSession, inbox_id: int, policies: Sequence[PolicyTargets]
) -> list[SlaPolicy]:
    """The inbox's policies become exactly these (one per priority). Without any, the
    clocks of its conversations are cleared (no event follows that could move them)."""
    await session.execute(delete(SlaPolicy).where(SlaPolicy.inbox_id == inbox_id))
    if not policies:
        await session.execute(
            update(Conversation)
            .where(Conversation.inbox_id == inbox_id, Conversation.sla_state.is_not(None))
            .values(
                sla=None,
                sla_state=None,
                sla_paused_at=None,
                sla_next_check_at=None,
                first_response_due_at=None,
                next_response_due_at=None,
                resolution_due_at=None,
            )
        )
    now = utcnow()
    for p in policies:
        session.add(
            SlaPolicy(
                inbox_id=inbox_id,
                priority=p.priority,
                first_response_minutes=p.first_response_minutes,
                next_response_minutes=p.next_response_minutes,
                resolution_minutes=p.resolution_minutes,
                updated_at=now,
            )
        )
    await session.flush()
    return await list_policies(session, inbox_id)


def _targets(policy: SlaPolicy) -> Targets:
    def seconds(minutes: int | None) -> float | None:
        return None if minutes is None else minutes * 60.0

    return {
        "first_response": seconds(policy.first_response_minutes),
        "next_response": seconds(policy.next_response_minutes),
        "resolution": seconds(policy.resolution_minutes),
    }


@dataclass(slots=True)
class _Cache:
    """What one batch of events reads per inbox, read once."""

    session: AsyncSession
    policies: dict[int, dict[str, Targets]] = field(default_factory=dict)
    schedules: dict[int, Schedule] = field(default_factory=dict)

    async def targets(self, inbox_id: int) -> dict[str, Targets]:
        if inbox_id not in self.policies:
            rows = await list_policies(self.session, inbox_id)
            self.policies[inbox_id] = {str(p.priority): _targets(p) for p in rows}
        return self.policies[inbox_id]

    async def schedule(self, inbox_id: int) -> Schedule:
        if inbox_id not in self.schedules:
            self.schedules[inbox_id] = await schedule_for(self.session, inbox_id)
        return self.schedules[inbox_id]


# --------------------------------------------------------------------------- the clocks


def _store(conversation: Conversation, clocks: Clocks, schedule: Schedule, at: datetime) -> bool:
    """Write the clocks to the conversation; whether anything a client shows changed."""
    shown = (
        conversation.first_response_due_at,
        conversation.next_response_due_at,
        conversation.resolution_due_at,
        conversation.sla_state,
        conversation.sla_paused_at is not None,
    )
    dues = clocks.due_times(schedule)
    conversation.sla = clocks.to_json()
    conversation.first_response_due_at = dues["first_response"]
    conversation.next_response_due_at = dues["next_response"]
    conversation.resolution_due_at = dues["resolution"]
    conversation.sla_state = clocks.state()
    paused = clocks.paused and bool(clocks.clocks)
    conversation.sla_paused_at = (conversation.sla_paused_at or at) if paused else None
    conversation.sla_next_check_at = clocks.next_check(schedule)
    changed = shown != (
        conversation.first_response_due_at,
        conversation.next_response_due_at,
        conversation.resolution_due_at,
        conversation.sla_state,
        paused,
    )
    if changed:
        conversation.updated_at = max(conversation.updated_at, at)
    return changed


def _kind(event: event_log.Logged) -> str | None:
    """What an event means to the clocks (None: nothing)."""
    data = event.data
    if event.type == "conversation.created":
        return "created"
    if event.type == "conversation.updated":
        changes = data.get("changes", [])
        if "status" in changes:
            return "status"
        return "priority" if "priority" in changes else None
    if event.type == "message.created":
        message = data["message"]
        if message["direction"] == "inbound" and not message["is_auto"]:
            return "inbound"
        if message["direction"] == "outbound" and message["sender_type"] == "agent":
            return "answered"
    return None


def _apply(
    clocks: Clocks,
    kind: str,
    view: dict[str, Any] | None,
    targets: Targets,
    schedule: Schedule,
    at: datetime,
) -> None:
    if kind == "status" and view is not None:
        new, old = view["status"], clocks.status
        if new == Status.resolved:
            clocks.clocks.clear()
        elif new in (Status.pending, Status.snoozed) and not clocks.paused:
            clocks.pause(schedule, at)
        elif new == Status.open and old == Status.resolved:
            clocks.status = new
            clocks.start("resolution", targets.get("resolution"), at)
            if not clocks.responded:
                clocks.start("first_response", targets.get("first_response"), at)
        elif new == Status.open and clocks.paused:
            clocks.resume(at)
        clocks.status = new
    elif kind == "priority":
        clocks.retarget(targets, at)
    elif kind == "inbound":
        running = "next_response" in clocks.clocks
        if clocks.responded and clocks.status != Status.resolved and not running:
            clocks.start("next_response", targets.get("next_response"), at)
    elif kind == "answered":
        clocks.responded = True
        clocks.stop("first_response")
        clocks.stop("next_response")


async def _follow(session: AsyncSession, cache: _Cache, event: event_log.Logged) -> None:
    kind = _kind(event)
    if kind is None or event.conversation_id is None or event.inbox_id is None:
        return
    policies = await cache.targets(event.inbox_id)
    if not policies:
        return  # an inbox without SLAs: one cached lookup, no row read
    conversation = await session.get(Conversation, event.conversation_id, with_for_update=True)
    if conversation is None:
        return
    view: dict[str, Any] | None = event.data.get("conversation")
    priority = view["priority"] if view else conversation.priority
    targets = policies.get(str(priority), {})
    schedule = await cache.schedule(conversation.inbox_id)
    at = event.created_at
    if conversation.sla is None:
        if not targets:
            return
        status = view["status"] if view else conversation.status
        clocks = Clocks(responded=conversation.first_response_at is not None, status=status)
        if status != Status.resolved:
            clocks.start("resolution", targets.get("resolution"), at)
            if not clocks.responded:
                clocks.start("first_response", targets.get("first_response"), at)
        if kind not in ("created", "status"):
            _apply(clocks, kind, view, targets, schedule, at)
    else:
        clocks = Clocks.from_json(conversation.sla)
        _apply(clocks, kind, view, targets, schedule, at)
    if _store(conversation, clocks, schedule, at):
        await session.flush()
        await record_conversation_change(session, conversation, ["sla"])


async def interested(session: AsyncSession, events: Sequence[event_log.Logged]) -> bool:
    """The consumer's interest (app.events.consumers): an event that moves a clock, and a
    policy to move it by."""
    return any(_kind(event) is not None for event in events) and bool(
        await session.scalar(select(SlaPolicy.id).limit(1))
    )


async def on_events(session: AsyncSession, events: Sequence[event_log.Logged]) -> None:
    """The log consumer's handler: move the clocks of the conversations these events
    changed, in the consumer's transaction."""
    cache = _Cache(session)
    followed = {e.conversation_id for e in events if e.conversation_id and _kind(e)}
    await lock_contacts_of(session, followed)
    for event in events:
        await _follow(session, cache, event)


async def announce_due(session: AsyncSession, now: datetime) -> int:
    """Record the warnings and breaches due by `now` (indexed on `sla_next_check_at`);
    the number of conversations looked at."""
    due = list(
        (
            await session.scalars(
                select(Conversation)
                .where(Conversation.sla_next_check_at <= now)
                .order_by(Conversation.sla_next_check_at)
                .limit(BATCH)
                .with_for_update(skip_locked=True)
            )
        ).all()
    )
    schedules = await schedules_for(session, {c.inbox_id for c in due})
    for conversation in due:
        schedule = schedules[conversation.inbox_id]
        clocks = Clocks.from_json(conversation.sla)
        announcements = clocks.announce(schedule, now)
        changed = _store(conversation, clocks, schedule, now)
        await session.flush()
        scope = event_log.Scope(inbox_id=conversation.inbox_id, conversation_id=conversation.id)
        view = await conversation_view(session, conversation)
        for said in announcements:
            event_type = (
                ConversationSlaWarning if said.kind == "warning" else ConversationSlaBreached
            )
            event_log.record(
                session,
                event_type(conversation=view, target=said.target, due_at=said.due_at),
                scope,
            )
        if changed:
            await record_conversation_change(session, conversation, ["sla"])
    return len(due)
