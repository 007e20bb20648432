"""The reports, computed in the account's timezone (see README, "Reports", for what each
figure counts and how a reopened conversation is counted).

Conversation figures are read from the conversations themselves: their arrival
(`created_at`), first answer (`first_response_at`) and first resolution
(`first_resolved_at`), set once and never moved by a reopen. Message counts come from the
quarter-hour roll-up (app/reports/rollup.py) unless a filter names something only a
conversation knows (team, agent, label): then from the messages of those conversations."""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Integer,
    String,
    cast,
    exists,
    extract,
    func,
    literal_column,
    select,
    type_coerce,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from app.account import service as account
from app.agents.models import Agent, Team
from app.db import utcnow
from app.errors import Invalid
from app.inboxes.models import Inbox, InboxKind
from app.reports.clock import Clock
from app.reports.models import MessageCount
from app.reports.schemas import (
    AgentRow,
    AgentsReport,
    CsatFigures,
    HeatCell,
    NpsFigures,
    Period,
    SatisfactionReport,
    SpeedDay,
    SpeedFigures,
    SpeedReport,
    TeamRow,
    VolumeChannel,
    VolumeDay,
    VolumeFigures,
    VolumeInbox,
    VolumeReport,
)
from app.tickets.models import Conversation, ConversationLabel, Direction, Message

DEFAULT_DAYS = 30
MAX_DAYS = 732  # two years and a leap day


@dataclass(frozen=True, slots=True)
class ReportFilter:
    since: date | None = None
    until: date | None = None
    channel: InboxKind | None = None
    inbox_id: int | None = None
    team_id: int | None = None
    agent_id: int | None = None
    label: str | None = None

    @property
    def by_conversation(self) -> bool:
        """Whether it names something the message roll-up does not know."""
        return self.team_id is not None or self.agent_id is not None or self.label is not None


@dataclass(frozen=True)
class _Scope:
    """One report request, resolved: its local days, their UTC bounds, its clock."""

    filters: ReportFilter
    visible: set[int] | None
    zone: ZoneInfo
    since: date
    until: date
    clock: Clock

    @property
    def period(self) -> Period:
        return Period(timezone=self.zone.key, since=self.since, until=self.until)

    def inboxes(self, column: Any) -> list[ColumnElement[bool]]:
        """Conditions on an inbox id column: the caller's inboxes, the inbox and channel."""
        where: list[ColumnElement[bool]] = []
        if self.visible is not None:
            where.append(column.in_(self.visible))
        if self.filters.inbox_id is not None:
            where.append(column == self.filters.inbox_id)
        if self.filters.channel is not None:
            where.append(column.in_(select(Inbox.id).where(Inbox.kind == self.filters.channel)))
        return where

    def conversations(self, *, arrived: bool = True) -> list[ColumnElement[bool]]:
        """Conditions on conversations: the filters, and (`arrived`) arrival in the period."""
        f = self.filters
        where = self.inboxes(Conversation.inbox_id)
        if arrived:
            where += [
                Conversation.created_at >= self.clock.start,
                Conversation.created_at < self.clock.end,
            ]
        # Where the period's bounds come from a join of ranges (SQLite), `+ 0` keeps the
        # planner on the time index: through the team's or assignee's index it would try
        # every range for each of their conversations.
        unindexed = not arrived and self.clock.dialect == "sqlite"
        if f.team_id is not None:
            team = Conversation.team_id + 0 if unindexed else Conversation.team_id
            where.append(team == f.team_id)
        if f.agent_id is not None:
            assignee = Conversation.assignee_id + 0 if unindexed else Conversation.assignee_id
            where.append(assignee == f.agent_id)
        if f.label is not None:
            where.append(
                exists().where(
                    ConversationLabel.conversation_id == Conversation.id,
                    ConversationLabel.label == f.label,
                )
            )
        return where


async def _scope(session: AsyncSession, f: ReportFilter, visible: set[int] | None) -> _Scope:
    zone = await account.timezone(session)
    until = f.until or utcnow().astimezone(zone).date()  # today where the account is
    since = f.since or until - timedelta(days=DEFAULT_DAYS - 1)
    if since > until:
        raise Invalid("since: after until", code="invalid_period")
    if (until - since).days >= MAX_DAYS:
        raise Invalid(f"the period is longer than {MAX_DAYS} days", code="invalid_period")
    clock = Clock(zone=zone, dialect=session.get_bind().dialect.name, since=since, until=until)
    return _Scope(f, visible, zone, since, until, clock)


