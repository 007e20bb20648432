"""Login, logout and bearer tokens, from the outside."""

from __future__ import annotations

from sqlalchemy import select

from app.agents.models import Agent
from app.settings import Settings
from tests.support.api import AGENT_PASSWORD, Api, assert_error, create_agent, login
from tests.support.app import ADMIN_EMAIL, ADMIN_PASSWORD, Running, serve


async def test_login_returns_a_bearer_token_and_the_agent(running: Running) -> None:
    response = await running.client.post(
        "/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    assert isinstance(body["access_token"], str)
    assert len(body["access_token"]) >= 32
    assert body["agent"]["email"] == ADMIN_EMAIL
    assert body["agent"]["role"] == "admin"
    assert body["agent"]["is_active"] is True
    assert not {"password", "password_hash"} & set(body["agent"])
    assert ADMIN_PASSWORD not in response.text

    me = await running.client.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert me.status_code == 200, me.text
    assert me.json()["id"] == body["agent"]["id"]


async def test_login_email_is_case_insensitive(running: Running) -> None:
    api = await login(running.client, ADMIN_EMAIL.upper(), ADMIN_PASSWORD)
    assert api.agent["email"] == ADMIN_EMAIL


async def test_an_intranet_address_signs_in_and_a_non_address_is_refused(
    running: Running, admin: Api
) -> None:
    """An agent's e-mail only names a sign-in: `corp.local` or `shop.test` (special-use
    domains no mail goes to) are fine; something that is no address at all is not."""
    for email in ("Nasrin@Corp.Local", "ops@shop.test"):
        created = await admin.post(
            "/api/v1/agents",
            json={"email": email, "name": "Intranet", "password": "a-long-passphrase-1"},
        )
        assert created.status_code == 201, created.text
        assert created.json()["email"] == email.lower()
        signed_in = await login(running.client, email, "a-long-passphrase-1")
        assert signed_in.agent["email"] == email.lower()
    refused = await admin.post(
        "/api/v1/agents",
        json={"email": "nasrin at corp", "name": "X", "password": "a-long-passphrase-1"},
    )
    assert refused.status_code == 422
    assert refused.json()["code"] == "invalid_email"


async def test_wrong_password_and_unknown_email_get_the_same_401(running: Running) -> None:
    wrong = await running.client.post(
        "/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": "not the password"}
    )
    unknown = await running.client.post(
        "/api/v1/auth/login", json={"email": "nobody@example.com", "password": ADMIN_PASSWORD}
    )
    wrong_body = assert_error(wrong, 401)
    unknown_body = assert_error(unknown, 401)
    assert "access_token" not in wrong_body
    # Nothing tells an attacker which e-mails have accounts.
    assert wrong_body == unknown_body


async def test_deactivated_agent_cannot_log_in_and_its_token_stops_working(
    running: Running, admin: Api
) -> None:
    agent = await create_agent(admin, "sara@example.com")
    assert (await agent.get("/api/v1/auth/me")).status_code == 200

    response = await admin.patch(f"/api/v1/agents/{agent.agent['id']}", json={"is_active": False})
    assert response.status_code == 200, response.text
    assert response.json()["is_active"] is False

    assert_error(await agent.get("/api/v1/auth/me"), 401)
    assert_error(await agent.get("/api/v1/conversations"), 401)
    relogin = await running.client.post(
        "/api/v1/auth/login", json={"email": "sara@example.com", "password": AGENT_PASSWORD}
    )
    assert_error(relogin, 401)

    # Reactivated, the agent logs in again (the old token stays dead).
    response = await admin.patch(f"/api/v1/agents/{agent.agent['id']}", json={"is_active": True})
    assert response.status_code == 200, response.text
    again = await login(running.client, "sara@example.com", AGENT_PASSWORD)
    assert (await again.get("/api/v1/auth/me")).status_code == 200
    assert_error(await agent.get("/api/v1/auth/me"), 401)


