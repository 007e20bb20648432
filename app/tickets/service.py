"""Conversations: finding them, and every change an agent makes to one, with its activity
line and events. (Their messages are in messages.py.)

Each field has a `change_*` function that applies one change and returns what it was (a
`Change`), or None when the field already had that value; `record_changes` then writes the
activity lines and one `conversation.updated` event. Code that changes these fields on
someone's behalf (today an agent's edit, `update_conversation`) takes these two steps, so
each change is told the same way wherever it comes from."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVarTuple

from sqlalchemy import Select, and_, delete, exists, func, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app import search
from app.agents.models import Agent, Team
from app.db import utcnow
from app.errors import Conflict, Invalid
from app.events import log as event_log
from app.events.types import (
    ConversationCreated,
    ConversationUpdated,
    MessageCreated,
)
from app.fields import MAX_ID, to_utc
from app.inboxes.models import Inbox, inbox_agents
from app.tickets.models import (
    Conversation,
    ConversationLabel,
    Direction,
    Message,
    Priority,
    Status,
)
from app.tickets.schemas import SlaState
from app.tickets.shapes import conversation_view, message_views

Ts = TypeVarTuple("Ts")


class SlaFilter(StrEnum):
    breaching_soon = "breaching_soon"  # 80% of a target's time gone, not yet due
    breached = "breached"  # a target is past due


@dataclass(frozen=True, slots=True)
class ConversationFilter:
    status: Status | None = None
    inbox_id: int | None = None
    channel: str | None = None
    assignee: str | None = None  # "me", "unassigned" or an agent id
    label: str | None = None
    q: str | None = None
    updated_since: datetime | None = None
    sla: SlaFilter | None = None


def encode_cursor(at: datetime, id_: int) -> str:
    return base64.urlsafe_b64encode(json.dumps([at.isoformat(), id_]).encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        at, id_ = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        position = to_utc(datetime.fromisoformat(at)), int(id_)
        if not 0 < position[1] <= MAX_ID:
            raise ValueError("id out of range")
    except (ValueError, TypeError, OverflowError, binascii.Error) as exc:
        raise Invalid("cursor is not one this server gave out", code="invalid_cursor") from exc
    return position


async def _filtered(
    session: AsyncSession,
    stmt: Select[*Ts],
    agent: Agent,
    f: ConversationFilter,
    visible: set[int] | None,
) -> Select[*Ts]:
    if visible is not None:
        stmt = stmt.where(Conversation.inbox_id.in_(visible))
    if f.status is not None:
        stmt = stmt.where(Conversation.status == f.status)
    if f.inbox_id is not None:
        stmt = stmt.where(Conversation.inbox_id == f.inbox_id)
    if f.channel is not None:
        stmt = stmt.where(
            Conversation.inbox_id.in_(select(Inbox.id).where(Inbox.kind == f.channel))
        )
    if f.assignee == "me":
        stmt = stmt.where(Conversation.assignee_id == agent.id)
    elif f.assignee == "unassigned":
        stmt = stmt.where(Conversation.assignee_id.is_(None))
    elif f.assignee is not None:
        try:
            assignee_id = int(f.assignee)
        except ValueError as exc:
            raise Invalid(
                "assignee: 'me', 'unassigned' or an agent id", code="invalid_filter"
            ) from exc
        if not 0 < assignee_id <= MAX_ID:  # no agent has it; the database could not compare
            raise Invalid("assignee: no agent has that id", code="invalid_filter")
        stmt = stmt.where(Conversation.assignee_id == assignee_id)
    if f.label is not None:
        stmt = stmt.where(
            exists().where(
                ConversationLabel.conversation_id == Conversation.id,
                ConversationLabel.label == f.label,
            )
        )
    if f.updated_since is not None:
        stmt = stmt.where(Conversation.updated_at > f.updated_since)
    if f.sla is not None:
        state = SlaState.warning if f.sla == SlaFilter.breaching_soon else SlaState.breached
        stmt = stmt.where(Conversation.sla_state == state)
    if f.q and f.q.strip():
        stmt = stmt.where(await search.conversation_match(session, f.q))
    return stmt


async def list_conversations(
    session: AsyncSession,
    agent: Agent,
    f: ConversationFilter,
    *,
    visible: set[int] | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[Conversation], str | None]:
    """Newest activity first, keyset-paginated on (last_activity_at, id)."""
    stmt = await _filtered(session, select(Conversation), agent, f, visible)
    if cursor:
        at, id_ = decode_cursor(cursor)
        stmt = stmt.where(
            or_(
                Conversation.last_activity_at < at,
                and_(Conversation.last_activity_at == at, Conversation.id < id_),
            )
        )
    stmt = stmt.order_by(Conversation.last_activity_at.desc(), Conversation.id.desc()).limit(
        limit + 1
    )
    rows = list((await session.scalars(stmt)).all())
    page, more = rows[:limit], len(rows) > limit
    next_cursor = encode_cursor(page[-1].last_activity_at, page[-1].id) if more and page else None
    return page, next_cursor


async def count_open(
    session: AsyncSession, agent: Agent, *, visible: set[int] | None
) -> tuple[int, int, int]:
    """Open conversations in the agent's inboxes: (all, the agent's, nobody's), read in one
    pass over the open ones."""
    stmt = await _filtered(
        session,
        select(
            func.count(),
            func.count().filter(Conversation.assignee_id == agent.id),
            func.count().filter(Conversation.assignee_id.is_(None)),
        ).select_from(Conversation),
        agent,
        ConversationFilter(status=Status.open),
        visible,
    )
    total, mine, unassigned = (await session.execute(stmt)).one()
    return int(total), int(mine), int(unassigned)


async def _record_message(session: AsyncSession, message: Message) -> None:
    (view,) = await message_views(session, [message])
    public = message.direction in (Direction.inbound, Direction.outbound)
    event_log.record(
        session,
        MessageCreated(message=view),
        event_log.Scope(
            inbox_id=message.inbox_id, conversation_id=message.conversation_id, public=public
        ),
    )


async def record_conversation_change(
    session: AsyncSession, conversation: Conversation, changes: list[str]
) -> None:
    view = await conversation_view(session, conversation)
    event_log.record(
        session,
        ConversationUpdated(conversation=view, changes=changes),
        event_log.Scope(inbox_id=conversation.inbox_id, conversation_id=conversation.id),
    )


def require_writable(conversation: Conversation) -> None:
    """Refuse (409 `conversation_merged`) any change to a conversation merged into another:
    it is kept as it was, read-only; its messages and what comes later are in the other."""
    if conversation.status == Status.merged:
        raise Conflict(
            f"this conversation was merged into conversation {conversation.merged_into_id}; "
            "reply and make changes there",
            code="conversation_merged",
        )


async def follow_merges(
    session: AsyncSession, conversations: Sequence[Conversation]
) -> dict[int, Conversation]:
    """The conversation each of these (by id) now lives in: itself, or the end of its chain
    of `merged_into_id` (one query per link of the longest chain)."""
    final = {c.id: c for c in conversations}
    pointing = {c.id: c.merged_into_id for c in conversations if c.merged_into_id is not None}
    while pointing:
        targets = {
            c.id: c
            for c in await session.scalars(
                select(Conversation).where(Conversation.id.in_(set(pointing.values())))
            )
        }
        following = {}
        for origin, target_id in pointing.items():
            target = targets[target_id]
            final[origin] = target
            if target.merged_into_id is not None and target.merged_into_id != origin:
                following[origin] = target.merged_into_id
        pointing = following
    return final


@dataclass(frozen=True, slots=True)
class Automated:
    """Who changes a conversation when no agent does: a rule, round robin, an SLA clock.
    Its activity lines are the system's (no sender agent) and name it in their metadata
    (`"by": name`), so a client can say "Automation ‘Welcome’ resolved the conversation"."""

    name: str


# Who does something to a conversation.
Actor = Agent | Automated


async def record_activity(
    session: AsyncSession,
    conversation: Conversation,
    actor: Actor,
    text: str,
    activity: dict[str, Any],
) -> None:
    """An activity line: `text` in English for any client, and `activity` (in the message's
    metadata, `{"action": ..., ...}`) for a client that says it in the agent's language."""
    now = utcnow()
    meta: dict[str, Any] = {"activity": activity}
    if isinstance(actor, Automated):
        meta["by"] = actor.name
    message = Message(
        conversation_id=conversation.id,
        inbox_id=conversation.inbox_id,
        direction=Direction.activity,
        sender_agent_id=actor.id if isinstance(actor, Agent) else None,
        body_text=text,
        created_at=now,
        updated_at=now,
        attempts=0,
        meta=meta,
    )
    session.add(message)
    await session.flush()
    await _record_message(session, message)


