"""The poller supervisor with a scripted polling connector: cursors saved with the
messages, nothing repeated after a restart, one holder per inbox, errors survived."""

from __future__ import annotations

import asyncio
import inspect
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from app.channels import CHANNELS, ConnectorDeps
from app.context import Context
from app.inbound.models import PollerState
from app.inbound.pollers import PollerSupervisor
from app.inboxes.models import InboxKind
from app.tickets.models import Message
from connectors.base import (
    Address,
    AddressKind,
    InboundItem,
    InboundMessage,
    OutboundMessage,
    Party,
    SendResult,
)
from connectors.config import ChannelConfig
from tests.support.api import Api, create_api_inbox
from tests.support.app import Running


@dataclass
class Feed:
    """The provider's side: messages in order; a poll returns those after the cursor."""

    # The outbound URL that marks this test's inboxes as the feed's.
    marker: str = field(default_factory=lambda: f"https://feed.invalid/{uuid.uuid4().hex}")
    texts: list[str] = field(default_factory=list)
    polls: list[str | None] = field(default_factory=list)  # the cursor each poll got
    committed: list[str | None] = field(default_factory=list)
    fail_next: int = 0  # this many polls raise


class ScriptedPoller:
    def __init__(self, feed: Feed) -> None:
        self.feed = feed

    async def start(self, cursor: str | None) -> str | None:
        return cursor  # one feed, read from its beginning

    async def poll(self, cursor: str | None) -> tuple[list[InboundItem], str | None]:
        self.feed.polls.append(cursor)
        if self.feed.fail_next:
            self.feed.fail_next -= 1
            raise ConnectionError("server went away")
        start = int(cursor or 0)
        items: list[InboundItem] = [
            InboundMessage(
                external_id=f"m{i}",
                sender=Party(Address(AddressKind.api, "customer")),
                sent_at=datetime.now(UTC),
                text=text,
            )
            for i, text in enumerate(self.feed.texts[start:], start)
        ]
        if not items:
            await asyncio.sleep(0.02)  # a long poll that saw nothing
        return items, str(len(self.feed.texts))

    async def committed(self, cursor: str | None) -> None:
        self.feed.committed.append(cursor)

    async def send(self, msg: OutboundMessage) -> SendResult:
        raise NotImplementedError

    async def aclose(self) -> None:
        return None


@pytest.fixture
def feed(monkeypatch: pytest.MonkeyPatch) -> Feed:
    """The test's api inboxes (those with the feed's marker) poll the feed for the length of
    the test. Only those: a server another test left running in this process (the console's,
    for the session) must not poll the feed with its own inboxes."""
    the_feed = Feed()
    api = CHANNELS[InboxKind.api]
    assert api.connector is not None

    def factory(config: ChannelConfig, deps: ConnectorDeps) -> Any:
        if str(getattr(config, "outbound_url", "")) == the_feed.marker:
            return ScriptedPoller(the_feed)
        return api.connector(config, deps)

    monkeypatch.setitem(CHANNELS, InboxKind.api, replace(api, connector=factory))
    return the_feed


async def stored_texts(ctx: Context) -> list[str]:
    async with ctx.db.read() as session:
        return list((await session.scalars(select(Message.body_text).order_by(Message.id))).all())


async def eventually(check: Callable[[], Awaitable[bool] | bool], within: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not await _value(check()):
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def run_supervisor(
    ctx: Context,
) -> tuple[PollerSupervisor, asyncio.Event, asyncio.Task[None]]:
    supervisor = PollerSupervisor(ctx, scan_seconds=0.05)
    stop = asyncio.Event()
    return supervisor, stop, asyncio.create_task(supervisor.run(stop))


async def test_polled_messages_are_stored_with_their_cursor_and_not_repeated_after_restart(
    running: Running, admin: Api, feed: Feed
) -> None:
    inbox = await create_api_inbox(admin, outbound_url=feed.marker)
    feed.texts += ["first", "second"]
    _sup, stop, task = await run_supervisor(running.ctx)

    async def two_stored() -> bool:
        return await stored_texts(running.ctx) == ["first", "second"]

    await eventually(two_stored)
    await eventually(lambda: feed.committed[-1:] == ["2"])
    stop.set()
    await task
    async with running.ctx.db.read() as session:
        state = await session.get(PollerState, inbox.id)
    assert state is not None
    assert state.cursor == "2"

    # A new process picks up where the cursor is: the third message, and only it.
    feed.texts.append("third")
    feed.polls.clear()
    _sup, stop, task = await run_supervisor(running.ctx)

    async def three_stored() -> bool:
        return await stored_texts(running.ctx) == ["first", "second", "third"]

    await eventually(three_stored)
    stop.set()
    await task
    assert feed.polls[0] == "2"


async def test_one_holder_per_inbox(running: Running, admin: Api, feed: Feed) -> None:
    await create_api_inbox(admin, outbound_url=feed.marker)
    feed.texts.append("only once")
    first, stop_first, task_first = await run_supervisor(running.ctx)
    await eventually(lambda: bool(feed.polls))
    second, stop_second, task_second = await run_supervisor(running.ctx)
    await asyncio.sleep(0.3)  # several scans of the second supervisor
    holders = set()
    async with running.ctx.db.read() as session:
        holders = set((await session.scalars(select(PollerState.holder))).all())
    assert holders == {first.holder}
    assert second.holder not in holders
    stop_first.set()
    stop_second.set()
    await asyncio.gather(task_first, task_second)
    async with running.ctx.db.read() as session:
        count = await session.scalar(select(func.count()).select_from(Message))
    assert count == 1


async def test_a_failing_poll_is_retried_and_recorded(
    running: Running, admin: Api, feed: Feed, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("app.inbound.pollers.BACKOFF_START_SECONDS", 0.01)
    inbox = await create_api_inbox(admin, outbound_url=feed.marker)
    feed.texts.append("after the outage")
    feed.fail_next = 2
    _sup, stop, task = await run_supervisor(running.ctx)

    async def stored() -> bool:
        return await stored_texts(running.ctx) == ["after the outage"]

    await eventually(stored)
    stop.set()
    await task
    assert feed.polls[:3] == [None, None, None]  # two failures, then the same cursor again
    async with running.ctx.db.read() as session:
        state = await session.get(PollerState, inbox.id)
    assert state is not None
    assert state.last_error is None  # cleared by the successful save


async def test_disabling_the_inbox_stops_its_loop(running: Running, admin: Api, feed: Feed) -> None:
    inbox = await create_api_inbox(admin, outbound_url=feed.marker)
    supervisor, stop, task = await run_supervisor(running.ctx)
    await eventually(lambda: inbox.id in supervisor.loops)
    response = await admin.delete(f"/api/v1/inboxes/{inbox.id}")
    assert response.status_code == 204
    await eventually(lambda: inbox.id not in supervisor.loops)
    stop.set()
    await task


async def _value(result: Awaitable[bool] | bool) -> bool:
    return await result if inspect.isawaitable(result) else result
