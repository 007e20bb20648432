"""The hub and the events a notice carries: this process's commits (and, through Redis,
another's) reach the sockets without being read back from the log, always in seq order,
and a notice that leaves a gap is filled from the log."""

from __future__ import annotations

from collections.abc import Sequence

from app.db import utcnow
from app.events.log import Logged, Published, Scope
from app.realtime.hub import GAP_WAIT
from tests.support.api import Api, create_api_inbox, post_incoming
from tests.support.app import Running
from tests.support.sockets import agent_socket, events, quiet, ready


def carried(seq: int) -> Published:
    """An event that exists only in its notice: a hub that read the log would not find it."""
    data = {"note": f"carried {seq}"}
    event = Logged(seq, "contact.updated", None, None, None, False, data, utcnow())
    return Published(seq, Scope(), event)


async def test_carried_events_are_sent_in_seq_order_whatever_order_they_arrive_in(
    running: Running, admin: Api
) -> None:
    ws = await agent_socket(running.url, admin.token, protocol=2)
    await ready(ws)
    first = running.ctx.hub.last_seq + 1
    bus = running.ctx.bus
    # Another process's commit overtook an earlier one on the way (Redis): it waits.
    await bus.publish([carried(first + 2), carried(first + 3)])
    await bus.publish([carried(first), carried(first + 1)])
    got = await events(ws, 4)
    assert [f["id"] for f in got] == [first, first + 1, first + 2, first + 3]
    assert [f["data"]["note"] for f in got] == [f"carried {first + n}" for n in range(4)]
    await bus.publish([carried(first + 1)])  # a repeat is sent once
    assert await quiet(ws) == []
    await ws.close()


async def test_a_gap_that_no_notice_fills_is_read_from_the_log(
    running: Running, admin: Api
) -> None:
    inbox = await create_api_inbox(admin)
    ws = await agent_socket(running.url, admin.token, protocol=2)
    await ready(ws)
    db = running.ctx.db
    held: list[Sequence[Published]] = []

    async def hold(items: Sequence[Published]) -> None:
        held.append(items)

    db.after_commit = hold  # commits are stored, their notices kept back
    try:
        for n in (1, 2):
            stored = await post_incoming(running.client, inbox, external_id=f"gap-{n}")
            assert stored.status_code == 201
    finally:
        db.after_commit = running.ctx.bus.publish
    assert len(held) == 2
    await running.ctx.bus.publish(held[1])  # the first commit's notice is lost
    got = await events(ws, len(held[0]) + len(held[1]), within=GAP_WAIT + 5)
    assert [f["id"] for f in got] == [p.seq for p in (*held[0], *held[1])]
    created = [f["data"]["message"]["external_id"] for f in got if f["type"] == "message.created"]
    assert created == ["gap-1", "gap-2"]
    await ws.close()