async def _per_range(
    session: AsyncSession,
    clock: Clock,
    unit: Literal["day", "hour"],
    column: Any,
    where: Sequence[Any],
    keys: Sequence[Any],
    *aggregates: Any,
) -> list[Any]:
    """(n, *keys, *aggregates) grouped by the local day (or hour) n of the period that
    `column` falls in, and by the keys."""
    n, joined = clock.numbering(unit, column)
    stmt = joined(select(n.label("n"), *keys, *aggregates)).where(*where)
    return list((await session.execute(stmt.group_by(literal_column("n"), *keys))).all())


async def _inboxes(session: AsyncSession) -> dict[int, tuple[str, str]]:
    rows = await session.execute(select(Inbox.id, Inbox.name, Inbox.kind))
    return {id_: (name, str(kind)) for id_, name, kind in rows}


async def _message_counts(session: AsyncSession, scope: _Scope) -> list[tuple[int, int, int, int]]:
    """(local day n, inbox id, in, out) for messages written in the period."""
    clock = scope.clock
    if not scope.filters.by_conversation:
        rows = await _per_range(
            session,
            clock,
            "day",
            MessageCount.bucket,
            scope.inboxes(MessageCount.inbox_id),
            [MessageCount.inbox_id],
            func.sum(MessageCount.inbound),
            func.sum(MessageCount.outbound),
        )
        return [(int(n), int(inbox), int(i), int(o)) for n, inbox, i, o in rows]
    # The messages of the conversations the filter names, put in their days here: the
    # messages table has no index on time to join the days on.
    starts = [clock.bound(start) for start, _ in clock.day_ranges()]
    found = await session.execute(
        select(type_coerce(Message.created_at, String), Message.inbox_id, Message.direction).where(
            Message.created_at >= clock.start,
            Message.created_at < clock.end,
            Message.direction.in_((Direction.inbound, Direction.outbound)),
            Message.conversation_id.in_(
                select(Conversation.id).where(*scope.conversations(arrived=False))
            ),
        )
    )
    counted: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
    for at, inbox_id, direction in found:
        counts = counted[(bisect_right(starts, at) - 1, int(inbox_id))]
        counts[0 if direction == Direction.inbound else 1] += 1
    return [(n, inbox, i, o) for (n, inbox), (i, o) in counted.items()]


async def volume(session: AsyncSession, f: ReportFilter, visible: set[int] | None) -> VolumeReport:
    scope = await _scope(session, f, visible)
    clock = scope.clock
    arrived = await _per_range(
        session,
        clock,
        "day",
        Conversation.created_at,
        scope.conversations(arrived=False),
        [Conversation.inbox_id],
        func.count(),
    )
    hours = clock.hour_ranges()
    heat = await _per_range(
        session,
        clock,
        "hour",
        Conversation.created_at,
        scope.conversations(arrived=False),
        [],
        func.count(),
    )
    inboxes = await _inboxes(session)
    per_day: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
    per_inbox: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
    for n, inbox_id, count in arrived:
        per_day[int(n)][0] += int(count)
        per_inbox[int(inbox_id)][0] += int(count)
    for n, inbox_id, inbound, outbound in await _message_counts(session, scope):
        for counts in (per_day[n], per_inbox[inbox_id]):
            counts[1] += inbound
            counts[2] += outbound
    per_channel: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for inbox_id, values in per_inbox.items():
        channel = inboxes[inbox_id][1]
        per_channel[channel] = [a + b for a, b in zip(per_channel[channel], values, strict=True)]
    cells: dict[tuple[int, int], int] = defaultdict(int)
    for n, count in heat:
        local = clock.local(hours[int(n)][0])
        cells[(local.weekday(), local.hour)] += int(count)

    def figures(values: list[int]) -> dict[str, int]:
        return dict(zip(("conversations", "messages_in", "messages_out"), values, strict=True))

    return VolumeReport(
        period=scope.period,
        totals=VolumeFigures(**figures([sum(v[k] for v in per_day.values()) for k in range(3)])),
        by_day=[VolumeDay(day=d, **figures(per_day[n])) for n, d in enumerate(clock.days)],
        by_channel=[
            VolumeChannel(channel=channel, **figures(values))
            for channel, values in sorted(per_channel.items())
        ],
        by_inbox=[
            VolumeInbox(
                inbox_id=inbox_id,
                inbox=inboxes[inbox_id][0],
                channel=inboxes[inbox_id][1],
                **figures(values),
            )
            for inbox_id, values in sorted(per_inbox.items())
        ],
        heatmap=[
            HeatCell(weekday=weekday, hour=hour, conversations=cells[(weekday, hour)])
            for weekday in range(7)
            for hour in range(24)
        ],
    )


def _seconds(later: Any, earlier: Any, dialect: str) -> ColumnElement[int]:
    """Whole seconds from `earlier` to `later` (null when `later` is)."""
    if dialect == "sqlite":
        return cast(func.round((func.julianday(later) - func.julianday(earlier)) * 86400), Integer)
    return cast(func.round(extract("epoch", later - earlier)), Integer)


