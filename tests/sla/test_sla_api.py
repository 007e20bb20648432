"""SLAs as agents meet them: due times in the conversation and the list, warning and breach
events in the log, the "breaching soon" and "breached" filters, an answer meeting the
target; and the policies' API."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from app.events.consumers import consume_once
from app.events.models import EventRow
from app.outbound.maintenance import announce_sla
from app.sla import service as sla
from app.sla.service import announce_due
from tests.support.api import Api, assert_error, create_agent, create_api_inbox, post_incoming
from tests.support.app import Running


async def test_due_times_events_and_filters(running: Running, admin: Api) -> None:
    ctx = running.ctx

    async def follow() -> None:
        await consume_once(ctx, "sla", sla.on_events)

    await follow()  # the consumer starts at the end of the log
    inbox = await create_api_inbox(admin)
    saved = await admin.put(
        f"/api/v1/inboxes/{inbox.id}/sla-policies",
        json={"policies": [{"priority": "none", "first_response_minutes": 10}]},
    )
    assert saved.status_code == 200, saved.text
    assert saved.json()["policies"] == [
        {
            "priority": "none",
            "first_response_minutes": 10,
            "next_response_minutes": None,
            "resolution_minutes": None,
        }
    ]
    assert (await post_incoming(running.client, inbox, external_id="m1")).status_code < 300
    await follow()
    (item,) = (await admin.get("/api/v1/conversations")).json()["items"]
    created = datetime.fromisoformat(item["created_at"])
    due = datetime.fromisoformat(item["first_response_due_at"])
    assert timedelta(minutes=10) <= due - created < timedelta(minutes=10, seconds=5)
    assert (item["sla_state"], item["sla_paused"], item["resolution_due_at"]) == (
        "ok",
        False,
        None,
    )

    async def listed(sla_filter: str) -> list[int]:
        page = await admin.get("/api/v1/conversations", params={"sla": sla_filter})
        return [c["id"] for c in page.json()["items"]]

    assert await listed("breaching_soon") == []
    async with ctx.db.write() as session:
        await announce_due(session, due - timedelta(minutes=1))  # 90%
    assert await listed("breaching_soon") == [item["id"]]
    async with ctx.db.write() as session:
        await announce_due(session, due + timedelta(seconds=1))
    assert await listed("breached") == [item["id"]]
    assert await listed("breaching_soon") == []
    async with ctx.db.read() as session:
        events = (
            await session.execute(
                select(EventRow.type, EventRow.data)
                .where(EventRow.type.like("conversation.sla_%"))
                .order_by(EventRow.seq)
            )
        ).all()
    assert [(t, d["target"], d["conversation"]["id"]) for t, d in events] == [
        ("conversation.sla_warning", "first_response", item["id"]),
        ("conversation.sla_breached", "first_response", item["id"]),
    ]
    assert datetime.fromisoformat(events[1][1]["due_at"]) == due
    assert events[1][1]["conversation"]["sla_state"] == "breached"

    # The answer meets it; an unknown filter value is refused.
    reply = await admin.post(f"/api/v1/conversations/{item['id']}/messages", json={"body": "hi"})
    assert reply.status_code == 201, reply.text
    await follow()
    shown = (await admin.get(f"/api/v1/conversations/{item['id']}")).json()
    assert (shown["first_response_due_at"], shown["sla_state"]) == (None, None)
    assert await listed("breached") == []
    assert_error(await admin.get("/api/v1/conversations", params={"sla": "late"}), 422)
    assert await announce_sla(ctx) == 0  # nothing left to look at


async def test_policies_api(running: Running, admin: Api) -> None:
    inbox = await create_api_inbox(admin)
    path = f"/api/v1/inboxes/{inbox.id}/sla-policies"
    assert (await admin.get(path)).json() == {"inbox_id": inbox.id, "policies": []}
    twice = {"policies": [{"priority": "high"}, {"priority": "high"}]}
    assert_error(await admin.put(path, json=twice), 422)
    assert_error(
        await admin.put(path, json={"policies": [{"priority": "low", "resolution_minutes": 0}]}),
        422,
    )
    saved = await admin.put(
        path,
        json={
            "policies": [
                {"priority": "urgent", "first_response_minutes": 15},
                {"priority": "none", "resolution_minutes": 2880},
            ]
        },
    )
    assert [p["priority"] for p in saved.json()["policies"]] == ["none", "urgent"]
    agent = await create_agent(admin, "ali@example.com")
    assert_error(await agent.put(path, json={"policies": []}), 403)
    assert_error(await agent.get(path), 404)
