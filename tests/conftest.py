"""Test fixtures: a fresh migrated database per test (SQLite and PostgreSQL), the app served
for real over HTTP on loopback, and small builders for agents and inboxes."""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.context import Context
from app.main import create_app
from app.migrate import upgrade
from app.settings import Settings
from tests.servers import (
    PostgresServer,
    RedisServer,
    free_port,
    serving,
    start_postgres,
    start_redis,
)

ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "correct horse battery staple"
_counter = itertools.count()


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    server = start_postgres(tmp_path_factory.mktemp("pg"))
    template = server.create_database("panjereh_template")
    upgrade(template)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = start_redis(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database at the latest schema, copied from a migrated template."""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path / "panjereh.db"
        shutil.copyfile(template, target)
        return f"sqlite:///{target}"
    server: PostgresServer = request.getfixturevalue("postgres")
    name = f"t{os.getpid()}_{next(_counter)}"
    return server.create_database(name, template="panjereh_template")


def make_settings(database_url: str, data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "environment": "test",
        "database_url": database_url,
        "data_dir": data_dir,
        "secret_key": "test-secret-key-that-is-long-enough-for-tests",
        "public_url": "http://testserver.invalid",
        "admin_email": ADMIN_EMAIL,
        "admin_password": ADMIN_PASSWORD,
        "run_workers": False,
        # argon2id at its cheapest: login is exercised, not the cost parameters.
        "password_hash_time_cost": 1,
        "password_hash_memory_kib": 64,
        "delivery_backoff_base_seconds": 0.01,
        "delivery_backoff_cap_seconds": 0.05,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path / "data")


@dataclass
class Running:
    url: str
    ctx: Context
    client: httpx.AsyncClient


@pytest.fixture
async def running(settings: Settings) -> AsyncIterator[Running]:
    """The app served by uvicorn on a loopback port, in this event loop."""
    async with serve(settings) as live:
        yield live


@contextlib.asynccontextmanager
async def serve(settings: Settings) -> AsyncIterator[Running]:
    """`create_app(settings)` served on a loopback port in this event loop, lifespan and
    all (the embedded workers too, if the settings run them)."""
    app = create_app(settings)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    async with (
        serving(app, port, lifespan="on"),
        httpx.AsyncClient(base_url=url, timeout=10) as client,
    ):
        yield Running(url=url, ctx=app.state.ctx, client=client)


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

    async def patch(self, path: str, **kw: Any) -> httpx.Response:
        return await self.client.patch(path, headers=self.headers, **kw)

    async def delete(self, path: str, **kw: Any) -> httpx.Response:
        return await self.client.delete(path, headers=self.headers, **kw)


async def login(client: httpx.AsyncClient, email: str, password: str) -> Api:
    response = await client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    body = response.json()
    return Api(client, body["access_token"], body["agent"])


@pytest.fixture
async def admin(running: Running) -> Api:
    return await login(running.client, ADMIN_EMAIL, ADMIN_PASSWORD)


async def create_agent(admin: Api, email: str, *, role: str = "agent") -> Api:
    password = "agent password 123"
    response = await admin.post(
        "/api/v1/agents",
        json={"email": email, "name": email.split("@")[0], "password": password, "role": role},
    )
    assert response.status_code == 201, response.text
    return await login(admin.client, email, password)


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
    payload: dict[str, Any] = {
        "external_id": external_id,
        "sender": {"id": sender, "name": extra.pop("name", None)},
        "text": text,
        **extra,
    }
    return await client.post(
        f"/api/v1/inboxes/{inbox.id}/incoming", json=payload, headers={"X-Api-Key": inbox.api_key}
    )
