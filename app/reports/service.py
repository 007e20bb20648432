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
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Integer,
    String,
    case,
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
from app.fields import FIRST_DAY, LAST_DAY
from app.inboxes.models import Inbox, InboxKind
from app.reports.clock import Clock
from app.reports.models import MessageCount
from app.reports.schemas import (
    AgentRow,
    AgentsReport,
    CsatDistribution,
    HeatCell,
    Period,
    SatisfactionAgent,
    SatisfactionChannel,
    SatisfactionComment,
    SatisfactionFigures,
    SatisfactionInbox,
    SatisfactionReport,
    SatisfactionTrend,
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
from app.surveys import scores
from app.surveys.models import Survey, SurveyKind
from app.tickets.models import Conversation, ConversationLabel, Direction, Message

DEFAULT_DAYS = 30
MAX_DAYS = 732  # two years and a leap day
TREND_DAILY_UP_TO = 31  # days; a longer period's satisfaction trend goes by weeks
COMMENTS = 50  # the satisfaction report's latest comments


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

    def conversations(
        self, *, arrived: bool = True, ranged: bool = True
    ) -> list[ColumnElement[bool]]:
        """Conditions on conversations: the filters, and (`arrived`) arrival in the period;
        `ranged`: the statement joins the period's ranges when it does not bound arrival."""
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
        unindexed = ranged and not arrived and self.clock.dialect == "sqlite"
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

    def surveys(self) -> list[ColumnElement[bool]]:
        """Conditions on surveys: the caller's inboxes, the inbox, the rated channel, the
        credited agent, and the surveyed conversation's team and label."""
        f = self.filters
        where: list[ColumnElement[bool]] = []
        if self.visible is not None:
            where.append(Survey.inbox_id.in_(self.visible))
        if f.inbox_id is not None:
            where.append(Survey.inbox_id == f.inbox_id)
        if f.channel is not None:
            where.append(Survey.channel == f.channel)
        if f.agent_id is not None:
            where.append(Survey.agent_id == f.agent_id)
        if f.team_id is not None:
            team = select(Conversation.id).where(Conversation.team_id == f.team_id)
            where.append(Survey.conversation_id.in_(team))
        if f.label is not None:
            labelled = select(ConversationLabel.conversation_id).where(
                ConversationLabel.label == f.label
            )
            where.append(Survey.conversation_id.in_(labelled))
        return where


async def _scope(session: AsyncSession, f: ReportFilter, visible: set[int] | None) -> _Scope:
    zone = await account.timezone(session)
    for name, day in (("since", f.since), ("until", f.until)):
        if day is not None and not FIRST_DAY <= day <= LAST_DAY:
            raise Invalid(
                f"{name}: out of range (from {FIRST_DAY} to {LAST_DAY})", code="invalid_period"
            )
    until = f.until or utcnow().astimezone(zone).date()  # today where the account is
    since = f.since or max(until - timedelta(days=DEFAULT_DAYS - 1), FIRST_DAY)
    if since > until:
        raise Invalid("since: after until", code="invalid_period")
    if (until - since).days >= MAX_DAYS:
        raise Invalid(f"the period is longer than {MAX_DAYS} days", code="invalid_period")
    clock = Clock(zone=zone, dialect=session.get_bind().dialect.name, since=since, until=until)
    return _Scope(f, visible, zone, since, until, clock)


async def _per_range(
    session: AsyncSession,
    clock: Clock,
    column: Any,
    where: Sequence[Any],
    keys: Sequence[Any],
    *aggregates: Any,
    hours: bool = False,
) -> list[Any]:
    """(n, [hour,] *keys, *aggregates) grouped by the local day n of the period that
    `column` falls in (and with `hours` by its local hour), and by the keys."""
    local, joined = clock.numbering(column, hours=hours)
    names = ["n", "hour"][: len(local)]
    labelled = [expression.label(name) for expression, name in zip(local, names, strict=True)]
    stmt = joined(select(*labelled, *keys, *aggregates)).where(*where)
    grouped = stmt.group_by(*(literal_column(name) for name in names), *keys)
    return list((await session.execute(grouped)).all())


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
            MessageCount.bucket,
            scope.inboxes(MessageCount.inbox_id),
            [MessageCount.inbox_id],
            func.sum(MessageCount.inbound),
            func.sum(MessageCount.outbound),
        )
        return [(int(n), int(inbox), int(i), int(o)) for n, inbox, i, o in rows]
    # The messages of the conversations the filter names (ix_messages_report: each one's
    # messages of the period, from the index). PostgreSQL puts them in their days itself;
    # SQLite would try every range for each message, so Python does it.
    named = [
        Message.direction.in_((Direction.inbound, Direction.outbound)),
        Message.conversation_id.in_(
            select(Conversation.id).where(*scope.conversations(arrived=False, ranged=False))
        ),
    ]
    if clock.dialect != "sqlite":
        inbound = func.sum(case((Message.direction == Direction.inbound, 1), else_=0))
        outbound = func.sum(case((Message.direction == Direction.outbound, 1), else_=0))
        rows = await _per_range(
            session, clock, Message.created_at, named, [Message.inbox_id], inbound, outbound
        )
        return [(int(n), int(inbox), int(i), int(o)) for n, inbox, i, o in rows]
    starts = [clock.bound(start) for start, _ in clock.day_ranges()]
    found = await session.execute(
        select(type_coerce(Message.created_at, String), Message.inbox_id, Message.direction).where(
            Message.created_at >= clock.start, Message.created_at < clock.end, *named
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
        Conversation.created_at,
        scope.conversations(arrived=False),
        [Conversation.inbox_id],
        func.count(),
    )
    heat = await _per_range(
        session,
        clock,
        Conversation.created_at,
        scope.conversations(arrived=False),
        [],
        func.count(),
        hours=True,
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
    weekdays = [day.weekday() for day in clock.days]
    for n, hour, count in heat:
        cells[(weekdays[int(n)], int(hour))] += int(count)

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
        (n,), joined = scope.clock.numbering(Conversation.created_at)
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


def _order(key: int | None, names: dict[int, str]) -> tuple[bool, str, int]:
    """Named rows by name, then the row of nobody."""
    return (key is None, names.get(key or 0, ""), key or 0)


async def agents(session: AsyncSession, f: ReportFilter, visible: set[int] | None) -> AgentsReport:
    """Per assignee and per team, as the conversation is assigned now; each agent's CSAT and
    NPS from the surveys sent in the period and credited to them."""
    scope = await _scope(session, f, visible)
    per_agent: dict[int | None, _Times] = defaultdict(_Times)
    per_team: dict[int | None, _Times] = defaultdict(_Times)
    for agent_id, team_id, response, resolution in await _times(
        session, scope, Conversation.assignee_id, Conversation.team_id
    ):
        per_agent[agent_id].add(response, resolution)
        per_team[team_id].add(response, resolution)
    answers: dict[int | None, _Answers] = defaultdict(_Answers)
    for kind, _channel, _inbox, agent_id, score, count in await _surveys(session, scope):
        answers[agent_id].add(kind, score, int(count))
    agent_names: dict[int, str] = dict((await session.execute(select(Agent.id, Agent.name))).all())
    team_names: dict[int, str] = dict((await session.execute(select(Team.id, Team.name))).all())

    def satisfaction(agent_id: int | None) -> dict[str, int | None]:
        figures = answers[agent_id].figures()
        keys = ("csat_answered", "csat_average_x100", "nps_answered", "nps")
        return {key: figures[key] for key in keys}

    return AgentsReport(
        period=scope.period,
        agents=[
            AgentRow(
                agent_id=id_,
                agent=agent_names.get(id_ or 0),
                **per_agent[id_].figures(),
                **satisfaction(id_),
            )
            for id_ in sorted(
                per_agent.keys() | answers.keys(), key=lambda k: _order(k, agent_names)
            )
        ],
        teams=[
            TeamRow(team_id=id_, team=team_names.get(id_ or 0), **per_team[id_].figures())
            for id_ in sorted(per_team, key=lambda k: _order(k, team_names))
        ],
    )


@dataclass
class _Answers:
    """The surveys of a group: how many of each kind were sent, and their answers' scores."""

    csat_sent: int = 0
    nps_sent: int = 0
    csat: Counter[int] = field(default_factory=Counter)
    nps: Counter[int] = field(default_factory=Counter)

    def add(self, kind: str, score: int | None, count: int) -> None:
        if kind == SurveyKind.csat:
            self.csat_sent += count
            if score is not None:
                self.csat[score] += count
        else:
            self.nps_sent += count
            if score is not None:
                self.nps[score] += count

    def figures(self) -> dict[str, int | None]:
        csat, nps = scores.csat_of_counts(self.csat), scores.nps_of_counts(self.nps)
        average = None if csat.average is None else csat.average * 100
        return {
            "csat_sent": self.csat_sent,
            "csat_answered": csat.answers,
            "csat_response_rate": _percent(csat.answers, self.csat_sent),
            "csat_average_x100": _half_up(average),
            "csat_satisfied": _half_up(csat.satisfied_percent),
            "nps_sent": self.nps_sent,
            "nps_answered": nps.answers,
            "nps_response_rate": _percent(nps.answers, self.nps_sent),
            "nps_promoters": nps.promoters,
            "nps_passives": nps.passives,
            "nps_detractors": nps.detractors,
            "nps": _half_up(nps.score),
        }


def _half_up(value: float | None) -> int | None:
    """Whole, halves rounded up (a 12.5 NPS is 13, −12.5 is −12), as the docs say."""
    return None if value is None else math.floor(value + 0.5)


def _percent(part: int, whole: int) -> int | None:
    return _half_up(100 * part / whole) if whole else None


async def _surveys(session: AsyncSession, scope: _Scope) -> list[Any]:
    """(kind, channel, inbox id, agent id, score or null, count) of the surveys sent in the
    period, grouped by all of these."""
    keys = (Survey.kind, Survey.channel, Survey.inbox_id, Survey.agent_id, Survey.score)
    stmt = (
        select(*keys, func.count())
        .where(
            Survey.sent_at >= scope.clock.start,
            Survey.sent_at < scope.clock.end,
            *scope.surveys(),
        )
        .group_by(*keys)
    )
    return list((await session.execute(stmt)).all())


async def satisfaction(
    session: AsyncSession, f: ReportFilter, visible: set[int] | None
) -> SatisfactionReport:
    """CSAT and NPS of the surveys sent in the period: in total, along the period (by day,
    or by weeks of 7 local days from its first day when it is longer than 31 days), per
    channel, inbox and credited agent; and the latest comments."""
    scope = await _scope(session, f, visible)
    clock = scope.clock
    totals = _Answers()
    per_channel: dict[str, _Answers] = defaultdict(_Answers)
    per_inbox: dict[int, _Answers] = defaultdict(_Answers)
    per_agent: dict[int | None, _Answers] = defaultdict(_Answers)
    for kind, channel, inbox_id, agent_id, score, count in await _surveys(session, scope):
        for group in (totals, per_channel[channel], per_inbox[inbox_id], per_agent[agent_id]):
            group.add(kind, score, int(count))
    step = 1 if len(clock.days) <= TREND_DAILY_UP_TO else 7
    per_step: dict[int, _Answers] = defaultdict(_Answers)
    for n, kind, score, count in await _per_range(
        session, clock, Survey.sent_at, scope.surveys(), [Survey.kind, Survey.score],
        func.count(),
    ):  # fmt: skip
        per_step[int(n) // step].add(kind, score, int(count))
    inboxes = await _inboxes(session)
    agent_names: dict[int, str] = dict((await session.execute(select(Agent.id, Agent.name))).all())
    comments = await session.execute(
        select(
            Survey.id, Survey.conversation_id, Survey.kind, Survey.score, Survey.comment,
            Survey.agent_id, Survey.answered_at,
        )
        .where(
            Survey.sent_at >= clock.start, Survey.sent_at < clock.end, *scope.surveys(),
            Survey.score.is_not(None), Survey.comment.is_not(None), Survey.comment != "",
        )
        # Newest survey first: read backwards along ix_surveys_report until 50 are found.
        .order_by(Survey.sent_at.desc(), Survey.id.desc())
        .limit(COMMENTS)
    )  # fmt: skip
    distribution = scores.csat_of_counts(totals.csat).distribution
    return SatisfactionReport(
        period=scope.period,
        totals=SatisfactionFigures(**totals.figures()),
        csat_distribution=CsatDistribution(**{f"score_{s}": n for s, n in distribution.items()}),
        trend_step="day" if step == 1 else "week",
        trend=[
            SatisfactionTrend(
                since=clock.days[k],
                until=clock.days[min(k + step, len(clock.days)) - 1],
                **per_step[k // step].figures(),
            )
            for k in range(0, len(clock.days), step)
        ],
        by_channel=[
            SatisfactionChannel(channel=channel, **answers.figures())
            for channel, answers in sorted(per_channel.items())
        ],
        by_inbox=[
            SatisfactionInbox(
                inbox_id=inbox_id,
                inbox=inboxes[inbox_id][0],
                channel=inboxes[inbox_id][1],
                **answers.figures(),
            )
            for inbox_id, answers in sorted(per_inbox.items())
        ],
        by_agent=[
            SatisfactionAgent(agent_id=id_, agent=agent_names.get(id_ or 0), **answers.figures())
            for id_, answers in sorted(per_agent.items(), key=lambda k: _order(k[0], agent_names))
        ],
        comments=[
            SatisfactionComment(
                survey_id=id_, conversation_id=conversation_id, kind=kind, score=score,
                comment=comment, agent=agent_names.get(agent_id or 0), answered_at=answered_at,
            )
            for id_, conversation_id, kind, score, comment, agent_id, answered_at in comments
        ],
    )  # fmt: skip
