"""Round robin: fair among online agents below capacity, never to offline agents or
agents at capacity, and quick to serve the oldest waiting conversation when capacity
frees or an agent comes online."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import time
from collections import Counter
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.assignment import service, worker
from app.assignment.worker import run_assignment
from app.context import Context
from app.db import utcnow
from app.events import log as event_log
from app.events.log import Scope
from app.events.types import ConversationUpdated
from app.tickets.models import Conversation, Priority, Status
from tests.support.api import Api, create_agent, create_api_inbox
from tests.support.app import Running
from tests.support.assignment import (
    activity_lines,
    add_members,
    assigned_within,
    assignee,
    customer_writes,
    online,
    set_capacity,
    set_policy,
)

OUTBOUND = "http://127.0.0.1:9/replies"


async def _open_counts(session: AsyncSession, inbox_id: int) -> Counter[int | None]:
    """Open conversations per assignee (None: waiting)."""
    rows = await session.execute(
        select(Conversation.assignee_id, func.count())
        .where(Conversation.inbox_id == inbox_id, Conversation.status == Status.open)
        .group_by(Conversation.assignee_id)
    )
    return Counter({agent_id: int(n) for agent_id, n in rows})


@pytest.mark.parametrize("backend", ["sqlite"])  # the same SQL on both; a long loop
async def test_a_thousand_arrivals_are_shared_fairly_within_capacity(
    running: Running, admin: Api
) -> None:
    """Each step a customer writes, a round runs, and (nine times in ten) an agent
    resolves one of their open conversations at random. After every round: nobody is over
    capacity, the offline agent has nothing, agents of equal capacity are within one open
    conversation of each other, and nothing waits while an online agent has room."""
    inbox = await create_api_inbox(admin, outbound_url=OUTBOUND)
    capacities = [2, 2, 2, 4, 4]
    agents = [await create_agent(admin, f"agent{i}@example.com") for i in range(6)]
    await add_members(admin, inbox.id, agents)
    for agent, capacity in zip(agents, [*capacities, 1], strict=True):
        await set_capacity(admin, agent.agent["id"], capacity)
    await set_policy(admin, inbox.id, mode="round_robin")
    offline = agents[-1].agent["id"]
    cap = {a.agent["id"]: c for a, c in zip(agents, capacities, strict=False)}
    present = set(cap)

    first = await customer_writes(running, inbox)
    db = running.ctx.db
    async with db.read() as session:
        template = await session.get(Conversation, first)
        assert template is not None
    rng = random.Random(15)
    assigned = 0
    for _ in range(1000):
        now = utcnow()
        async with db.write() as session:  # one step: an arrival, a round, a resolution
            session.add(
                Conversation(
                    inbox_id=inbox.id,
                    contact_id=template.contact_id,
                    identity_id=template.identity_id,
                    status=Status.open,
                    priority=Priority.none,
                    unread_count=1,
                    waiting_since=now,
                    last_message_at=now,
                    created_at=now,
                    last_activity_at=now,
                    updated_at=now,
                )
            )
            await session.flush()
            # Who is online, as presence would say: everyone but the last agent.
            assigned += await service.assign_waiting(session, present, now=now)
            counts = await _open_counts(session, inbox.id)
            assert counts[offline] == 0
            for agent_id, capacity in cap.items():
                assert counts[agent_id] <= capacity, (agent_id, counts)
            for capacity in set(capacities):
                group = [counts[a] for a, c in cap.items() if c == capacity]
                assert max(group) - min(group) <= 1, counts
            if counts[None]:
                assert all(counts[a] == c for a, c in cap.items()), counts
            busy = [a for a in cap if counts[a]]
            if busy and rng.random() < 0.9:
                await session.execute(
                    update(Conversation)
                    .where(
                        Conversation.id
                        == select(Conversation.id)
                        .where(
                            Conversation.assignee_id == rng.choice(busy),
                            Conversation.status == Status.open,
                        )
                        .limit(1)
                        .scalar_subquery()
                    )
                    .values(status=Status.resolved)
                )
    assert assigned >= 900


@contextlib.asynccontextmanager
async def round_robin(running: Running) -> AsyncIterator[None]:
    """The background loop, as `serve` runs it with workers."""
    stop = asyncio.Event()
    task = asyncio.create_task(run_assignment(running.ctx, stop))
    try:
        yield
    finally:
        stop.set()
        await task


async def test_auto_resolve_runs_by_the_clock_however_many_rounds_commits_start(
    running: Running, admin: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Commits start rounds (up to four a second under load); auto-resolve, a scan of every
    inbox's quiet conversations, keeps to its own pace: it ran every 60th round, which was
    every 15 s instead of every minute on a busy server."""
    inbox = await create_api_inbox(admin, outbound_url=OUTBOUND)
    monkeypatch.setattr(worker, "AUTO_RESOLVE_SECONDS", 0.5)
    rounds: list[float] = []
    resolves: list[float] = []
    assign, resolve = worker.assign_round, worker.auto_resolve_round

    async def counted_assign(ctx: Context) -> int:
        rounds.append(time.monotonic())
        return await assign(ctx)

    async def counted_resolve(ctx: Context) -> int:
        resolves.append(time.monotonic())
        return await resolve(ctx)

    monkeypatch.setattr(worker, "assign_round", counted_assign)
    monkeypatch.setattr(worker, "auto_resolve_round", counted_resolve)
    async with round_robin(running):
        start = time.monotonic()
        while time.monotonic() < start + 1.6:
            await customer_writes(running, inbox)
            await asyncio.sleep(0.02)
    elapsed = max(rounds) - min(rounds)
    assert len(rounds) >= 5, rounds
    assert 2 <= len(resolves) <= 1 + elapsed / 0.5, (len(resolves), len(rounds), elapsed)
    gaps = [b - a for a, b in itertools.pairwise(resolves)]
    assert min(gaps) > 0.4, gaps  # from round starts 0.5 s apart, less their work's jitter