def percentile(ordered: Sequence[int], q: float) -> int | None:
    """The nearest-rank percentile: the smallest value with at least q of them at or
    below it (the median of 1, 2, 3, 4 is 2)."""
    if not ordered:
        return None
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


@dataclass
class _Times:
    """The first-response and resolution times of a group of conversations."""

    conversations: int = 0
    responses: list[int] = field(default_factory=list)
    resolutions: list[int] = field(default_factory=list)

    def add(self, first_response: int | None, resolution: int | None) -> None:
        self.conversations += 1
        if first_response is not None:
            self.responses.append(first_response)
        if resolution is not None:
            self.resolutions.append(resolution)

    def figures(self) -> dict[str, int | None]:
        responses, resolutions = sorted(self.responses), sorted(self.resolutions)

        def mean(values: list[int]) -> int | None:
            return round(sum(values) / len(values)) if values else None

        return {
            "conversations": self.conversations,
            "responded": len(responses),
            "first_response_median": percentile(responses, 0.5),
            "first_response_p90": percentile(responses, 0.9),
            "first_response_mean": mean(responses),
            "resolved": len(resolutions),
            "resolution_median": percentile(resolutions, 0.5),
            "resolution_p90": percentile(resolutions, 0.9),
            "resolution_mean": mean(resolutions),
        }


async def _times(
    session: AsyncSession, scope: _Scope, *key: Any, by_day: bool = False
) -> Iterable[Sequence[Any]]:
    """(*key, first response seconds, resolution seconds) of each conversation that
    arrived; with `by_day`, the local day's n first."""
    dialect = scope.clock.dialect
    stmt = select(
        *key,
        _seconds(Conversation.first_response_at, Conversation.created_at, dialect),
        _seconds(Conversation.first_resolved_at, Conversation.created_at, dialect),
    ).where(*scope.conversations(arrived=not by_day))
    if by_day:
        n, joined = scope.clock.numbering("day", Conversation.created_at)
        stmt = joined(stmt.add_columns(n))
    return await session.execute(stmt)


async def speed(session: AsyncSession, f: ReportFilter, visible: set[int] | None) -> SpeedReport:
    scope = await _scope(session, f, visible)
    total = _Times()
    per_day: dict[int, _Times] = defaultdict(_Times)
    for response, resolution, n in await _times(session, scope, by_day=True):
        total.add(response, resolution)
        per_day[n].add(response, resolution)
    return SpeedReport(
        period=scope.period,
        totals=SpeedFigures(**total.figures()),
        by_day=[SpeedDay(day=d, **per_day[n].figures()) for n, d in enumerate(scope.clock.days)],
    )


async def agents(session: AsyncSession, f: ReportFilter, visible: set[int] | None) -> AgentsReport:
    """Per assignee and per team, as the conversation is assigned now."""
    scope = await _scope(session, f, visible)
    per_agent: dict[int | None, _Times] = defaultdict(_Times)
    per_team: dict[int | None, _Times] = defaultdict(_Times)
    for agent_id, team_id, response, resolution in await _times(
        session, scope, Conversation.assignee_id, Conversation.team_id
    ):
        per_agent[agent_id].add(response, resolution)
        per_team[team_id].add(response, resolution)
    agent_names: dict[int, str] = dict((await session.execute(select(Agent.id, Agent.name))).all())
    team_names: dict[int, str] = dict((await session.execute(select(Team.id, Team.name))).all())

    def order(key: int | None, names: dict[int, str]) -> tuple[bool, str, int]:
        return (key is None, names.get(key or 0, ""), key or 0)

    return AgentsReport(
        period=scope.period,
        agents=[
            AgentRow(agent_id=id_, agent=agent_names.get(id_ or 0), **per_agent[id_].figures())
            for id_ in sorted(per_agent, key=lambda k: order(k, agent_names))
        ],
        teams=[
            TeamRow(team_id=id_, team=team_names.get(id_ or 0), **per_team[id_].figures())
            for id_ in sorted(per_team, key=lambda k: order(k, team_names))
        ],
    )


async def satisfaction(
    session: AsyncSession, f: ReportFilter, visible: set[int] | None
) -> SatisfactionReport:
    """The satisfaction report's shape, with no answers yet: the surveys (another branch)
    store them; until then every count is 0 and every average null (`available` false)."""
    scope = await _scope(session, f, visible)
    return SatisfactionReport(
        period=scope.period,
        available=False,
        csat=CsatFigures(
            responses=0, average_x100=None, score_1=0, score_2=0, score_3=0, score_4=0, score_5=0
        ),
        nps=NpsFigures(responses=0, promoters=0, passives=0, detractors=0, nps=None),
        trend=[],
        comments=[],
    )
