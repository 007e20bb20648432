"""The audit log: each kind of change is recorded with who, when, from where and what, a
secret never is, administrators filter and page through it, and old entries are trimmed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from app.audit.models import AuditEntry
from app.db import utcnow
from app.outbound.maintenance import trim_audit
from tests.support.api import AGENT_PASSWORD, Api, assert_error, create_agent
from tests.support.app import Running
from tests.support.channels import api_channel, telegram_channel
from tests.support.merge import merge, messages, only_conversation_in, same_contact

HMAC = "hmac-secret-that-must-never-be-logged-1"
HMAC_AGAIN = "hmac-secret-that-must-never-be-logged-2"
NEW_PASSWORD = "a new password nobody may read"
WRONG_PASSWORD = "a wrong guess that stays private"


async def entries(admin: Api, **params: Any) -> list[dict[str, Any]]:
    """Every entry the filters select, read three at a time (newest first)."""
    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = await admin.get(
            "/api/v1/audit", params={**params, "limit": 3, **({"cursor": cursor} if cursor else {})}
        )
        assert page.status_code == 200, page.text
        found += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return found


async def test_every_kind_of_change_is_audited_and_no_secret_ever_is(
    running: Running, admin: Api
) -> None:
    secrets = [HMAC, HMAC_AGAIN, NEW_PASSWORD, WRONG_PASSWORD, AGENT_PASSWORD, admin.token]
    created = await admin.post(
        "/api/v1/inboxes",
        json={"kind": "api", "name": "Shop", "config": {"hmac_secret": HMAC}},
    )
    assert created.status_code == 201, created.text
    inbox = created.json()
    changed = await admin.patch(
        f"/api/v1/inboxes/{inbox['id']}",
        json={"name": "Shop 2", "config": {"hmac_secret": HMAC_AGAIN}, "rotate_api_key": True},
    )
    assert changed.status_code == 200, changed.text
    secrets += [inbox["api_key"], changed.json()["api_key"]]
    assert (await admin.delete(f"/api/v1/inboxes/{inbox['id']}")).status_code == 204

    sam = await create_agent(admin, "sam@example.com")
    secrets.append(sam.token)
    renamed = await admin.patch(
        f"/api/v1/agents/{sam.agent['id']}", json={"name": "Sam", "password": NEW_PASSWORD}
    )
    assert renamed.status_code == 200, renamed.text
    failed = await running.client.post(
        "/api/v1/auth/login", json={"email": "Sam@example.com", "password": WRONG_PASSWORD}
    )
    assert failed.status_code == 401
    team = await admin.post("/api/v1/teams", json={"name": "Billing", "agent_ids": []})
    assert team.status_code == 201, team.text
    canned = await admin.post(
        "/api/v1/canned-responses", json={"shortcut": "hi", "title": "Hi", "body": "Hello!"}
    )
    assert canned.status_code == 201, canned.text
    canned_id = canned.json()["id"]
    edited = await admin.patch(f"/api/v1/canned-responses/{canned_id}", json={"body": "Hi!"})
    assert edited.status_code == 200, edited.text
    assert (await admin.delete(f"/api/v1/canned-responses/{canned_id}")).status_code == 204

    async with (
        api_channel(admin, running.url) as shop,
        telegram_channel(admin, running.url) as bot,
    ):
        secrets.append("AAF-panjereh-console-test-token")  # the bot's token
        await shop.deliver("one", sender="sara", name="Sara")
        await bot.deliver("two", sender="sara", name="Sara")
        await shop.deliver("three", sender="sara", name="Sara")
        keep = await only_conversation_in(admin, shop.inbox_id)
        other = await only_conversation_in(admin, bot.inbox_id)
        named = await admin.patch(f"/api/v1/contacts/{keep['contact']['id']}", json={"name": "S"})
        assert named.status_code == 200, named.text
        await same_contact(admin, keep, other)
        done = await merge(admin, keep["id"], other["id"])
        undone = await admin.post(f"/api/v1/conversation-merges/{done['merge']['id']}/undo")
        assert undone.status_code == 200, undone.text
        three = next(m for m in await messages(admin, keep["id"]) if m["body_text"] == "three")
        split = await admin.post(
            f"/api/v1/conversations/{keep['id']}/split", json={"message_ids": [three["id"]]}
        )
        assert split.status_code == 200, split.text

    every = await entries(admin)
    by_action: dict[str, list[dict[str, Any]]] = {}
    for entry in every:
        by_action.setdefault(entry["action"], []).append(entry)
    assert set(by_action) >= {
        "auth.login",
        "auth.login_failed",
        "inbox.created",
        "inbox.updated",
        "inbox.disabled",
        "agent.created",
        "agent.updated",
        "team.created",
        "canned_response.created",
        "canned_response.updated",
        "canned_response.deleted",
        "contact.updated",
        "contact.merged",
        "conversation.merged",
        "conversation.unmerged",
        "conversation.split",
    }
    assert [e["at"] for e in every] == sorted((e["at"] for e in every), reverse=True)

    # Who, from where, what.
    (update,) = by_action["inbox.updated"]
    assert update["actor_id"] == admin.agent["id"]
    assert update["actor_name"] == admin.agent["name"]
    assert update["ip"] == "127.0.0.1"
    assert (update["target_type"], update["target_id"]) == ("inbox", str(inbox["id"]))
    assert update["changes"]["name"] == "Shop 2"
    assert update["changes"]["config"] == ["hmac_secret"]  # which setting, never its value
    (agent_change,) = by_action["agent.updated"]
    assert agent_change["changes"] == {"name": "Sam", "password": "[redacted]"}
    (failure,) = by_action["auth.login_failed"]
    assert (failure["actor_id"], failure["target_id"]) == (None, "sam@example.com")
    assert failure["ip"] == "127.0.0.1"
    (merged,) = by_action["conversation.merged"]
    assert merged["changes"]["merged"] == [other["id"]]

    # No secret anywhere in the table, whatever the column.
    async with running.ctx.db.read() as session:
        rows = (await session.execute(select(AuditEntry.__table__))).all()
    text = "\n".join(repr(tuple(row)) for row in rows)
    assert len(rows) == len(every)
    leaked = [secret for secret in secrets if secret in text]
    assert not leaked, f"the audit log holds secrets: {leaked}"


async def test_administrators_filter_the_audit_log(running: Running, admin: Api) -> None:
    sam = await create_agent(admin, "sam@example.com")
    own = await sam.patch(f"/api/v1/agents/{sam.agent['id']}", json={"language": "fa"})
    assert own.status_code == 200, own.text
    assert (await admin.post("/api/v1/teams", json={"name": "Sales"})).status_code == 201

    by_sam = await entries(admin, actor_id=sam.agent["id"])
    assert {e["action"] for e in by_sam} == {"auth.login", "agent.updated"}
    teams = await entries(admin, action="team.")
    assert [e["action"] for e in teams] == ["team.created"]
    about_sam = await entries(admin, target_type="agent", target_id=str(sam.agent["id"]))
    assert {e["action"] for e in about_sam} == {"agent.created", "auth.login", "agent.updated"}
    later = (utcnow() + timedelta(minutes=5)).isoformat()
    earlier = (utcnow() - timedelta(days=1)).isoformat()
    assert await entries(admin, since=later) == []
    assert await entries(admin, until=earlier) == []
    assert len(await entries(admin, since=earlier, until=later)) == len(await entries(admin))
    assert_error(await sam.get("/api/v1/audit"), 403, "admin_required")


async def test_entries_older_than_the_retention_are_trimmed(running: Running, admin: Api) -> None:
    old = utcnow() - timedelta(days=running.ctx.settings.audit_retention_days + 1)
    async with running.ctx.db.write() as session:
        session.add(AuditEntry(at=old, action="inbox.created", changes={}))
    before = len(await entries(admin))
    assert await trim_audit(running.ctx) == 1
    assert len(await entries(admin)) == before - 1