async def test_the_oldest_waiting_conversation_goes_to_whoever_comes_online_or_frees_up(
    running: Running, admin: Api
) -> None:
    inbox = await create_api_inbox(admin, outbound_url=OUTBOUND)
    maryam, reza, sara, outsider = [
        await create_agent(admin, f"{name}@example.com")
        for name in ("maryam", "reza", "sara", "outsider")
    ]
    await add_members(admin, inbox.id, [maryam, reza, sara, outsider])
    team = await admin.post(
        "/api/v1/teams",
        json={"name": "Sales", "agent_ids": [a.agent["id"] for a in (maryam, reza, sara)]},
    )
    await set_policy(admin, inbox.id, mode="round_robin", team_id=team.json()["id"])
    for agent in (maryam, reza):
        await set_capacity(admin, agent.agent["id"], "۱")  # Persian digits are read too

    async with (
        round_robin(running),
        online(running, maryam),
        online(running, outsider),  # online, but not in the inbox's team
    ):
        first = await customer_writes(running, inbox)
        assert await assigned_within(admin, first, 5) == maryam.agent["id"]
        assert await activity_lines(admin, first) == [
            "Round robin assigned the conversation to maryam"
        ]

        second = await customer_writes(running, inbox)  # maryam is at capacity
        third = await customer_writes(running, inbox)
        await asyncio.sleep(2)
        assert await assignee(admin, second) is None
        assert await assignee(admin, third) is None

        async with online(running, reza):
            assert await assigned_within(admin, second, 5) == reza.agent["id"]
            await asyncio.sleep(1.5)
            assert await assignee(admin, third) is None  # both at capacity

            resolved = await maryam.patch(
                f"/api/v1/conversations/{first}", json={"status": "resolved"}
            )
            assert resolved.status_code == 200, resolved.text
            assert await assigned_within(admin, third, 5) == maryam.agent["id"]

            # Unassigned again, it goes back into the queue and out to the one with room.
            await reza.patch(f"/api/v1/conversations/{second}", json={"status": "resolved"})
            await maryam.patch(f"/api/v1/conversations/{third}", json={"assignee_id": None})
            assert await assigned_within(admin, third, 5) in (
                maryam.agent["id"],
                reza.agent["id"],
            )
    workload = {w["agent_id"]: w for w in (await admin.get("/api/v1/assignment/capacities")).json()}
    assert workload[maryam.agent["id"]]["max_open"] == 1
    assert workload[sara.agent["id"]]["open_count"] == 0  # offline throughout
    assert workload[outsider.agent["id"]]["open_count"] == 0


