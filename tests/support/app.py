"""The app under test: its test settings, and `serve()`, which runs it for real on a
loopback port in the test's own event loop."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from app.context import Context
from app.main import create_app
from app.settings import Settings
from tests.support.servers import loopback_socket, serving, url_of

ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "correct horse battery staple"


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


@dataclass
class Running:
    url: str
    ctx: Context
    client: httpx.AsyncClient


@contextlib.asynccontextmanager
async def serve(settings: Settings) -> AsyncIterator[Running]:
    """`create_app(settings)` served on a loopback port in this event loop, lifespan and
    all (the embedded workers too, if the settings run them)."""
    app = create_app(settings)
    listening = loopback_socket()
    url = url_of(listening)
    async with (
        serving(app, listening, lifespan="on"),
        httpx.AsyncClient(base_url=url, timeout=10) as client,
    ):
        yield Running(url=url, ctx=app.state.ctx, client=client)
