"""The webhooks API as an administrator uses it: what a webhook may point at and subscribe
to, who may manage them, and the event types on offer."""

from __future__ import annotations

import pytest

from app.webhooks.urls import UrlRefused, check_url
from tests.support.api import Api, assert_error, create_agent
from tests.support.receiver import Receiver
from tests.support.webhooks import create_webhook


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://192.168.0.10/hook",
    ],
)
def test_private_addresses_are_refused_unless_allowed(url: str) -> None:
    with pytest.raises(UrlRefused) as refused:
        check_url(url, allow_private=False)
    assert refused.value.reason in ("private_address", "this_machine")
    assert check_url(url, allow_private=True) == url


def test_public_urls_are_accepted() -> None:
    assert check_url("https://crm.example.com/hooks", allow_private=False)
    assert check_url("http://93.184.216.34/hook", allow_private=False)


async def test_a_url_with_credentials_or_another_scheme_is_refused(admin: Api) -> None:
    for url, rule in (
        ("https://user:pw@crm.example.com/hook", "has_credentials"),
        ("ftp://crm.example.com/hook", "not_http"),
        ("crm", "not_http"),
        ("https://crm.example.com:99999/hook", "bad_port"),
    ):
        response = await admin.post(
            "/api/v1/webhooks", json={"url": url, "events": ["message.created"]}
        )
        assert_error(response, 422, "webhook_url_refused")
        # The rule broken and where, for a client that says it in its own words.
        (broken,) = response.json()["errors"]
        assert (broken["type"], broken["loc"]) == (rule, ["body", "url"]), url


async def test_event_types_are_checked_and_later_families_accepted(
    admin: Api, receiver: Receiver
) -> None:
    response = await admin.post(
        "/api/v1/webhooks", json={"url": receiver.url, "events": ["message.deleted"]}
    )
    body = assert_error(response, 422)
    assert "message.deleted" in body["detail"]
    webhook = await create_webhook(
        admin,
        receiver.url,
        ["call.*", "conversation.sla_breached", "survey.answered", "message.created"],
    )
    assert webhook["events"][0] == "call.*"
    offered = (await admin.get("/api/v1/webhooks/event-types")).json()
    assert "callback.requested" in offered
    assert "call.*" in offered


async def test_only_administrators_manage_webhooks(admin: Api, receiver: Receiver) -> None:
    webhook = await create_webhook(admin, receiver.url, ["message.created"])
    agent = await create_agent(admin, "agent@example.com")
    assert_error(await agent.get("/api/v1/webhooks"), 403)
    assert_error(await agent.post(f"/api/v1/webhooks/{webhook['id']}/secret"), 403)
    deleted = await admin.delete(f"/api/v1/webhooks/{webhook['id']}")
    assert deleted.status_code == 204
    assert_error(await admin.get(f"/api/v1/webhooks/{webhook['id']}"), 404)
