"""A waiting rule is a row, not a timer: it survives the server's restart and, with two
servers' workers sharing one PostgreSQL database, the rest of the rule runs once."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.automations.models import ScheduledStep
from app.db import utcnow
from app.settings import Settings
from tests.support.api import create_api_inbox, login, post_incoming
from tests.support.app import ADMIN_EMAIL, ADMIN_PASSWORD, serve
from tests.support.automations import create_rule, runs, settle, texts
from tests.support.receiver import Receiver

CUSTOMERS = 12


@pytest.fixture
def backend() -> str:
    return "postgresql"


async def test_a_wait_survives_a_restart_and_runs_once_across_two_workers(
    settings: Settings, receiver: Receiver
) -> None:
    async with serve(settings) as first:
        admin = await login(first.client, ADMIN_EMAIL, ADMIN_PASSWORD)
        inbox = await create_api_inbox(admin, outbound_url=receiver.url)
        rule = await create_rule(
            admin,
            name="Later",
            event="message.first_received",
            actions=[
                {"type": "wait", "minutes": 24 * 60},
                {"type": "send_message", "text": "A day later, {{conversation.id}}"},
            ],
        )
        await settle(first.ctx)
        conversations = []
        for n in range(CUSTOMERS):
            stored = await post_incoming(
                first.client, inbox, external_id=str(n), sender=f"c{n}", text="hi"
            )
            conversations.append(stored.json()["conversation_id"])
        await settle(first.ctx)
        async with first.ctx.db.write() as session:
            steps = (await session.scalars(select(ScheduledStep))).all()
            assert len(steps) == CUSTOMERS
            for step in steps:  # the day has (nearly) passed while the server was down
                step.due_at = utcnow() + timedelta(seconds=2)
    with_workers = settings.model_copy(update={"run_workers": True, "delivery_poll_seconds": 0.2})
    async with serve(with_workers) as second, serve(with_workers) as third:
        for _ in range(150):
            if len(receiver.received) >= CUSTOMERS:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.5)  # a second run would have happened by now
        assert sorted(texts(receiver)) == sorted(f"A day later, {c}" for c in conversations)
        admin = await login(second.client, ADMIN_EMAIL, ADMIN_PASSWORD)
        assert [r["status"] for r in await runs(admin, rule["id"])] == ["done"] * CUSTOMERS
        async with third.ctx.db.read() as session:
            assert (await session.scalars(select(ScheduledStep))).all() == []
