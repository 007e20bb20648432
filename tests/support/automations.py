"""Automations under test: rules created through the API, the rules' log consumer and the
step worker run a round at a time, and time moved on for waiting steps."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from app.automations import engine
from app.automations.models import ScheduledStep
from app.automations.worker import handler, run_due
from app.context import Context
from app.events.consumers import consume_once
from tests.support.api import Api
from tests.support.receiver import Receiver


async def create_rule(admin: Api, **rule: Any) -> dict[str, Any]:
    rule.setdefault("name", "Rule")
    response = await admin.post("/api/v1/automations", json=rule)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def settle(ctx: Context) -> None:
    """The rules' consumer reads the log to its end (the first call starts it there), and
    the steps due now run."""
    while await consume_once(ctx, engine.CONSUMER, handler(ctx)):
        pass
    while await run_due(ctx):
        pass


async def time_passes(ctx: Context, minutes: float) -> None:
    """Every waiting step is `minutes` nearer its time."""
    async with ctx.db.write() as session:
        for step in (await session.scalars(select(ScheduledStep))).all():
            step.due_at -= timedelta(minutes=minutes)


async def pending_steps(ctx: Context) -> list[ScheduledStep]:
    async with ctx.db.read() as session:
        return list((await session.scalars(select(ScheduledStep))).all())


async def runs(admin: Api, rule_id: int) -> list[dict[str, Any]]:
    response = await admin.get(f"/api/v1/automations/{rule_id}/runs")
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def texts(receiver: Receiver) -> list[str]:
    """What an `api` inbox's outbound URL received."""
    return [json.loads(r.body)["message"]["text"] for r in receiver.received]


async def api_token(admin: Api, name: str = "Shop backend") -> str:
    response = await admin.post("/api/v1/api-tokens", json={"name": name})
    assert response.status_code == 201, response.text
    token: str = response.json()["token"]
    return token
