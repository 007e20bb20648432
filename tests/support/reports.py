"""The reports' hand-computed fixture: four conversations around a midnight in Asia/Tehran
(+03:30), one of them resolved, reopened and resolved again, written straight into the
database with the instants the expected figures were worked out from (see
tests/reports/test_reports.py for the arithmetic)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.models import Team
from app.contacts.models import Contact
from app.context import Context
from app.reports import rollup
from app.surveys.models import Survey, SurveyKind
from app.tickets.models import Conversation, ConversationLabel, Direction, Message, Status
from tests.support.api import Api, create_agent, create_api_inbox


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    """An instant of late 2026 (30 November or 1 December)."""
    month = 11 if day == 30 else 12
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


@dataclass
class Fixture:
    inbox_a: int
    inbox_b: int
    agent_id: int
    agent_name: str
    team_id: int
    conversations: list[int]
    surveys: list[int]


async def seed(ctx: Context, admin: Api) -> Fixture:
    inbox_a = (await create_api_inbox(admin)).id
    inbox_b = (await create_api_inbox(admin)).id
    agent = await create_agent(admin, "sara@example.com")
    agent_id = int(agent.agent["id"])
    created = await admin.post("/api/v1/teams", json={"name": "Billing"})
    assert created.status_code == 201, created.text
    team_id = int(created.json()["id"])
    second = timedelta(seconds=1)
    # (inbox, arrived, first response after, first resolved after, status, assignee, team,
    #  label, [(direction, at)])
    plans = [
        # C1: 23:30 on Monday 30 November in Tehran; answered in 10 min, resolved after an
        # hour, reopened by the customer at 01:30 Tehran and resolved again (not counted).
        (inbox_a, utc(30, 20), 600, 3600, Status.resolved, agent_id, None, "vip",
         [(Direction.inbound, utc(30, 20)), (Direction.note, utc(30, 20, 5)),
          (Direction.outbound, utc(30, 20, 10)), (Direction.activity, utc(30, 21)),
          (Direction.inbound, utc(30, 22)), (Direction.outbound, utc(30, 22, 30))]),
        # C2: 20:45 UTC on 30 November is 00:15 on Tuesday 1 December in Tehran.
        (inbox_a, utc(30, 20, 45), 120, 1800, Status.resolved, agent_id, None, None,
         [(Direction.inbound, utc(30, 20, 45)), (Direction.outbound, utc(30, 20, 47))]),
        # C3: 12:30 Tehran, answered in 30 min, still open, team Billing, nobody's.
        (inbox_b, utc(1, 9), 1800, None, Status.open, None, team_id, None,
         [(Direction.inbound, utc(1, 9)), (Direction.outbound, utc(1, 9, 30))]),
        # C4: 13:30 Tehran, never answered.
        (inbox_b, utc(1, 10), None, None, Status.open, None, None, None,
         [(Direction.inbound, utc(1, 10))]),
    ]  # fmt: skip
    ids, contacts = [], []
    async with ctx.db.write() as session:
        for n, (inbox, at, response, resolution, status, assignee, team, label, lines) in enumerate(
            plans
        ):
            contact = Contact(name=f"Customer {n}", attributes={}, created_at=at, updated_at=at)
            session.add(contact)
            await session.flush()
            contacts.append(contact.id)
            conversation = Conversation(
                inbox_id=inbox, contact_id=contact.id, status=status, priority="none",
                assignee_id=assignee, team_id=team, unread_count=0, created_at=at,
                updated_at=lines[-1][1], last_activity_at=lines[-1][1],
                first_response_at=at + response * second if response is not None else None,
                first_resolved_at=at + resolution * second if resolution is not None else None,
                resolved_at=lines[-1][1] if status == Status.resolved else None,
            )  # fmt: skip
            session.add(conversation)
            await session.flush()
            ids.append(conversation.id)
            if label:
                session.add(ConversationLabel(conversation_id=conversation.id, label=label))
            for k, (direction, when) in enumerate(lines):
                session.add(
                    Message(
                        conversation_id=conversation.id, inbox_id=inbox, direction=direction,
                        sender_contact_id=contact.id if direction == Direction.inbound else None,
                        body_text=f"message {k}", external_id=f"fixture-{n}-{k}",
                        attempts=0, meta={}, created_at=when, updated_at=when,
                    )
                )  # fmt: skip
        assert await session.get(Team, team_id) is not None
        inboxes = [inbox_a, inbox_a, inbox_b, inbox_b]
        surveys = await _surveys(session, ids, contacts, inboxes, agent_id)
    return Fixture(inbox_a, inbox_b, agent_id, agent.agent["name"], team_id, ids, surveys)


async def _surveys(
    session: AsyncSession,
    conversations: list[int],
    contacts: list[int],
    inboxes: list[int],
    agent_id: int,
) -> list[int]:
    """A CSAT and an NPS on each conversation: S1…S8 (tests/reports/test_satisfaction.py)."""
    minute = timedelta(minutes=1)
    # (conversation index, kind, channel, credited, sent, score, comment, answered after)
    plans = [
        # S1: sent 21:00 UTC on 30 November, 00:30 on 1 December in Tehran.
        (0, SurveyKind.csat, "api", agent_id, utc(30, 21), 5, "Quick and kind", 5),
        # S2: 23:50 on 30 November in Tehran.
        (0, SurveyKind.nps, "api", agent_id, utc(30, 20, 20), 9, "Fast", 5),
        (1, SurveyKind.csat, "api", agent_id, utc(30, 21, 30), 2, None, 10),
        (1, SurveyKind.nps, "api", agent_id, utc(1, 8), None, None, None),
        # S5: a callback's CSAT, asked (by SMS) through inbox B.
        (2, SurveyKind.csat, "callback", None, utc(1, 10), 4, None, 3),
        (2, SurveyKind.nps, "api", None, utc(1, 11), 6, "Slow", 10),
        (3, SurveyKind.csat, "api", None, utc(1, 12), None, None, None),
        # S8: 22:30 on 1 December in Tehran.
        (3, SurveyKind.nps, "api", None, utc(1, 19), 10, None, 1),
    ]
    rows = [
        Survey(
            kind=kind,
            conversation_id=conversations[n],
            contact_id=contacts[n],
            inbox_id=inboxes[n],
            channel=channel,
            agent_id=credited,
            trigger="resolved",
            score=score,
            comment=comment,
            sent_at=sent,
            answered_at=sent + after * minute if after is not None else None,
        )
        for n, kind, channel, credited, sent, score, comment, after in plans
    ]
    session.add_all(rows)
    await session.flush()
    return [row.id for row in rows]


async def recount(ctx: Context) -> None:
    """Count the seeded messages into the roll-up (they were written without events, behind
    the back of a log reader that may have started already)."""
    async with ctx.db.write() as session:
        for statement in rollup.rebuild_statements(session.get_bind().dialect.name):
            await session.execute(statement)