async def _assignable(session: AsyncSession, agent_id: int, inbox_id: int) -> Agent:
    assignee = await session.get(Agent, agent_id)
    if assignee is None or not assignee.is_active:
        raise Invalid("assignee_id: no active agent with that id", code="invalid_assignee")
    if not assignee.is_admin:
        member = await session.scalar(
            select(inbox_agents.c.agent_id).where(
                inbox_agents.c.inbox_id == inbox_id, inbox_agents.c.agent_id == agent_id
            )
        )
        if member is None:
            raise Invalid(
                "assignee_id: that agent does not work in this inbox", code="invalid_assignee"
            )
    return assignee


@dataclass(frozen=True, slots=True)
class Change:
    """One field's change, already applied to the conversation: its name in
    `conversation.updated`'s `changes`, and the activity line it leaves (`said` after the
    agent's name, `activity` for a client that says it in the agent's language), if any."""

    name: str
    said: str | None = None
    activity: dict[str, Any] | None = None


_STATUS_SAID = {
    Status.open: "reopened",
    Status.pending: "set the conversation to pending",
    Status.resolved: "resolved the conversation",
}


def _future(snoozed_until: datetime | None, now: datetime) -> datetime:
    if snoozed_until is None or snoozed_until <= now:
        raise Invalid("snoozed_until: a future time is needed to snooze", code="invalid_snooze")
    return snoozed_until


