"""The console survives a server restart: it shows the offline banner, reconnects with the
last event id it saw, and shows what arrived while it was away, without a reload."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from playwright.async_api import Browser, expect

from app.main import create_app
from app.settings import Settings
from tests.support.api import login
from tests.support.app import ADMIN_EMAIL, ADMIN_PASSWORD, Running, serve
from tests.support.console import console_settings, open_console, row, view_button


@contextlib.asynccontextmanager
async def serve_at(settings: Settings, listener: socket.socket) -> AsyncIterator[Running]:
    """`serve`, on a listening socket this test holds for its whole length: the restarted
    server is where the browser left it, and no other test can take the port meanwhile (a
    connection made while no server runs waits in the socket's queue)."""
    app = create_app(settings)
    port = listener.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve(sockets=[listener.dup()]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.005)
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=url, timeout=10) as client:
            yield Running(url=url, ctx=app.state.ctx, client=client)
    finally:
        server.should_exit = True
        await task


async def test_reconnect_after_a_restart_shows_what_arrived_meanwhile(
    browser: Browser, sqlite_template: Path, tmp_path: Path
) -> None:
    shutil.copyfile(sqlite_template, tmp_path / "panjereh.db")
    settings = console_settings(f"sqlite:///{tmp_path / 'panjereh.db'}", tmp_path / "data")
    listener = socket.create_server(("127.0.0.1", 0))

    async def post(
        client: httpx.AsyncClient, inbox: dict[str, Any], key: str, n: int, who: str
    ) -> None:
        response = await client.post(
            f"/api/v1/inboxes/{inbox['id']}/incoming",
            json={
                "external_id": f"m{n}",
                "sender": {"id": who, "name": who.title()},
                "text": f"message {n}",
            },
            headers={"X-Api-Key": key},
        )
        assert response.status_code == 201, response.text

    async with serve_at(settings, listener) as first:
        admin = await login(first.client, ADMIN_EMAIL, ADMIN_PASSWORD)
        created = await admin.post(
            "/api/v1/inboxes", json={"kind": "api", "name": "Restart shop", "config": {}}
        )
        inbox = created.json()
        await post(first.client, inbox, inbox["api_key"], 1, "rita")
        context, page = await open_console(browser, first.url, admin.token)
        sockets: list[str] = []
        page.on("websocket", lambda ws: sockets.append(ws.url))
        await view_button(page, "Restart shop").click()
        await row(page, "Rita").click()
        await expect(page.get_by_test_id("thread")).to_contain_text("message 1")
        await expect(page.get_by_test_id("offline-banner")).to_have_count(0)

    try:
        await expect(page.get_by_test_id("offline-banner")).to_be_visible()
        # While this console's server is down, messages arrive through another process.
        async with serve(settings) as elsewhere:
            await post(elsewhere.client, inbox, inbox["api_key"], 2, "rita")
            await post(elsewhere.client, inbox, inbox["api_key"], 3, "nima")

        async with serve_at(settings, listener):
            # Gone within seconds of the server's return (it stayed ~15 s, data flowing).
            await expect(page.get_by_test_id("offline-banner")).to_have_count(0, timeout=6_000)
            await expect(page.get_by_test_id("thread")).to_contain_text("message 2")
            await expect(row(page, "Nima")).to_contain_text("message 3")
            resumed = [u for u in sockets[1:] if "last_event_id=" in u]
            assert resumed, sockets
    finally:
        await context.close()
        listener.close()
