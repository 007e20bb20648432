"""Inboxes: configuration, write-only secrets, API keys, disabling."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from app.inboxes.models import Inbox
from tests.support.api import (
    Api,
    ApiInbox,
    assert_error,
    create_agent,
    create_api_inbox,
    post_incoming,
)
from tests.support.app import Running
from tests.support.fakes.telegram import fake_telegram
from tests.support.fakes.twilio import ACCOUNT_SID, FakeTwilio, running_twilio

HMAC_SECRET = "s3cr3t-hmac-value"
BOT_TOKEN = "123:SECRETTOKEN"
TELEGRAM_WEBHOOK_SECRET = "tg-webhook-secret-value"
SMS_AUTH_TOKEN = "sms-auth-token-s3cr3t"
IMAP_PASSWORD = "imap-pa55word-s3cr3t"
SMTP_PASSWORD = "smtp-pa55word-s3cr3t"
NEW_BOT_TOKEN = "456:NEWSECRETTOKEN"
SECRETS = (
    HMAC_SECRET,
    BOT_TOKEN,
    TELEGRAM_WEBHOOK_SECRET,
    SMS_AUTH_TOKEN,
    IMAP_PASSWORD,
    SMTP_PASSWORD,
    NEW_BOT_TOKEN,
)

INBOXES: dict[str, dict[str, Any]] = {
    "api": {"outbound_url": "https://shop.example.com/hook", "hmac_secret": HMAC_SECRET},
    "telegram": {"bot_token": BOT_TOKEN, "webhook_secret": TELEGRAM_WEBHOOK_SECRET},
    "sms": {
        "account_sid": ACCOUNT_SID,
        "auth_token": SMS_AUTH_TOKEN,
        "from_number": "+15005550006",
    },
    "email": {
        # No servers (creating an email inbox with servers logs in to them): the secrets
        # are what this test is about.
        "imap_username": "support@example.com",
        "imap_password": IMAP_PASSWORD,
        "smtp_username": "support@example.com",
        "smtp_password": SMTP_PASSWORD,
        "from_address": "support@example.com",
    },
}
EXPECTED_SECRETS_SET = {
    "api": ["hmac_secret"],
    "telegram": ["bot_token", "webhook_secret"],
    "sms": ["auth_token"],
    "email": ["imap_password", "smtp_password"],
}


@pytest.fixture(autouse=True)
async def telegram_api() -> AsyncIterator[str]:
    """Telegram inboxes check their token (getMe) and register their webhook: at a fake."""
    async with fake_telegram(BOT_TOKEN, NEW_BOT_TOKEN, "1:x", "1:abc") as fake:
        INBOXES["telegram"]["api_base_url"] = fake.url
        yield fake.url


def assert_no_secret(response: httpx.Response) -> None:
    for secret in SECRETS:
        assert secret not in response.text, (secret, response.request.url, response.text)


async def create_inbox(admin: Api, kind: str, config: dict[str, Any]) -> dict[str, Any]:
    response = await admin.post(
        "/api/v1/inboxes", json={"kind": kind, "name": f"{kind} inbox", "config": config}
    )
    assert response.status_code == 201, response.text
    assert_no_secret(response)
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
async def twilio() -> AsyncIterator[FakeTwilio]:
    """SMS credentials are checked with Twilio when an inbox is saved."""
    async with running_twilio() as fake:
        fake.auth_token = SMS_AUTH_TOKEN
        yield fake


async def test_secrets_are_never_returned(running: Running, admin: Api, twilio: FakeTwilio) -> None:
    configs = {**INBOXES, "sms": {**INBOXES["sms"], "api_base_url": twilio.url}}
    created = {kind: await create_inbox(admin, kind, config) for kind, config in configs.items()}
    agent = await create_agent(admin, "sara@example.com")
    ids = [inbox["id"] for inbox in created.values()]
    responses: list[httpx.Response] = []
    for inbox_id in ids:
        responses.append(await admin.patch(f"/api/v1/inboxes/{inbox_id}", json={"name": "Renamed"}))
    responses.append(
        await admin.patch(
            f"/api/v1/inboxes/{created['telegram']['id']}",
            json={"config": {"bot_token": NEW_BOT_TOKEN, "mode": "polling"}},
        )
    )
    responses.append(
        await admin.patch(
            f"/api/v1/inboxes/{created['api']['id']}", json={"agent_ids": [agent.agent["id"]]}
        )
    )
    responses.append(await admin.get("/api/v1/inboxes"))
    responses.extend([await admin.get(f"/api/v1/inboxes/{i}") for i in ids])
    responses.append(await agent.get("/api/v1/inboxes"))
    responses.append(await agent.get(f"/api/v1/inboxes/{created['api']['id']}"))
    responses.append(await running.client.get("/openapi.json"))
    # A refused change says why without repeating the secret.
    refused = await admin.patch(
        f"/api/v1/inboxes/{created['telegram']['id']}",
        json={"config": {"bot_token": NEW_BOT_TOKEN, "mode": "carrier-pigeon"}},
    )
    assert_error(refused, 422)
    responses.append(refused)
    for response in responses:
        assert response.status_code < 300 or response is refused, response.text
        assert_no_secret(response)

    listed = {i["kind"]: i for i in (await admin.get("/api/v1/inboxes")).json()}
    for kind, names in EXPECTED_SECRETS_SET.items():
        assert listed[kind]["secrets_set"] == names, listed[kind]
        assert not set(names) & set(listed[kind]["config"]), listed[kind]
        assert listed[kind]["name"] == "Renamed"
    assert listed["telegram"]["config"]["mode"] == "polling"
    assert listed["sms"]["config"]["from_number"] == "+15005550006"
    assert listed["email"]["config"]["from_address"] == "support@example.com"
    assert listed["api"]["config"]["outbound_url"] == "https://shop.example.com/hook"

    # Stored encrypted: no secret in plain text anywhere in the inbox rows.
    async with running.ctx.db.read() as session:
        rows = (await session.scalars(select(Inbox))).all()
        stored = " ".join(f"{r.config!r} {r.secrets_encrypted} {r.api_key_hash}" for r in rows)
    for secret in SECRETS:
        assert secret not in stored


async def test_generated_secrets_are_listed_but_not_shown(admin: Api, telegram_api: str) -> None:
    api = await admin.post("/api/v1/inboxes", json={"kind": "api", "name": "A", "config": {}})
    telegram = await admin.post(
        "/api/v1/inboxes",
        json={
            "kind": "telegram",
            "name": "T",
            "config": {"bot_token": "1:x", "api_base_url": telegram_api},
        },
    )
    assert api.status_code == 201, api.text
    assert telegram.status_code == 201, telegram.text
    assert api.json()["secrets_set"] == ["hmac_secret"]
    assert telegram.json()["secrets_set"] == ["bot_token", "webhook_secret"]
    assert "hmac_secret" not in api.json()["config"]
    assert "webhook_secret" not in telegram.json()["config"]


async def test_api_key_is_shown_once_and_can_be_rotated(running: Running, admin: Api) -> None:
    inbox = await create_api_inbox(admin)
    old_key = inbox.api_key
    assert isinstance(old_key, str)
    assert len(old_key) >= 32
    assert inbox.body["webhook_url"].endswith(f"/api/v1/inboxes/{inbox.id}/incoming")

    for response in (
        await admin.get("/api/v1/inboxes"),
        await admin.get(f"/api/v1/inboxes/{inbox.id}"),
        await admin.patch(f"/api/v1/inboxes/{inbox.id}", json={"name": "Shop 2"}),
    ):
        assert response.status_code == 200, response.text
        assert old_key not in response.text
    assert (await admin.get(f"/api/v1/inboxes/{inbox.id}")).json()["api_key"] is None

    first = await post_incoming(running.client, inbox, external_id="m1")
    assert first.status_code == 201, first.text

    rotated = await admin.patch(f"/api/v1/inboxes/{inbox.id}", json={"rotate_api_key": True})
    assert rotated.status_code == 200, rotated.text
    new_key = rotated.json()["api_key"]
    assert isinstance(new_key, str)
    assert new_key != old_key
    listed = await admin.get("/api/v1/inboxes")
    assert new_key not in listed.text

    refused = await post_incoming(running.client, inbox, external_id="m2")
    assert_error(refused, 401)
    new = ApiInbox(inbox.id, new_key, None, rotated.json())
    accepted = await post_incoming(running.client, new, external_id="m2")
    assert accepted.status_code == 201, accepted.text

    # A key opens only its own inbox.
    second = await create_api_inbox(admin)
    crossed = ApiInbox(second.id, new_key, None, {})
    assert_error(await post_incoming(running.client, crossed, external_id="m3"), 401)
    no_key = await running.client.post(
        f"/api/v1/inboxes/{inbox.id}/incoming",
        json={"external_id": "m4", "sender": {"id": "x"}, "text": "hi"},
    )
    assert_error(no_key, 401)


async def test_rotating_a_key_needs_an_api_inbox(admin: Api, telegram_api: str) -> None:
    telegram = await create_inbox(
        admin, "telegram", {"bot_token": "1:abc", "api_base_url": telegram_api}
    )
    response = await admin.patch(f"/api/v1/inboxes/{telegram['id']}", json={"rotate_api_key": True})
    assert_error(response, 422)
    assert "api_key" not in response.json()


async def test_inbox_kind_and_config_are_validated(admin: Api) -> None:
    unknown_kind = await admin.post(
        "/api/v1/inboxes", json={"kind": "pager", "name": "Pager", "config": {}}
    )
    assert_error(unknown_kind, 422)

    unknown_key = await admin.post(
        "/api/v1/inboxes",
        json={"kind": "telegram", "name": "T", "config": {"bot_token": "1:x", "bot_tokn": "y"}},
    )
    body = assert_error(unknown_key, 422)
    assert "bot_tokn" in body["detail"]

    for kind, config in (
        ("telegram", {"mode": "carrier-pigeon"}),
        ("telegram", {"api_base_url": "not a url"}),
        ("email", {"imap_port": 70000}),
        ("email", {"imap_tls": "maybe"}),
        ("webchat", {"brand_color": "red"}),
        ("api", {"outbound_url": "ftp://example.com/x"}),
        ("api", {"hmac_secret": ["a", "list"]}),
        # PostgreSQL stores no NUL in text or JSON: refused up front, on every database.
        ("webchat", {"welcome_message": "hi\x00there"}),
        ("webchat", {"allowed_origins": ["https://a.example", "https://\x00"]}),
        ("telegram", {"bot_token": "1:\x00x"}),
    ):
        response = await admin.post(
            "/api/v1/inboxes", json={"kind": kind, "name": "X", "config": config}
        )
        body = assert_error(response, 422)
        assert body["detail"].startswith("config."), body

    # Settings that would be accepted and then never work say so when they are saved.
    for kind, config, detail in (
        (
            "webchat",
            {"allowed_origins": ["https://shop.example", "shop.example"]},
            "config.allowed_origins: 'shop.example' is not an origin: write scheme://host",
        ),
        ("callback", {"allowed_origins": ["https://shop.example/contact"]}, "config.allowed"),
        ("callback", {"default_region": "XX"}, "config.default_region: 'XX' is not a region"),
        ("email", {"from_address": "support"}, "config.from_address: 'support' is not an e-mail"),
        ("email", {"from_name": "Shop\r\nBcc: x@y.example"}, "config.from_name: must be one"),
    ):
        response = await admin.post(
            "/api/v1/inboxes", json={"kind": kind, "name": "X", "config": config}
        )
        body = assert_error(response, 422)
        assert body["detail"].startswith(detail), body

    for payload in (
        {"kind": "api", "name": "", "config": {}},
        {"kind": "api", "config": {}},
        {"kind": "api", "name": "X", "config": "not an object"},
        {"kind": "api", "name": "X", "config": {}, "colour": "blue"},
        {"kind": "api", "name": "X", "agent_ids": [999_999]},
    ):
        assert_error(await admin.post("/api/v1/inboxes", json=payload), 422)

    assert (await admin.get("/api/v1/inboxes")).json() == []


async def test_refused_change_leaves_the_inbox_as_it_was(admin: Api, telegram_api: str) -> None:
    agent = await create_agent(admin, "sara@example.com")
    inbox = await create_inbox(
        admin, "telegram", {"bot_token": "1:x", "mode": "webhook", "api_base_url": telegram_api}
    )
    path = f"/api/v1/inboxes/{inbox['id']}"
    before = (await admin.get(path)).json()

    for change in (
        {"config": {"mode": "polling", "bot_tokn": "typo"}},
        {"name": "New", "config": {"mode": "carrier-pigeon"}},
        {"name": "New", "agent_ids": [agent.agent["id"], 999_999]},
        {"name": "New", "rotate_api_key": True},
        {"name": ""},
        {"enabled": "sometimes"},
    ):
        assert_error(await admin.patch(path, json=change), 422)
    assert (await admin.get(path)).json() == before

    assert_error(await admin.patch("/api/v1/inboxes/999999", json={"name": "X"}), 404)
    assert_error(await admin.get("/api/v1/inboxes/999999"), 404)
    assert_error(await admin.delete("/api/v1/inboxes/999999"), 404)


async def test_delete_disables_the_inbox_and_keeps_its_history(
    running: Running, admin: Api
) -> None:
    inbox = await create_api_inbox(admin)
    stored = await post_incoming(running.client, inbox, external_id="m1", text="my order?")
    assert stored.status_code == 201, stored.text
    conversation_id = stored.json()["conversation_id"]

    response = await admin.delete(f"/api/v1/inboxes/{inbox.id}")
    assert response.status_code == 204, response.text

    shown = await admin.get(f"/api/v1/inboxes/{inbox.id}")
    assert shown.status_code == 200, shown.text
    assert shown.json()["enabled"] is False
    assert [i["enabled"] for i in (await admin.get("/api/v1/inboxes")).json()] == [False]

    refused = await post_incoming(running.client, inbox, external_id="m2", text="hello?")
    assert_error(refused, 401)
    # Even a repeat of a stored message is refused: the inbox takes nothing now.
    assert_error(await post_incoming(running.client, inbox, external_id="m1"), 401)

    listed = (await admin.get("/api/v1/conversations")).json()["items"]
    assert [c["id"] for c in listed] == [conversation_id]
    messages = (await admin.get(f"/api/v1/conversations/{conversation_id}/messages")).json()
    assert [m["body_text"] for m in messages["items"]] == ["my order?"]

    # Enabled again, the same key works.
    enabled = await admin.patch(f"/api/v1/inboxes/{inbox.id}", json={"enabled": True})
    assert enabled.status_code == 200, enabled.text
    again = await post_incoming(running.client, inbox, external_id="m2", text="hello?")
    assert again.status_code == 201, again.text


async def test_an_emptied_setting_returns_to_its_default_and_an_untyped_secret_stays(
    admin: Api,
) -> None:
    """What the settings form sends on a change: only what changed, null for a field it
    emptied; a password left blank is not sent and keeps its value."""
    inbox = await create_inbox(admin, "email", {**INBOXES["email"], "from_name": "Shop Support"})
    response = await admin.patch(
        f"/api/v1/inboxes/{inbox['id']}",
        json={"config": {"from_name": None, "imap_folder": "Support"}},
    )
    assert response.status_code == 200, response.text
    config = response.json()["config"]
    assert config["from_name"] == ""
    assert config["imap_folder"] == "Support"
    assert set(response.json()["secrets_set"]) == {"imap_password", "smtp_password"}


async def test_changes_to_an_inbox_are_tried_with_its_stored_secrets(admin: Api) -> None:
    inbox = await create_inbox(admin, "telegram", INBOXES["telegram"])

    async def tried(kind: str, config: dict[str, Any], inbox_id: int) -> httpx.Response:
        body = {"kind": kind, "config": config, "inbox_id": inbox_id}
        return await admin.post("/api/v1/inboxes/test", json=body)

    kept = await tried("telegram", {"mode": "polling"}, inbox["id"])
    assert kept.status_code == 200, kept.text
    assert kept.json()["ok"] is True  # the stored token, never typed again
    assert_no_secret(kept)
    wrong = (await tried("telegram", {"bot_token": "999:nobody"}, inbox["id"])).json()
    assert wrong["ok"] is False
    assert "Telegram rejected the bot token" in wrong["detail"]
    other = (await tried("api", {}, inbox["id"])).json()
    assert other == {"ok": False, "detail": f"inbox {inbox['id']} is a telegram inbox"}
    assert_error(await tried("telegram", {}, 10**9), 404)
    # Nothing was saved by trying.
    stored = (await admin.get(f"/api/v1/inboxes/{inbox['id']}")).json()
    assert stored["config"]["mode"] == "webhook"