async def test_logout_revokes_that_token_only(running: Running, admin: Api) -> None:
    other = await login(running.client, ADMIN_EMAIL, ADMIN_PASSWORD)

    response = await admin.post("/api/v1/auth/logout")
    assert response.status_code == 204, response.text

    assert_error(await admin.get("/api/v1/auth/me"), 401)
    assert_error(await admin.get("/api/v1/inboxes"), 401)
    assert_error(await admin.post("/api/v1/auth/logout"), 401)
    # Another login of the same agent is a separate session.
    assert (await other.get("/api/v1/auth/me")).status_code == 200


async def test_missing_or_garbage_bearer_is_401_json(running: Running, admin: Api) -> None:
    client = running.client
    values: list[bytes | None] = [
        None,
        b"",
        b"Bearer",
        b"Bearer not-a-real-token",
        b"Bearer " + b"x" * 5000,
        f"Basic {admin.token}".encode(),
        f"Token {admin.token}".encode(),
        admin.token.encode(),
        f"Bearer {admin.token}x".encode(),
        "Bearer ☃".encode(),
        b"Bearer \xff\xfe",
    ]
    for value in values:
        headers = {} if value is None else {b"Authorization": value}
        for path in ("/api/v1/auth/me", "/api/v1/conversations", "/api/v1/inboxes"):
            response = await client.get(path, headers=headers)
            assert_error(response, 401)
            assert admin.token not in response.text
    # The real token still works, so the 401s above were about the header.
    assert (await admin.get("/api/v1/auth/me")).status_code == 200


async def test_passwords_are_stored_as_argon2id(running: Running, admin: Api) -> None:
    agent = await create_agent(admin, "omid@example.com")
    async with running.ctx.db.read() as session:
        rows = await session.execute(select(Agent.email, Agent.password_hash))
        hashes: dict[str, str] = dict(rows.all())
    assert set(hashes) == {ADMIN_EMAIL, "omid@example.com"}
    for email, stored in hashes.items():
        assert stored.startswith("$argon2id$"), (email, stored)
    assert AGENT_PASSWORD not in hashes[agent.agent["email"]]
    assert ADMIN_PASSWORD not in hashes[ADMIN_EMAIL]


async def test_password_is_not_echoed_in_validation_errors(running: Running) -> None:
    secret = "hunter2-" + "p" * 2000  # over the 1024-character limit
    too_long = await running.client.post(
        "/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": secret}
    )
    assert_error(too_long, 422)
    assert "hunter2" not in too_long.text

    for bad in (["hunter2-in-a-list"], {"hunter2": "in-a-dict"}, 12345678987654321):
        response = await running.client.post(
            "/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": bad}
        )
        assert_error(response, 422)
        assert "hunter2" not in response.text
        assert "12345678987654321" not in response.text

    # The e-mail field is wrong, the password right: still no echo of the password.
    response = await running.client.post(
        "/api/v1/auth/login", json={"email": ["x"], "password": "hunter2-visible?"}
    )
    assert_error(response, 422)
    assert "hunter2" not in response.text


async def test_agent_create_does_not_echo_the_password(admin: Api) -> None:
    response = await admin.post(
        "/api/v1/agents",
        json={"email": "new@example.com", "name": "New", "password": "hunter2-long-enough"},
    )
    assert response.status_code == 201, response.text
    assert "hunter2" not in response.text
    short = await admin.post(
        "/api/v1/agents",
        json={"email": "new2@example.com", "name": "New", "password": "hunter2"},
    )
    assert_error(short, 422)
    assert "hunter2" not in short.text


async def test_the_first_administrator_takes_the_configured_name(
    settings: Settings,
) -> None:
    named = settings.model_copy(update={"admin_name": "Sara Rahimi"})
    async with serve(named) as running:
        api = await login(running.client, ADMIN_EMAIL, ADMIN_PASSWORD)
        assert (await api.get("/api/v1/auth/me")).json()["name"] == "Sara Rahimi"