async def test_a_manual_inbox_leaves_conversations_in_the_queue(
    running: Running, admin: Api
) -> None:
    inbox = await create_api_inbox(admin, outbound_url=OUTBOUND)
    maryam = await create_agent(admin, "maryam@example.com")
    await add_members(admin, inbox.id, [maryam])
    policy = (await admin.get(f"/api/v1/inboxes/{inbox.id}/assignment")).json()
    assert policy["mode"] == "manual"
    async with round_robin(running), online(running, maryam):
        conversation_id = await customer_writes(running, inbox)
        await asyncio.sleep(2)
        assert await assignee(admin, conversation_id) is None


async def test_rounds_at_once_never_overfill_an_agent(running: Running, admin: Api) -> None:
    """Rounds in several processes at once (here: transactions) take turns on the policy
    and agent rows, so each sees the assignments of the one before."""
    inbox = await create_api_inbox(admin, outbound_url=OUTBOUND)
    agents = [await create_agent(admin, f"agent{i}@example.com") for i in range(3)]
    await add_members(admin, inbox.id, agents)
    for agent in agents:
        await set_capacity(admin, agent.agent["id"], 2)
    await set_policy(admin, inbox.id, mode="round_robin")
    waiting = [await customer_writes(running, inbox) for _ in range(10)]
    present = {a.agent["id"] for a in agents}

    async def one_round() -> int:
        async with running.ctx.db.write() as session:
            return await service.assign_waiting(session, present, now=utcnow())

    assert sum(await asyncio.gather(*(one_round() for _ in range(4)))) == 6
    async with running.ctx.db.read() as session:
        counts = await _open_counts(session, inbox.id)
    assert {counts[a] for a in present} == {2}
    assert counts[None] == 4
    # The oldest six went out; the newest four wait.
    assert [await assignee(admin, c) is None for c in waiting] == [False] * 6 + [True] * 4


async def test_commits_in_quick_succession_share_a_round(
    running: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A round is a query at least; under load the commits of a fraction of a second
    share one, instead of a round each: at most four rounds a second."""
    rounds = 0
    anyone_waiting = service.anyone_waiting

    async def counted(session: AsyncSession) -> bool:
        nonlocal rounds
        rounds += 1
        return await anyone_waiting(session)

    monkeypatch.setattr(service, "anyone_waiting", counted)
    ctx = running.ctx
    loop = asyncio.get_running_loop()
    async with round_robin(running):
        deadline = loop.time() + 10
        while rounds == 0:  # the first round, at start
            assert loop.time() < deadline
            await asyncio.sleep(0.02)
        rounds, commits, start = 0, 0, loop.time()
        while loop.time() < start + 0.15:
            async with ctx.db.write() as session:
                event = ConversationUpdated.model_construct(changes=["status"])
                event_log.record(session, event, Scope())
            commits += 1
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.4)
        elapsed = loop.time() - start
    # One round at the first commit and one per quarter second since, and one more that may
    # have begun just before it (the setup's commits, or anything else's on a busy machine);
    # a round per commit (twelve or so) before.
    assert commits >= 5
    assert 1 <= rounds <= 2 + elapsed * 4, (rounds, commits, elapsed)