def change_status(
    conversation: Conversation, status: Status, *, snoozed_until: datetime | None, now: datetime
) -> Change | None:
    """Move the conversation to `status` (snoozed: until `snoozed_until`, in the future)."""
    if status == conversation.status:
        return None
    if status == Status.snoozed:
        until = _future(snoozed_until, now).isoformat()
        change = Change(
            "status",
            f"snoozed the conversation until {until}",
            {"action": "status", "status": status.value, "until": until},
        )
        conversation.snoozed_until = snoozed_until
    else:
        change = Change(
            "status", _STATUS_SAID[status], {"action": "status", "status": status.value}
        )
        conversation.snoozed_until = None
    if status == Status.resolved:
        conversation.resolved_at = now
        conversation.first_resolved_at = conversation.first_resolved_at or now
        conversation.waiting_since = None
    else:
        conversation.resolved_at = None
    conversation.status = status
    return change


def change_snooze(
    conversation: Conversation, snoozed_until: datetime | None, *, now: datetime
) -> Change | None:
    """Snooze a snoozed conversation until another time; this leaves no activity line."""
    if (
        conversation.status != Status.snoozed
        or snoozed_until is None
        or snoozed_until == conversation.snoozed_until
    ):
        return None
    conversation.snoozed_until = _future(snoozed_until, now)
    return Change("snoozed_until")


async def change_assignee(
    session: AsyncSession, conversation: Conversation, actor: Actor, assignee_id: int | None
) -> Change | None:
    """Assign the conversation to an active agent of its inbox (`actor` is who does it), or
    to nobody (None)."""
    if assignee_id == conversation.assignee_id:
        return None
    if assignee_id is None:
        change = Change(
            "assignee", "unassigned the conversation", {"action": "assignee", "assignee": None}
        )
    else:
        assignee = await _assignable(session, assignee_id, conversation.inbox_id)
        itself = isinstance(actor, Agent) and assignee.id == actor.id
        who = "themselves" if itself else assignee.name
        change = Change(
            "assignee",
            f"assigned the conversation to {who}",
            {"action": "assignee", "assignee": {"id": assignee.id, "name": assignee.name}},
        )
    conversation.assignee_id = assignee_id
    return change


async def change_team(
    session: AsyncSession, conversation: Conversation, team_id: int | None
) -> Change | None:
    if team_id == conversation.team_id:
        return None
    if team_id is None:
        change = Change(
            "team", "removed the conversation from its team", {"action": "team", "team": None}
        )
    else:
        team = await session.get(Team, team_id)
        if team is None:
            raise Invalid("team_id: no team with that id", code="invalid_team")
        change = Change(
            "team",
            f"assigned the conversation to team {team.name}",
            {"action": "team", "team": {"id": team.id, "name": team.name}},
        )
    conversation.team_id = team_id
    return change


def change_priority(conversation: Conversation, priority: Priority) -> Change | None:
    if priority == conversation.priority:
        return None
    conversation.priority = priority
    return Change(
        "priority",
        f"set priority to {priority}",
        {"action": "priority", "priority": priority.value},
    )


