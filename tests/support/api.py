"""The HTTP API as a client uses it: an agent's authenticated client, agents and `api`
inboxes created through it, a customer's message posted to an inbox, and the shape every
error answer has."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

AGENT_PASSWORD = "agent password 123"  # what create_agent sets


@dataclass
class Api:
    """An authenticated agent's client."""

    client: httpx.AsyncClient
    token: str
    agent: dict[str, Any]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def get(self, path: str, **kw: Any) -> httpx.Response:
        return await self.client.get(path, headers=self.headers, **kw)

    async def post(self, path: str, **kw: Any) -> httpx.Response:
        return await self.client.post(path, headers=self.headers, **kw)

    async def put(self, path: str, **kw: Any) -> httpx.Response:
        return await self.client.put(path, headers=self.headers, **kw)

    async def patch(self, path: str, **kw: Any) -> httpx.Response:
        return await self.client.patch(path, headers=self.headers, **kw)

    async def delete(self, path: str, **kw: Any) -> httpx.Response:
        return await self.client.delete(path, headers=self.headers, **kw)


async def login(client: httpx.AsyncClient, email: str, password: str) -> Api:
    response = await client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    body = response.json()
    return Api(client, body["access_token"], body["agent"])


async def create_agent(admin: Api, email: str, *, role: str = "agent") -> Api:
    response = await admin.post(
        "/api/v1/agents",
        json={
            "email": email,
            "name": email.split("@")[0],
            "password": AGENT_PASSWORD,
            "role": role,
        },
    )
    assert response.status_code == 201, response.text
    return await login(admin.client, email, AGENT_PASSWORD)


@dataclass
class ApiInbox:
    id: int
    api_key: str
    hmac_secret: str | None
    body: dict[str, Any]


async def create_api_inbox(
    admin: Api, *, outbound_url: str | None = None, **config: Any
) -> ApiInbox:
    if outbound_url is not None:
        config["outbound_url"] = outbound_url
    response = await admin.post(
        "/api/v1/inboxes", json={"kind": "api", "name": "Shop", "config": config}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    return ApiInbox(body["id"], body["api_key"], config.get("hmac_secret"), body)


async def post_incoming(
    client: httpx.AsyncClient,
    inbox: ApiInbox,
    *,
    external_id: str,
    sender: str = "cust-1",
    text: str = "hello",
    **extra: Any,
) -> httpx.Response:
    # The sender's other fields (a name, addresses the integration vouches for) go with it.
    identity = {key: extra.pop(key) for key in ("email", "phone") if key in extra}
    payload: dict[str, Any] = {
        "external_id": external_id,
        "sender": {"id": sender, "name": extra.pop("name", None), **identity},
        "text": text,
        **extra,
    }
    return await client.post(
        f"/api/v1/inboxes/{inbox.id}/incoming", json=payload, headers={"X-Api-Key": inbox.api_key}
    )


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert isinstance(body.get("detail"), str), body
    assert body["detail"]
    assert isinstance(body.get("code"), str), body
    if code is not None:
        assert body["code"] == code, body
    return body
