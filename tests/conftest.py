"""Test fixtures: a fresh migrated database per test (SQLite and PostgreSQL), the app served
for real over HTTP on loopback, its administrator's client, the delivery worker and a
receiver for replies; and, once per session, the console's server and Chromium that the
browser tests share. What the fixtures build is in tests/support/."""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright, expect

from app.migrate import upgrade
from app.outbound.worker import DeliveryWorker
from app.settings import Settings
from tests.support.api import Api, login
from tests.support.app import ADMIN_EMAIL, ADMIN_PASSWORD, Running, make_settings, serve
from tests.support.console import CHROMIUM, CHROMIUM_ARGS, console_settings, require_console_build
from tests.support.receiver import Receiver, receiving
from tests.support.servers import PostgresServer, RedisServer, start_postgres, start_redis

_counter = itertools.count()

expect.set_options(timeout=10_000)


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


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path / "data")


@pytest.fixture
async def running(settings: Settings) -> AsyncIterator[Running]:
    """The app served by uvicorn on a loopback port, in this event loop."""
    async with serve(settings) as live:
        yield live


@pytest.fixture
async def admin(running: Running) -> Api:
    return await login(running.client, ADMIN_EMAIL, ADMIN_PASSWORD)


@pytest.fixture
def worker(running: Running) -> DeliveryWorker:
    """The delivery worker of the running app, run a round at a time by the test."""
    return DeliveryWorker(running.ctx)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """An HTTP server that records the replies posted to it."""
    async with receiving() as r:
        yield r


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    require_console_build()
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


@pytest.fixture(scope="session")
async def console_server(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Running]:
    base = tmp_path_factory.mktemp("console")
    shutil.copyfile(sqlite_template, base / "panjereh.db")
    settings = console_settings(f"sqlite:///{base / 'panjereh.db'}", base / "data")
    async with serve(settings) as live:
        yield live


@pytest.fixture(scope="session")
async def console_session_admin(console_server: Running) -> Api:
    return await login(console_server.client, ADMIN_EMAIL, ADMIN_PASSWORD)


@pytest.fixture
async def console_admin(console_session_admin: Api) -> Api:
    """The shared console's administrator, in English whatever a test before chose (the
    choice is stored on the server): every test on the shared console asks for it."""
    reset = await console_session_admin.patch("/api/v1/auth/me", json={"language": "en"})
    assert reset.status_code == 200, reset.text
    return console_session_admin
