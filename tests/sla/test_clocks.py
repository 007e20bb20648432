"""SLA clocks in business time: an Iranian week in Asia/Tehran with a holiday, a pause
while pending, reopening and a priority change. The clocks are driven by the events they
follow, given the times they happened at, so the business-hour boundaries are exact."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.context import Context
from app.events import log as event_log
from app.events.models import EventRow
from app.sla import service as sla
from app.tickets.models import Conversation
from tests.support.api import Api, create_api_inbox, post_incoming
from tests.support.app import Running

TEHRAN = ZoneInfo("Asia/Tehran")
IRANIAN_WEEK = {
    **{day: ["08:00-16:00"] for day in ("sat", "sun", "mon", "tue", "wed")},
    "thu": ["08:00-12:00"],
}


def tehran(day: int, hour: int, minute: int = 0) -> datetime:
    """A time in March 2027 in Tehran (3 March is a Wednesday)."""
    return datetime(2027, 3, day, hour, minute, tzinfo=TEHRAN)


class Clocked:
    """One conversation, and the events its clocks follow, at chosen times."""

    def __init__(self, ctx: Context, conversation_id: int, inbox_id: int) -> None:
        self.ctx, self.id, self.inbox_id = ctx, conversation_id, inbox_id
        self.status, self.priority = "open", "none"

    async def event(self, type_: str, at: datetime, **data: Any) -> None:
        logged = event_log.Logged(0, type_, self.inbox_id, self.id, None, False, data, at)
        async with self.ctx.db.write() as session:
            await sla.on_events(session, [logged])

    async def change(self, at: datetime, **fields: str) -> None:
        self.status = fields.get("status", self.status)
        self.priority = fields.get("priority", self.priority)
        view = {"status": self.status, "priority": self.priority}
        await self.event("conversation.updated", at, conversation=view, changes=list(fields))

    async def message(self, at: datetime, direction: str, sender_type: str) -> None:
        message = {"direction": direction, "is_auto": False, "sender_type": sender_type}
        await self.event("message.created", at, message=message)

    async def announce(self, at: datetime) -> None:
        async with self.ctx.db.write() as session:
            await sla.announce_due(session, at)

    async def row(self) -> Conversation:
        async with self.ctx.db.read() as session:
            conversation = await session.get(Conversation, self.id)
            assert conversation is not None
            return conversation

    async def dues(self) -> tuple[datetime | None, datetime | None, datetime | None]:
        c = await self.row()
        return c.first_response_due_at, c.next_response_due_at, c.resolution_due_at

    async def announced(self) -> list[tuple[str, str, datetime]]:
        async with self.ctx.db.read() as session:
            rows = await session.execute(
                select(EventRow.type, EventRow.data)
                .where(
                    EventRow.conversation_id == self.id,
                    EventRow.type.in_(("conversation.sla_warning", "conversation.sla_breached")),
                )
                .order_by(EventRow.seq)
            )
            return [(t, d["target"], datetime.fromisoformat(d["due_at"])) for t, d in rows]


async def _conversation(running: Running, admin: Api) -> Clocked:
    inbox = await create_api_inbox(admin)
    hours = await admin.put(
        f"/api/v1/inboxes/{inbox.id}/business-hours",
        json={
            "timezone": "Asia/Tehran",
            "weekly": IRANIAN_WEEK,
            "holidays": [{"from": "2027-03-07", "name": "holiday"}],  # Sunday
        },
    )
    assert hours.status_code == 200, hours.text
    policies = await admin.put(
        f"/api/v1/inboxes/{inbox.id}/sla-policies",
        json={
            "policies": [
                {
                    "priority": "none",
                    "first_response_minutes": 120,
                    "next_response_minutes": 60,
                    "resolution_minutes": 16 * 60,
                },
                {"priority": "high", "resolution_minutes": 120},
            ]
        },
    )
    assert policies.status_code == 200, policies.text
    assert (await post_incoming(running.client, inbox, external_id="m1")).status_code < 300
    (item,) = (await admin.get("/api/v1/conversations")).json()["items"]
    return Clocked(running.ctx, item["id"], inbox.id)


async def test_clocks_across_business_hours_holidays_pauses_and_reopening(
    running: Running, admin: Api
) -> None:
    c = await _conversation(running, admin)
    # Wednesday 15:00: 2 working hours are Wednesday 15–16 and Thursday 08–09; 16 are
    # Wed 1 + Thu 4 (Thursday closes at noon; Friday is off) + Sat 8 + Mon 3 (Sunday is a
    # holiday).
    await c.event(
        "conversation.created", tehran(3, 15), conversation={"status": "open", "priority": "none"}
    )
    assert await c.dues() == (tehran(4, 9), None, tehran(8, 11))
    assert (await c.row()).sla_state == "ok"

    # 80% of 2 hours (96 minutes) is Thursday 08:36.
    await c.announce(tehran(4, 8, 35))
    assert await c.announced() == []
    await c.announce(tehran(4, 8, 37))
    assert await c.announced() == [("conversation.sla_warning", "first_response", tehran(4, 9))]
    assert (await c.row()).sla_state == "warning"
    await c.announce(tehran(4, 9, 1))
    await c.announce(tehran(4, 9, 2))  # announced once
    assert (await c.announced())[1:] == [
        ("conversation.sla_breached", "first_response", tehran(4, 9))
    ]
    assert (await c.row()).sla_state == "breached"

    # The answer meets the first response; resolution runs on, not yet at 80%.
    await c.message(tehran(4, 9, 30), "outbound", "agent")
    assert await c.dues() == (None, None, tehran(8, 11))
    assert (await c.row()).sla_state == "ok"

    # Pending on Thursday 10:00, after 3 working hours: paused, nothing due.
    await c.change(tehran(4, 10), status="pending")
    row = await c.row()
    assert (row.first_response_due_at, row.resolution_due_at, row.sla_next_check_at) == (
        None,
        None,
        None,
    )
    assert row.sla_paused_at is not None
    # The customer answers on Saturday 09:00: 13 hours left, Sat 7 + Mon 6 → Monday 14:00;
    # the next response is due an hour after the message.
    await c.change(tehran(6, 9), status="open")
    await c.message(tehran(6, 9), "inbound", "contact")
    assert await c.dues() == (None, tehran(6, 10), tehran(8, 14))
    assert (await c.row()).sla_paused_at is None

    # Resolved: every clock stops.
    await c.change(tehran(6, 9, 30), status="resolved")
    row = await c.row()
    assert (await c.dues(), row.sla_state, row.sla_next_check_at) == (
        (None, None, None),
        None,
        None,
    )

    # Reopened on Saturday 10:00: resolution starts again with its full 16 hours (Sat 6 +
    # Mon 8 + Tue 2); the first response was given, so it does not.
    await c.change(tehran(6, 10), status="open")
    assert await c.dues() == (None, None, tehran(9, 10))
    # High priority promises resolution in 2 hours, counted from the same start.
    await c.change(tehran(6, 10, 30), priority="high")
    assert await c.dues() == (None, None, tehran(6, 12))


async def test_snoozed_counts_no_time_and_a_late_breach_warns_first(
    running: Running, admin: Api
) -> None:
    c = await _conversation(running, admin)
    await c.event(
        "conversation.created", tehran(6, 8), conversation={"status": "open", "priority": "none"}
    )
    assert await c.dues() == (tehran(6, 10), None, tehran(8, 16))
    await c.change(tehran(6, 9), status="snoozed")
    await c.announce(tehran(9, 12))  # long past the old due time: nothing while snoozed
    assert await c.announced() == []
    await c.change(tehran(9, 12), status="open")  # 1 hour was used: due Tuesday 13:00
    assert (await c.dues())[0] == tehran(9, 13)
    await c.announce(tehran(9, 14))
    assert [kind for kind, _t, _d in await c.announced()] == [
        "conversation.sla_warning",
        "conversation.sla_breached",
    ]
    # Without any policy left, the inbox's clocks are cleared.
    cleared = await admin.put(f"/api/v1/inboxes/{c.inbox_id}/sla-policies", json={"policies": []})
    assert cleared.status_code == 200, cleared.text
    row = await c.row()
    assert (await c.dues(), row.sla_state, row.sla_next_check_at) == (
        (None, None, None),
        None,
        None,
    )