async def change_labels(
    session: AsyncSession, conversation: Conversation, labels: Sequence[str]
) -> Change | None:
    """Give the conversation exactly these labels."""
    wanted = {label.strip() for label in labels}
    current = set(
        (
            await session.scalars(
                select(ConversationLabel.label).where(
                    ConversationLabel.conversation_id == conversation.id
                )
            )
        ).all()
    )
    if wanted == current:
        return None
    added, removed = sorted(wanted - current), sorted(current - wanted)
    await session.execute(
        delete(ConversationLabel).where(
            ConversationLabel.conversation_id == conversation.id,
            ConversationLabel.label.in_(removed),
        )
    )
    if added:
        await session.execute(
            insert(ConversationLabel),
            [{"conversation_id": conversation.id, "label": label} for label in added],
        )
    said = [f"added labels: {', '.join(added)}"] if added else []
    said += [f"removed labels: {', '.join(removed)}"] if removed else []
    return Change(
        "labels", "; ".join(said), {"action": "labels", "added": added, "removed": removed}
    )


async def record_changes(
    session: AsyncSession,
    conversation: Conversation,
    actor: Actor,
    changes: Sequence[Change | None],
    *,
    now: datetime,
) -> None:
    """What `actor` changed (the `change_*` results, None for a field left as it was): an
    activity line for each change that leaves one, in order, and one `conversation.updated`
    event naming them all."""
    made = [change for change in changes if change is not None]
    if not made:
        return
    for change in made:
        if change.said is not None and change.activity is not None:
            await record_activity(
                session, conversation, actor, f"{actor.name} {change.said}", change.activity
            )
    conversation.updated_at = now
    conversation.last_activity_at = now
    await session.flush()
    await record_conversation_change(session, conversation, [change.name for change in made])


async def update_conversation(
    session: AsyncSession,
    conversation: Conversation,
    agent: Agent,
    *,
    fields: set[str],
    status: Status | None = None,
    assignee_id: int | None = None,
    team_id: int | None = None,
    priority: Priority | None = None,
    labels: list[str] | None = None,
    snoozed_until: datetime | None = None,
) -> Conversation:
    """Apply the fields the client sent (`fields`); each change leaves an activity line.
    A `snoozed_until` sent without a status snoozes."""
    require_writable(conversation)
    if status == Status.merged:
        raise Invalid(
            "status: conversations are merged with POST /api/v1/conversations/{id}/merge",
            code="invalid_status",
        )
    now = utcnow()
    if "snoozed_until" in fields and snoozed_until is not None and status is None:
        status = Status.snoozed
    changes: list[Change | None] = []
    if status is not None:
        changes.append(
            change_status(conversation, status, snoozed_until=snoozed_until, now=now)
            or change_snooze(conversation, snoozed_until, now=now)
        )
    if "assignee_id" in fields:
        changes.append(await change_assignee(session, conversation, agent, assignee_id))
    if "team_id" in fields:
        changes.append(await change_team(session, conversation, team_id))
    if priority is not None:
        changes.append(change_priority(conversation, priority))
    if labels is not None:
        changes.append(await change_labels(session, conversation, labels))
    await record_changes(session, conversation, agent, changes, now=now)
    return conversation


async def mark_read(session: AsyncSession, conversation: Conversation) -> None:
    if conversation.unread_count:
        conversation.unread_count = 0
        conversation.updated_at = utcnow()
        await session.flush()
        await record_conversation_change(session, conversation, ["unread_count"])


async def outreach_conversation(
    session: AsyncSession, *, inbox_id: int, contact_id: int, identity_id: int
) -> Conversation:
    """Where a message we start (a confirmation, not an answer) goes: the contact's latest
    conversation in that inbox, else a new one, resolved from the start so that it does
    not wait in anyone's queue (an answer from the customer reopens it)."""
    conversation = await session.scalar(
        select(Conversation)
        .where(Conversation.inbox_id == inbox_id, Conversation.contact_id == contact_id)
        .order_by(Conversation.last_activity_at.desc(), Conversation.id.desc())
        .limit(1)
    )
    if conversation is not None:
        return conversation
    now = utcnow()
    conversation = Conversation(
        inbox_id=inbox_id,
        contact_id=contact_id,
        identity_id=identity_id,
        status=Status.resolved,
        priority=Priority.none,
        unread_count=0,
        resolved_at=now,
        created_at=now,
        last_activity_at=now,
        updated_at=now,
    )
    session.add(conversation)
    await session.flush()
    event_log.record(
        session,
        ConversationCreated(conversation=await conversation_view(session, conversation)),
        event_log.Scope(inbox_id=inbox_id, conversation_id=conversation.id),
    )
    return conversation
