"""Every change an administrator can make through the API leaves an audit entry.

The routes are read from the app's OpenAPI schema and each mutating one under /api/v1 is
asked, by an agent who is not an administrator, whether it is for administrators only
(403 `admin_required`). Each of those must have a step below that calls it for real and
then finds a new audit entry by the administrator: an endpoint added without a step, or
one that records nothing, fails this test."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.webhooks.models import DeliveryState, WebhookDelivery
from tests.support.api import Api, create_agent
from tests.support.app import Running

MUTATING = ("post", "put", "patch", "delete")
# Administrators' routes that change nothing, with why.
CHANGE_NOTHING = {
    ("POST", "/api/v1/inboxes/test"): "tries an inbox's settings against its server",
}
WEBHOOK_URL_TOKEN = "query-token-that-must-not-be-logged"


@dataclass(frozen=True)
class Step:
    method: str
    path: str  # as in the OpenAPI schema; {names} filled from what earlier steps made
    body: dict[str, Any] | None = None
    keeps: str | None = None  # the answer's `id` fills this path parameter from now on
    prepare: Callable[[Running, dict[str, Any]], Awaitable[None]] | None = None


async def _finished_delivery(running: Running, ids: dict[str, Any]) -> None:
    """A delivery the webhook already sent, to send again."""
    async with running.ctx.db.write() as session:
        delivery = WebhookDelivery(
            subscription_id=ids["webhook_id"],
            delivery_id="0b0e4bd6-3a47-4a4c-9d4e-6f0f6f1b2c3d",
            event_type="message.created",
            body="{}",
            state=DeliveryState.delivered,
        )
        session.add(delivery)
        await session.flush()
        ids["delivery_id"] = delivery.id


RULE = {
    "name": "Thank on order",
    "event": "customer.event",
    "options": {"name": "order.placed"},
    "actions": [{"type": "add_note", "text": "ordered"}],
}
STEPS = [
    Step("POST", "/api/v1/inboxes", {"kind": "api", "name": "Shop"}, keeps="inbox_id"),
    Step("PATCH", "/api/v1/inboxes/{inbox_id}", {"name": "Shop 2", "rotate_api_key": True}),
    Step(
        "POST",
        "/api/v1/agents",
        {"email": "sam@example.com", "name": "Sam", "password": "a long password 1"},
        keeps="agent_id",
    ),
    Step("PATCH", "/api/v1/agents/{agent_id}", {"name": "Sam S"}),
    Step("POST", "/api/v1/teams", {"name": "Billing"}),
    Step("PUT", "/api/v1/assignment/capacities/{agent_id}", {"max_open": 5}),
    Step("PUT", "/api/v1/inboxes/{inbox_id}/assignment", {"mode": "round_robin"}),
    Step(
        "PUT",
        "/api/v1/inboxes/{inbox_id}/business-hours",
        {"timezone": "Asia/Tehran", "weekly": {"sat": ["08:00-16:00"]}, "holidays": []},
    ),
    Step("DELETE", "/api/v1/inboxes/{inbox_id}/business-hours"),
    Step("PUT", "/api/v1/inboxes/{inbox_id}/acknowledgement", {"text": "We got it."}),
    Step(
        "PUT",
        "/api/v1/inboxes/{inbox_id}/sla-policies",
        {"policies": [{"priority": "high", "first_response_minutes": 30}]},
    ),
    Step("PATCH", "/api/v1/surveys/settings", {"cooldown_days": 3, "nps_enabled": True}),
    Step("POST", "/api/v1/surveys/nps/bulk", {"inbox_id": "{inbox_id}"}),
    Step("PATCH", "/api/v1/account", {"timezone": "Asia/Tehran"}),
    Step(
        "POST",
        "/api/v1/canned-responses",
        {"shortcut": "hi", "title": "Hi", "body": "Hello!"},
        keeps="canned_id",
    ),
    Step("PATCH", "/api/v1/canned-responses/{canned_id}", {"body": "Hi!"}),
    Step("DELETE", "/api/v1/canned-responses/{canned_id}"),
    Step("POST", "/api/v1/automations", RULE, keeps="rule_id"),
    Step("PATCH", "/api/v1/automations/{rule_id}", {"enabled": False}),
    Step("DELETE", "/api/v1/automations/{rule_id}"),
    Step("POST", "/api/v1/api-tokens", {"name": "Shop backend"}, keeps="token_id"),
    Step("DELETE", "/api/v1/api-tokens/{token_id}"),
    Step(
        "POST",
        "/api/v1/webhooks",
        {"url": f"https://crm.example.com/in?t={WEBHOOK_URL_TOKEN}", "events": ["*"]},
        keeps="webhook_id",
    ),
    Step("PATCH", "/api/v1/webhooks/{webhook_id}", {"description": "CRM"}),
    Step("POST", "/api/v1/webhooks/{webhook_id}/secret"),
    Step("POST", "/api/v1/webhooks/{webhook_id}/secret/rotate"),
    Step(
        "POST",
        "/api/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver",
        prepare=_finished_delivery,
    ),
    Step("DELETE", "/api/v1/webhooks/{webhook_id}"),
    Step("DELETE", "/api/v1/inboxes/{inbox_id}"),
]


def _fill(value: Any, ids: dict[str, Any]) -> Any:
    if isinstance(value, str) and re.fullmatch(r"\{\w+\}", value):
        return ids[value[1:-1]]
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


async def _admin_only(running: Running, agent: Api) -> set[tuple[str, str]]:
    """The mutating /api/v1 operations the schema lists that refuse a plain agent for not
    being an administrator (authorisation is checked before the body is read)."""
    schema = (await running.client.get("/openapi.json")).json()
    found = set()
    for path, operations in schema["paths"].items():
        for method in operations.keys() & set(MUTATING):
            if not path.startswith("/api/v1/") or path == "/api/v1/auth/logout":
                continue  # (logging out would end the asking agent's session)
            answer = await agent.client.request(
                method, re.sub(r"\{\w+\}", "1", path), headers=agent.headers
            )
            if answer.status_code == 403 and answer.json()["code"] == "admin_required":
                found.add((method.upper(), path))
    return found


async def _count(running: Running) -> int:
    async with running.ctx.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(AuditEntry)) or 0)


async def test_every_admin_route_leaves_an_audit_entry(running: Running, admin: Api) -> None:
    agent = await create_agent(admin, "ana@example.com")
    admin_only = await _admin_only(running, agent)
    stepped = {(s.method, s.path) for s in STEPS}
    assert admin_only - stepped - set(CHANGE_NOTHING) == set(), "admin routes with no step"

    ids: dict[str, Any] = {}
    secrets = [WEBHOOK_URL_TOKEN, "a long password 1", admin.token, agent.token]
    silent = []
    for step in STEPS:
        if step.prepare is not None:
            await step.prepare(running, ids)
        before = await _count(running)
        answer = await admin.client.request(
            step.method,
            step.path.format(**ids),
            headers=admin.headers,
            **({"json": _fill(step.body, ids)} if step.body is not None else {}),
        )
        assert answer.status_code < 300, (step, answer.text)
        body = answer.json() if answer.content else {}
        secrets += [body[k] for k in ("secret", "token", "api_key") if body.get(k)]
        if step.keeps:
            ids[step.keeps] = body["id"]
        if await _count(running) == before:
            silent.append(f"{step.method} {step.path}")
    assert silent == [], f"admin changes that left no audit entry: {silent}"

    async with running.ctx.db.read() as session:
        rows = (await session.scalars(select(AuditEntry).order_by(AuditEntry.id))).all()
    ours = [r for r in rows if r.action not in ("auth.login", "agent.created")]
    assert {r.actor_id for r in ours} == {admin.agent["id"]}
    assert all(r.ip == "127.0.0.1" for r in ours)
    text = "\n".join(f"{r.action} {r.target_type} {r.target_id} {r.changes}" for r in rows)
    assert not [s for s in secrets if s in text], "a secret reached the audit log"


async def test_admin_changes_say_what_changed(running: Running, admin: Api) -> None:
    """Before and after where a setting is changed in place; the whole new setting where
    it is replaced."""
    assert (await admin.patch("/api/v1/account", json={"timezone": "Asia/Tehran"})).is_success
    created = await admin.post("/api/v1/automations", json=RULE)
    rule_id = created.json()["id"]
    assert (await admin.patch(f"/api/v1/automations/{rule_id}", json={"position": 7})).is_success
    assert (await admin.patch(f"/api/v1/automations/{rule_id}", json={"enabled": False})).is_success
    page = (await admin.get("/api/v1/audit", params={"limit": 10})).json()["items"]
    by_action: dict[str, list[dict[str, Any]]] = {}
    for entry in page:
        by_action.setdefault(entry["action"], []).append(entry)
    (account,) = by_action["account.updated"]
    assert account["changes"]["timezone"] == {"before": "UTC", "after": "Asia/Tehran"}
    disabled, moved = by_action["rule.updated"]
    assert disabled["changes"] == {"enabled": {"before": True, "after": False}}
    assert moved["changes"]["position"]["after"] == 7
    assert (moved["target_type"], moved["target_id"]) == ("rule", str(rule_id))
    (made,) = by_action["rule.created"]
    assert made["changes"]["name"] == RULE["name"]
    assert made["changes"]["actions"] == RULE["actions"]
